// JSON records -> CSV tables, with Keboola's php-jsonparser semantics (structure version 3), so
// that column and table names, parent links and type upgrades match the Generic Extractor's:
//
// - each batch of records of a "type" (the job's dataType) goes to table <type>; nested objects
//   become columns joined by "_" ("address_city"); arrays become child tables <type>_<key>
//   linked by a JSON_parentId column holding "<path>_<md5 of the PHP-serialized parent row>";
// - arrays of scalars give a "data" column; a scalar that later turns into an array is upgraded
//   to an array (a child table) for all records; an array inside an array is kept as JSON text;
// - names are made safe ([A-Za-z0-9-], "_" elsewhere), shortened past 64 characters, and made
//   unique with "_u0", "_u1" suffixes; parent columns given by the caller (child jobs:
//   "parent_id") are appended and renamed the same way on conflict;
// - the learned structure is kept in the component state ("json_parser.struct") and reloaded
//   next run, so column order and names stay stable across runs.
//
// Memory: the structure of every record is analysed as records arrive (the header of a table
// must hold every column any record has), the records themselves are spooled to a file and the
// CSV files are written at Finish(). Not thread-safe.
//
// Streaming: the rows Finish would write from the spool are also written as each batch
// arrives, with a copy of the structure as it stood after the first batch's analysis. While
// no later batch changes the analysed structure, Finish's pass would see that same structure
// and write the same rows in the same order, so Finish keeps the streamed tables (and their log
// lines, held until then) and skips the spool. The first batch that changes the structure (or
// a streamed parse that fails) drops the streamed tables; Finish then parses the spool as
// before.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "connectors/csv_table.h"
#include "connectors/extractor_log.h"
#include "connectors/php_semantics.h"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace swan::connectors {

struct SimdDocument;

using NodePath = std::vector<std::string>;

// php-jsonparser's Structure: a tree of nodes ("_<key>" children, "[]" array items) with
// properties nodeType, headerNames and type ("parent").
class JsonStructure {
 public:
  void SaveNodeValue(const NodePath& path, const std::string& property, const std::string& value);
  // The node at `path`, or nullptr.
  const Json* GetNode(const NodePath& path) const;
  // A string property of a node, or "" when the node or property is missing.
  std::string GetNodeProperty(const NodePath& path, const std::string& property) const;
  void SaveNode(const NodePath& path, const Json& node);
  // Column name -> node data type, for the children of an object node (or "data" for scalars).
  std::vector<std::pair<std::string, std::string>> GetColumnTypes(const NodePath& path) const;
  void GenerateHeaderNames();
  std::string GetParentTargetName(const std::string& name) const;
  void SetParentTargetName(const std::string& name, const std::string& target);
  std::string GetTypeFromNodePath(const NodePath& path) const;
  // Changed by every change of the structure, to a number no other change of any structure in
  // this process had (a copy shares its original's until either changes).
  uint64_t generation() const { return generation_; }
  // The tree of nodes (for walking it read-only).
  const Json& data() const { return data_; }

  // {"data": ..., "parent_aliases": ...}, as saved in the state; Load accepts the same.
  Json GetData() const;
  void Load(const Json& definitions);

  static std::string EncodeNodeName(const std::string& name);
  static std::string DecodeNodeName(const std::string& name);
  static std::string SafeName(const std::string& name);
  static std::string CleanPath(const NodePath& path);
  static std::string PathString(const NodePath& path);

 private:
  Json* FindNode(const NodePath& path);
  std::vector<std::pair<std::string, std::string>> ColumnTypesOf(const NodePath& path) const;
  void HandleUpgrade(const Json& node, const NodePath& path, const std::string& new_type);
  void GenerateHeaderName(Json& data, const std::string& parent_name, std::string base_type);
  std::string UniqueName(const std::string& base_type, const std::string& header);

  // Any change of the structure bumps the generation, which empties the lookup caches: the
  // flattener asks the same questions for every record of a table.
  void Changed();
  void SyncCaches() const;

  Json data_ = Json::object();
  Json parent_aliases_ = Json::object();
  std::map<std::string, std::set<std::string>> header_index_;
  uint64_t generation_ = 0;
  mutable uint64_t cache_generation_ = 0;
  mutable std::unordered_map<std::string, std::string> property_cache_;
  mutable std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>>
      column_types_cache_;
};

using RecordDigests = std::function<const std::vector<std::string>*()>;

class JsonFlattener {
 public:
  // `work_dir` receives the spool file and the CSV files (named after their tables).
  JsonFlattener(std::string work_dir, LogFn log);
  ~JsonFlattener();
  JsonFlattener(const JsonFlattener&) = delete;
  JsonFlattener& operator=(const JsonFlattener&) = delete;

