// Unit tests of the configSchema validator (src/jobs/json_schema.h): each keyword at its edge,
// the error path and wording, secrets kept out of messages, malformed schemas, limits.
#include <gtest/gtest.h>

#include <string>

#include "jobs/json_schema.h"

namespace swan::testing {
namespace {

using jobs::ValidateJson;
using nlohmann::json;

json J(const char* text) { return json::parse(text); }

// "" when valid, else the message.
std::string Check(const json& schema, const json& value) {
  Status st = ValidateJson(schema, value);
  if (st.ok()) return "";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  return st.message();
}

// Keboola's documented configSchema example (extend/component/ui-options/configuration-schema).
const char* kKeboolaExample = R"({
  "title": "Parameters", "type": "object",
  "required": ["dateFrom", "dateTo", "username", "#password"],
  "properties": {
    "username": {"title": "Username", "type": "string", "minLength": 1, "default": "",
                 "propertyOrder": 1},
    "#password": {"title": "Password", "type": "string", "format": "password", "minLength": 1,
                  "default": "", "propertyOrder": 2},
    "dateFrom": {"title": "Date from", "type": "string", "minLength": 1, "default": "",
                 "propertyOrder": 3,
                 "options": {"documentation": {"link": "https://www.php.net/"}}},
    "dateTo": {"title": "Date to", "type": "string", "minLength": 1, "default": "",
               "propertyOrder": 4}}})";

TEST(JsonSchemaTest, KeboolaDocumentedExample) {
  const json schema = J(kKeboolaExample);
  EXPECT_EQ(Check(schema, J(R"({"username": "foo", "#password": "baz", "dateFrom": "yesterday",
                               "dateTo": "today"})")),
            "");
  EXPECT_EQ(Check(schema, J(R"({"username": "foo", "#password": "baz", "dateFrom": "yesterday"})")),
            "parameters.dateTo: is required");
  EXPECT_EQ(Check(schema, J(R"({"username": "", "#password": "baz", "dateFrom": "y",
                               "dateTo": "t"})")),
            "parameters.username: must not be empty");
  EXPECT_EQ(Check(schema, J(R"([1])")), "parameters: must be an object");
  Status st = ValidateJson(schema, J(R"({"username": "a", "#password": 5, "dateFrom": "y",
                                        "dateTo": "t"})"));
  EXPECT_EQ(st.message(), "parameters.#password: must be a string");
  EXPECT_EQ(st.details().at("field"), "parameters.#password");
}

TEST(JsonSchemaTest, PathsThroughObjectsAndArrays) {
  const json schema = J(R"({"type": "object", "properties": {
      "api": {"type": "object", "properties": {"limit": {"type": "integer", "maximum": 100}}},
      "tables": {"type": "array", "items": {"type": "object", "required": ["name"],
                 "properties": {"name": {"type": "string"}}}}}})");
  EXPECT_EQ(Check(schema, J(R"({"api": {"limit": 101}})")),
            "parameters.api.limit: must be at most 100");
  EXPECT_EQ(Check(schema, J(R"({"tables": [{"name": "a"}, {"name": "b"}, {}]})")),
            "parameters.tables[2].name: is required");
  EXPECT_EQ(Check(schema, J(R"({"tables": [{"name": 1}]})")),
            "parameters.tables[0].name: must be a string");
  EXPECT_EQ(ValidateJson(schema, J(R"({"api": {"limit": 101}})"), "config").message(),
            "config.api.limit: must be at most 100");
  EXPECT_EQ(ValidateJson(schema, J(R"({"api": {"limit": 101}})"), "").message(),
            "api.limit: must be at most 100");
  EXPECT_EQ(ValidateJson(J(R"({"type": "string"})"), J("1"), "").message(),
            "value: must be a string");
}

