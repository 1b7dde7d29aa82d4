#include "api/route_support.h"

#include <sstream>

#include "service/projects.h"

namespace swan::api {

using nlohmann::json;

Result<catalog::Project> ProjectParam(RequestContext& ctx) {
  ASSIGN_OR_RETURN(auto project,
                   service::ResolveProject(ctx.runtime, ctx.Caller(), ctx.Param("project")));
  ctx.event_project_id = project.id;
  return project;
}

Result<std::optional<int64_t>> OptionalInt(const std::optional<std::string>& text,
                                           const std::string& field) {
  if (!text || text->empty()) return std::optional<int64_t>();
  try {
    size_t used = 0;
    long long v = std::stoll(*text, &used);
    if (used != text->size()) throw std::invalid_argument("trailing");
    return std::optional<int64_t>(v);
  } catch (const std::exception&) {
    return Status::InvalidArgument(field + " must be an integer, got '" + text->substr(0, 40) + "'")
        .WithDetail("field", field);
  }
}

Result<std::string> StringField(const json& body, const char* name, bool required) {
  if (!body.contains(name) || body[name].is_null()) {
    if (required)
      return Status::InvalidArgument(std::string("missing field '") + name + "'")
          .WithDetail("field", name);
    return std::string();
  }
  if (!body[name].is_string()) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be a string")
        .WithDetail("field", name);
  }
  return body[name].get<std::string>();
}

Result<int64_t> IntField(const json& body, const char* name, int64_t fallback) {
  if (!body.contains(name) || body[name].is_null()) return fallback;
  if (!body[name].is_number_integer()) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be an integer")
        .WithDetail("field", name);
  }
  return body[name].get<int64_t>();
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

json QueryParams(std::initializer_list<std::pair<const char*, const char*>> params) {
  json out = json::array();
  for (const auto& [name, description] : params)
    out.push_back({{"name", name}, {"description", description}});
  return out;
}

}  // namespace swan::api
