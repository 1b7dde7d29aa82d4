// What a caller asks of an import, an export or a read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/model.h"

namespace swan::storage {

// kJson: a JSON array of objects, or objects one after another (newline-delimited or not),
// told apart by the first character. kJsonLines: one object per line, nothing else.
enum class FileFormat { kCsv, kParquet, kJsonLines, kJson };

struct CsvOptions {
  std::string delimiter = ",";
  std::string enclosure = "\"";
  std::optional<std::string> escape;  // default: the enclosure (doubled quotes)
  bool header = true;
  std::vector<std::string> column_names;              // names when there is no header
  std::map<std::string, std::string> declared_types;  // column -> DuckDB type
  std::string compression = "auto";                   // auto | none | gzip
};

struct ImportRequest {
  std::string file_path;     // a server-local file with the uploaded bytes
  std::string display_name;  // the user's file name, for error messages
  FileFormat format = FileFormat::kCsv;
  CsvOptions csv;
  bool incremental = false;
  std::vector<std::string> primary_key;  // used when the table is created by this import
  std::optional<int64_t> token_id;
  std::string operation;  // catalog operation name; default import_full / import_incremental
};

// Selects rows of a table version: used by export and preview.
struct ReadRequest {
  std::optional<int64_t> version;    // number; default the head
  std::vector<std::string> columns;  // empty = all
  std::string where_column;
  std::vector<std::string> where_values;
  std::string where_operator = "eq";  // eq | ne
  std::optional<int64_t> changed_since_ms;
  std::optional<int64_t> limit;
};

enum class ExportFormat { kCsv, kParquet };

}  // namespace swan::storage