TEST(JsonSchemaTest, Types) {
  EXPECT_EQ(Check(J(R"({"type": "integer"})"), J("3")), "");
  EXPECT_EQ(Check(J(R"({"type": "integer"})"), J("3.0")), "");
  EXPECT_EQ(Check(J(R"({"type": "integer"})"), J("3.5")), "parameters: must be an integer");
  EXPECT_EQ(Check(J(R"({"type": "integer"})"), J("\"3\"")), "parameters: must be an integer");
  EXPECT_EQ(Check(J(R"({"type": "number"})"), J("3.5")), "");
  EXPECT_EQ(Check(J(R"({"type": "number"})"), J("-3")), "");
  EXPECT_EQ(Check(J(R"({"type": "number"})"), J("true")), "parameters: must be a number");
  EXPECT_EQ(Check(J(R"({"type": "boolean"})"), J("0")), "parameters: must be a boolean");
  EXPECT_EQ(Check(J(R"({"type": "null"})"), J("null")), "");
  EXPECT_EQ(Check(J(R"({"type": "array"})"), J("{}")), "parameters: must be an array");
  EXPECT_EQ(Check(J(R"({"type": ["string", "null"]})"), J("null")), "");
  EXPECT_EQ(Check(J(R"({"type": ["string", "null"]})"), J("1")),
            "parameters: must be a string or a null");
  EXPECT_EQ(Check(J(R"({"type": ["string", "integer", "boolean"]})"), J("[]")),
            "parameters: must be a string, an integer or a boolean");
}

TEST(JsonSchemaTest, EnumAndConst) {
  const json e = J(R"({"enum": ["full", "incremental", 3, null]})");
  EXPECT_EQ(Check(e, J("\"full\"")), "");
  EXPECT_EQ(Check(e, J("3")), "");
  EXPECT_EQ(Check(e, J("3.0")), "");
  EXPECT_EQ(Check(e, J("null")), "");
  EXPECT_EQ(Check(e, J("\"Full\"")),
            "parameters: must be one of: \"full\", \"incremental\", 3, null");
  json many = json::object({{"enum", json::array()}});
  for (int i = 0; i < 12; ++i) many["enum"].push_back(i);
  EXPECT_EQ(Check(many, J("99")),
            "parameters: must be one of: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (12 values)");
  EXPECT_EQ(Check(J(R"({"const": {"a": 1}})"), J(R"({"a": 1})")), "");
  EXPECT_EQ(Check(J(R"({"const": "v2"})"), J("\"v1\"")), "parameters: must equal \"v2\"");
}

TEST(JsonSchemaTest, NumberBounds) {
  const json s = J(R"({"minimum": 1, "maximum": 10})");
  EXPECT_EQ(Check(s, J("1")), "");
  EXPECT_EQ(Check(s, J("10")), "");
  EXPECT_EQ(Check(s, J("0.5")), "parameters: must be at least 1");
  EXPECT_EQ(Check(s, J("10.01")), "parameters: must be at most 10");
  // draft-04 boolean form.
  const json d4 = J(R"({"minimum": 1, "exclusiveMinimum": true, "maximum": 10,
                        "exclusiveMaximum": true})");
  EXPECT_EQ(Check(d4, J("1")), "parameters: must be greater than 1");
  EXPECT_EQ(Check(d4, J("10")), "parameters: must be less than 10");
  EXPECT_EQ(Check(d4, J("5")), "");
  EXPECT_EQ(Check(J(R"({"minimum": 1, "exclusiveMinimum": false})"), J("1")), "");
  // draft-06+ number form.
  const json d7 = J(R"({"exclusiveMinimum": 0, "exclusiveMaximum": 1.5})");
  EXPECT_EQ(Check(d7, J("0")), "parameters: must be greater than 0");
  EXPECT_EQ(Check(d7, J("1.5")), "parameters: must be less than 1.5");
  EXPECT_EQ(Check(d7, J("1.4")), "");
  EXPECT_EQ(Check(J(R"({"multipleOf": 5})"), J("15")), "");
  EXPECT_EQ(Check(J(R"({"multipleOf": 5})"), J("16")), "parameters: must be a multiple of 5");
  EXPECT_EQ(Check(J(R"({"multipleOf": 0.01})"), J("12.34")), "");
  EXPECT_EQ(Check(J(R"({"multipleOf": 0.01})"), J("12.345")),
            "parameters: must be a multiple of 0.01");
  // Bounds do not apply to other types.
  EXPECT_EQ(Check(s, J("\"100\"")), "");
}

