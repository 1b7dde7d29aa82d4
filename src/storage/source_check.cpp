#include "storage/source_check.h"

#include "common/gzip_check.h"
#include "storage/source_reader.h"

namespace swan::storage {

SourceCheck::SourceCheck(const ImportRequest& request) {
  if (!ReadsGzip(request)) return;
  thread_ = std::thread([this, path = request.file_path, name = request.display_name] {
    verdict_ = gzip::CheckFile(path, name, gzip::Limits{}, &cancel_);
  });
}

SourceCheck::SourceCheck(const std::string& path, bool gzip, CsvRowCheck* rows,
                         const std::string& display_name) {
  thread_ = std::thread([this, path, gzip, rows, display_name] {
    verdict_ = CheckCsvRows(path, gzip, *rows, display_name, &cancel_);
  });
}

SourceCheck::~SourceCheck() {
  cancel_ = true;
  if (thread_.joinable()) thread_.join();
}

Status SourceCheck::Wait() {
  if (thread_.joinable()) thread_.join();
  return verdict_;
}

}  // namespace swan::storage
