// Unit tests of Keboola manifest files (src/jobs/manifest.h). The output manifests are the exact
// JSON the keboola.component library writes (its tests/test_dao.py expectations and
// tests/data_examples), and the examples of Keboola's documentation (developers.keboola.com,
// extend/common-interface/manifest-files).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/manifest.h"

namespace swan::testing {
namespace {

using jobs::DeleteWhereOperator;
using jobs::MetadataEntry;
using jobs::OutputTableManifest;
using jobs::ParseOutputTableManifest;
using nlohmann::json;
using Names = std::vector<std::string>;

const std::string kFile = "out/tables/a.csv.manifest";

OutputTableManifest Parse(const std::string& text) {
  auto m = ParseOutputTableManifest(text, kFile);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : OutputTableManifest{};
}

std::string ParseError(const std::string& text) {
  auto m = ParseOutputTableManifest(text, kFile);
  EXPECT_FALSE(m.ok()) << text;
  if (m.ok()) return "";
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  return m.status().message();
}

// ---- legacy format -----------------------------------------------------------------------------

// keboola.component test_dao.py test_table_manifest_full: get_manifest_dictionary("out",
// legacy_manifest=True) of a table with columns, key, metadata and a delete filter.
TEST(OutputTableManifestTest, LegacyFullAsKeboolaComponentWritesIt) {
  OutputTableManifest m = Parse(R"({
    "destination": "some-destination",
    "columns": ["foo", "bar"],
    "primary_key": ["foo"],
    "incremental": true,
    "delimiter": ",",
    "enclosure": "\"",
    "metadata": [{"key": "bar", "value": "kochba"}],
    "column_metadata": {"bar": [{"key": "foo", "value": "gogo"}]},
    "delete_where_column": "lilly",
    "delete_where_values": ["a", "b"],
    "delete_where_operator": "eq",
    "write_always": false})");
  EXPECT_FALSE(m.uses_schema);
  EXPECT_EQ(m.destination, "some-destination");
  EXPECT_EQ(m.columns, (Names{"foo", "bar"}));
  EXPECT_EQ(m.primary_key, (Names{"foo"}));
  EXPECT_TRUE(m.incremental);
  EXPECT_EQ(m.delimiter, ",");
  EXPECT_EQ(m.enclosure, "\"");
  EXPECT_FALSE(m.has_header);  // columns listed: headless
  EXPECT_FALSE(m.write_always);
  ASSERT_EQ(m.table_metadata.size(), 1u);
  EXPECT_EQ(m.table_metadata[0], (MetadataEntry{"bar", "kochba", "", "", ""}));
  ASSERT_EQ(m.column_details.size(), 2u);
  EXPECT_EQ(m.column_details["bar"].metadata,
            (std::vector<MetadataEntry>{{"foo", "gogo", "", "", ""}}));
  EXPECT_TRUE(m.column_details["foo"].metadata.empty());
  EXPECT_EQ(m.column_details["foo"].base_type, "");
  ASSERT_EQ(m.delete_where.size(), 1u);
  ASSERT_EQ(m.delete_where[0].filters.size(), 1u);
  EXPECT_EQ(m.delete_where[0].filters[0].column, "lilly");
  EXPECT_EQ(m.delete_where[0].filters[0].values, (Names{"a", "b"}));
  EXPECT_EQ(m.delete_where[0].filters[0].op, DeleteWhereOperator::kEq);
  EXPECT_EQ(m.delete_where[0].changed_since, "");
}

// test_table_manifest_minimal and test_out_legacy_to_new_compatible.
TEST(OutputTableManifestTest, LegacyMinimalAndHeaderFile) {
  OutputTableManifest minimal = Parse(
      R"({"columns": ["foo", "bar"], "delimiter": ",", "enclosure": "\"",
          "primary_key": ["foo", "bar"], "write_always": false})");
  EXPECT_EQ(minimal.destination, "");
  EXPECT_FALSE(minimal.incremental);
  EXPECT_EQ(minimal.primary_key, (Names{"foo", "bar"}));
  EXPECT_FALSE(minimal.has_header);

  // No columns: the CSV header names them; the key refers to header names.
  OutputTableManifest header = Parse(
      R"({"delimiter": ",", "enclosure": "\"", "incremental": true, "primary_key": ["x"],
          "write_always": false})");
  EXPECT_TRUE(header.columns.empty());
  EXPECT_TRUE(header.has_header);
  EXPECT_EQ(header.primary_key, (Names{"x"}));
}

// keboola.component tests/data_examples/data5/in/tables/sample_output.csv.manifest: tab
// delimiter, ' enclosure, and fields the library reads but Keboola's outputs ignore
// (name, attributes).
TEST(OutputTableManifestTest, LegacyDelimiterEnclosureAndUnknownFields) {
  OutputTableManifest m = Parse(R"({
    "primary_key": ["x"], "incremental": true, "delimiter": "\t", "enclosure": "'",
    "columns": ["x", "Sales", "CompPrice"], "attributes": [],
    "delete_where_column": "Advertising", "delete_where_values": ["Video", "Search"],
    "delete_where_operator": "eq", "name": "Leads", "destination": "out.c-main.Leads"})");
  EXPECT_EQ(m.delimiter, "\t");
  EXPECT_EQ(m.enclosure, "'");
  EXPECT_EQ(m.destination, "out.c-main.Leads");
  EXPECT_EQ(m.columns, (Names{"x", "Sales", "CompPrice"}));
  EXPECT_EQ(m.delete_where[0].filters[0].values, (Names{"Video", "Search"}));
}