TEST(JsonSchemaTest, StringLengthAndPattern) {
  EXPECT_EQ(Check(J(R"({"minLength": 2, "maxLength": 3})"), J("\"ab\"")), "");
  EXPECT_EQ(Check(J(R"({"minLength": 2})"), J("\"a\"")),
            "parameters: must be at least 2 characters long");
  EXPECT_EQ(Check(J(R"({"maxLength": 3})"), J("\"abcd\"")),
            "parameters: must be at most 3 characters long");
  // Characters, not bytes: "žluť" is 4 characters, 6 bytes.
  EXPECT_EQ(Check(J(R"({"maxLength": 4})"), J("\"žluť\"")), "");
  const json date = J(R"({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"})");
  EXPECT_EQ(Check(date, J("\"2024-01-31\"")), "");
  EXPECT_EQ(Check(date, J("\"31.1.2024\"")),
            "parameters: must match the pattern `^\\d{4}-\\d{2}-\\d{2}$`");
  // Unanchored, as JSON Schema says.
  EXPECT_EQ(Check(J(R"({"pattern": "b+"})"), J("\"abbbc\"")), "");
  // format is an annotation.
  EXPECT_EQ(Check(J(R"({"type": "string", "format": "date"})"), J("\"not a date\"")), "");
  const std::string long_text(jobs::kJsonSchemaPatternSubjectBytesMax + 1, 'a');
  EXPECT_EQ(Check(J(R"({"pattern": "^a+$"})"), json(long_text)),
            "parameters: is longer than 16384 bytes, too long to check against the pattern "
            "`^a+$`");
  EXPECT_EQ(Check(J(R"({"pattern": "^a+$"})"), json(long_text.substr(1))), "");
}

TEST(JsonSchemaTest, Arrays) {
  const json s = J(R"({"type": "array", "items": {"type": "string"}, "minItems": 1,
                       "maxItems": 3, "uniqueItems": true})");
  EXPECT_EQ(Check(s, J(R"(["a", "b"])")), "");
  EXPECT_EQ(Check(s, J("[]")), "parameters: must have at least 1 item");
  EXPECT_EQ(Check(s, J(R"(["a", "b", "c", "d"])")), "parameters: must have at most 3 items");
  EXPECT_EQ(Check(s, J(R"(["a", 2])")), "parameters[1]: must be a string");
  EXPECT_EQ(Check(s, J(R"(["a", "b", "a"])")),
            "parameters: must not repeat items ([0] equals [2])");
  EXPECT_EQ(Check(J(R"({"uniqueItems": true})"), J(R"([{"a": 1}, {"a": 1.0}])")),
            "parameters: must not repeat items ([0] equals [1])");
  EXPECT_EQ(Check(J(R"({"uniqueItems": true})"), J(R"([1, "1", true])")), "");
  // Tuple form with additionalItems.
  const json tuple = J(R"({"items": [{"type": "string"}, {"type": "integer"}],
                           "additionalItems": false})");
  EXPECT_EQ(Check(tuple, J(R"(["a", 1])")), "");
  EXPECT_EQ(Check(tuple, J(R"(["a", "b"])")), "parameters[1]: must be an integer");
  EXPECT_EQ(Check(tuple, J(R"(["a", 1, null])")), "parameters[2]: is not allowed");
  EXPECT_EQ(Check(J(R"({"contains": {"const": "id"}})"), J(R"(["a", "id"])")), "");
  EXPECT_EQ(Check(J(R"({"contains": {"const": "id"}})"), J(R"(["a"])")),
            "parameters: must contain an item that matches the `contains` schema");
}

