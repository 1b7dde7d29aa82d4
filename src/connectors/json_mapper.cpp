#include "connectors/json_mapper.h"

#include <cstdint>

#include "connectors/php_datetime.h"
#include "connectors/user_functions.h"

namespace swan::connectors {

namespace {

std::string TypeOf(const Json& settings) {
  if (!settings.is_object()) return "";
  auto it = settings.find("type");
  if (it == settings.end() || PhpEmpty(*it)) return "column";
  return PhpToString(*it);
}

std::string Destination(const Json& settings) {
  if (!settings.is_object() || !settings.contains("mapping") || !settings["mapping"].is_object()) {
    return "";
  }
  const Json& m = settings["mapping"];
  return m.contains("destination") && !PhpEmpty(m["destination"]) ? PhpToString(m["destination"])
                                                                  : "";
}

bool Flag(const Json& obj, const char* a, const char* b = nullptr) {
  if (!obj.is_object() || !obj.contains(a)) return false;
  const Json& x = obj[a];
  if (b == nullptr) return !PhpEmpty(x);
  return x.is_object() && x.contains(b) && !PhpEmpty(x[b]);
}

void Assign(std::vector<std::pair<std::string, Json>>& row, const std::string& key,
            const Json& value) {
  for (auto& p : row) {
    if (p.first == key) {
      p.second = value;
      return;
    }
  }
  row.emplace_back(key, value);
}

}  // namespace

JsonMapper::JsonMapper(const Json& mapping, std::string type, std::string work_dir)
    : mapping_(mapping), type_(std::move(type)), work_dir_(std::move(work_dir)) {
  if (!mapping_.is_object()) {
    throw ExtractorError("Mapping must be 'array' type, '" + std::string(mapping_.type_name()) +
                         "' type given, for '" + type_ + "' data type in 'mappings' config.");
  }
  for (auto it = mapping_.begin(); it != mapping_.end(); ++it) {
    if (it->is_string()) {
      Json expanded = Json::object();
      expanded["type"] = "column";
      expanded["mapping"] = Json::object({{"destination", it->get<std::string>()}});
      *it = expanded;
    }
  }
}

std::vector<std::pair<std::string, std::string>> JsonMapper::PrimaryKey() const {
  std::vector<std::pair<std::string, std::string>> pk;
  for (auto it = mapping_.begin(); it != mapping_.end(); ++it) {
    if (Flag(*it, "mapping", "primaryKey")) pk.emplace_back(it.key(), Destination(*it));
  }
  if (!parent_pk_.empty()) pk.emplace_back(parent_pk_, parent_pk_);
  return pk;
}

std::vector<std::string> JsonMapper::Header() const {
  std::vector<std::string> header;
  bool no_pk = PrimaryKey().empty();
  for (auto it = mapping_.begin(); it != mapping_.end(); ++it) {
    std::string type = TypeOf(*it);
    if (type == "column" || type == "user" || type == "date") {
      std::string dest = Destination(*it);
      if (dest.empty()) {
        throw ExtractorError(
            "Bad Json to CSV Mapping configuration: Key 'mapping.destination' "
            "is not set for column '" +
            it.key() + "'.");
      }
      header.push_back(dest);
    } else if (type == "table" && no_pk) {
      if (!it->contains("destination") || PhpEmpty((*it)["destination"])) {
        throw ExtractorError(
            "Bad Json to CSV Mapping configuration: Key 'destination' is not "
            "set for table '" +
            it.key() + "'.");
      }
      if (!Flag(*it, "parentKey", "disable")) header.push_back(PhpToString((*it)["destination"]));
    }
  }
  if (has_parent_key_) header.push_back(parent_key_column_);
  return header;
}

CsvTable& JsonMapper::ResultFile() {
  if (!result_) {
    std::string path = UniqueWorkFile(work_dir_, "map", ".csv");
    result_ = std::make_unique<CsvTable>(type_, Header(), path);
    for (const auto& [path_key, column] : PrimaryKey()) result_->primary_key.push_back(column);
  }
  return *result_;
}

JsonMapper& JsonMapper::ChildParser(const Json& settings, const std::string& key) {
  std::string dest = settings.contains("destination") ? PhpToString(settings["destination"]) : "";
  if (!dest.empty() && dest == type_) {
    if (!Flag(settings, "parentKey", "disable")) {
      throw ExtractorError(
          "Bad Json to CSV Mapping configuration: 'parentKey.disable' must be "
          "true to parse child values into parent's table");
    }
    return *this;
  }
  for (const char* required : {"tableMapping", "destination"}) {
    if (!settings.contains(required) || PhpEmpty(settings[required])) {
      throw ExtractorError(std::string("Bad Json to CSV Mapping configuration: Key '") + required +
                           "' is not set for table '" + key + "'.");
    }
  }
  for (auto& [name, child] : children_) {
    if (name == dest) return *child;
  }
  children_.emplace_back(dest,
                         std::make_unique<JsonMapper>(settings["tableMapping"], dest, work_dir_));
  return *children_.back().second;
}

std::vector<Json> JsonMapper::PrimaryKeyValues(const Json& row, const Json& user_data) const {
  std::vector<Json> values;
  auto pk = PrimaryKey();
  if (pk.empty()) {
    std::string serialized = PhpSerialize(row);
    if (!PhpEmpty(user_data)) serialized += PhpSerialize(user_data, true);
    values.emplace_back(Md5Hex(serialized));
    return values;
  }
  for (const auto& [path, column] : pk) {
    if (has_parent_key_ && column == parent_key_column_) {
      values.emplace_back(parent_key_value_);
    } else if (mapping_.contains(path) && TypeOf(mapping_[path]) == "user") {
      auto v = user_data.is_object() && user_data.contains(path) ? user_data[path] : Json(nullptr);
      values.push_back(v);
    } else {
      const Json& settings = mapping_.contains(path) ? mapping_[path] : Json();
      std::string delimiter =
          settings.is_object() && settings.contains("delimiter") && !PhpEmpty(settings["delimiter"])
              ? PhpToString(settings["delimiter"])
              : ".";
      auto v = GetDataFromPath(path, row, delimiter);
      values.push_back(v ? *v : Json(nullptr));
    }
  }
  return values;
}

std::vector<Json> JsonMapper::MapRow(const Json& row, const Json& user_data) {
  std::vector<std::pair<std::string, Json>> result;
  for (auto it = mapping_.begin(); it != mapping_.end(); ++it) {
    const std::string& key = it.key();
    const Json& settings = *it;
    if (!settings.is_object()) continue;
    std::string delimiter = settings.contains("delimiter") && !PhpEmpty(settings["delimiter"])
                                ? PhpToString(settings["delimiter"])
                                : ".";
    Json value = nullptr;
    if (row.is_object() || row.is_array()) {
      auto v = GetDataFromPath(key, row, delimiter);
      if (v) value = *v;
    } else {
      value = row;
    }
    std::string type = TypeOf(settings);
    if (type == "table") {
      JsonMapper& child = ChildParser(settings, key);
      bool disabled = Flag(settings, "parentKey", "disable");
      std::string dest = PhpToString(settings["destination"]);
      if (PrimaryKey().empty() && PhpEmpty(value, false)) {
        if (!disabled) Assign(result, dest, nullptr);
        continue;
      }
      std::vector<Json> pk_values = PrimaryKeyValues(row, user_data);
      for (const auto& v : pk_values) {
        if (!v.is_null() && !IsScalar(v)) {
          Json arr = Json::array();
          for (const auto& x : pk_values) arr.push_back(x);
          throw ExtractorError(
              "Bad Json to CSV Mapping configuration: Only scalar values are "
              "allowed in primary key. Primary key: " +
              PhpJsonEncode(arr));
        }
      }
      if (!disabled) {
        std::string joined;
        for (size_t i = 0; i < pk_values.size(); ++i) {
          if (i) joined.push_back(',');
          joined += PhpToString(pk_values[i]);
        }
        if (PrimaryKey().empty()) Assign(result, dest, joined);
        std::string column = Flag(settings, "parentKey", "destination")
                                 ? PhpToString(settings["parentKey"]["destination"])
                                 : type_ + "_pk";
        child.has_parent_key_ = true;
        child.parent_key_column_ = column;
        child.parent_key_value_ = joined;
        if (Flag(settings, "parentKey", "primaryKey")) child.parent_pk_ = column;
      }
      Json items = value.is_array() ? value : Json::array({value});
      child.Parse(items, user_data);
    } else if (type == "user") {
      Json v = nullptr;
      if (user_data.is_object() || user_data.is_array()) {
        auto found = GetDataFromPath(key, user_data, "/");
        if (found) v = *found;
      }
      Assign(result, Destination(settings), v);
    } else if (type == "date") {
      if (!value.is_null()) {
        auto t = PhpStrtotime(PhpToString(value), SystemNowMicros() / 1000000);
        if (t) value = *t;
      }
      Assign(result, Destination(settings), value);
    } else {
      if (!value.is_null() && !IsScalar(value) && Flag(settings, "forceType")) {
        value = PhpJsonEncode(value);
      }
      Assign(result, Destination(settings), value);
    }
  }
  if (has_parent_key_) {
    bool present = false;
    for (const auto& p : result) present = present || p.first == parent_key_column_;
    if (!present) result.emplace_back(parent_key_column_, parent_key_value_);
  }
  std::vector<Json> cells;
  cells.reserve(result.size());
  for (auto& p : result) cells.push_back(std::move(p.second));
  return cells;
}

void JsonMapper::ParseRow(const Json& row, const Json& user_data) {
  CsvTable& file = ResultFile();
  std::vector<Json> cells = MapRow(row, user_data);
  try {
    file.WriteRow(cells);
  } catch (const ExtractorError& e) {
    throw ExtractorError("Error saving '" + type_ + "' data to CSV column: " + e.what());
  }
}

void JsonMapper::Parse(const Json& data, const Json& user_data) {
  ResultFile();
  for (const auto& row : data) ParseRow(row, user_data);
}

std::vector<std::unique_ptr<CsvTable>> JsonMapper::Finish() {
  std::vector<std::unique_ptr<CsvTable>> out;
  ResultFile();
  result_->Close();
  out.push_back(std::move(result_));
  for (auto& [name, child] : children_) {
    for (auto& t : child->Finish()) {
      bool clash = false;
      for (const auto& existing : out) clash = clash || existing->name() == t->name();
      if (!clash) out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace swan::connectors