// data_full_output_manifest: write_always and column metadata together.
TEST(OutputTableManifestTest, LegacyWriteAlways) {
  OutputTableManifest m = Parse(R"({
    "destination": "out.c-adform_masterdata-processor-test.sample_output",
    "columns": ["x", "Sales"], "incremental": true, "primary_key": ["x"], "write_always": true,
    "delimiter": "\t", "enclosure": "'",
    "column_metadata": {"x": [{"key": "foo", "value": "gogo"}]},
    "delete_where_column": "Advertising", "delete_where_values": ["Video", "Search"],
    "delete_where_operator": "ne"})");
  EXPECT_TRUE(m.write_always);
  EXPECT_EQ(m.delete_where[0].filters[0].op, DeleteWhereOperator::kNe);
}

// test_full_column_datatypes_for_manifest_is_valid: the legacy way to type columns, with boolean
// and number values as the library writes them.
TEST(OutputTableManifestTest, LegacyColumnTypesFromColumnMetadata) {
  OutputTableManifest m = Parse(R"({
    "columns": ["col_1", "col_2", "col_3"],
    "column_metadata": {
      "col_1": [{"key": "KBC.datatype.basetype", "value": "NUMERIC"},
                {"key": "KBC.datatype.nullable", "value": true},
                {"key": "KBC.datatype.length", "value": "39,8"},
                {"key": "KBC.datatype.default", "value": 0}],
      "col_2": [{"key": "KBC.datatype.basetype", "value": "STRING"},
                {"key": "KBC.datatype.nullable", "value": false},
                {"key": "KBC.datatype.length", "value": "4000"},
                {"key": "KBC.description", "value": "Second column"}],
      "col_3": [{"key": "KBC.datatype.basetype", "value": "VARCHAR2"}]}})");
  const auto& c1 = m.column_details["col_1"];
  EXPECT_EQ(c1.base_type, "NUMERIC");
  EXPECT_TRUE(c1.nullable);
  EXPECT_EQ(c1.length, "39,8");
  EXPECT_EQ(c1.default_value, "0");
  ASSERT_EQ(c1.metadata.size(), 4u);
  EXPECT_EQ(c1.metadata[1], (MetadataEntry{"KBC.datatype.nullable", "true", "", "", ""}));
  const auto& c2 = m.column_details["col_2"];
  EXPECT_EQ(c2.base_type, "STRING");
  EXPECT_FALSE(c2.nullable);
  EXPECT_EQ(c2.description, "Second column");
  // Not a base type: kept as metadata, the column stays untyped.
  EXPECT_EQ(m.column_details["col_3"].base_type, "");
  EXPECT_EQ(m.column_details["col_3"].metadata.size(), 1u);
}

// Column metadata may describe the columns of a file with a header row.
TEST(OutputTableManifestTest, ColumnMetadataWithoutColumns) {
  OutputTableManifest m = Parse(
      R"({"column_metadata": {"id": [{"key": "KBC.datatype.basetype", "value": "integer"}]}})");
  EXPECT_TRUE(m.columns.empty());
  EXPECT_TRUE(m.has_header);
  EXPECT_EQ(m.column_details["id"].base_type, "INTEGER");
}

TEST(OutputTableManifestTest, PrimaryKeyIsNormalisedLikeKeboola) {
  OutputTableManifest m = Parse(R"({"primary_key": [" id ", "", "id", "name"]})");
  EXPECT_EQ(m.primary_key, (Names{"id", "name"}));
}

TEST(OutputTableManifestTest, TableDescriptionFromLegacyMetadata) {
  OutputTableManifest m = Parse(R"({"metadata": [
      {"key": "KBC.description", "value": "Description of table"},
      {"key": "custom_key", "value": "custom_value"}]})");
  EXPECT_EQ(m.description, "Description of table");
  EXPECT_EQ(m.table_metadata.size(), 2u);
}

// ---- native-types format (schema) ------------------------------------------------------------

