// Prepares a CSV upload for DuckDB: the encoding (converted to UTF-8 while streaming), the dialect
// (storage/csv_dialect.h), SQL-friendly column names with the header's text as labels, and the
// read_csv call that reads exactly that.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"
#include "storage/csv_dialect.h"
#include "storage/load_options.h"

namespace swan::storage {

// The file DuckDB reads for a CSV import, and how. Deletes its temporary files when destroyed.
struct CsvSource {
  std::string path;  // the upload, or a converted or cleaned copy of it
  bool gzip = false;
  std::string encoding;  // of the upload: "utf-8", "utf-16le", "windows-1250"...
  CsvDialect dialect;
  std::vector<std::string> names;   // one per column, valid and unique
  std::vector<std::string> labels;  // the header's text per column ("" without a header)
  bool swan_written = false;        // read as Swan's writer made it (CsvOptions::swan_written)
  std::vector<std::string> temp_files;

  CsvSource() = default;
  CsvSource(const CsvSource&) = delete;
  CsvSource& operator=(const CsvSource&) = delete;
  ~CsvSource();
  // A new temporary file name beside the upload (deleted with this source).
  std::string TempPath(const std::string& suffix);
};

// Bytes of the upload the dialect is detected from (read once; a large file is not read twice).
constexpr size_t kCsvSampleBytes = 4 << 20;

// Reads the upload's first bytes: converts it to UTF-8 when its encoding says so (given, or a
// UTF-16 byte-order mark), checks that UTF-8 is valid, detects the dialect and names the columns.
Result<std::unique_ptr<CsvSource>> PrepareCsv(const ImportRequest& request);

// How the read treats bad rows.
struct CsvReadMode {
  bool sample_all = false;     // type detection reads the whole file
  bool ignore_errors = false;  // rows DuckDB cannot read are skipped and kept in its rejects table
};

// The read_csv(...) call. `types`: declared types by column name (may name columns the file
// lacks: they are left out). `exact`: read with exactly these types, no type detection.
Result<std::string> CsvReadSql(const CsvSource& source, const ImportRequest& request,
                               const std::map<std::string, std::string>& types,
                               const CsvReadMode& mode,
                               const std::vector<catalog::ColumnDef>* exact = nullptr);

// DuckDB's rejects table of a CsvReadMode::ignore_errors read (per connection).
constexpr const char* kCsvRejectsTable = "swan_csv_rejects";
constexpr const char* kCsvRejectScansTable = "swan_csv_reject_scans";

}  // namespace swan::storage