TEST(JsonSchemaTest, Objects) {
  const json closed = J(R"({"type": "object", "properties": {"a": {}},
                            "patternProperties": {"^x_": {"type": "integer"}},
                            "additionalProperties": false})");
  EXPECT_EQ(Check(closed, J(R"({"a": 1, "x_b": 2})")), "");
  EXPECT_EQ(Check(closed, J(R"({"a": 1, "x_b": "2"})")), "parameters.x_b: must be an integer");
  EXPECT_EQ(Check(closed, J(R"({"a": 1, "b": 2})")), "parameters.b: is not an allowed property");
  const json typed_rest =
      J(R"({"properties": {"a": {}}, "additionalProperties": {"type": "string"}})");
  EXPECT_EQ(Check(typed_rest, J(R"({"a": 1, "b": "x"})")), "");
  EXPECT_EQ(Check(typed_rest, J(R"({"a": 1, "b": 2})")), "parameters.b: must be a string");
  EXPECT_EQ(Check(J(R"({"minProperties": 1})"), J("{}")),
            "parameters: must have at least 1 properties");
  EXPECT_EQ(Check(J(R"({"maxProperties": 1})"), J(R"({"a": 1, "b": 2})")),
            "parameters: must have at most 1 properties");
  EXPECT_EQ(Check(J(R"({"propertyNames": {"pattern": "^[a-z]+$"}})"), J(R"({"ok": 1, "Bad": 2})")),
            "parameters.Bad: is not an allowed property name");
  const json deps = J(R"({"dependencies": {"user": ["#password"],
                                          "mode": {"required": ["since"]}}})");
  EXPECT_EQ(Check(deps, J(R"({"user": "u", "#password": "p"})")), "");
  EXPECT_EQ(Check(deps, J(R"({"user": "u"})")),
            "parameters.#password: is required when `user` is given");
  EXPECT_EQ(Check(deps, J(R"({"mode": "x"})")), "parameters.since: is required");
  // A draft-03 boolean `required` is ignored.
  EXPECT_EQ(Check(J(R"({"properties": {"a": {"required": true}}})"), J("{}")), "");
}

TEST(JsonSchemaTest, Combinators) {
  const json all = J(R"({"allOf": [{"type": "integer"}, {"minimum": 5}]})");
  EXPECT_EQ(Check(all, J("7")), "");
  EXPECT_EQ(Check(all, J("3")), "parameters: must be at least 5");

  const json any = J(R"({"type": "object", "properties": {"auth": {"anyOf": [
      {"type": "object", "required": ["token"]},
      {"type": "object", "properties": {"type": {"enum": ["basic"]}}, "required": ["type"]}]}}})");
  EXPECT_EQ(Check(any, J(R"({"auth": {"token": "t"}})")), "");
  EXPECT_EQ(Check(any, J(R"({"auth": {"type": "basic"}})")), "");
  EXPECT_EQ(Check(any, J(R"({"auth": {"type": "oauth"}})")),
            "parameters.auth: must match at least one of the schemas in anyOf (closest: "
            "parameters.auth.token: is required)");

  const json one = J(R"({"oneOf": [{"type": "integer"}, {"minimum": 0}]})");
  EXPECT_EQ(Check(one, J("-1")), "");
  EXPECT_EQ(Check(one, J("0.5")), "");
  EXPECT_EQ(Check(one, J("1")),
            "parameters: must match exactly one of the schemas in oneOf, but matches 2");
  EXPECT_EQ(Check(one, J("-0.5")),
            "parameters: must match exactly one of the schemas in oneOf (closest: parameters: "
            "must be an integer)");

  EXPECT_EQ(Check(J(R"({"not": {"type": "null"}})"), J("1")), "");
  EXPECT_EQ(Check(J(R"({"not": {"type": "null"}})"), J("null")),
            "parameters: must not match the schema in `not`");

  const json cond = J(R"({"if": {"properties": {"mode": {"const": "incremental"}}},
                          "then": {"required": ["since"]}, "else": {"not": {"required": ["since"]}}})");
  EXPECT_EQ(Check(cond, J(R"({"mode": "incremental", "since": "-1 day"})")), "");
  EXPECT_EQ(Check(cond, J(R"({"mode": "incremental"})")), "parameters.since: is required");
  EXPECT_EQ(Check(cond, J(R"({"mode": "full", "since": "x"})")),
            "parameters: must not match the schema in `not`");

  EXPECT_EQ(Check(J("true"), J("1")), "");
  EXPECT_EQ(Check(J(R"({"properties": {"x": false}})"), J(R"({"x": 1})")),
            "parameters.x: is not allowed");
}

