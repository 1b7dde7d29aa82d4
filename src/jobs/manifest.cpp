#include "jobs/manifest.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "common/transcode.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "STRING" for "string"; "" when not a Keboola base type.
std::string CanonicalBaseType(const std::string& type) {
  std::string upper = Upper(type);
  for (const char* known : kKeboolaBaseTypes) {
    if (upper == known) return upper;
  }
  return "";
}

std::string BaseTypeList() {
  std::string out;
  for (const char* known : kKeboolaBaseTypes) {
    if (!out.empty()) out += ", ";
    out += known;
  }
  return out;
}

// A JSON scalar as Keboola's string normaliser turns it into text (true -> "true", 11 -> "11").
std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

bool IsScalar(const json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

// PHP's json_encode writes an empty array for an empty map, so `[]` stands for `{}`.
bool IsObjectLike(const json& v) { return v.is_object() || (v.is_array() && v.empty()); }

// Reads typed fields of one JSON document; every error names the file and the field.
class FieldReader {
 public:
  explicit FieldReader(std::string file) : file_(std::move(file)) {}

  Status Error(const std::string& field, const std::string& what) const {
    return Status::InvalidArgument(file_ + ": field `" + field + "` " + what)
        .WithDetail("file", file_)
        .WithDetail("field", field);
  }

  // The member `key` of `obj`, or nullptr when absent or null.
  static const json* Find(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status String(const json& obj, const char* key, const std::string& field,
                std::string* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return Error(field, "must be a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }

  Status Bool(const json& obj, const char* key, const std::string& field, bool* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return Error(field, "must be true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status OptionalBool(const json& obj, const char* key, const std::string& field,
                      std::optional<bool>* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return Error(field, "must be true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status StringList(const json& obj, const char* key, const std::string& field,
                    std::vector<std::string>* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return Error(field, "must be a list of strings");
    out->clear();
    for (const json& item : *v) {
      if (!item.is_string()) return Error(field, "must be a list of strings");
      out->push_back(item.get<std::string>());
    }
    return Status::Ok();
  }

  // A list of strings or numbers, kept as text (delete_where values).
  Status ScalarList(const json& obj, const char* key, const std::string& field,
                    std::vector<std::string>* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return Error(field, "must be a list of strings");
    out->clear();
    for (const json& item : *v) {
      if (!item.is_string() && !item.is_number()) return Error(field, "must be a list of strings");
      out->push_back(ScalarText(item));
    }
    return Status::Ok();
  }

  // A string, number or boolean, kept as text (length, default, changed_since).
  Status Scalar(const json& obj, const char* key, const std::string& field,
                std::optional<std::string>* out) const {
    const json* v = Find(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!IsScalar(*v)) return Error(field, "must be a string");
    *out = ScalarText(*v);
    return Status::Ok();
  }

  // "eq" or "ne"; absent, null or "" is "eq".
  Status Operator(const json& obj, const char* key, const std::string& field,
                  DeleteWhereOperator* out) const {
    std::string op;
    RETURN_IF_ERROR(String(obj, key, field, &op));
    if (op.empty() || op == "eq") {
      *out = DeleteWhereOperator::kEq;
    } else if (op == "ne") {
      *out = DeleteWhereOperator::kNe;
    } else {
      return Error(field, "must be \"eq\" or \"ne\"");
    }
    return Status::Ok();
  }

  // A list of {key, value} objects (legacy `metadata`, each list of `column_metadata`). Entries
  // whose value is absent or null are skipped, as keboola.component skips them.
  Status MetadataList(const json& list, const std::string& field,
                      std::vector<MetadataEntry>* out) const {
    const std::string what = "must be a list of {\"key\": ..., \"value\": ...} objects";
    if (!list.is_array()) return Error(field, what);
    for (size_t i = 0; i < list.size(); ++i) {
      const json& item = list[i];
      const std::string item_field = field + "[" + std::to_string(i) + "]";
      if (!item.is_object()) return Error(field, what);
      const json* key = Find(item, "key");
      if (key == nullptr || !key->is_string() || key->get<std::string>().empty()) {
        return Error(item_field + ".key", "must be a non-empty string");
      }
      const json* value = Find(item, "value");
      if (value == nullptr) continue;
      if (!IsScalar(*value)) return Error(item_field + ".value", "must be a string");
      out->push_back({key->get<std::string>(), ScalarText(*value), "", "", ""});
    }
    return Status::Ok();
  }

  // An object of key -> scalar (`table_metadata`, schema[].metadata).
  Status MetadataObject(const json& obj, const std::string& field,
                        std::vector<MetadataEntry>* out) const {
    if (!IsObjectLike(obj)) return Error(field, "must be an object of strings");
    if (obj.is_array()) return Status::Ok();
    for (const auto& [key, value] : obj.items()) {
      if (value.is_null()) continue;
      if (!IsScalar(value)) return Error(field + "." + key, "must be a string");
      out->push_back({key, ScalarText(value), "", "", ""});
    }
    return Status::Ok();
  }

 private:
  std::string file_;
};

Result<json> ParseJsonObject(const std::string& text, const std::string& file_name) {
  if (text.size() > kManifestBytesMax) {
    return Status::InvalidArgument(file_name + ": the manifest is larger than " +
                                   std::to_string(kManifestBytesMax >> 20) + " MiB")
        .WithDetail("file", file_name);
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // The byte offset of the failure becomes a line and column.
    size_t line = 1, column = 1;
    const size_t end = std::min(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string reason = e.what();
    size_t at = reason.find("column ");
    at = at == std::string::npos ? std::string::npos : reason.find(": ", at);
    reason = at == std::string::npos ? "syntax error" : reason.substr(at + 2);
    return Status::InvalidArgument(file_name + ": malformed JSON at line " + std::to_string(line) +
                                   ", column " + std::to_string(column) + ": " + reason)
        .WithDetail("file", file_name)
        .WithDetail("line", std::to_string(line))
        .WithDetail("column", std::to_string(column));
  } catch (const json::exception& e) {
    // A number too large for a double ("1e400") is nlohmann's out_of_range, with no position.
    std::string reason = e.what();
    size_t at = reason.find("] ");
    reason = at == std::string::npos ? reason : reason.substr(at + 2);
    return Status::InvalidArgument(file_name + ": malformed JSON: " + reason)
        .WithDetail("file", file_name);
  }
  if (doc.is_array() && doc.empty()) return json::object();  // PHP's empty manifest
  if (!doc.is_object()) {
    return Status::InvalidArgument(file_name + ": the manifest must be a JSON object")
        .WithDetail("file", file_name);
  }
  return doc;
}

// Column details from legacy column metadata (KBC.datatype.* and KBC.description keys).
void ApplyColumnMetadata(const std::vector<MetadataEntry>& entries, OutputColumnDetails* d) {
  for (const MetadataEntry& m : entries) {
    if (m.key == "KBC.datatype.basetype") {
      // Keboola stores any text here; only a known base type types the column.
      std::string base = CanonicalBaseType(m.value);
      if (!base.empty()) d->base_type = base;
    } else if (m.key == "KBC.datatype.length") {
      d->length = m.value;
    } else if (m.key == "KBC.datatype.default") {
      d->default_value = m.value;
    } else if (m.key == "KBC.datatype.nullable") {
      d->nullable = !(m.value == "false" || m.value == "0" || m.value.empty());
    } else if (m.key == "KBC.description") {
      d->description = m.value;
    }
  }
  d->metadata.insert(d->metadata.end(), entries.begin(), entries.end());
}

// Trimmed, without empty names and repeats (Keboola's PrimaryKeyHelper::normalizeKeyArray).
std::vector<std::string> NormaliseKey(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& raw : names) {
    std::string name = Trim(raw);
    if (name.empty() || std::find(out.begin(), out.end(), name) != out.end()) continue;
    out.push_back(std::move(name));
  }
  return out;
}

Status ParseSchema(const FieldReader& r, const json& schema, OutputTableManifest* m) {
  if (!schema.is_array()) return r.Error("schema", "must be a list of column objects");
  if (schema.size() > kManifestColumnsMax) {
    return r.Error("schema", "lists more than " + std::to_string(kManifestColumnsMax) + " columns");
  }
  for (size_t i = 0; i < schema.size(); ++i) {
    const json& col = schema[i];
    const std::string f = "schema[" + std::to_string(i) + "]";
    if (!col.is_object()) return r.Error(f, "must be an object");
    std::string name;
    RETURN_IF_ERROR(r.String(col, "name", f + ".name", &name));
    if (name.empty()) return r.Error(f + ".name", "must be a non-empty string");
    if (m->column_details.count(name)) return r.Error(f + ".name", "repeats column `" + name + "`");
    OutputColumnDetails d;
    if (const json* types = FieldReader::Find(col, "data_type")) {
      if (!types->is_object()) return r.Error(f + ".data_type", "must be an object");
      if (!types->contains("base")) return r.Error(f + ".data_type.base", "is required");
      for (const auto& [backend, spec] : types->items()) {
        const std::string bf = f + ".data_type." + backend;
        if (backend != "base" && backend != "snowflake" && backend != "bigquery") {
          return r.Error(bf, "names an unsupported backend (base, snowflake and bigquery are)");
        }
        if (!spec.is_object()) return r.Error(bf, "must be an object");
        BackendDataType t;
        RETURN_IF_ERROR(r.String(spec, "type", bf + ".type", &t.type));
        if (t.type.empty()) return r.Error(bf + ".type", "must be a non-empty string");
        RETURN_IF_ERROR(r.Scalar(spec, "length", bf + ".length", &t.length));
        RETURN_IF_ERROR(r.Scalar(spec, "default", bf + ".default", &t.default_value));
        if (backend == "base") {
          d.base_type = CanonicalBaseType(t.type);
          if (d.base_type.empty()) {
            return r.Error(bf + ".type", "must be one of " + BaseTypeList());
          }
          d.length = t.length;
          d.default_value = t.default_value;
        } else {
          d.backend_types[backend] = std::move(t);
        }
      }
    }
    RETURN_IF_ERROR(r.Bool(col, "nullable", f + ".nullable", &d.nullable));
    bool primary_key = false, distribution_key = false;
    RETURN_IF_ERROR(r.Bool(col, "primary_key", f + ".primary_key", &primary_key));
    RETURN_IF_ERROR(r.Bool(col, "distribution_key", f + ".distribution_key", &distribution_key));
    RETURN_IF_ERROR(r.String(col, "description", f + ".description", &d.description));
    if (const json* meta = FieldReader::Find(col, "metadata")) {
      RETURN_IF_ERROR(r.MetadataObject(*meta, f + ".metadata", &d.metadata));
      for (const MetadataEntry& e : d.metadata) {
        if (e.key != "KBC.description") continue;
        if (FieldReader::Find(col, "description") != nullptr) {
          return r.Error(f + ".description",
                         "and metadata \"KBC.description\" cannot both be given");
        }
        d.description = e.value;
      }
    }
    if (primary_key) m->primary_key.push_back(name);
    if (distribution_key) m->distribution_key.push_back(name);
    m->columns.push_back(name);
    m->column_details.emplace(name, std::move(d));
  }
  return Status::Ok();
}

Status ParseValuesTable(const FieldReader& r, const json& obj, const std::string& f,
                        bool from_storage, std::optional<DeleteWhereValuesTable>* out) {
  if (!obj.is_object()) return r.Error(f, "must be an object");
  DeleteWhereValuesTable t;
  if (from_storage) {
    RETURN_IF_ERROR(r.String(obj, "bucket_id", f + ".bucket_id", &t.bucket_id));
    if (t.bucket_id.empty()) return r.Error(f + ".bucket_id", "must be a non-empty string");
  } else {
    std::optional<std::string> id;  // workspace ids are numbers in Keboola's API
    RETURN_IF_ERROR(r.Scalar(obj, "workspace_id", f + ".workspace_id", &id));
    t.workspace_id = id.value_or("");
  }
  RETURN_IF_ERROR(r.String(obj, "table", f + ".table", &t.table));
  if (t.table.empty()) return r.Error(f + ".table", "must be a non-empty string");
  RETURN_IF_ERROR(r.String(obj, "column", f + ".column", &t.column));
  *out = std::move(t);
  return Status::Ok();
}

Status ParseDeleteWhere(const FieldReader& r, const json& doc, OutputTableManifest* m) {
  std::string legacy_column;
  RETURN_IF_ERROR(r.String(doc, "delete_where_column", "delete_where_column", &legacy_column));
  const json* rules = FieldReader::Find(doc, "delete_where");
  if (rules != nullptr && !rules->is_array()) {
    return r.Error("delete_where", "must be a list of rule objects");
  }
  const bool has_rules = rules != nullptr && !rules->empty();
  if (!legacy_column.empty()) {
    if (has_rules) {
      return r.Error("delete_where_column", "and `delete_where` cannot both be given");
    }
    DeleteWhereFilter filter;
    filter.column = legacy_column;
    RETURN_IF_ERROR(
        r.ScalarList(doc, "delete_where_values", "delete_where_values", &filter.values));
    if (filter.values.empty()) {
      return r.Error("delete_where_values", "must not be empty when `delete_where_column` is set");
    }
    RETURN_IF_ERROR(r.Operator(doc, "delete_where_operator", "delete_where_operator", &filter.op));
    m->delete_where.push_back({"", "", {std::move(filter)}});
    return Status::Ok();
  }
  // Without a column the legacy values and operator say nothing, but their types still count.
  std::vector<std::string> ignored_values;
  DeleteWhereOperator ignored_op;
  RETURN_IF_ERROR(r.ScalarList(doc, "delete_where_values", "delete_where_values", &ignored_values));
  RETURN_IF_ERROR(r.Operator(doc, "delete_where_operator", "delete_where_operator", &ignored_op));
  if (!has_rules) return Status::Ok();
  for (size_t i = 0; i < rules->size(); ++i) {
    const json& rule_json = (*rules)[i];
    const std::string f = "delete_where[" + std::to_string(i) + "]";
    if (!rule_json.is_object()) return r.Error(f, "must be an object");
    DeleteWhereRule rule;
    std::optional<std::string> since, until;
    RETURN_IF_ERROR(r.Scalar(rule_json, "changed_since", f + ".changed_since", &since));
    RETURN_IF_ERROR(r.Scalar(rule_json, "changed_until", f + ".changed_until", &until));
    rule.changed_since = since.value_or("");
    rule.changed_until = until.value_or("");
    const json* filters = FieldReader::Find(rule_json, "where_filters");
    if (filters != nullptr && !filters->is_array()) {
      return r.Error(f + ".where_filters", "must be a list of filter objects");
    }
    for (size_t j = 0; filters != nullptr && j < filters->size(); ++j) {
      const json& fj = (*filters)[j];
      const std::string ff = f + ".where_filters[" + std::to_string(j) + "]";
      if (!fj.is_object()) return r.Error(ff, "must be an object");
      DeleteWhereFilter filter;
      RETURN_IF_ERROR(r.String(fj, "column", ff + ".column", &filter.column));
      if (filter.column.empty()) return r.Error(ff + ".column", "must be a non-empty string");
      RETURN_IF_ERROR(r.Operator(fj, "operator", ff + ".operator", &filter.op));
      RETURN_IF_ERROR(r.ScalarList(fj, "values_from_set", ff + ".values_from_set", &filter.values));
      if (const json* ws = FieldReader::Find(fj, "values_from_workspace")) {
        RETURN_IF_ERROR(ParseValuesTable(r, *ws, ff + ".values_from_workspace", false,
                                         &filter.values_from_workspace));
      }
      if (const json* st = FieldReader::Find(fj, "values_from_storage")) {
        RETURN_IF_ERROR(ParseValuesTable(r, *st, ff + ".values_from_storage", true,
                                         &filter.values_from_storage));
      }
      const int sources = !filter.values.empty() + filter.values_from_workspace.has_value() +
                          filter.values_from_storage.has_value();
      if (sources != 1) {
        return r.Error(ff,
                       "must have exactly one of values_from_set (non-empty), "
                       "values_from_workspace and values_from_storage");
      }
      rule.filters.push_back(std::move(filter));
    }
    if (rule.changed_since.empty() && rule.changed_until.empty() && rule.filters.empty()) {
      return r.Error(f, "must have changed_since, changed_until or where_filters");
    }
    m->delete_where.push_back(std::move(rule));
  }
  return Status::Ok();
}

Status CheckDelimiters(const FieldReader& r, const OutputTableManifest& m) {
  if (transcode::Utf8CodePoints(m.delimiter) != 1)
    return r.Error("delimiter", "must be one character");
  if (transcode::Utf8CodePoints(m.enclosure) > 1)
    return r.Error("enclosure", "must be one character or empty");
  return Status::Ok();
}

}  // namespace

Result<OutputTableManifest> ParseOutputTableManifest(const std::string& text,
                                                     const std::string& file_name) {
  ASSIGN_OR_RETURN(json doc, ParseJsonObject(text, file_name));
  const FieldReader r(file_name);
  OutputTableManifest m;

  RETURN_IF_ERROR(r.String(doc, "destination", "destination", &m.destination));
  RETURN_IF_ERROR(r.Bool(doc, "incremental", "incremental", &m.incremental));
  RETURN_IF_ERROR(r.Bool(doc, "write_always", "write_always", &m.write_always));
  RETURN_IF_ERROR(r.String(doc, "delimiter", "delimiter", &m.delimiter));
  RETURN_IF_ERROR(r.String(doc, "enclosure", "enclosure", &m.enclosure));
  RETURN_IF_ERROR(CheckDelimiters(r, m));
  RETURN_IF_ERROR(r.String(doc, "manifest_type", "manifest_type", &m.manifest_type));
  RETURN_IF_ERROR(r.String(doc, "description", "description", &m.description));
  RETURN_IF_ERROR(r.StringList(doc, "tags", "tags", &m.tags));
  for (const std::string& tag : m.tags) {
    if (tag.empty()) return r.Error("tags", "must not contain an empty tag");
  }
  RETURN_IF_ERROR(r.String(doc, "unload_strategy", "unload_strategy", &m.unload_strategy));
  RETURN_IF_ERROR(
      r.String(doc, "deduplication_strategy", "deduplication_strategy", &m.deduplication_strategy));
  if (!m.deduplication_strategy.empty() && m.deduplication_strategy != "insert" &&
      m.deduplication_strategy != "upsert") {
    return r.Error("deduplication_strategy", "must be \"insert\" or \"upsert\"");
  }
  std::optional<bool> has_header;
  RETURN_IF_ERROR(r.OptionalBool(doc, "has_header", "has_header", &has_header));

  std::vector<std::string> legacy_columns, legacy_pk, legacy_dk;
  RETURN_IF_ERROR(r.StringList(doc, "columns", "columns", &legacy_columns));
  RETURN_IF_ERROR(r.StringList(doc, "primary_key", "primary_key", &legacy_pk));
  RETURN_IF_ERROR(r.StringList(doc, "distribution_key", "distribution_key", &legacy_dk));
  legacy_pk = NormaliseKey(legacy_pk);
  legacy_dk = NormaliseKey(legacy_dk);

  std::vector<MetadataEntry> legacy_metadata;
  if (const json* meta = FieldReader::Find(doc, "metadata")) {
    RETURN_IF_ERROR(r.MetadataList(*meta, "metadata", &legacy_metadata));
  }
  std::map<std::string, std::vector<MetadataEntry>> legacy_column_metadata;
  if (const json* cm = FieldReader::Find(doc, "column_metadata")) {
    const std::string what = "must be an object of column name -> list of {key, value}";
    if (!IsObjectLike(*cm)) return r.Error("column_metadata", what);
    for (const auto& [column, list] : cm->items()) {
      if (cm->is_array()) break;
      RETURN_IF_ERROR(
          r.MetadataList(list, "column_metadata." + column, &legacy_column_metadata[column]));
    }
  }

  const json* schema = FieldReader::Find(doc, "schema");
  m.uses_schema = schema != nullptr && !(schema->is_array() && schema->empty());
  if (m.uses_schema) {
    // Keboola's rules: one place for columns, keys and column metadata.
    if (!legacy_columns.empty()) return r.Error("schema", "and `columns` cannot both be given");
    if (!legacy_pk.empty()) return r.Error("schema", "and `primary_key` cannot both be given");
    if (!legacy_dk.empty()) {
      return r.Error("schema", "and `distribution_key` cannot both be given");
    }
    if (!legacy_metadata.empty()) return r.Error("schema", "and `metadata` cannot both be given");
    if (!legacy_column_metadata.empty()) {
      return r.Error("schema", "and `column_metadata` cannot both be given");
    }
    RETURN_IF_ERROR(ParseSchema(r, *schema, &m));
  } else {
    if (schema != nullptr && !schema->is_array()) {
      return r.Error("schema", "must be a list of column objects");
    }
    if (legacy_columns.size() > kManifestColumnsMax) {
      return r.Error("columns",
                     "lists more than " + std::to_string(kManifestColumnsMax) + " columns");
    }
    for (const std::string& name : legacy_columns) {
      if (name.empty()) return r.Error("columns", "must not contain an empty name");
      if (m.column_details.count(name)) return r.Error("columns", "repeats column `" + name + "`");
      m.column_details[name];
    }
    m.columns = std::move(legacy_columns);
    for (const std::string& key : legacy_pk) {
      if (!m.columns.empty() && !m.column_details.count(key)) {
        return r.Error("primary_key", "names column `" + key + "`, which is not in `columns`");
      }
    }
    m.primary_key = std::move(legacy_pk);
    m.distribution_key = std::move(legacy_dk);
    for (const auto& [column, entries] : legacy_column_metadata) {
      ApplyColumnMetadata(entries, &m.column_details[column]);
    }
  }

  // Table metadata: the legacy list, then the table_metadata object; `description` wins.
  m.table_metadata = std::move(legacy_metadata);
  if (const json* tm = FieldReader::Find(doc, "table_metadata")) {
    std::vector<MetadataEntry> entries;
    RETURN_IF_ERROR(r.MetadataObject(*tm, "table_metadata", &entries));
    for (const MetadataEntry& e : entries) {
      if (e.key == "KBC.description" && FieldReader::Find(doc, "description") != nullptr) {
        return r.Error("description",
                       "and table_metadata \"KBC.description\" cannot both be given");
      }
    }
    m.table_metadata.insert(m.table_metadata.end(), entries.begin(), entries.end());
  }
  if (!m.description.empty()) {
    m.table_metadata.push_back({"KBC.description", m.description, "", "", ""});
  } else {
    for (const MetadataEntry& e : m.table_metadata) {
      if (e.key == "KBC.description") m.description = e.value;
    }
  }

  RETURN_IF_ERROR(ParseDeleteWhere(r, doc, &m));
  m.has_header = m.columns.empty() ? true : has_header.value_or(false);
  return m;
}

Status CheckSlicedTableManifest(const OutputTableManifest& manifest, const std::string& file_name) {
  if (manifest.columns.empty()) {
    return Status::InvalidArgument(file_name +
                                   ": a sliced table must list its columns (`columns` or "
                                   "`schema`): its slices have no header row")
        .WithDetail("file", file_name)
        .WithDetail("field", "columns");
  }
  if (manifest.has_header) {
    return Status::InvalidArgument(file_name +
                                   ": field `has_header` must not be true for a sliced table")
        .WithDetail("file", file_name)
        .WithDetail("field", "has_header");
  }
  return Status::Ok();
}

namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

constexpr std::string_view kManifestSuffix = ".manifest";

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> SliceFiles(const std::vector<DirEntry>& folder_entries) {
  std::vector<std::string> out;
  for (const DirEntry& e : folder_entries) {
    if (e.is_directory || BaseName(e.path).starts_with('.')) continue;
    out.push_back(e.path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<OutputSource>> PairOutputSources(const std::vector<DirEntry>& entries) {
  std::map<std::string, OutputSource> data;      // by name
  std::map<std::string, std::string> manifests;  // data name -> manifest path
  for (const DirEntry& e : entries) {
    std::string name = BaseName(e.path);
    if (name.starts_with('.')) continue;
    if (!e.is_directory && EndsWith(name, kManifestSuffix)) {
      manifests[name.substr(0, name.size() - kManifestSuffix.size())] = e.path;
    } else {
      data[name] = {name, e.path, "", e.is_directory};
    }
  }
  std::vector<std::string> orphans;
  for (const auto& [name, path] : manifests) {
    auto it = data.find(name);
    if (it == data.end()) {
      orphans.push_back("\"" + name + ".manifest\"");
    } else {
      it->second.manifest_path = path;
    }
  }
  if (!orphans.empty()) {
    std::string list;
    for (const std::string& o : orphans) list += (list.empty() ? "" : ", ") + o;
    return Status::InvalidArgument("Found orphaned manifest: " + list +
                                   " (no data file or folder of that name)");
  }
  std::vector<OutputSource> out;
  for (auto& [name, source] : data) out.push_back(std::move(source));
  return out;
}

bool IsKeboolaTableId(const std::string& text) {
  return std::count(text.begin(), text.end(), '.') == 2;
}

Result<std::string> ResolveOutputDestination(const std::string& mapping_destination,
                                             const std::string& manifest_destination,
                                             const std::string& source_name,
                                             const std::string& default_bucket) {
  const auto fail = [&] {
    return Status::InvalidArgument("Failed to resolve destination for output table \"" +
                                   source_name + "\"")
        .WithDetail("field", "destination");
  };
  if (!mapping_destination.empty()) {
    if (!IsKeboolaTableId(mapping_destination)) return fail();
    return mapping_destination;
  }
  std::string destination = manifest_destination;
  if (destination.empty()) {
    // PHP's basename($name, '.csv'): the suffix goes unless it is the whole name.
    destination = BaseName(source_name);
    if (EndsWith(destination, ".csv") && destination.size() > 4) {
      destination.resize(destination.size() - 4);
    }
  }
  if (IsKeboolaTableId(destination)) return destination;
  if (!default_bucket.empty()) return default_bucket + "." + destination;
  return fail();
}

json InputTableManifest(const InputTableInfo& info) {
  const auto metadata_json = [](const std::vector<MetadataEntry>& entries) {
    json list = json::array();
    for (const MetadataEntry& e : entries) {
      json item = {{"key", e.key}, {"value", e.value}};
      if (!e.id.empty()) item["id"] = e.id;
      if (!e.provider.empty()) item["provider"] = e.provider;
      if (!e.timestamp.empty()) item["timestamp"] = e.timestamp;
      list.push_back(std::move(item));
    }
    return list;
  };
  json m = {
      {"id", info.id},
      {"name", info.name},
      {"primary_key", info.primary_key},
      {"distribution_key", json::array()},
      {"indexed_columns", info.indexed_columns},
      {"created", info.created},
      {"last_change_date", info.last_change_date},
      {"last_import_date", info.last_import_date},
      {"rows_count", info.rows_count},
      {"data_size_bytes", info.data_size_bytes},
      {"is_alias", info.is_alias},
      {"attributes", json::array()},
      {"columns", info.columns},
      {"metadata", metadata_json(info.metadata)},
  };
  if (!info.uri.empty()) m["uri"] = info.uri;
  if (!info.description.empty()) m["description"] = info.description;
  json column_metadata = json::object();
  for (const std::string& column : info.columns) {
    auto it = info.column_metadata.find(column);
    column_metadata[column] =
        metadata_json(it == info.column_metadata.end() ? std::vector<MetadataEntry>{} : it->second);
  }
  m["column_metadata"] = std::move(column_metadata);
  return m;
}

json InputFileManifest(const InputFileInfo& info) {
  return {
      {"id", info.id},
      {"name", info.name},
      {"created", info.created},
      {"is_public", info.is_public},
      {"is_encrypted", info.is_encrypted},
      {"is_sliced", info.is_sliced},
      {"tags", info.tags},
      {"max_age_days", info.max_age_days},
      {"size_bytes", info.size_bytes},
  };
}

std::string InputFileName(const InputFileInfo& info) {
  return std::to_string(info.id) + "_" + info.name;
}

Result<OutputFileManifest> ParseOutputFileManifest(const std::string& text,
                                                   const std::string& file_name) {
  ASSIGN_OR_RETURN(json doc, ParseJsonObject(text, file_name));
  const FieldReader r(file_name);
  OutputFileManifest m;
  RETURN_IF_ERROR(r.StringList(doc, "tags", "tags", &m.tags));
  for (const std::string& tag : m.tags) {
    if (tag.empty()) return r.Error("tags", "must not contain an empty tag");
  }
  RETURN_IF_ERROR(r.Bool(doc, "is_public", "is_public", &m.is_public));
  RETURN_IF_ERROR(r.Bool(doc, "is_permanent", "is_permanent", &m.is_permanent));
  RETURN_IF_ERROR(r.Bool(doc, "is_encrypted", "is_encrypted", &m.is_encrypted));
  RETURN_IF_ERROR(r.Bool(doc, "notify", "notify", &m.notify));
  return m;
}

std::string KeboolaTimestamp(std::chrono::system_clock::time_point time) {
  const time_t seconds = std::chrono::system_clock::to_time_t(time);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+0000", &utc);
  return buf;
}

}  // namespace swan::jobs