  // Makes the tables of the streamed rows (see above) instead of work files: a caller that loads
  // tables while the job runs writes them as sliced CSV into out/tables (csv_table.h). Such a
  // table is discarded when the streaming stops, and Finish returns it when it holds. The
  // tables of Finish's pass over the spool are work files as before.
  using TableFactory = std::function<std::unique_ptr<CsvTable>(
      const std::string& name, const std::vector<std::string>& header)>;
  void SetStreamedTableFactory(TableFactory factory) { streamed_factory_ = std::move(factory); }
  // Loads a structure saved in a previous run's state (json_parser.struct, version 3).
  void LoadStructure(const Json& definitions) { structure_.Load(definitions); }
  // Analyses and spools one batch of records (a JSON array) of `type`. `parent_id`: null, a
  // string (JSON_parentId) or an object of extra columns (child jobs: {"parent_id": 123}).
  // Throws ExtractorError on incompatible data ("contains incompatible data types").
  void Process(const Json& data, const std::string& type, const Json& parent_id);
  // The same, for a caller that no longer needs `data` (its records move into the rows).
  // `record_digests`, if given, is called (once, at most) before the records move into rows:
  // for each record of `data`, Md5Hex(PhpSerialize(record)) when it is an object, "" otherwise
  // (computed elsewhere, e.g. on another thread while this batch is analysed: until then only
  // reads of `data` happen), or nullptr; the JSON_parentId of a top-level row without parent
  // columns is made from it.
  void Process(Json&& data, const std::string& type, const Json& parent_id,
               const RecordDigests* record_digests = nullptr);
  // Process for an answer parsed by simdjson (simd_json.h) whose root is the batch (an array).
  // While the structure holds for every record (the common case after the first page), the
  // records are analysed and streamed from the parsed document, and the answer's text is
  // spooled, all without a Json tree. Otherwise the text is decoded into a Json and goes
  // through Process: the outcome is the same either way.
  void ProcessParsed(const SimdDocument& doc, const std::string& type, const Json& parent_id,
                     const RecordDigests* record_digests = nullptr);
  // Writes every spooled batch into its tables; returns them in creation order, closed.
  std::vector<std::unique_ptr<CsvTable>> Finish();
  Json StructureState() const { return structure_.GetData(); }
  // How many batches ProcessParsed streamed from their parsed answers (the rest went through a
  // Json): for tests and the job's debug log.
  int64_t parsed_batches_streamed() const { return parsed_batches_streamed_; }

