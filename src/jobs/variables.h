// Variables of a job: values (text) that replace `{{ name }}` placeholders in its configuration
// before it runs, as Keboola's configuration variables do. A flow's `variables`, and those a run
// is given, reach every task's job this way.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace swan::jobs {

using Variables = std::map<std::string, std::string>;

// Variables a job may carry at most, and their names' and values' sizes.
inline constexpr size_t kVariablesMax = 100;
inline constexpr size_t kVariableNameBytesMax = 64;
inline constexpr size_t kVariableValueBytesMax = 64 * 1024;

// {name: value} with text values (numbers and booleans are taken as their text). invalid_argument
// naming `field` ("variables.date") otherwise, or past the limits above.
Result<Variables> ParseVariables(const nlohmann::json& j, const std::string& field = "variables");
nlohmann::json VariablesJson(const Variables& v);

// Replaces every `{{ name }}` (spaces optional) in the strings of `body` by the variable's value.
// With no variables nothing changes. A placeholder naming a variable that is not given is
// invalid_argument naming it: a job never runs with a half-filled configuration.
Status SubstituteVariables(nlohmann::json& body, const Variables& variables);

}  // namespace swan::jobs