// keboola.component test_new_manifest_full (KBC_DATA_TYPE_SUPPORT=authoritative).
TEST(OutputTableManifestTest, SchemaFullAsKeboolaComponentWritesIt) {
  OutputTableManifest m = Parse(R"({
    "destination": "some-destination", "incremental": true, "write_always": false,
    "delimiter": ",", "enclosure": "\"", "manifest_type": "out", "has_header": true,
    "delete_where_column": "lilly", "delete_where_values": ["a", "b"],
    "delete_where_operator": "eq",
    "table_metadata": {"KBC.description": "some description", "bar": "kochba"},
    "schema": [
      {"name": "foo", "data_type": {"base": {"type": "STRING"}}, "nullable": true,
       "primary_key": true},
      {"name": "bar", "data_type": {"base": {"type": "STRING"}}, "nullable": true}]})");
  EXPECT_TRUE(m.uses_schema);
  EXPECT_EQ(m.manifest_type, "out");
  EXPECT_EQ(m.columns, (Names{"foo", "bar"}));
  EXPECT_EQ(m.primary_key, (Names{"foo"}));
  EXPECT_TRUE(m.has_header);
  EXPECT_EQ(m.description, "some description");
  EXPECT_EQ(m.column_details["foo"].base_type, "STRING");
  EXPECT_TRUE(m.column_details["bar"].nullable);
  ASSERT_EQ(m.table_metadata.size(), 2u);
  EXPECT_EQ(m.table_metadata[0],
            (MetadataEntry{"KBC.description", "some description", "", "", ""}));
  EXPECT_EQ(m.delete_where[0].filters[0].column, "lilly");
}

// keboola.component tests/data_examples/data1/out/tables/some-table.csv.manifest: a schema
// manifest without has_header true is headless.
TEST(OutputTableManifestTest, SchemaWithoutHasHeaderIsHeadless) {
  OutputTableManifest m = Parse(
      R"({"destination": "some-destination", "incremental": true, "write_always": false,
          "delimiter": ",", "enclosure": "\"", "manifest_type": "out", "has_header": false,
          "table_metadata": {"bar": "kochba"}, "delete_where_column": "lilly",
          "delete_where_values": ["a", "b"], "delete_where_operator": "eq",
          "schema": [{"name": "foo", "data_type": {"base": {"type": "STRING"}},
                      "nullable": true, "primary_key": true},
                     {"name": "bar", "data_type": {"base": {"type": "STRING"}},
                      "nullable": true}]})");
  EXPECT_FALSE(m.has_header);
  EXPECT_FALSE(Parse(R"({"schema": [{"name": "a"}]})").has_header);
}

// keboola.component test_new_manifest_native_types: lengths, types, and a column written without
// "nullable" (the library drops false values; Keboola's default for a missing one is true).
TEST(OutputTableManifestTest, SchemaTypes) {
  OutputTableManifest m = Parse(R"({
    "destination": "some-destination", "incremental": true, "write_always": false,
    "delimiter": ",", "enclosure": "\"", "manifest_type": "out", "has_header": true,
    "schema": [
      {"name": "foo", "data_type": {"base": {"type": "INTEGER", "length": "20"}}, "nullable": true},
      {"name": "note", "data_type": {"base": {"type": "STRING"}}},
      {"name": "id", "data_type": {"base": {"type": "NUMERIC", "length": "200"}},
       "nullable": true, "primary_key": true},
      {"name": "new2", "data_type": {"base": {"type": "FLOAT", "length": "200"}}, "nullable": true},
      {"name": "new3", "data_type": {"base": {"type": "DATE"}}, "nullable": true},
      {"name": "untyped"}]})");
  EXPECT_EQ(m.columns, (Names{"foo", "note", "id", "new2", "new3", "untyped"}));
  EXPECT_EQ(m.primary_key, (Names{"id"}));
  EXPECT_EQ(m.column_details["foo"].base_type, "INTEGER");
  EXPECT_EQ(m.column_details["foo"].length, "20");
  EXPECT_TRUE(m.column_details["note"].nullable);
  EXPECT_EQ(m.column_details["id"].base_type, "NUMERIC");
  EXPECT_EQ(m.column_details["new2"].base_type, "FLOAT");
  EXPECT_EQ(m.column_details["new3"].base_type, "DATE");
  EXPECT_EQ(m.column_details["untyped"].base_type, "");
}

// Keboola's documentation example (out-tables-manifests-native-types): backend types, numbers and
// null in length/default, not nullable, description and column metadata.
TEST(OutputTableManifestTest, SchemaAsKeboolaDocumentsIt) {
  OutputTableManifest m = Parse(R"json({
    "destination": "out.c-main.Leads", "incremental": true, "delimiter": "\t",
    "enclosure": "\"", "manifest_type": "output", "has_header": true,
    "description": "Best table", "table_metadata": {"something else": "a value"},
    "delete_where": [{"where_filters": [
        {"column": "column name", "operator": "eq", "values_from_set": ["value1", "value2"]}]}],
    "schema": [{
      "name": "id",
      "data_type": {
        "base": {"type": "INTEGER", "length": 11, "default": "123"},
        "snowflake": {"type": "GEOMETRY", "length": "123,123,4455", "default": "POINT(1 1)"},
        "bigquery": {"type": "VARCHAR", "length": "123", "default": null}},
      "nullable": false, "primary_key": true, "distribution_key": true,
      "description": "Optional description of the column",
      "metadata": {"KBC.someColumnMetadata": "value1", "KBC.someOther": "value2"}}]})json");
  EXPECT_EQ(m.manifest_type, "output");
  EXPECT_EQ(m.description, "Best table");
  ASSERT_EQ(m.table_metadata.size(), 2u);
  EXPECT_EQ(m.table_metadata[1], (MetadataEntry{"KBC.description", "Best table", "", "", ""}));
  const auto& id = m.column_details["id"];
  EXPECT_EQ(id.base_type, "INTEGER");
  EXPECT_EQ(id.length, "11");
  EXPECT_EQ(id.default_value, "123");
  EXPECT_FALSE(id.nullable);
  EXPECT_EQ(id.description, "Optional description of the column");
  EXPECT_EQ(id.metadata.size(), 2u);
  EXPECT_EQ(id.backend_types.at("snowflake").type, "GEOMETRY");
  EXPECT_EQ(id.backend_types.at("snowflake").default_value, "POINT(1 1)");
  EXPECT_EQ(id.backend_types.at("bigquery").default_value, std::nullopt);
  EXPECT_EQ(m.primary_key, (Names{"id"}));
  EXPECT_EQ(m.distribution_key, (Names{"id"}));
  ASSERT_EQ(m.delete_where.size(), 1u);
  EXPECT_EQ(m.delete_where[0].filters[0].values, (Names{"value1", "value2"}));
}