TEST(JsonSchemaTest, Refs) {
  const json schema = J(R"({
    "definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
    "$defs": {"host": {"type": "string", "minLength": 1}},
    "type": "object",
    "properties": {
      "db": {"type": "object", "properties": {
        "port": {"$ref": "#/definitions/port"},
        "host": {"$ref": "#/$defs/host"},
        "a/b": {"type": "string"},
        "replica": {"$ref": "#/properties/db"}}}}})");
  EXPECT_EQ(Check(schema, J(R"({"db": {"port": 5432, "host": "h"}})")), "");
  EXPECT_EQ(Check(schema, J(R"({"db": {"port": 70000}})")),
            "parameters.db.port: must be at most 65535");
  EXPECT_EQ(Check(schema, J(R"({"db": {"host": ""}})")), "parameters.db.host: must not be empty");
  EXPECT_EQ(Check(schema, J(R"({"db": {"replica": {"replica": {"port": 0}}}})")),
            "parameters.db.replica.replica.port: must be at least 1");
  // A recursive schema: a tree of nodes.
  const json tree = J(R"({"type": "object", "properties": {
      "children": {"type": "array", "items": {"$ref": "#"}}, "name": {"type": "string"}}})");
  EXPECT_EQ(Check(tree, J(R"({"children": [{"children": [{"name": 5}]}]})")),
            "parameters.children[0].children[0].name: must be a string");
  // $ref ignores its siblings (draft-04/07).
  EXPECT_EQ(Check(J(R"({"definitions": {"s": {"type": "string"}},
                        "$ref": "#/definitions/s", "type": "integer"})"),
                  J("\"x\"")),
            "");
  // Escaped pointer tokens.
  EXPECT_EQ(Check(J(R"({"definitions": {"a/b": {"type": "string"}, "c%d": {"type": "integer"}},
                        "properties": {"x": {"$ref": "#/definitions/a~1b"},
                                       "y": {"$ref": "#/definitions/c%25d"}}})"),
                  J(R"({"x": "s", "y": 1})")),
            "");
}

TEST(JsonSchemaTest, SecretsNeverAppearInMessages) {
  const std::string secret = "hunter2-very-secret";
  const json schema = J(R"({"type": "object", "properties": {
      "#token": {"type": "string", "pattern": "^[0-9]+$", "maxLength": 5, "enum": ["1", "2"]},
      "#nested": {"type": "object", "additionalProperties": {"type": "integer"}},
      "#list": {"type": "array", "uniqueItems": true},
      "#one": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
      "#not": {"not": {"type": "string"}}}})");
  for (const json& value :
       {json{{"#token", secret}}, json{{"#nested", {{"user", secret}}}},
        json{{"#list", {secret, secret}}}, json{{"#one", secret}}, json{{"#not", secret}}}) {
    Status st = ValidateJson(schema, value);
    ASSERT_FALSE(st.ok()) << value.dump();
    EXPECT_EQ(st.ToString().find(secret), std::string::npos) << st.ToString();
    for (const auto& [key, detail] : st.details()) {
      EXPECT_EQ(detail.find(secret), std::string::npos) << detail;
    }
  }
}

