#include "common/file_format.h"

#include <algorithm>
#include <cctype>

namespace swan {

namespace {
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::optional<FileNameFormat> FormatFromFileName(const std::string& file_name) {
  std::string name = file_name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  FileNameFormat out;
  if (EndsWith(name, ".gz")) {
    out.gzip = true;
    name.resize(name.size() - 3);
  }
  if (EndsWith(name, ".csv")) {
    out.format = "csv";
  } else if (EndsWith(name, ".tsv") || EndsWith(name, ".tab")) {
    out.format = "csv";
    out.delimiter = "\t";
  } else if (EndsWith(name, ".parquet") || EndsWith(name, ".pq")) {
    out.format = "parquet";
  } else if (EndsWith(name, ".jsonl") || EndsWith(name, ".ndjson")) {
    out.format = "jsonl";
  } else if (EndsWith(name, ".json")) {
    out.format = "json";
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace swan
