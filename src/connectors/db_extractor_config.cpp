#include "connectors/db_extractor_config.h"

#include <fstream>

namespace swan::connectors {

using nlohmann::json;

Status FieldError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("parameters." + field + ": " + what)
      .WithDetail("field", "parameters." + field);
}

std::string Text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

namespace {

Result<std::vector<std::string>> StringList(const json& v, const std::string& field) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return FieldError(field, "must be a list of names");
  for (const auto& s : v) {
    if (!s.is_string() || s.get<std::string>().empty())
      return FieldError(field, "must be a list of names");
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<DbTableSpec> ParseTable(const json& t, const std::string& prefix) {
  DbTableSpec spec;
  spec.field = prefix;
  auto field = [&](const std::string& name) { return (prefix.empty() ? "" : prefix + ".") + name; };
  spec.query = Text(t, "query");
  if (t.contains("table") && t["table"].is_object()) {
    spec.table = Text(t["table"], "tableName");
    spec.schema = Text(t["table"], "schema");
  }
  if (spec.query.empty() && spec.table.empty())
    return FieldError(field("table"), "give table {schema, tableName} or a query");
  if (!spec.query.empty() && !spec.table.empty())
    return FieldError(field("query"), "give either a query or a table, not both");
  ASSIGN_OR_RETURN(spec.columns, StringList(t.value("columns", json()), field("columns")));
  if (!spec.query.empty() && !spec.columns.empty())
    return FieldError(field("columns"), "columns select from a table; a query selects its own");
  spec.output_table = Text(t, "outputTable");
  if (spec.output_table.empty()) return FieldError(field("outputTable"), "is required");
  spec.incremental = t.value("incremental", false);
  ASSIGN_OR_RETURN(spec.primary_key,
                   StringList(t.value("primaryKey", json()), field("primaryKey")));
  spec.fetch_column = Text(t, "incrementalFetchingColumn");
  if (t.contains("incrementalFetchingLimit")) {
    const json& l = t["incrementalFetchingLimit"];
    if (!l.is_number_integer() || l.get<int64_t>() < 0)
      return FieldError(field("incrementalFetchingLimit"), "must be a whole number >= 0");
    spec.fetch_limit = l.get<int64_t>();
  }
  return spec;
}

}  // namespace

Result<std::vector<DbTableSpec>> ParseDbTables(const json& parameters) {
  if (!parameters.is_object()) return FieldError("", "parameters must be an object");
  std::vector<DbTableSpec> tables;
  if (!parameters.contains("tables")) {
    ASSIGN_OR_RETURN(DbTableSpec spec, ParseTable(parameters, ""));
    tables.push_back(std::move(spec));
    return tables;
  }
  if (!parameters["tables"].is_array()) return FieldError("tables", "must be a list");
  for (size_t i = 0; i < parameters["tables"].size(); ++i) {
    const json& t = parameters["tables"][i];
    if (t.is_object() && t.contains("enabled") && t["enabled"] == false) continue;
    const std::string prefix = "tables[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(DbTableSpec spec, ParseTable(t, prefix));
    if (!spec.fetch_column.empty())
      return FieldError(prefix + ".incrementalFetchingColumn",
                        "incremental fetching needs one table per configuration row");
    tables.push_back(std::move(spec));
  }
  return tables;
}

Status WriteDbManifest(const std::string& csv_path, const DbTableSpec& spec,
                       const std::vector<DbColumnType>& columns, bool sliced) {
  json manifest = {{"destination", spec.output_table},
                   {"incremental", spec.incremental || !spec.fetch_column.empty()},
                   {"primary_key", spec.primary_key}};
  json metadata = json::object();
  for (const auto& col : columns) {
    json entries = json::array({{{"key", "KBC.datatype.basetype"}, {"value", col.base_type}}});
    if (!col.length.empty())
      entries.push_back({{"key", "KBC.datatype.length"}, {"value", col.length}});
    metadata[col.name] = entries;
  }
  manifest["column_metadata"] = metadata;
  if (sliced) {
    json names = json::array();
    for (const auto& col : columns) names.push_back(col.name);
    manifest["columns"] = names;
  }
  std::ofstream m(csv_path + ".manifest", std::ios::binary);
  m << manifest.dump(2);
  if (!m.flush()) return Status::Internal("cannot write " + csv_path + ".manifest");
  return Status::Ok();
}

void AppendCsvField(std::string& out, const char* data, size_t size) {
  bool quote = size == 0;
  for (size_t i = 0; i < size && !quote; ++i)
    quote = data[i] == ',' || data[i] == '"' || data[i] == '\n' || data[i] == '\r';
  if (!quote) {
    out.append(data, size);
    return;
  }
  out += '"';
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '"') out += '"';
    out += data[i];
  }
  out += '"';
}

}  // namespace swan::connectors
