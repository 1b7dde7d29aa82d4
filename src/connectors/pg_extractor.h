// PostgreSQL extractor: Keboola's database extractor configuration (keboola.ex-db-pgsql), one
// table per configuration or row, run in Swan's process with libpq.
//
//   parameters.db      host, port (5432), database, user, #password (a secret), connectTimeout
//   parameters.table   {schema, tableName}    or parameters.query: "SELECT ..."
//   parameters.columns              columns of the table (default: all)
//   parameters.outputTable          e.g. "in.c-pgsql.orders"
//   parameters.incremental          load incrementally (with primaryKey: upsert)
//   parameters.primaryKey           ["id"]
//   parameters.incrementalFetchingColumn / incrementalFetchingLimit
//                                   rows with col >= the last fetched value (state
//                                   {"lastFetchedRow": "..."}), ordered by it, at most the limit
//   parameters.tables[]             the older multi-table form: each item as above
//
// Data streams with COPY (...) TO STDOUT in CSV into <out_dir>/tables/<name>.csv, so memory stays
// constant for any table size; the whole read is one REPEATABLE READ, READ ONLY transaction, so
// the rows and the new lastFetchedRow agree. Types reach the manifest as Keboola base types
// (integers, NUMERIC(p,s), floats, boolean, date, timestamps; timestamps with zone as UTC);
// arrays and json/jsonb arrive as JSON text.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/extractor_io.h"

namespace swan::connectors {

inline constexpr const char* kPostgresExtractorComponentId = "keboola.ex-db-pgsql";

// invalid_argument: the configuration, a refused login or a failing query (the message names
// the field or quotes the server); unavailable: the server could not be reached or went away;
// internal: local I/O. Files already written are left for the caller to discard.
Status RunPostgresExtractor(const nlohmann::json& config, const ExtractorIo& io);

}  // namespace swan::connectors