// Keboola's config-file documentation: several rules, time bounds, values from a workspace table.
TEST(OutputTableManifestTest, DeleteWhereRules) {
  OutputTableManifest m = Parse(R"({"delete_where": [
      {"changed_since": "-7 days", "changed_until": 1360138863,
       "where_filters": [
         {"column": "Status", "operator": "eq", "values_from_set": ["Closed"]},
         {"column": "Status", "values_from_workspace":
            {"workspace_id": "123", "table": "statuses", "column": "status_name"}}]},
      {"where_filters": [{"column": "Region", "operator": "ne", "values_from_set": ["EU", 7]}]},
      {"where_filters": [{"column": "Id", "values_from_storage":
            {"bucket_id": "in.c-main", "table": "ids"}}]},
      {"changed_since": "2013-02-12T15:19:21+00:00"}]})");
  ASSERT_EQ(m.delete_where.size(), 4u);
  const auto& r0 = m.delete_where[0];
  EXPECT_EQ(r0.changed_since, "-7 days");
  EXPECT_EQ(r0.changed_until, "1360138863");
  ASSERT_EQ(r0.filters.size(), 2u);
  EXPECT_EQ(r0.filters[1].op, DeleteWhereOperator::kEq);
  ASSERT_TRUE(r0.filters[1].values_from_workspace.has_value());
  EXPECT_EQ(r0.filters[1].values_from_workspace->workspace_id, "123");
  EXPECT_EQ(r0.filters[1].values_from_workspace->table, "statuses");
  EXPECT_EQ(r0.filters[1].values_from_workspace->column, "status_name");
  EXPECT_EQ(m.delete_where[1].filters[0].op, DeleteWhereOperator::kNe);
  EXPECT_EQ(m.delete_where[1].filters[0].values, (Names{"EU", "7"}));
  EXPECT_EQ(m.delete_where[2].filters[0].values_from_storage->bucket_id, "in.c-main");
  EXPECT_TRUE(m.delete_where[3].filters.empty());
}

// ---- absent, null, empty ----------------------------------------------------------------------

TEST(OutputTableManifestTest, DefaultsNullsAndEmptyManifests) {
  for (const char* text : {"{}", "[]", "  {}\n"}) {
    OutputTableManifest m = Parse(text);
    EXPECT_EQ(m.delimiter, ",");
    EXPECT_EQ(m.enclosure, "\"");
    EXPECT_FALSE(m.incremental);
    EXPECT_FALSE(m.write_always);
    EXPECT_TRUE(m.has_header);
    EXPECT_TRUE(m.columns.empty());
    EXPECT_TRUE(m.delete_where.empty());
  }
  OutputTableManifest nulls = Parse(
      R"({"destination": null, "columns": null, "incremental": null, "delimiter": null,
          "schema": null, "table_metadata": [], "column_metadata": [], "delete_where": []})");
  EXPECT_EQ(nulls.delimiter, ",");
  EXPECT_FALSE(nulls.uses_schema);
  EXPECT_EQ(Parse(R"({"enclosure": ""})").enclosure, "");
  EXPECT_EQ(Parse(R"({"delete_where_operator": "", "delete_where_values": []})").delete_where,
            std::vector<jobs::DeleteWhereRule>{});
}

// ---- errors ----------------------------------------------------------------------------------

