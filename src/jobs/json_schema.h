// JSON Schema validation of component parameters against the component's configSchema.
//
// Keboola components describe `parameters` with a JSON Schema (draft-04 or draft-07, rendered by
// the Keboola UI). Swan validates a configuration before it runs. Supported keywords:
//   type (a name or a list; "integer" accepts 3 and 3.0, "number" any number), enum, const;
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum (draft-04 booleans or draft-06+
//   numbers), multipleOf; minLength, maxLength (in characters), pattern (ECMAScript, unanchored);
//   properties, required, additionalProperties (bool or schema), patternProperties,
//   propertyNames, minProperties, maxProperties, dependencies (list or schema form);
//   items (schema, or list with additionalItems), minItems, maxItems, uniqueItems, contains;
//   allOf, anyOf, oneOf, not, if/then/else; $ref to "#", "#/definitions/...", "#/$defs/..." or
//   any other pointer into the same schema; true/false schemas.
// Ignored, as annotations: format, default, title, description, examples, propertyOrder,
// options (the Keboola UI's options.dependencies only shows or hides fields), and any other
// unknown keyword. A boolean `required` (draft-03 style, used by old Keboola UIs) is ignored.
//
// Errors name the JSON path of the first failure and never quote values from the instance, so a
// secret ("#password" and everything under a "#..." key) cannot leak into a message or a log:
//   "parameters.api.limit: must be at most 100".
//
// Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace swan::jobs {

// Levels of schema the validator follows at most (nested properties, items and $refs together);
// past it validation fails, which also stops a $ref cycle such as {"$ref": "#"}.
inline constexpr int kJsonSchemaDepthMax = 64;
// Strings longer than this are not matched against `pattern` (std::regex recurses per
// character); such a string fails validation with a message saying why.
inline constexpr size_t kJsonSchemaPatternSubjectBytesMax = size_t{16} << 10;  // 16 KiB
// Items of an array that uniqueItems compares at most.
inline constexpr size_t kJsonSchemaUniqueItemsMax = 100000;

// Validates `value` against `schema`. Returns OK, or invalid_argument:
//   - the value does not conform: "<path>: <what is wrong>", detail "field" = <path>, where the
//     path starts with `root_name` ("parameters.tables[2].name");
//   - the schema itself is malformed (a keyword of the wrong type, an unsupported or dangling
//     $ref, a bad regular expression): "invalid schema at <#/json/pointer>: <what>", detail
//     "schema_path".
Status ValidateJson(const nlohmann::json& schema, const nlohmann::json& value,
                    const std::string& root_name = "parameters");

}  // namespace swan::jobs
