// JSON renderings of catalog objects, as documented in docs/api.md.
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/model.h"
#include "engine/duckdb.h"

namespace swan::api {

nlohmann::json ProjectJson(const catalog::Project& p);
nlohmann::json BucketJson(const catalog::Bucket& b);
nlohmann::json ColumnsJson(const std::vector<catalog::ColumnDef>& columns);
nlohmann::json TableJson(const catalog::Table& t, const catalog::TableVersion& head);
nlohmann::json VersionJson(const catalog::TableVersion& v);
nlohmann::json TokenJson(const catalog::Token& t);
nlohmann::json EventJson(const catalog::Event& e);
// {"columns": [...], "rows": [[...]]}: numbers and booleans typed, everything else strings.
nlohmann::json RowsJson(const engine::Rows& rows, size_t max_rows);

}  // namespace swan::api