TEST(OutputTableManifestTest, WrongTypesNameFileAndField) {
  EXPECT_EQ(ParseError(R"({"primary_key": "id"})"),
            "out/tables/a.csv.manifest: field `primary_key` must be a list of strings");
  EXPECT_EQ(ParseError(R"({"columns": ["a", 1]})"),
            "out/tables/a.csv.manifest: field `columns` must be a list of strings");
  EXPECT_EQ(ParseError(R"({"incremental": "true"})"),
            "out/tables/a.csv.manifest: field `incremental` must be true or false");
  EXPECT_EQ(ParseError(R"({"destination": ["a"]})"),
            "out/tables/a.csv.manifest: field `destination` must be a string");
  EXPECT_EQ(ParseError(R"({"write_always": 1})"),
            "out/tables/a.csv.manifest: field `write_always` must be true or false");
  EXPECT_EQ(ParseError(R"({"has_header": "yes"})"),
            "out/tables/a.csv.manifest: field `has_header` must be true or false");
  EXPECT_EQ(ParseError(R"({"metadata": {"a": "b"}})"),
            "out/tables/a.csv.manifest: field `metadata` must be a list of {\"key\": ..., "
            "\"value\": ...} objects");
  EXPECT_EQ(ParseError(R"({"metadata": [{"value": "b"}]})"),
            "out/tables/a.csv.manifest: field `metadata[0].key` must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"column_metadata": {"a": [{"key": "k", "value": {}}]}})"),
            "out/tables/a.csv.manifest: field `column_metadata.a[0].value` must be a string");
  EXPECT_EQ(ParseError(R"({"table_metadata": {"k": [1]}})"),
            "out/tables/a.csv.manifest: field `table_metadata.k` must be a string");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "nullable": "no"}]})"),
            "out/tables/a.csv.manifest: field `schema[0].nullable` must be true or false");
  EXPECT_EQ(ParseError(R"({"schema": {"a": 1}})"),
            "out/tables/a.csv.manifest: field `schema` must be a list of column objects");
  EXPECT_EQ(ParseError(R"({"tags": [""]})"),
            "out/tables/a.csv.manifest: field `tags` must not contain an empty tag");

  auto st = ParseOutputTableManifest(R"({"primary_key": "id"})", kFile).status();
  EXPECT_EQ(st.details().at("file"), kFile);
  EXPECT_EQ(st.details().at("field"), "primary_key");
}

TEST(OutputTableManifestTest, MalformedJsonNamesLineAndColumn) {
  std::string msg = ParseError("{\n  \"destination\": \"x\",\n  \"columns\": [\"a\" \"b\"]\n}");
  EXPECT_TRUE(msg.starts_with("out/tables/a.csv.manifest: malformed JSON at line 3, column 21: "))
      << msg;
  msg = ParseError("");
  EXPECT_TRUE(msg.starts_with("out/tables/a.csv.manifest: malformed JSON at line 1, column 1"))
      << msg;
  auto st = ParseOutputTableManifest("{\"a\": tru}", kFile).status();
  EXPECT_EQ(st.details().at("line"), "1");
  EXPECT_EQ(ParseError(R"({"rows": 1e400})"),
            "out/tables/a.csv.manifest: malformed JSON: number overflow parsing '1e400'");
  EXPECT_EQ(ParseError(R"(["a"])"),
            "out/tables/a.csv.manifest: the manifest must be a JSON object");
  EXPECT_EQ(ParseError("42"), "out/tables/a.csv.manifest: the manifest must be a JSON object");
}

TEST(OutputTableManifestTest, KeboolasConsistencyRules) {
  const std::string p = "out/tables/a.csv.manifest: field ";
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a"}], "columns": ["a"]})"),
            p + "`schema` and `columns` cannot both be given");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a"}], "primary_key": ["a"]})"),
            p + "`schema` and `primary_key` cannot both be given");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a"}], "distribution_key": ["a"]})"),
            p + "`schema` and `distribution_key` cannot both be given");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a"}], "metadata": [{"key": "k", "value": "v"}]})"),
            p + "`schema` and `metadata` cannot both be given");
  EXPECT_EQ(
      ParseError(
          R"({"schema": [{"name": "a"}], "column_metadata": {"a": [{"key": "k", "value": "v"}]}})"),
      p + "`schema` and `column_metadata` cannot both be given");
  EXPECT_EQ(ParseError(R"({"description": "d", "table_metadata": {"KBC.description": "e"}})"),
            p + "`description` and table_metadata \"KBC.description\" cannot both be given");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "description": "d",
                                      "metadata": {"KBC.description": "e"}}]})"),
            p + "`schema[0].description` and metadata \"KBC.description\" cannot both be given");
  EXPECT_EQ(ParseError(R"({"delete_where_column": "a"})"),
            p + "`delete_where_values` must not be empty when `delete_where_column` is set");
  EXPECT_EQ(ParseError(R"({"delete_where_column": "a", "delete_where_values": ["x"],
                           "delete_where_operator": "gt"})"),
            p + "`delete_where_operator` must be \"eq\" or \"ne\"");
  EXPECT_EQ(ParseError(R"({"delete_where_column": "a", "delete_where_values": ["x"],
                           "delete_where": [{"changed_since": "-1 day"}]})"),
            p + "`delete_where_column` and `delete_where` cannot both be given");
  EXPECT_EQ(ParseError(R"({"delete_where": [{}]})"),
            p + "`delete_where[0]` must have changed_since, changed_until or where_filters");
  EXPECT_EQ(ParseError(R"({"delete_where": [{"where_filters": [{"column": "a"}]}]})"),
            p + "`delete_where[0].where_filters[0]` must have exactly one of values_from_set "
                "(non-empty), values_from_workspace and values_from_storage");
  EXPECT_EQ(ParseError(R"({"delete_where": [{"where_filters": [{"column": "a",
              "values_from_set": ["x"], "values_from_workspace": {"table": "t"}}]}]})"),
            p + "`delete_where[0].where_filters[0]` must have exactly one of values_from_set "
                "(non-empty), values_from_workspace and values_from_storage");
  EXPECT_EQ(ParseError(R"({"delete_where": [{"where_filters": [{"values_from_set": ["x"]}]}]})"),
            p + "`delete_where[0].where_filters[0].column` must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"delete_where": [{"where_filters": [{"column": "a",
              "operator": "in", "values_from_set": ["x"]}]}]})"),
            p + "`delete_where[0].where_filters[0].operator` must be \"eq\" or \"ne\"");
  EXPECT_EQ(ParseError(R"({"delete_where": [{"where_filters": [{"column": "a",
              "values_from_storage": {"table": "t"}}]}]})"),
            p + "`delete_where[0].where_filters[0].values_from_storage.bucket_id` must be a "
                "non-empty string");
  EXPECT_EQ(ParseError(R"({"delete_where": {"changed_since": "x"}})"),
            p + "`delete_where` must be a list of rule objects");
}

