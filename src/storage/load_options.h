// What a caller asks of an import, an export or a read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catalog/model.h"
#include "storage/csv_dialect.h"
#include "storage/csv_row_check.h"

namespace swan::storage {

// kJson: a JSON array of objects, or objects one after another (newline-delimited or not),
// told apart by the first character. kJsonLines: one object per line, nothing else.
enum class FileFormat { kCsv, kParquet, kJsonLines, kJson };

// What happens to rows that cannot be read (wrong field count, a value that does not convert).
enum class BadRows { kFail, kSkip, kQuarantine };

struct CsvOptions {
  CsvDialectHints given;  // delimiter, enclosure, escape, comment, header, skip_lines, header_rows
  std::vector<std::string> column_names;              // names to use instead of the header's
  std::map<std::string, std::string> declared_types;  // column -> DuckDB type
  std::string compression = "auto";                   // auto | none | gzip
  std::string encoding;  // empty: UTF-8, or UTF-16 when the file starts with its byte-order mark
  BadRows on_bad_rows = BadRows::kFail;
  int64_t max_bad_rows = 1000;        // with kSkip / kQuarantine: more bad rows fail the import
  bool pad_missing_trailing = false;  // rows lacking trailing fields get NULLs
  // The file is a slice Swan's own CSV writer made (connectors/csv_slices.h): UTF-8, RFC 4180
  // with the given delimiter and enclosure, no header, `column_names` its columns, every row
  // whole. It is read as written: no sample is read or sniffed, and the rows are not checked a
  // second time beside DuckDB's strict reader. Set by the job's slice stager only, never from a
  // request.
  bool swan_written = false;
};

// What an import assumed and did, for its answer.
struct ImportReport {
  std::optional<CsvDialect> dialect;  // CSV only
  std::string encoding;
  std::vector<std::pair<std::string, std::string>> renamed;  // header text -> column name
  int64_t bad_rows = 0;
  std::vector<BadRow> bad_row_samples;  // the first few
  std::string quarantine_table;         // with BadRows::kQuarantine and bad rows
};

// Keboola's delete_where of an incremental load: rows of the table whose `column` is (eq) or is
// not (ne) one of `values` are deleted before the batch is added, in the same new version.
struct DeleteWhere {
  std::string column;
  std::vector<std::string> values;
  std::string op = "eq";  // eq | ne
};

struct ImportRequest {
  std::string file_path;     // a server-local file with the uploaded bytes
  std::string display_name;  // the user's file name, for error messages
  FileFormat format = FileFormat::kCsv;
  CsvOptions csv;
  bool incremental = false;
  std::vector<std::string> primary_key;     // used when the table is created by this import
  std::optional<DeleteWhere> delete_where;  // incremental loads only
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
  bool original_names = false;  // export: columns under their labels (the source's header text)
};

enum class ExportFormat { kCsv, kParquet };

}  // namespace swan::storage
