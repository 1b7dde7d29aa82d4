#include "jobs/variables.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

Status ValidName(const std::string& name, const std::string& field) {
  if (name.empty() || name.size() > kVariableNameBytesMax)
    return Status::InvalidArgument(field + ": a variable's name is 1-" +
                                   std::to_string(kVariableNameBytesMax) + " characters")
        .WithDetail("field", field);
  for (char c : name)
    if (!NameChar(c))
      return Status::InvalidArgument(field + ": variable name '" + name +
                                     "' may hold letters, digits, '_', '-' and '.' only")
          .WithDetail("field", field);
  return Status::Ok();
}

// The text with its placeholders replaced; `missing` gets the first unknown name.
std::string Substitute(const std::string& text, const Variables& variables, std::string* missing) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    size_t i = open + 2;
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t name_start = i;
    while (i < text.size() && NameChar(text[i])) ++i;
    const size_t name_end = i;
    while (i < text.size() && text[i] == ' ') ++i;
    if (name_end == name_start || text.compare(i, 2, "}}") != 0) {
      // Not a placeholder ("{{" in a script or a JSON string): kept as it is.
      out.append(text, pos, open + 2 - pos);
      pos = open + 2;
      continue;
    }
    const std::string name = text.substr(name_start, name_end - name_start);
    auto it = variables.find(name);
    out.append(text, pos, open - pos);
    if (it == variables.end()) {
      if (missing->empty()) *missing = name;
      out.append(text, open, i + 2 - open);
    } else {
      out += it->second;
    }
    pos = i + 2;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

void Walk(json& j, const Variables& variables, std::string* missing) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.find("{{") != std::string::npos) j = Substitute(s, variables, missing);
  } else if (j.is_object() || j.is_array()) {
    for (auto& child : j) Walk(child, variables, missing);
  }
}

}  // namespace

Result<Variables> ParseVariables(const json& j, const std::string& field) {
  Variables out;
  if (j.is_null()) return out;
  if (!j.is_object())
    return Status::InvalidArgument(field + " must be an object {name: value}")
        .WithDetail("field", field);
  if (j.size() > kVariablesMax)
    return Status::InvalidArgument(field + " may hold at most " + std::to_string(kVariablesMax) +
                                   " variables")
        .WithDetail("field", field);
  for (const auto& [name, value] : j.items()) {
    const std::string f = field + "." + name;
    RETURN_IF_ERROR(ValidName(name, f));
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      text = value.dump();
    } else {
      return Status::InvalidArgument(f + " must be text, a number or a boolean")
          .WithDetail("field", f);
    }
    if (text.size() > kVariableValueBytesMax)
      return Status::InvalidArgument(f + " is longer than " +
                                     std::to_string(kVariableValueBytesMax) + " bytes")
          .WithDetail("field", f);
    out[name] = std::move(text);
  }
  return out;
}

json VariablesJson(const Variables& v) {
  json out = json::object();
  for (const auto& [name, value] : v) out[name] = value;
  return out;
}

Status SubstituteVariables(json& body, const Variables& variables) {
  if (variables.empty()) return Status::Ok();
  std::string missing;
  Walk(body, variables, &missing);
  if (!missing.empty())
    return Status::InvalidArgument("the configuration uses variable '" + missing + "' ({{ " +
                                   missing + " }}), which the job was not given")
        .WithDetail("field", "variables." + missing);
  return Status::Ok();
}

}  // namespace swan::jobs