TEST(OutputTableManifestTest, ColumnAndTypeErrors) {
  const std::string p = "out/tables/a.csv.manifest: field ";
  EXPECT_EQ(ParseError(R"({"columns": ["a", "a"]})"), p + "`columns` repeats column `a`");
  EXPECT_EQ(ParseError(R"({"columns": ["a", ""]})"),
            p + "`columns` must not contain an empty name");
  EXPECT_EQ(ParseError(R"({"columns": ["a"], "primary_key": ["b"]})"),
            p + "`primary_key` names column `b`, which is not in `columns`");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a"}, {"name": "a"}]})"),
            p + "`schema[1].name` repeats column `a`");
  EXPECT_EQ(ParseError(R"({"schema": [{"data_type": {"base": {"type": "STRING"}}}]})"),
            p + "`schema[0].name` must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "data_type": {"base": {"type": "TEXT"}}}]})"),
            p + "`schema[0].data_type.base.type` must be one of STRING, INTEGER, NUMERIC, "
                "FLOAT, BOOLEAN, DATE, TIMESTAMP");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "data_type": {"snowflake": {"type": "X"}}}]})"),
            p + "`schema[0].data_type.base` is required");
  // keboola.component lets a component write a "redshift" type; Keboola refuses it.
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "data_type": {"base": {"type": "STRING"},
                          "redshift": {"type": "STRING", "length": "255"}}}]})"),
            p + "`schema[0].data_type.redshift` names an unsupported backend (base, snowflake "
                "and bigquery are)");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "data_type": {"base": {"type": ""}}}]})"),
            p + "`schema[0].data_type.base.type` must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"schema": [{"name": "a", "data_type": {"base": {"type": "STRING",
                          "length": [1]}}}]})"),
            p + "`schema[0].data_type.base.length` must be a string");
  EXPECT_EQ(ParseError(R"({"delimiter": ";;"})"), p + "`delimiter` must be one character");
  EXPECT_EQ(ParseError(R"({"delimiter": ""})"), p + "`delimiter` must be one character");
  EXPECT_EQ(ParseError(R"({"enclosure": "''"})"), p + "`enclosure` must be one character or empty");
  EXPECT_EQ(ParseError(R"({"deduplication_strategy": "merge"})"),
            p + "`deduplication_strategy` must be \"insert\" or \"upsert\"");
  // One character of several bytes is one character.
  EXPECT_EQ(Parse(R"({"delimiter": "§"})").delimiter, "§");
  EXPECT_EQ(Parse(R"({"schema": [{"name": "a", "data_type": {"base": {"type": "timestamp"}}}]})")
                .column_details["a"]
                .base_type,
            "TIMESTAMP");
}

TEST(OutputTableManifestTest, SizeLimits) {
  std::string big = "{\"destination\": \"" + std::string(jobs::kManifestBytesMax, 'x') + "\"}";
  EXPECT_EQ(ParseError(big), "out/tables/a.csv.manifest: the manifest is larger than 8 MiB");
  json columns = json::array();
  for (size_t i = 0; i <= jobs::kManifestColumnsMax; ++i)
    columns.push_back("c" + std::to_string(i));
  EXPECT_EQ(ParseError(json{{"columns", columns}}.dump()),
            "out/tables/a.csv.manifest: field `columns` lists more than 4096 columns");
  columns.erase(columns.end() - 1);
  EXPECT_EQ(Parse(json{{"columns", columns}}.dump()).columns.size(), jobs::kManifestColumnsMax);
}

// ---- sliced tables and the out/tables listing -------------------------------------------------

