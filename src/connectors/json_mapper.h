// Explicit JSON -> CSV mappings (the Generic Extractor's "mappings", Keboola's php-csvmap):
//
//   "mappings": {"users": {
//     "id":   {"type": "column", "mapping": {"destination": "id", "primaryKey": true}},
//     "name": "name",                                     // shorthand column
//     "tags": {"type": "table", "destination": "user-tags", "parentKey": {...},
//              "tableMapping": {".": {"mapping": {"destination": "tag"}}}},
//     "parent_id": {"type": "user", "mapping": {"destination": "user_id"}}}}
//
// Column types: column (forceType: non-scalars as JSON), user (from user data / parent
// columns), date (strtotime), table (a child table linked by the parent's primary key or a row
// hash; "parentKey.disable" writes into the parent's own table). Rows are written as they come.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/csv_table.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

class JsonMapper {
 public:
  // `mapping`: one type's mapping object; `type`: its table name. Files go to `work_dir`.
  JsonMapper(const Json& mapping, std::string type, std::string work_dir);
  // Maps each record of `data` (a JSON array); `user_data`: the user/parent columns object.
  void Parse(const Json& data, const Json& user_data);
  // This table and every child table, in order (first wins on a name clash), closed.
  std::vector<std::unique_ptr<CsvTable>> Finish();

 private:
  void ParseRow(const Json& row, const Json& user_data);
  std::vector<Json> MapRow(const Json& row, const Json& user_data);
  std::vector<std::pair<std::string, std::string>> PrimaryKey() const;
  std::vector<Json> PrimaryKeyValues(const Json& row, const Json& user_data) const;
  JsonMapper& ChildParser(const Json& settings, const std::string& key);
  CsvTable& ResultFile();
  std::vector<std::string> Header() const;

  Json mapping_;
  std::string type_;
  std::string work_dir_;
  std::unique_ptr<CsvTable> result_;
  std::vector<std::pair<std::string, std::unique_ptr<JsonMapper>>> children_;
  bool has_parent_key_ = false;
  std::string parent_key_column_;
  std::string parent_key_value_;
  std::string parent_pk_;
};

}  // namespace swan::connectors
