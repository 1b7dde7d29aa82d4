#include "jobs/json_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <regex>
#include <utility>
#include <vector>

#include "common/transcode.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::trunc(d) == d;
}

bool HasType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return IsInteger(v);
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return false;
}

bool KnownType(const std::string& type) {
  return type == "string" || type == "number" || type == "integer" || type == "boolean" ||
         type == "object" || type == "array" || type == "null";
}

std::string Article(const std::string& type) {
  return (type == "integer" || type == "array" || type == "object") ? "an " : "a ";
}

// A schema value for a message, cut short (schema text is not secret, but may be long).
std::string Shown(const json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Whether `re` matches somewhere in `s`; nullopt when std::regex gives up (its complexity or
// stack limits), which a pattern with heavy backtracking can reach on a long string.
std::optional<bool> Search(const std::string& s, const std::regex& re) {
  try {
    return std::regex_search(s, re);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

std::string Index(size_t i) { return "[" + std::to_string(i) + "]"; }

// "~" and "/" escaped for a JSON pointer token.
std::string PointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

class Validator {
 public:
  Validator(const json& root, std::string root_name)
      : root_(root), root_name_(std::move(root_name)) {}

  // The first failure of `value` (at `path`) against `schema` (at `schema_path`), or OK. A
  // malformed schema is recorded in schema_error_ and ends the whole validation.
  Status Validate(const json& schema, const std::string& schema_path, const json& value,
                  const std::string& path, int depth);

  const Status& schema_error() const { return schema_error_; }

 private:
  Status Fail(const std::string& path, const std::string& what) const {
    return Status::InvalidArgument((path.empty() ? std::string("value") : path) + ": " + what)
        .WithDetail("field", path);
  }
  Status BadSchema(const std::string& schema_path, const std::string& what) {
    if (schema_error_.ok()) {
      schema_error_ = Status::InvalidArgument("invalid schema at " + schema_path + ": " + what)
                          .WithDetail("schema_path", schema_path);
    }
    return schema_error_;
  }
  std::string Child(const std::string& path, const std::string& key) const {
    return path.empty() ? key : path + "." + key;
  }

  // A number keyword of `schema`, or nullopt when absent; a non-number is a schema error.
  std::optional<double> NumberKeyword(const json& schema, const char* key,
                                      const std::string& schema_path);
  // A non-negative integer keyword; a wrong type is a schema error.
  std::optional<size_t> CountKeyword(const json& schema, const char* key,
                                     const std::string& schema_path);
  const std::regex* Regex(const std::string& pattern, const std::string& schema_path);

  Status ValidateRef(const json& schema, const std::string& schema_path, const json& value,
                     const std::string& path, int depth);
  Status ValidateType(const json& schema, const std::string& schema_path, const json& value,
                      const std::string& path);
  Status ValidateNumber(const json& schema, const std::string& schema_path, const json& value,
                        const std::string& path);
  Status ValidateString(const json& schema, const std::string& schema_path, const json& value,
                        const std::string& path);
  Status ValidateArray(const json& schema, const std::string& schema_path, const json& value,
                       const std::string& path, int depth);
  Status ValidateObject(const json& schema, const std::string& schema_path, const json& value,
                        const std::string& path, int depth);
  Status ValidateCombinators(const json& schema, const std::string& schema_path, const json& value,
                             const std::string& path, int depth);

  const json& root_;
  const std::string root_name_;
  Status schema_error_;
  std::map<std::string, std::unique_ptr<std::regex>> regexes_;
};

std::optional<double> Validator::NumberKeyword(const json& schema, const char* key,
                                               const std::string& schema_path) {
  auto it = schema.find(key);
  if (it == schema.end()) return std::nullopt;
  if (!it->is_number()) {
    (void)BadSchema(schema_path, std::string("`") + key + "` must be a number");
    return std::nullopt;
  }
  return it->get<double>();
}

std::optional<size_t> Validator::CountKeyword(const json& schema, const char* key,
                                              const std::string& schema_path) {
  auto it = schema.find(key);
  if (it == schema.end()) return std::nullopt;
  if (!IsInteger(*it) || it->get<double>() < 0) {
    (void)BadSchema(schema_path, std::string("`") + key + "` must be a non-negative integer");
    return std::nullopt;
  }
  const double count = it->get<double>();
  // Any count past what memory can hold means "no limit" in practice; the cast stays defined.
  return count >= 1e18 ? SIZE_MAX : static_cast<size_t>(count);
}

const std::regex* Validator::Regex(const std::string& pattern, const std::string& schema_path) {
  auto it = regexes_.find(pattern);
  if (it != regexes_.end()) return it->second.get();
  try {
    auto re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
    return regexes_.emplace(pattern, std::move(re)).first->second.get();
  } catch (const std::regex_error& e) {
    (void)BadSchema(schema_path, "pattern `" + pattern + "` is not a valid regular expression");
    return nullptr;
  }
}

Status Validator::Validate(const json& schema, const std::string& schema_path, const json& value,
                           const std::string& path, int depth) {
  if (!schema_error_.ok()) return schema_error_;
  if (depth > kJsonSchemaDepthMax) {
    return Fail(path, "validation goes deeper than " + std::to_string(kJsonSchemaDepthMax) +
                          " levels (a $ref cycle in the schema, or a value nested too deeply)");
  }
  if (schema.is_boolean()) return schema.get<bool>() ? Status::Ok() : Fail(path, "is not allowed");
  if (!schema.is_object()) return BadSchema(schema_path, "a schema must be an object or a boolean");
  // draft-04/07: a $ref replaces every other keyword beside it.
  if (schema.contains("$ref")) return ValidateRef(schema, schema_path, value, path, depth);

  RETURN_IF_ERROR(ValidateType(schema, schema_path, value, path));
  if (auto it = schema.find("enum"); it != schema.end()) {
    if (!it->is_array()) return BadSchema(schema_path, "`enum` must be a list");
    if (std::find(it->begin(), it->end(), value) == it->end()) {
      std::string allowed;
      size_t shown = 0;
      for (const json& option : *it) {
        if (shown++ == 10) {
          allowed += ", ... (" + std::to_string(it->size()) + " values)";
          break;
        }
        allowed += (allowed.empty() ? "" : ", ") + Shown(option);
      }
      return Fail(path, "must be one of: " + allowed);
    }
  }
  if (auto it = schema.find("const"); it != schema.end() && value != *it) {
    return Fail(path, "must equal " + Shown(*it));
  }
  if (value.is_number()) RETURN_IF_ERROR(ValidateNumber(schema, schema_path, value, path));
  if (value.is_string()) RETURN_IF_ERROR(ValidateString(schema, schema_path, value, path));
  if (value.is_array()) RETURN_IF_ERROR(ValidateArray(schema, schema_path, value, path, depth));
  if (value.is_object()) RETURN_IF_ERROR(ValidateObject(schema, schema_path, value, path, depth));
  RETURN_IF_ERROR(ValidateCombinators(schema, schema_path, value, path, depth));
  return schema_error_;
}

Status Validator::ValidateRef(const json& schema, const std::string& schema_path, const json& value,
                              const std::string& path, int depth) {
  const json& ref = schema["$ref"];
  if (!ref.is_string()) return BadSchema(schema_path, "`$ref` must be a string");
  const std::string target = ref.get<std::string>();
  if (target.empty() || target[0] != '#') {
    return BadSchema(schema_path, "$ref \"" + target +
                                      "\" is not supported (only references inside this "
                                      "schema, starting with \"#\")");
  }
  const std::string pointer = PercentDecode(target.substr(1));
  try {
    const json::json_pointer ptr(pointer);
    if (!root_.contains(ptr)) {
      return BadSchema(schema_path, "$ref \"" + target + "\" points to nothing");
    }
    return Validate(root_.at(ptr), "#" + pointer, value, path, depth + 1);
  } catch (const json::exception&) {
    return BadSchema(schema_path, "$ref \"" + target + "\" is not a valid JSON pointer");
  }
}

Status Validator::ValidateType(const json& schema, const std::string& schema_path,
                               const json& value, const std::string& path) {
  auto it = schema.find("type");
  if (it == schema.end()) return Status::Ok();
  std::vector<std::string> types;
  if (it->is_string()) {
    types.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const json& t : *it) {
      if (!t.is_string()) return BadSchema(schema_path, "`type` must be a name or list of names");
      types.push_back(t.get<std::string>());
    }
  } else {
    return BadSchema(schema_path, "`type` must be a name or list of names");
  }
  for (const std::string& t : types) {
    if (!KnownType(t)) return BadSchema(schema_path, "unknown type \"" + t + "\"");
    if (HasType(value, t)) return Status::Ok();
  }
  std::string wanted;
  for (size_t i = 0; i < types.size(); ++i) {
    wanted +=
        (i == 0 ? "" : (i + 1 == types.size() ? " or " : ", ")) + Article(types[i]) + types[i];
  }
  return Fail(path, "must be " + (types.empty() ? std::string("of no type") : wanted));
}

Status Validator::ValidateNumber(const json& schema, const std::string& schema_path,
                                 const json& value, const std::string& path) {
  const double v = value.get<double>();
  const auto shown = [&](const char* key) { return schema[key].dump(); };
  // draft-04: exclusiveMinimum/Maximum are booleans modifying minimum/maximum; draft-06+: numbers.
  const json* ex_min = schema.contains("exclusiveMinimum") ? &schema["exclusiveMinimum"] : nullptr;
  const json* ex_max = schema.contains("exclusiveMaximum") ? &schema["exclusiveMaximum"] : nullptr;
  if (auto min = NumberKeyword(schema, "minimum", schema_path)) {
    const bool exclusive = ex_min != nullptr && ex_min->is_boolean() && ex_min->get<bool>();
    if (exclusive ? !(v > *min) : v < *min) {
      return Fail(path,
                  (exclusive ? "must be greater than " : "must be at least ") + shown("minimum"));
    }
  }
  if (auto max = NumberKeyword(schema, "maximum", schema_path)) {
    const bool exclusive = ex_max != nullptr && ex_max->is_boolean() && ex_max->get<bool>();
    if (exclusive ? !(v < *max) : v > *max) {
      return Fail(path, (exclusive ? "must be less than " : "must be at most ") + shown("maximum"));
    }
  }
  if (ex_min != nullptr && !ex_min->is_boolean()) {
    if (!ex_min->is_number()) return BadSchema(schema_path, "`exclusiveMinimum` must be a number");
    if (!(v > ex_min->get<double>())) {
      return Fail(path, "must be greater than " + shown("exclusiveMinimum"));
    }
  }
  if (ex_max != nullptr && !ex_max->is_boolean()) {
    if (!ex_max->is_number()) return BadSchema(schema_path, "`exclusiveMaximum` must be a number");
    if (!(v < ex_max->get<double>())) {
      return Fail(path, "must be less than " + shown("exclusiveMaximum"));
    }
  }
  if (auto m = NumberKeyword(schema, "multipleOf", schema_path)) {
    if (!(*m > 0)) return BadSchema(schema_path, "`multipleOf` must be greater than 0");
    bool multiple;
    if (value.is_number_integer() && schema["multipleOf"].is_number_integer()) {
      multiple = value.get<int64_t>() % schema["multipleOf"].get<int64_t>() == 0;
    } else {
      const double q = v / *m;
      multiple = std::isfinite(q) && std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, q);
    }
    if (!multiple) return Fail(path, "must be a multiple of " + shown("multipleOf"));
  }
  return schema_error_;
}

Status Validator::ValidateString(const json& schema, const std::string& schema_path,
                                 const json& value, const std::string& path) {
  const std::string& s = value.get_ref<const std::string&>();
  const size_t length = transcode::Utf8CodePoints(s);
  if (auto min = CountKeyword(schema, "minLength", schema_path); min && length < *min) {
    return Fail(path, *min == 1 ? "must not be empty"
                                : "must be at least " + std::to_string(*min) + " characters long");
  }
  if (auto max = CountKeyword(schema, "maxLength", schema_path); max && length > *max) {
    return Fail(path, "must be at most " + std::to_string(*max) + " characters long");
  }
  if (auto it = schema.find("pattern"); it != schema.end()) {
    if (!it->is_string()) return BadSchema(schema_path, "`pattern` must be a string");
    const std::string& pattern = it->get_ref<const std::string&>();
    const std::regex* re = Regex(pattern, schema_path);
    if (re == nullptr) return schema_error_;
    if (s.size() > kJsonSchemaPatternSubjectBytesMax) {
      return Fail(path, "is longer than " + std::to_string(kJsonSchemaPatternSubjectBytesMax) +
                            " bytes, too long to check against the pattern `" + pattern + "`");
    }
    std::optional<bool> found = Search(s, *re);
    if (!found) return Fail(path, "is too complex to check against the pattern `" + pattern + "`");
    if (!*found) return Fail(path, "must match the pattern `" + pattern + "`");
  }
  return schema_error_;
}

Status Validator::ValidateArray(const json& schema, const std::string& schema_path,
                                const json& value, const std::string& path, int depth) {
  if (auto min = CountKeyword(schema, "minItems", schema_path); min && value.size() < *min) {
    return Fail(path,
                "must have at least " + std::to_string(*min) + (*min == 1 ? " item" : " items"));
  }
  if (auto max = CountKeyword(schema, "maxItems", schema_path); max && value.size() > *max) {
    return Fail(path,
                "must have at most " + std::to_string(*max) + (*max == 1 ? " item" : " items"));
  }
  if (auto it = schema.find("items"); it != schema.end()) {
    if (it->is_array()) {  // a tuple: one schema per position, then additionalItems
      const json* additional =
          schema.contains("additionalItems") ? &schema["additionalItems"] : nullptr;
      for (size_t i = 0; i < value.size(); ++i) {
        if (i < it->size()) {
          RETURN_IF_ERROR(Validate((*it)[i], schema_path + "/items/" + std::to_string(i), value[i],
                                   path + Index(i), depth + 1));
        } else if (additional != nullptr) {
          RETURN_IF_ERROR(Validate(*additional, schema_path + "/additionalItems", value[i],
                                   path + Index(i), depth + 1));
        }
      }
    } else {
      for (size_t i = 0; i < value.size(); ++i) {
        RETURN_IF_ERROR(
            Validate(*it, schema_path + "/items", value[i], path + Index(i), depth + 1));
      }
    }
  }
  if (auto it = schema.find("uniqueItems"); it != schema.end()) {
    if (!it->is_boolean()) return BadSchema(schema_path, "`uniqueItems` must be true or false");
    if (it->get<bool>() && value.size() > 1) {
      if (value.size() > kJsonSchemaUniqueItemsMax) {
        return Fail(path, "has more than " + std::to_string(kJsonSchemaUniqueItemsMax) +
                              " items, too many to check that they are unique");
      }
      std::vector<size_t> order(value.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return value[a] < value[b]; });
      for (size_t i = 1; i < order.size(); ++i) {
        if (value[order[i - 1]] == value[order[i]]) {
          const size_t a = std::min(order[i - 1], order[i]), b = std::max(order[i - 1], order[i]);
          return Fail(path, "must not repeat items (" + Index(a) + " equals " + Index(b) + ")");
        }
      }
    }
  }
  if (auto it = schema.find("contains"); it != schema.end()) {
    bool found = false;
    for (size_t i = 0; i < value.size() && !found; ++i) {
      found = Validate(*it, schema_path + "/contains", value[i], path + Index(i), depth + 1).ok();
      if (!schema_error_.ok()) return schema_error_;
    }
    if (!found) return Fail(path, "must contain an item that matches the `contains` schema");
  }
  return schema_error_;
}

Status Validator::ValidateObject(const json& schema, const std::string& schema_path,
                                 const json& value, const std::string& path, int depth) {
  if (auto min = CountKeyword(schema, "minProperties", schema_path); min && value.size() < *min) {
    return Fail(path, "must have at least " + std::to_string(*min) + " properties");
  }
  if (auto max = CountKeyword(schema, "maxProperties", schema_path); max && value.size() > *max) {
    return Fail(path, "must have at most " + std::to_string(*max) + " properties");
  }
  if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
    for (const json& name : *it) {
      if (!name.is_string()) return BadSchema(schema_path, "`required` must list names");
      if (!value.contains(name.get<std::string>())) {
        return Fail(Child(path, name.get<std::string>()), "is required");
      }
    }
  }
  const json* properties = schema.contains("properties") ? &schema["properties"] : nullptr;
  const json* patterns =
      schema.contains("patternProperties") ? &schema["patternProperties"] : nullptr;
  const json* additional =
      schema.contains("additionalProperties") ? &schema["additionalProperties"] : nullptr;
  if (properties != nullptr && !properties->is_object()) {
    return BadSchema(schema_path, "`properties` must be an object");
  }
  if (patterns != nullptr && !patterns->is_object()) {
    return BadSchema(schema_path, "`patternProperties` must be an object");
  }
  for (const auto& [key, item] : value.items()) {
    const std::string item_path = Child(path, key);
    bool matched = false;
    if (properties != nullptr && properties->contains(key)) {
      matched = true;
      RETURN_IF_ERROR(Validate((*properties)[key], schema_path + "/properties/" + PointerToken(key),
                               item, item_path, depth + 1));
    }
    static const json kNoPatterns = json::object();
    for (const auto& [pattern, sub] : (patterns == nullptr ? kNoPatterns : *patterns).items()) {
      const std::regex* re = Regex(pattern, schema_path + "/patternProperties");
      if (re == nullptr) return schema_error_;
      std::optional<bool> found = Search(key, *re);
      if (!found)
        return Fail(item_path, "has a name too complex to check against `" + pattern + "`");
      if (!*found) continue;
      matched = true;
      RETURN_IF_ERROR(Validate(sub, schema_path + "/patternProperties/" + PointerToken(pattern),
                               item, item_path, depth + 1));
    }
    if (!matched && additional != nullptr) {
      if (additional->is_boolean()) {
        if (!additional->get<bool>()) return Fail(item_path, "is not an allowed property");
      } else {
        RETURN_IF_ERROR(Validate(*additional, schema_path + "/additionalProperties", item,
                                 item_path, depth + 1));
      }
    }
  }
  if (auto it = schema.find("propertyNames"); it != schema.end()) {
    for (const auto& [key, item] : value.items()) {
      if (!Validate(*it, schema_path + "/propertyNames", json(key), Child(path, key), depth + 1)
               .ok()) {
        if (!schema_error_.ok()) return schema_error_;
        return Fail(Child(path, key), "is not an allowed property name");
      }
    }
  }
  if (auto it = schema.find("dependencies"); it != schema.end()) {
    if (!it->is_object()) return BadSchema(schema_path, "`dependencies` must be an object");
    for (const auto& [key, dependency] : it->items()) {
      if (!value.contains(key)) continue;
      if (dependency.is_array()) {
        for (const json& name : dependency) {
          if (!name.is_string()) return BadSchema(schema_path, "`dependencies` must list names");
          if (!value.contains(name.get<std::string>())) {
            return Fail(Child(path, name.get<std::string>()),
                        "is required when `" + key + "` is given");
          }
        }
      } else {
        RETURN_IF_ERROR(Validate(dependency, schema_path + "/dependencies/" + PointerToken(key),
                                 value, path, depth + 1));
      }
    }
  }
  return schema_error_;
}

