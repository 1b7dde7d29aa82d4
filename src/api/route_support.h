// What route handlers share: reading path, query and body fields with errors that name the field,
// and the {project} path parameter resolved through the service layer.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/router.h"
#include "catalog/model.h"

namespace swan::api {

// The {project} path parameter, checked against the caller's rights; sets the audit project.
Result<catalog::Project> ProjectParam(RequestContext& ctx);
// Integer query or path values with a clear error naming the field.
Result<std::optional<int64_t>> OptionalInt(const std::optional<std::string>& text,
                                           const std::string& field);
// JSON body fields: a string (missing = "" unless required), an integer (missing = fallback).
Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required);
Result<int64_t> IntField(const nlohmann::json& body, const char* name, int64_t fallback);
// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(const std::string& text);
// OpenAPI query parameter descriptions: {{"name", "description"}, ...}.
nlohmann::json QueryParams(std::initializer_list<std::pair<const char*, const char*>> params);

}  // namespace swan::api
