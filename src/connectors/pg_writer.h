// PostgreSQL writer: Keboola's database writer configuration (keboola.wr-db-pgsql), run in
// Swan's process with libpq.
//
//   parameters.db          host, port (5432), database, user, #password, schema (public)
//   parameters.tableId     the input table (its file in in/tables comes from the input mapping)
//   parameters.dbName      the target table
//   parameters.incremental false: the target's rows are replaced; true: upserted by primaryKey
//   parameters.primaryKey  ["id"] (needed for incremental)
//   parameters.items[]     {name, dbName, type, size, nullable, default}: columns to write and
//                          their PostgreSQL types (a type "ignore" skips the column); without
//                          items every column is written with a type mapped from Swan's
//
// All in one transaction: the target is created when missing; rows COPY into a temporary
// staging table; then the target is emptied and filled (full) or upserted with INSERT ... ON
// CONFLICT (incremental). A failure anywhere rolls back: the target stays as it was.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/csv_source.h"
#include "connectors/extractor_io.h"

namespace swan::connectors {

inline constexpr const char* kPostgresWriterComponentId = "keboola.wr-db-pgsql";

struct WriterColumn {
  std::string name;
  std::string duck_type;  // Swan's column type (DuckDB's name), for the default mapping
};

struct WriterInput {
  std::string table_id;  // the Swan table it came from
  // Opens its rows as CSV with a header row; called only for the table that is written, once
  // the target is ready, so a producer runs while the rows are copied.
  std::function<Result<std::unique_ptr<CsvSource>>()> open{};
  std::vector<WriterColumn> columns{};
};

// `inputs`: the tables of the input mapping; the one named by parameters.tableId is written
// (or the only one). Errors as RunPostgresExtractor's. `rows_written` (may be null) receives
// the number of rows copied.
Status RunPostgresWriter(const nlohmann::json& config, const std::vector<WriterInput>& inputs,
                         const ExtractorIo& io, int64_t* rows_written = nullptr);

}  // namespace swan::connectors