Status Validator::ValidateCombinators(const json& schema, const std::string& schema_path,
                                      const json& value, const std::string& path, int depth) {
  const auto branches = [&](const char* key) -> const json* {
    auto it = schema.find(key);
    if (it == schema.end()) return nullptr;
    if (!it->is_array() || it->empty()) {
      (void)BadSchema(schema_path, std::string("`") + key + "` must be a non-empty list");
      return nullptr;
    }
    return &*it;
  };
  if (const json* all = branches("allOf")) {
    for (size_t i = 0; i < all->size(); ++i) {
      RETURN_IF_ERROR(
          Validate((*all)[i], schema_path + "/allOf/" + std::to_string(i), value, path, depth + 1));
    }
  }
  // The failure that got deepest into the value is the most telling one to show.
  const auto closest = [](const std::vector<Status>& failures) {
    const Status* best = &failures.front();
    for (const Status& s : failures) {
      auto depth_of = [](const Status& st) {
        auto it = st.details().find("field");
        return it == st.details().end() ? size_t{0} : it->second.size();
      };
      if (depth_of(s) > depth_of(*best)) best = &s;
    }
    return best->message();
  };
  for (const char* key : {"anyOf", "oneOf"}) {
    const json* list = branches(key);
    if (list == nullptr) continue;
    std::vector<Status> failures;
    size_t matches = 0;
    for (size_t i = 0; i < list->size(); ++i) {
      Status s = Validate((*list)[i], schema_path + "/" + key + "/" + std::to_string(i), value,
                          path, depth + 1);
      if (!schema_error_.ok()) return schema_error_;
      if (s.ok()) {
        ++matches;
      } else {
        failures.push_back(std::move(s));
      }
    }
    const bool one_of = std::string(key) == "oneOf";
    if (matches == 0) {
      return Fail(path, std::string("must match ") + (one_of ? "exactly one" : "at least one") +
                            " of the schemas in " + key + " (closest: " + closest(failures) + ")");
    }
    if (one_of && matches > 1) {
      return Fail(path, "must match exactly one of the schemas in oneOf, but matches " +
                            std::to_string(matches));
    }
  }
  if (auto it = schema.find("not"); it != schema.end()) {
    Status s = Validate(*it, schema_path + "/not", value, path, depth + 1);
    if (!schema_error_.ok()) return schema_error_;
    if (s.ok()) return Fail(path, "must not match the schema in `not`");
  }
  if (auto it = schema.find("if"); it != schema.end()) {
    const bool holds = Validate(*it, schema_path + "/if", value, path, depth + 1).ok();
    if (!schema_error_.ok()) return schema_error_;
    const char* branch = holds ? "then" : "else";
    if (auto b = schema.find(branch); b != schema.end()) {
      RETURN_IF_ERROR(Validate(*b, schema_path + "/" + branch, value, path, depth + 1));
    }
  }
  return schema_error_;
}

}  // namespace

Status ValidateJson(const json& schema, const json& value, const std::string& root_name) {
  Validator validator(schema, root_name);
  try {
    Status s = validator.Validate(schema, "#", value, root_name, 0);
    if (!validator.schema_error().ok()) return validator.schema_error();
    return s;
  } catch (const std::exception& e) {
    // Not expected (every access is type-checked first); never let it cross the boundary.
    return Status::Internal(std::string("JSON Schema validation failed: ") + e.what());
  }
}

}  // namespace swan::jobs
