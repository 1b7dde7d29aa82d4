// Turns a table version (segments + schema) into the SQL that reads it: merge-on-read of
// upsert segments over earlier ones, NULL-filling of columns added after a segment was written.
#pragma once

#include <string>
#include <vector>

#include "catalog/model.h"

namespace swan::storage {

// COPY options of every segment file. Parquet V2 (delta-encoded integers): measured on 5M rows,
// the key column reads in 18 ms instead of 45 ms (upsert row counts), a group-by runs in 166
// instead of 205 ms, and files are 15% smaller, at the same write speed.
inline constexpr const char* kSegmentCopyOptions = " (FORMAT parquet, PARQUET_VERSION V2)";

// SELECT text yielding the version's live rows: its columns in table order plus `_swan_ts`
// (the time the row was written). `data_dir` prefixes the segments' relative paths.
std::string VersionSelectSql(const std::string& data_dir, const catalog::TableVersion& version,
                             const std::vector<std::string>& primary_key);

// Absolute paths of the version's segment files.
std::vector<std::string> SegmentPaths(const std::string& data_dir,
                                      const catalog::TableVersion& version);

}  // namespace swan::storage
