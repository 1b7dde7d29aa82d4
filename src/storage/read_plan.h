// Turns a table version (segments + schema) into the SQL that reads it: merge-on-read of
// upsert segments over earlier ones, NULL-filling of columns added after a segment was written.
#pragma once

#include <string>
#include <vector>

#include "catalog/model.h"

namespace swan::storage {

// SELECT text yielding the version's live rows: its columns in table order plus `_swan_ts`
// (the time the row was written). `data_dir` prefixes the segments' relative paths.
std::string VersionSelectSql(const std::string& data_dir, const catalog::TableVersion& version,
                             const std::vector<std::string>& primary_key);

// Absolute paths of the version's segment files.
std::vector<std::string> SegmentPaths(const std::string& data_dir,
                                      const catalog::TableVersion& version);

}  // namespace swan::storage