TEST(JsonSchemaTest, MalformedSchemas) {
  const auto err = [](const char* schema) {
    Status st = ValidateJson(J(schema), J(R"({"a": "x", "n": 1, "l": [1]})"));
    EXPECT_FALSE(st.ok()) << schema;
    return st.message();
  };
  EXPECT_EQ(err(R"({"type": "text"})"), "invalid schema at #: unknown type \"text\"");
  EXPECT_EQ(err(R"({"type": 5})"), "invalid schema at #: `type` must be a name or list of names");
  EXPECT_EQ(err(R"({"properties": {"a": {"pattern": "(unclosed"}}})"),
            "invalid schema at #/properties/a: pattern `(unclosed` is not a valid regular "
            "expression");
  EXPECT_EQ(err(R"({"properties": {"n": {"maximum": "10"}}})"),
            "invalid schema at #/properties/n: `maximum` must be a number");
  EXPECT_EQ(err(R"({"properties": {"a": {"maxLength": -1}}})"),
            "invalid schema at #/properties/a: `maxLength` must be a non-negative integer");
  EXPECT_EQ(err(R"({"properties": {"a": {"$ref": "#/definitions/missing"}}})"),
            "invalid schema at #/properties/a: $ref \"#/definitions/missing\" points to nothing");
  EXPECT_EQ(err(R"({"properties": {"a": {"$ref": "other.json#/x"}}})"),
            "invalid schema at #/properties/a: $ref \"other.json#/x\" is not supported (only "
            "references inside this schema, starting with \"#\")");
  EXPECT_EQ(err(R"({"properties": {"a": {"$ref": "#definitions"}}})"),
            "invalid schema at #/properties/a: $ref \"#definitions\" is not a valid JSON pointer");
  EXPECT_EQ(err(R"({"enum": "a"})"), "invalid schema at #: `enum` must be a list");
  EXPECT_EQ(err(R"({"anyOf": []})"), "invalid schema at #: `anyOf` must be a non-empty list");
  EXPECT_EQ(err(R"({"properties": {"l": {"items": 5}}})"),
            "invalid schema at #/properties/l/items: a schema must be an object or a boolean");
  EXPECT_EQ(err("[]"), "invalid schema at #: a schema must be an object or a boolean");
  // A schema error inside a failing anyOf branch is still the schema's fault.
  EXPECT_EQ(err(R"({"anyOf": [{"type": "integer"}, {"type": "bad"}]})"),
            "invalid schema at #/anyOf/1: unknown type \"bad\"");
  Status st = ValidateJson(J(R"({"type": "text"})"), J("1"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.details().at("schema_path"), "#");
}

TEST(JsonSchemaTest, DepthLimit) {
  // A $ref cycle that consumes nothing stops at the limit instead of overflowing the stack.
  EXPECT_EQ(Check(J(R"({"$ref": "#"})"), J("1")),
            "parameters: validation goes deeper than 64 levels (a $ref cycle in the schema, or a "
            "value nested too deeply)");
  // A value nested deeper than the limit through a recursive schema.
  const json schema = J(R"({"type": "array", "items": {"$ref": "#"}})");
  json shallow = json::array(), deep = json::array();
  for (int i = 0; i < 20; ++i) shallow = json::array({shallow});
  for (int i = 0; i < 40; ++i) deep = json::array({deep});
  EXPECT_EQ(Check(schema, shallow), "");
  EXPECT_NE(Check(schema, deep).find("validation goes deeper than 64 levels"), std::string::npos);
}

TEST(JsonSchemaTest, UnknownKeywordsAreIgnored) {
  EXPECT_EQ(Check(J(R"({"$schema": "http://json-schema.org/draft-04/schema#", "id": "x",
                        "title": "T", "description": "D", "default": 5, "examples": [1],
                        "propertyOrder": 1, "options": {"dependencies": {"a": true}},
                        "x-keboola": {"anything": true}, "type": "object"})"),
                  J("{}")),
            "");
}

}  // namespace
}  // namespace swan::testing
