// Builds the DuckDB table function that reads an uploaded file (read_csv / read_parquet /
// read_json) and turns DuckDB's load errors into messages that name the file, line and column.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "engine/duckdb.h"
#include "storage/load_options.h"

namespace swan::storage {

// `types` are declared column types (the table's existing columns plus the request's own).
// `sample_all` makes CSV type detection read the whole file instead of a sample.
Result<std::string> SourceFunctionSql(const ImportRequest& request,
                                      const std::map<std::string, std::string>& types,
                                      bool sample_all);

// True when the load reads `request.file_path` as gzip (a CSV or JSON source with compression
// gzip, or auto and the gzip magic bytes).
bool ReadsGzip(const ImportRequest& request);

// A JSON import must be records: one object whose every value is a list (an "object of
// columns", {"a": [1, 2], "b": [3, 4]}) would load as one row of lists; it is refused instead.
// `types` are the described column types of `source`.
Status CheckJsonRecords(engine::Connection& conn, const std::string& source,
                        const std::vector<std::string>& types, const std::string& display_name);

// Rewrites a DuckDB error raised while reading `display_name` into a user error with details
// "file", and where known "line" and "column".
Status LoadError(const std::string& display_name, const std::string& raw_message);
// The same for an engine error, which is the input's fault only when its code says so: a full
// disk, out of memory, an interrupt or a server fault passes through with its own code (never
// "your file is bad", HTTP 400), prefixed with the file's name.
Status LoadError(const std::string& display_name, const Status& engine_error);

// A CSV read with no detection at all: the dialect as given and exactly these columns, in file
// order (the table's types). For loads into an existing table whose columns the file's header
// names: no sniffing, and every value is checked against the table's type.
Result<std::string> ExactCsvFunctionSql(const ImportRequest& request,
                                        const std::vector<catalog::ColumnDef>& columns);
// The column names of a CSV's first line (split on the delimiter outside the enclosure), or the
// request's names when it has no header. Empty when the line cannot be read.
std::vector<std::string> CsvHeaderNames(engine::Connection& conn, const ImportRequest& request);

// After DuckDB's CSV sniffer gave up (it does when its sample holds a broken row), reads the
// file again with the dialect as given and every column as text, to find the first broken row.
// Returns that row's error (file, line), or `sniff_error` cleaned up when no row is broken.
Status DiagnoseCsv(engine::Connection& conn, const ImportRequest& request,
                   const std::string& sniff_error);
bool IsSniffError(const std::string& raw_message);

// True when the error is a value conversion failure of a column whose type was only inferred
// (worth a retry with whole-file type detection).
bool IsInferredCastError(const std::string& raw_message);

}  // namespace swan::storage
