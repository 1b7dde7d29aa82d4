// Keboola manifest files: the JSON beside each table and file in a component's data folder.
//
// Swan runs components on Keboola's common interface unchanged (docs/keboola_interface_notes.md),
// so these are Keboola's formats, field for field:
//   - in/tables/<name>.manifest, written by Swan before the run: InputTableManifest();
//   - in/files/<id>_<name>.manifest, written by Swan: InputFileManifest();
//   - out/tables/<name>.manifest, written by the component: ParseOutputTableManifest();
//   - out/files/<name>.manifest, written by the component: ParseOutputFileManifest().
// The rules come from Keboola's own readers and writers (keboola/output-mapping
// Configuration/Table/BaseConfiguration.php, keboola/input-mapping Helper/ManifestCreator.php)
// and from what the Python library keboola.component (dao.py) writes and reads.
//
// Sliced output tables: a component may write a table in parts. The data "file" is then a
// folder, out/tables/<name>.csv/, whose files (any names; ".gz" parts are gzip) are slices without
// header rows, in no particular order, and out/tables/<name>.csv.manifest must name the columns
// (`columns`, or `schema`). CheckSlicedTableManifest() and SliceFiles() hold those rules.
//
// Everything here is a pure function of its arguments (no file system, no clock); thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/status.h"

namespace swan::jobs {

// A manifest larger than this is refused before parsing (a 5000-column manifest with metadata is
// about 1 MiB).
inline constexpr size_t kManifestBytesMax = size_t{8} << 20;  // 8 MiB
// Columns of one output table at most (Keboola Storage's own limit is lower, about 1000-1200).
inline constexpr size_t kManifestColumnsMax = 4096;

// Keboola's base types (https://help.keboola.com/storage/tables/data-types/#base-types).
inline constexpr const char* kKeboolaBaseTypes[] = {"STRING",  "INTEGER", "NUMERIC",  "FLOAT",
                                                    "BOOLEAN", "DATE",    "TIMESTAMP"};

// One metadata entry of a table or column. Output manifests carry key and value only; input
// manifests also carry the Storage id, provider (e.g. "system" or a component id) and timestamp
// ("2017-05-26 00:39:07"), each written only when not empty.
struct MetadataEntry {
  std::string key;
  std::string value;
  std::string id;
  std::string provider;
  std::string timestamp;

  bool operator==(const MetadataEntry&) const = default;
};

// ------------------------------------------------------------------------------------------------
// out/tables/*.manifest

// A type for one storage backend, from schema[].data_type.<backend>: {type, length, default}.
// Keboola turns numbers and booleans in length/default into strings ("11", "true").
struct BackendDataType {
  std::string type;
  std::optional<std::string> length;
  std::optional<std::string> default_value;

  bool operator==(const BackendDataType&) const = default;
};

// What a manifest says about one column, from either format.
struct OutputColumnDetails {
  // A Keboola base type (one of kKeboolaBaseTypes), or "" when the manifest gives none. From
  // schema[].data_type.base.type, or from the column metadata KBC.datatype.basetype.
  std::string base_type;
  std::optional<std::string> length;         // base.length or KBC.datatype.length: "255", "38,2"
  std::optional<std::string> default_value;  // base.default or KBC.datatype.default
  // Backend-specific types ("snowflake", "bigquery"), schema format only; informational.
  std::map<std::string, BackendDataType> backend_types;
  // Keboola's default is nullable. From schema[].nullable, or KBC.datatype.nullable metadata.
  bool nullable = true;
  // From schema[].description, or the column metadata KBC.description.
  std::string description;
  // All column metadata, as given (schema[].metadata, or column_metadata[<column>]).
  std::vector<MetadataEntry> metadata;

  bool operator==(const OutputColumnDetails&) const = default;
};

enum class DeleteWhereOperator { kEq, kNe };

// Where the values of a delete filter come from when not listed: a table of a workspace
// (values_from_workspace) or of Storage (values_from_storage). `column` empty = the filter's
// column.
struct DeleteWhereValuesTable {
  std::string workspace_id;  // values_from_workspace only; may be empty
  std::string bucket_id;     // values_from_storage only
  std::string table;
  std::string column;