 private:
  struct RowLayout;
  struct ColumnPlan;
  struct RowPlan;
  struct Row;
  struct SimdItem;
  struct SimdRow;
  struct ShapeNode;
  void ProcessBatch(const Json& data, Json* consumable, const std::string& type,
                    const Json& parent_id, const RecordDigests* digests);
  // Writes the batch's rows into the streamed tables, or stops streaming (see above).
  void StreamBatch(const Json& data, Json* consumable, const std::string& type,
                   const Json& parent_id, const RecordDigests* digests);
  void StopStreaming();
  // Exchanges the structure, tables and log of the spool pass with the streamed ones.
  void SwapStreamed();
  void AnalyzeArray(const Json& array, const NodePath& path);
  std::string AnalyzeItem(const Json& item, const NodePath& path);
  // Whether AnalyzeItem on `item` would change nothing and log nothing: every node it would
  // save already holds that nodeType. `node`: the structure's node of the item's path, or
  // nullptr; `in_array`: that path ends in "[]". Sets `type` to what AnalyzeItem returns.
  bool AnalysisHolds(const Json& item, const Json* node, bool in_array, const char** type) const;
  // AnalysisHolds for a record of a parsed answer; false also for an object with a key twice.
  bool AnalysisHoldsSimd(simdjson::dom::element item, const ShapeNode* node, bool in_array,
                         const char** type) const;
  // Whether AnalyzeArray would change nothing for the records of `array` (json_flattener_simd).
  bool BatchAnalysisHoldsSimd(simdjson::dom::element array, const NodePath& path) const;
  // StreamBatch, ParseSimd, ParseRowSimd, ParseFieldSimd: Stream, Parse, ParseRow and
  // ParseField for the records of a parsed answer, writing the same rows.
  void StreamSimd(simdjson::dom::element records, const std::string& type,
                  const RecordDigests* digests);
  void ParseSimd(simdjson::dom::element items, const NodePath& path, const std::string* parent_id,
                 const std::vector<std::string>* digests,
                 std::shared_ptr<const RowPlan>* last_plan);
  void ParseRowSimd(const SimdItem& row, const NodePath& path,
                    const std::vector<std::pair<std::string, Json>>& parent_cols,
                    const std::string& outer_hash, SimdRow& out, const std::string* digest,
                    std::shared_ptr<const RowPlan>* last_plan);
  void ParseFieldSimd(const SimdItem& row, SimdRow& csv_row, const std::string& array_parent_id,
                      const ColumnPlan& column, uint64_t plan_generation, const NodePath& path);
  // Opens the spool at the first batch.
  void OpenSpool();
  // Appends one document: CBOR, or JSON text (`json_text`).
  void SpoolDocument(const uint8_t* data, size_t size, bool json_text);
  // The object child `name` of a structure node, or nullptr.
  static const Json* ChildNode(const Json* node, const std::string& name);
  // Whether SaveNodeValue(<node's path>, "nodeType", type) leaves the structure as it is.
  static bool NodeTypeHolds(const Json* node, const char* type);
  // The structure's node at `path` as SaveNodeValue walks to it, or nullptr.
  const Json* SavedNode(const NodePath& path) const;
  // Consumes `data`: its records are moved into the rows written.
  void Parse(Json& data, const NodePath& path, const Json& parent_id,
             const std::vector<std::string>* digests = nullptr,
             std::shared_ptr<const RowPlan>* last_plan = nullptr);
  std::vector<std::pair<std::string, Json>> ValidateParentId(const Json& parent_id) const;
  std::vector<std::string> GetHeaders(const NodePath& path,
                                      std::vector<std::pair<std::string, Json>>* parent);
  std::vector<std::string> ComputeHeaders(const NodePath& path,
                                          std::vector<std::pair<std::string, Json>>* parent);
  void ParseRow(Json& row, const NodePath& path,
                const std::vector<std::pair<std::string, Json>>& parent_cols,
                const std::string& outer_hash, Row& out, const std::string* digest = nullptr,
                std::shared_ptr<const RowPlan>* last_plan = nullptr);
  // What ParseRow asks the structure for every record of `path`: answered once per structure
  // generation (a call that changed the structure is answered but not kept). ParseRow's
  // `last_plan`: the plan of the caller's previous row of the same path and parent columns,
  // reused while it is the one GetRowPlan would return (and replaced otherwise).
  // GetRowPlan, or `*last_plan` when it is the one GetRowPlan would return (then kept there).
  std::shared_ptr<const RowPlan> PlanFor(
      const NodePath& path, const std::vector<std::pair<std::string, Json>>& parent_cols,
      std::shared_ptr<const RowPlan>* last_plan);
  std::shared_ptr<const RowPlan> GetRowPlan(
      const NodePath& path, const std::vector<std::pair<std::string, Json>>& parent_cols);
  void ParseField(Json& row, Row& csv_row, const std::string& array_parent_id,
                  const ColumnPlan& column, uint64_t plan_generation, const NodePath& path);
  // The table name of the rows at `path` (its cleaned, safe form).
  const std::string& TableTypeOf(const NodePath& path);
  CsvTable& CreateCsvFile(const std::string& type, const NodePath& path,
                          std::vector<std::pair<std::string, Json>>& parent_id);

  std::string work_dir_;
  LogFn log_;
  JsonStructure structure_;
  std::string spool_path_;
  std::FILE* spool_ = nullptr;
  std::vector<uint8_t> spool_buf_;
  std::vector<std::pair<NodePath, std::string>> table_types_;
  std::vector<std::unique_ptr<CsvTable>> tables_;
  std::map<std::string, CsvTable*> tables_by_type_;
  uint64_t headers_generation_ = ~uint64_t{0};
  std::unordered_map<std::string, std::vector<std::string>> headers_cache_;
  uint64_t plans_generation_ = ~uint64_t{0};
  struct PlanEntry {
    NodePath path;
    std::vector<std::string> parents;  // the parent columns' names
    std::shared_ptr<const RowPlan> plan;
  };
  // By a hash of the path and the parent names.
  std::unordered_map<size_t, std::vector<PlanEntry>> plans_;

  // ParseSimd's and ParseRowSimd's rows, one for each depth of the path (rows alive at once
  // are at different depths), reused for every record.
  std::vector<std::unique_ptr<SimdRow>> simd_rows_;
  SimdRow& ScratchRow(size_t depth);

  int64_t parsed_batches_streamed_ = 0;
  TableFactory streamed_factory_;
  bool in_stream_pass_ = false;  // between StreamBatch's (StreamSimd's) two SwapStreamed
  bool streaming_ = true;
  bool streamed_any_ = false;
  // BatchAnalysisHoldsSimd's compiled node of `shape_path_`, of structure generation
  // `shape_generation_` (null when the structure has no node there).
  mutable std::unique_ptr<const ShapeNode> shape_;
  mutable NodePath shape_path_;
  mutable uint64_t shape_generation_ = ~uint64_t{0};
  uint64_t streamed_generation_ = 0;  // the analysed structure's, at the first streamed batch
  JsonStructure streamed_structure_;
  std::vector<std::unique_ptr<CsvTable>> streamed_tables_;
  std::map<std::string, CsvTable*> streamed_tables_by_type_;
  LogFn streamed_log_;
  std::shared_ptr<std::vector<std::pair<LogLevel, std::string>>> streamed_lines_;
};

}  // namespace swan::connectors
