// Builds the DuckDB table function that reads an uploaded file (read_csv / read_parquet /
// read_json) and turns DuckDB's load errors into messages that name the file, line and column.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "engine/duckdb.h"
#include "storage/load_options.h"

namespace swan::storage {

// For Parquet and JSON sources (CSV: storage/csv_source.h).
Result<std::string> SourceFunctionSql(const ImportRequest& request);

// True when the load reads `request.file_path` as gzip (a CSV or JSON source with compression
// gzip, or auto and the gzip magic bytes).
bool ReadsGzip(const ImportRequest& request);

// A JSON import must be records: one object whose every value is a list (an "object of
// columns", {"a": [1, 2], "b": [3, 4]}) would load as one row of lists; it is refused instead.
// `types` are the described column types of `source`.
Status CheckJsonRecords(engine::Connection& conn, const std::string& source,
                        const std::vector<std::string>& types, const std::string& display_name);

// The keys of the first object of a JSON import, in order, as written (DuckDB's read_json renames
// an empty key and keys that differ only in case before Swan sees them). Empty when unreadable.
std::vector<std::string> FirstJsonKeys(const ImportRequest& request);

// Rewrites a DuckDB error raised while reading `display_name` into a user error with details
// "file", and where known "line" and "column".
Status LoadError(const std::string& display_name, const std::string& raw_message);
// The same for an engine error, which is the input's fault only when its code says so: a full
// disk, out of memory, an interrupt or a server fault passes through with its own code (never
// "your file is bad", HTTP 400), prefixed with the file's name.
Status LoadError(const std::string& display_name, const Status& engine_error);

// True when the error is a value conversion failure of a column whose type was only inferred
// (worth a retry with whole-file type detection).
bool IsInferredCastError(const std::string& raw_message);

}  // namespace swan::storage