  bool operator==(const DeleteWhereValuesTable&) const = default;
};

// One condition: `column` IN values (kEq) or NOT IN values (kNe).
struct DeleteWhereFilter {
  std::string column;
  DeleteWhereOperator op = DeleteWhereOperator::kEq;
  std::vector<std::string> values;  // values_from_set (or the legacy delete_where_values)
  std::optional<DeleteWhereValuesTable> values_from_workspace;
  std::optional<DeleteWhereValuesTable> values_from_storage;

  bool operator==(const DeleteWhereFilter&) const = default;
};

// One DELETE before the load: rows changed within [changed_since, changed_until] (each optional;
// "-7 days", Unix seconds or ISO-8601, passed on as written) AND all filters. Rules are independent
// DELETE statements. The legacy delete_where_column/_values/_operator become one rule with one
// filter.
struct DeleteWhereRule {
  std::string changed_since;
  std::string changed_until;
  std::vector<DeleteWhereFilter> filters;

  bool operator==(const DeleteWhereRule&) const = default;
};

// An out/tables manifest, normalised from either format: the legacy one (`columns`,
// `primary_key`, `metadata` list, `column_metadata`) or the native-types one (`schema`,
// `table_metadata` object, `has_header`, `description`, `manifest_type`).
struct OutputTableManifest {
  // True when the manifest had a non-empty `schema` (native-types format).
  bool uses_schema = false;
  // Storage table id ("out.c-bucket.table"), or "" when the manifest names none.
  std::string destination;
  bool incremental = false;
  // Trimmed, without empty names and repeats (as Keboola normalises keys).
  std::vector<std::string> primary_key;
  std::vector<std::string> distribution_key;
  // Column names in file order; empty when the file's header row names the columns.
  std::vector<std::string> columns;
  // Per column; may name columns missing from `columns` (column_metadata for a file with a header).
  std::map<std::string, OutputColumnDetails> column_details;
  std::string delimiter = ",";
  std::string enclosure = "\"";  // may be "" (no enclosure)
  // Whether the first line of the file is a header row to skip. Always true when `columns` is
  // empty; otherwise `has_header` as given, false when absent (Keboola's default: a file whose
  // columns are listed is headless unless the manifest says has_header: true).
  bool has_header = true;
  std::vector<DeleteWhereRule> delete_where;
  // Load this table even when the job fails.
  bool write_always = false;
  // Table metadata, from `metadata` (list of {key, value}) then `table_metadata` (object).
  std::vector<MetadataEntry> table_metadata;
  // `description`, or else the table metadata KBC.description.
  std::string description;
  std::string manifest_type;           // "out" (keboola.component) or "output" (Keboola's docs)
  std::vector<std::string> tags;       // tags of the staging file in Keboola; informational
  std::string deduplication_strategy;  // "", "insert" or "upsert"
  std::string unload_strategy;         // passed through; Swan does not use it