TEST(SlicedTableTest, ManifestMustListColumnsWithoutHeader) {
  // Keboola's folders documentation: out/tables/myfile.csv/part01, part02 + this manifest.
  OutputTableManifest ok =
      Parse(R"({"destination": "in.c-mybucket.table", "columns": ["col1", "col2", "col3"]})");
  EXPECT_TRUE(jobs::CheckSlicedTableManifest(ok, kFile).ok());
  EXPECT_TRUE(jobs::CheckSlicedTableManifest(Parse(R"({"schema": [{"name": "a"}]})"), kFile).ok());

  Status st = jobs::CheckSlicedTableManifest(Parse(R"({"destination": "in.c-b.t"})"), kFile);
  EXPECT_EQ(st.message(),
            "out/tables/a.csv.manifest: a sliced table must list its columns (`columns` or "
            "`schema`): its slices have no header row");
  st = jobs::CheckSlicedTableManifest(Parse(R"({"columns": ["a"], "has_header": true})"), kFile);
  EXPECT_EQ(st.message(),
            "out/tables/a.csv.manifest: field `has_header` must not be true for a sliced table");
}

TEST(SlicedTableTest, SliceFilesSkipDotFilesAndFolders) {
  std::vector<DirEntry> entries = {
      {"/data/out/tables/t.csv/part02.gz", false, 0},
      {"/data/out/tables/t.csv/.gitkeep", false, 0},
      {"/data/out/tables/t.csv/part01", false, 0},
      {"/data/out/tables/t.csv/nested", true, 0},
  };
  EXPECT_EQ(jobs::SliceFiles(entries),
            (Names{"/data/out/tables/t.csv/part01", "/data/out/tables/t.csv/part02.gz"}));
  EXPECT_TRUE(jobs::SliceFiles({}).empty());
}

TEST(SlicedTableTest, PairOutputSources) {
  std::vector<DirEntry> entries = {
      {"/d/out/tables/b.csv", false, 0},
      {"/d/out/tables/a.csv.manifest", false, 0},
      {"/d/out/tables/a.csv", true, 0},
      {"/d/out/tables/.hidden", false, 0},
      {"/d/out/tables/b.csv.manifest.bak", false, 0},
  };
  auto sources = jobs::PairOutputSources(entries);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 3u);
  EXPECT_EQ((*sources)[0].name, "a.csv");
  EXPECT_TRUE((*sources)[0].is_sliced);
  EXPECT_EQ((*sources)[0].manifest_path, "/d/out/tables/a.csv.manifest");
  EXPECT_EQ((*sources)[1].name, "b.csv");
  EXPECT_EQ((*sources)[1].manifest_path, "");
  EXPECT_FALSE((*sources)[1].is_sliced);
  EXPECT_EQ((*sources)[2].name, "b.csv.manifest.bak");

  entries.push_back({"/d/out/tables/gone.csv.manifest", false, 0});
  auto orphan = jobs::PairOutputSources(entries);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().message(),
            "Found orphaned manifest: \"gone.csv.manifest\" (no data file or folder of that name)");
}

TEST(SlicedTableTest, ResolveOutputDestination) {
  using jobs::ResolveOutputDestination;
  EXPECT_EQ(*ResolveOutputDestination("out.c-main.data", "out.c-x.y", "data.csv", ""),
            "out.c-main.data");
  EXPECT_EQ(*ResolveOutputDestination("", "out.c-x.y", "data.csv", ""), "out.c-x.y");
  EXPECT_EQ(*ResolveOutputDestination("", "", "out.c-data.my-table.csv", ""),
            "out.c-data.my-table");
  EXPECT_EQ(*ResolveOutputDestination("", "", "orders.csv", "in.c-comp-123"),
            "in.c-comp-123.orders");
  EXPECT_EQ(*ResolveOutputDestination("", "orders", "x.csv", "in.c-comp-123"),
            "in.c-comp-123.orders");
  EXPECT_FALSE(ResolveOutputDestination("bad", "", "x.csv", "in.c-b").ok());
  auto none = ResolveOutputDestination("", "", "orders.csv", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "Failed to resolve destination for output table \"orders.csv\"");
  EXPECT_TRUE(jobs::IsKeboolaTableId("in.c-b.t"));
  EXPECT_FALSE(jobs::IsKeboolaTableId("in.c-b"));
  EXPECT_FALSE(jobs::IsKeboolaTableId("a.b.c.d"));
}

// ---- input manifests --------------------------------------------------------------------------

// Keboola's documented in/tables manifest (manifest-files/in-tables-manifests), legacy layout.
TEST(InputTableManifestTest, ExactFields) {
  jobs::InputTableInfo info;
  info.id = "in.c-docker-demo.data";
  info.uri = "https://connection.keboola.com//v2/storage/tables/in.c-docker-demo.data";
  info.name = "data";
  info.columns = {"id", "name", "text"};
  info.primary_key = {"id"};
  info.indexed_columns = {"id"};
  info.created = "2015-01-25T01:35:14+0100";
  info.last_change_date = "2015-01-25T01:35:14+0100";
  info.last_import_date = "2015-01-25T01:35:14+0100";
  info.rows_count = 2;
  info.data_size_bytes = 32768;
  info.metadata = {{"KBC.createdBy.component.id", "keboola.python-transformation", "228956",
                    "system", "2017-05-26 00:39:07"}};
  info.column_metadata["name"] = {{"KBC.description", "Full name", "", "", ""}};
  info.column_metadata["not-a-column"] = {{"k", "v", "", "", ""}};

  const json expected = json::parse(R"({
    "id": "in.c-docker-demo.data",
    "uri": "https://connection.keboola.com//v2/storage/tables/in.c-docker-demo.data",
    "name": "data",
    "primary_key": ["id"],
    "distribution_key": [],
    "indexed_columns": ["id"],
    "created": "2015-01-25T01:35:14+0100",
    "last_change_date": "2015-01-25T01:35:14+0100",
    "last_import_date": "2015-01-25T01:35:14+0100",
    "rows_count": 2,
    "data_size_bytes": 32768,
    "is_alias": false,
    "columns": ["id", "name", "text"],
    "attributes": [],
    "metadata": [{"id": "228956", "key": "KBC.createdBy.component.id",
                  "value": "keboola.python-transformation", "provider": "system",
                  "timestamp": "2017-05-26 00:39:07"}],
    "column_metadata": {"id": [], "name": [{"key": "KBC.description", "value": "Full name"}],
                        "text": []}})");
  EXPECT_EQ(jobs::InputTableManifest(info), expected);
}

