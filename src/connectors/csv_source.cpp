#include "connectors/csv_source.h"

#include <fstream>

namespace swan::connectors {
namespace {

class CsvFile final : public CsvSource {
 public:
  CsvFile(std::string path, std::ifstream in) : path_(std::move(path)), in_(std::move(in)) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    in_.read(buffer, static_cast<std::streamsize>(size));
    if (in_.bad()) return Status::Internal("cannot read " + path_);
    return static_cast<size_t>(in_.gcount());
  }
  Status Finish() override { return Status::Ok(); }

 private:
  std::string path_;
  std::ifstream in_;
};

}  // namespace

Result<std::unique_ptr<CsvSource>> OpenCsvFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + path);
  return std::unique_ptr<CsvSource>(new CsvFile(path, std::move(in)));
}

}  // namespace swan::connectors