  bool operator==(const OutputTableManifest&) const = default;
};

// Parses out/tables/<file_name>.manifest text. `file_name` is the manifest's path as users should
// see it ("out/tables/a.csv.manifest"); every error message starts with it.
//
// Strict about types: a field of the wrong JSON type is an invalid_argument error naming the file
// and the field ("out/tables/a.csv.manifest: field `primary_key` must be a list of strings"),
// with details "file" and "field". Malformed JSON is an error naming the line and column. Unknown
// fields are ignored (Keboola itself refuses them; components written for Keboola never write
// any). A JSON null counts as an absent field. Keboola's consistency rules are enforced: `schema`
// excludes `columns`, `primary_key`, `distribution_key`, `metadata` and `column_metadata`;
// `description` excludes table_metadata["KBC.description"]; delete_where_column needs
// non-empty delete_where_values and excludes `delete_where`; operators are "eq" or "ne".
Result<OutputTableManifest> ParseOutputTableManifest(const std::string& text,
                                                     const std::string& file_name);

// Rules for a sliced table (its data path is a folder): the columns must be listed (slices have
// no header row) and has_header must not be true. `file_name` prefixes the message.
Status CheckSlicedTableManifest(const OutputTableManifest& manifest, const std::string& file_name);

// The slices of a sliced table folder, from its listing: regular files whose names do not start
// with "." (Keboola skips dot files such as .gitkeep), sorted by path. Sub-folders are ignored. An
// empty result is a table without rows.
std::vector<std::string> SliceFiles(const std::vector<DirEntry>& folder_entries);

// One data item of out/tables (or out/files) and its manifest.
struct OutputSource {
  std::string name;           // file or folder name, e.g. "orders.csv"
  std::string data_path;      // full path
  std::string manifest_path;  // full path of <name>.manifest, or "" when there is none
  bool is_sliced = false;     // the data path is a folder
};

// Pairs the entries of out/tables (or out/files) with their manifests, sorted by name. Dot files
// are skipped. A manifest whose data item is missing is an invalid_argument error
// ("Found orphaned manifest: \"x.csv.manifest\""), as in Keboola.
Result<std::vector<OutputSource>> PairOutputSources(const std::vector<DirEntry>& entries);

// Keboola's choice of destination table for an output table, in order: the output mapping's
// destination (must be a table id "stage.bucket.table"); the manifest's destination; the file
// name without ".csv" ("out.c-data.my-table.csv"). A name that is not a table id is put into
// `default_bucket` ("out.c-component-config"), or is an error when there is none.
Result<std::string> ResolveOutputDestination(const std::string& mapping_destination,
                                             const std::string& manifest_destination,
                                             const std::string& source_name,
                                             const std::string& default_bucket);

// True for "stage.bucket.table": exactly two dots (Keboola's MappingDestination::isTableId).
bool IsKeboolaTableId(const std::string& text);

// ------------------------------------------------------------------------------------------------
// in/tables/*.manifest

// What Swan tells a component about one input table.
struct InputTableInfo {
  std::string id;    // "in.c-bucket.table"
  std::string uri;   // written only when not empty
  std::string name;  // the table's name ("table")
  std::vector<std::string> columns;
  std::vector<std::string> primary_key;
  std::vector<std::string> indexed_columns;
  // Keboola's timestamp format, "2015-01-25T01:35:14+0100": see KeboolaTimestamp().
  std::string created;
  std::string last_import_date;
  std::string last_change_date;
  int64_t rows_count = 0;
  int64_t data_size_bytes = 0;
  bool is_alias = false;
  std::string description;  // written only when not empty
  std::vector<MetadataEntry> metadata;
  // Entries for columns in `columns`; every listed column gets a list, empty by default.
  std::map<std::string, std::vector<MetadataEntry>> column_metadata;
};

// The in/tables manifest Keboola writes, in the legacy layout the keboola.component library reads
// (id, uri, name, primary_key, distribution_key, indexed_columns, created, last_change_date,
// last_import_date, rows_count, data_size_bytes, is_alias, attributes, columns, metadata as a list
// of {key, value, ...}, column_metadata as {column: [...]}, description). It has no `schema`:
// keboola.component refuses a manifest with both `schema` and `columns`.
nlohmann::json InputTableManifest(const InputTableInfo& info);

// ------------------------------------------------------------------------------------------------
// in/files/*.manifest and out/files/*.manifest

struct InputFileInfo {
  int64_t id = 0;
  std::string name;     // original name; the file is stored as InputFileName()
  std::string created;  // KeboolaTimestamp()
  bool is_public = false;
  bool is_encrypted = true;
  bool is_sliced = false;
  std::vector<std::string> tags;
  int64_t max_age_days = 0;  // 0: kept forever
  int64_t size_bytes = 0;
};

// {id, name, created, is_public, is_encrypted, is_sliced, tags, max_age_days, size_bytes}: the
// fields Keboola's input mapping writes; id is a JSON number.
nlohmann::json InputFileManifest(const InputFileInfo& info);

// "<id>_<name>": the name of an input file in in/files (keboola.component splits it at the first
// "_" to recover the name).
std::string InputFileName(const InputFileInfo& info);

struct OutputFileManifest {
  std::vector<std::string> tags;
  bool is_public = false;
  bool is_permanent = false;  // false: Storage deletes the file after 15 days
  bool is_encrypted = true;   // Keboola's default
  bool notify = false;        // tell project members a file arrived

  bool operator==(const OutputFileManifest&) const = default;
};

// Parses out/files/<file_name>.manifest text; same error conventions as
// ParseOutputTableManifest.
Result<OutputFileManifest> ParseOutputFileManifest(const std::string& text,
                                                   const std::string& file_name);

// ------------------------------------------------------------------------------------------------

// Keboola's manifest timestamp, "2015-01-25T01:35:14+0000" (UTC, no fraction): the one format
// keboola.component parses (strptime "%Y-%m-%dT%H:%M:%S%z").
std::string KeboolaTimestamp(std::chrono::system_clock::time_point time);

}  // namespace swan::jobs
