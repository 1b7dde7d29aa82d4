// What Keboola's database extractors share, whatever the database: the configuration (one table
// or query per configuration row, or the older tables[] list) and the manifest of what was read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace swan::connectors {

// invalid_argument naming "parameters.<field>".
Status FieldError(const std::string& field, const std::string& what);
// A string member of a JSON object, or "".
std::string Text(const nlohmann::json& obj, const char* key);

struct DbTableSpec {
  std::string field;   // "" or "tables[i]", for messages
  std::string schema;  // as given; "" = the database's default
  std::string table;
  std::string query;
  std::vector<std::string> columns;
  std::string output_table;
  bool incremental = false;
  std::vector<std::string> primary_key;
  std::string fetch_column;
  int64_t fetch_limit = 0;
};

// The tables of `parameters`: itself (table or query, outputTable, columns, primaryKey,
// incremental, incrementalFetchingColumn/Limit) or each enabled item of `tables` (which cannot
// fetch incrementally: the state is one per configuration row).
Result<std::vector<DbTableSpec>> ParseDbTables(const nlohmann::json& parameters);

// A read column's Keboola base type (INTEGER, NUMERIC, FLOAT, BOOLEAN, DATE, TIMESTAMP, STRING)
// and length ("p,s" or "").
struct DbColumnType {
  std::string name;
  std::string base_type;
  std::string length;
};

// Appends an RFC 4180 field of the extractors' CSV: quoted when it holds a comma, quote or line
// break, or is empty (the empty string; NULL is an empty unquoted field, appended as nothing).
void AppendCsvField(std::string& out, const char* data, size_t size);

// Writes `<csv_path>.manifest`: destination, incremental (also when fetching incrementally),
// primary key and column_metadata; for a sliced table (`csv_path` a folder of headerless
// slices) also the column names.
Status WriteDbManifest(const std::string& csv_path, const DbTableSpec& spec,
                       const std::vector<DbColumnType>& columns, bool sliced = false);

}  // namespace swan::connectors
