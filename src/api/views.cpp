#include "api/views.h"

#include <cstdlib>

#include "common/fs.h"

namespace swan::api {

using nlohmann::json;

namespace {
json Time(int64_t ms) { return fs::IsoTime(ms); }
}  // namespace

json ProjectJson(const catalog::Project& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"created_at", Time(p.created_at)}};
}

json BucketJson(const catalog::Bucket& b) {
  return {{"id", b.FullId()},
          {"stage", b.stage},
          {"name", b.name},
          {"description", b.description},
          {"created_at", Time(b.created_at)}};
}

json ColumnsJson(const std::vector<catalog::ColumnDef>& columns) {
  json out = json::array();
  for (const auto& c : columns) {
    json col = {{"name", c.name}, {"type", c.type}};
    if (!c.label.empty()) col["label"] = c.label;
    out.push_back(std::move(col));
  }
  return out;
}

json TableJson(const catalog::Table& t, const catalog::TableVersion& head) {
  return {{"id", t.FullId()},
          {"bucket", t.bucket_full_id},
          {"name", t.name},
          {"columns", ColumnsJson(head.columns)},
          {"primary_key", t.primary_key},
          {"version", head.number},
          {"row_count", head.row_count},
          {"bytes", head.bytes},
          {"segments", head.segments.size()},
          {"created_at", Time(t.created_at)},
          {"updated_at", Time(head.created_at)}};
}

json VersionJson(const catalog::TableVersion& v) {
  json j = {{"version", v.number},
            {"operation", v.operation},
            {"row_count", v.row_count},
            {"bytes", v.bytes},
            {"segments", v.segments.size()},
            {"columns", ColumnsJson(v.columns)},
            {"created_at", Time(v.created_at)},
            {"token_description", v.token_description}};
  j["token_id"] = v.token_id ? json(*v.token_id) : json(nullptr);
  return j;
}

json TokenJson(const catalog::Token& t) {
  json scopes = json::array();
  for (const auto& s : t.scopes) scopes.push_back({{"bucket", s.bucket}, {"access", s.access}});
  json j = {{"id", t.id},       {"kind", t.kind},       {"description", t.description},
            {"scopes", scopes}, {"revoked", t.revoked}, {"created_at", Time(t.created_at)}};
  j["project"] = t.project_id ? json(t.project_name) : json(nullptr);
  j["expires_at"] = t.expires_at ? Time(*t.expires_at) : json(nullptr);
  return j;
}

json EventJson(const catalog::Event& e) {
  json details = json::parse(e.details_json, nullptr, false);
  json j = {{"id", e.id},
            {"action", e.action},
            {"object", e.object},
            {"client_address", e.client_address},
            {"details", details.is_discarded() ? json::object() : details},
            {"created_at", Time(e.created_at)}};
  j["token_id"] = e.token_id ? json(*e.token_id) : json(nullptr);
  return j;
}

json RowsJson(const engine::Rows& rows, size_t max_rows) {
  json columns = json::array();
  std::vector<int> kind;  // 0 string, 1 integer, 2 float, 3 bool
  for (const auto& c : rows.columns) {
    columns.push_back({{"name", c.name}, {"type", c.type}});
    const std::string& t = c.type;
    if (t == "BOOLEAN") {
      kind.push_back(3);
    } else if (t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT" ||
               t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT" ||
               t == "HUGEINT" || t == "UHUGEINT") {
      kind.push_back(1);
    } else if (t.rfind("DECIMAL(", 0) == 0 && std::atoi(t.c_str() + 8) <= 15) {
      kind.push_back(2);  // up to 15 digits a JSON number (a double) is exact; wider stays text
    } else if (t == "FLOAT" || t == "DOUBLE") {
      kind.push_back(2);
    } else {
      kind.push_back(0);
    }
  }
  json out_rows = json::array();
  for (size_t r = 0; r < rows.rows.size() && r < max_rows; ++r) {
    json row = json::array();
    for (size_t c = 0; c < rows.rows[r].size(); ++c) {
      const auto& v = rows.rows[r][c];
      if (!v) {
        row.push_back(nullptr);
      } else if (kind[c] == 1) {
        row.push_back(json::parse(*v, nullptr, false));
      } else if (kind[c] == 2) {
        json parsed = json::parse(*v, nullptr, false);  // inf/nan are not JSON: keep as text
        row.push_back(parsed.is_discarded() ? json(*v) : parsed);
      } else if (kind[c] == 3) {
        row.push_back(*v == "true");
      } else {
        row.push_back(*v);
      }
    }
    out_rows.push_back(std::move(row));
  }
  return {{"columns", columns}, {"rows", out_rows}};
}

}  // namespace swan::api