TEST(InputTableManifestTest, NoSchemaAndOptionalFields) {
  jobs::InputTableInfo info;
  info.id = "in.c-b.t";
  info.name = "t";
  info.description = "Orders";
  const json m = jobs::InputTableManifest(info);
  // keboola.component refuses `schema` together with `columns`/`metadata`/`column_metadata`.
  EXPECT_FALSE(m.contains("schema"));
  EXPECT_FALSE(m.contains("uri"));
  EXPECT_EQ(m["description"], "Orders");
  EXPECT_EQ(m["metadata"], json::array());
  EXPECT_EQ(m["column_metadata"], json::object());
  EXPECT_EQ(m["columns"], json::array());
}

TEST(InputFileManifestTest, ExactFieldsAndName) {
  // Keboola's documented in/files manifest (manifest-files/in-files-manifests).
  jobs::InputFileInfo info;
  info.id = 75807657;
  info.name = "fooBar.jpg";
  info.created = "2015-01-14T00:47:00+0100";
  info.is_encrypted = true;
  info.tags = {"tag1", "tag2"};
  info.max_age_days = 15;
  info.size_bytes = 563416;
  EXPECT_EQ(jobs::InputFileManifest(info), json::parse(R"({
      "id": 75807657, "created": "2015-01-14T00:47:00+0100", "is_public": false,
      "is_sliced": false, "is_encrypted": true, "name": "fooBar.jpg", "size_bytes": 563416,
      "tags": ["tag1", "tag2"], "max_age_days": 15})"));
  EXPECT_EQ(jobs::InputFileName(info), "75807657_fooBar.jpg");
}

TEST(KeboolaTimestampTest, StrptimeFormat) {
  // 2015-01-25T01:35:14+0100 is 00:35:14 UTC.
  const auto t = std::chrono::system_clock::from_time_t(1422146114);
  EXPECT_EQ(jobs::KeboolaTimestamp(t), "2015-01-25T00:35:14+0000");
  EXPECT_EQ(jobs::KeboolaTimestamp(t + std::chrono::milliseconds(999)), "2015-01-25T00:35:14+0000");
}

// ---- out/files -----------------------------------------------------------------------------

TEST(OutputFileManifestTest, AsKeboolaComponentWritesIt) {
  // test_file_manifest_minimal and test_file_manifest_full.
  auto minimal = jobs::ParseOutputFileManifest(
      R"({"is_public": false, "is_permanent": false, "is_encrypted": false, "notify": false})",
      "out/files/f.manifest");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(*minimal, (jobs::OutputFileManifest{{}, false, false, false, false}));
  auto full = jobs::ParseOutputFileManifest(
      R"({"tags": ["foo", "bar"], "is_public": true, "is_permanent": true,
          "is_encrypted": true, "notify": true})",
      "out/files/f.manifest");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, (jobs::OutputFileManifest{{"foo", "bar"}, true, true, true, true}));
  // Keboola's defaults: encrypted, not public, not permanent, no notification.
  auto empty = jobs::ParseOutputFileManifest("{}", "out/files/f.manifest");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, (jobs::OutputFileManifest{{}, false, false, true, false}));
}

TEST(OutputFileManifestTest, Errors) {
  auto tags = jobs::ParseOutputFileManifest(R"({"tags": "a"})", "out/files/f.manifest");
  EXPECT_EQ(tags.status().message(),
            "out/files/f.manifest: field `tags` must be a list of strings");
  auto empty_tag = jobs::ParseOutputFileManifest(R"({"tags": [""]})", "out/files/f.manifest");
  EXPECT_EQ(empty_tag.status().message(),
            "out/files/f.manifest: field `tags` must not contain an empty tag");
  auto flag = jobs::ParseOutputFileManifest(R"({"is_permanent": "yes"})", "out/files/f.manifest");
  EXPECT_EQ(flag.status().message(),
            "out/files/f.manifest: field `is_permanent` must be true or false");
  auto bad = jobs::ParseOutputFileManifest("{", "out/files/f.manifest");
  EXPECT_TRUE(bad.status().message().starts_with("out/files/f.manifest: malformed JSON at line 1"));
}

}  // namespace
}  // namespace swan::testing
