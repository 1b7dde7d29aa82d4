// Builds the DuckDB table function that reads an uploaded file (read_csv / read_parquet /
// read_json) and turns DuckDB's load errors into messages that name the file, line and column.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "storage/load_options.h"

namespace swan::storage {

// `types` are declared column types (the table's existing columns plus the request's own).
// `sample_all` makes CSV type detection read the whole file instead of a sample.
Result<std::string> SourceFunctionSql(const ImportRequest& request, const std::map<std::string, std::string>& types,
                                      bool sample_all);

// Rewrites a DuckDB error raised while reading `display_name` into a user error with details
// "file", and where known "line" and "column".
Status LoadError(const std::string& display_name, const std::string& raw_message);

// True when the error is a value conversion failure of a column whose type was only inferred
// (worth a retry with whole-file type detection).
bool IsInferredCastError(const std::string& raw_message);

}  // namespace swan::storage
