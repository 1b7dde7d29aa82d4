// MySQL / MariaDB extractor: Keboola's database extractor configuration (keboola.ex-db-mysql),
// one table per configuration or row, run in Swan's process with MariaDB Connector/C.
//
//   parameters.db      host, port (3306), database, user, #password (a secret), connectTimeout
//   parameters.table   {schema (the database; default db.database), tableName}
//                      or parameters.query: "SELECT ..."
//   parameters.columns              columns of the table (default: all)
//   parameters.outputTable          e.g. "in.c-mysql.orders"
//   parameters.incremental          load incrementally (with primaryKey: upsert)
//   parameters.primaryKey           ["id"]
//   parameters.incrementalFetchingColumn / incrementalFetchingLimit
//                                   rows with col >= the last fetched value (state
//                                   {"lastFetchedRow": "..."}), ordered by it, at most the limit
//   parameters.tables[]             the older multi-table form: each item as above
//
// Rows stream one at a time (mysql_use_result) into <out_dir>/tables/<name>.csv (RFC 4180,
// header row, NULL an empty unquoted field, "" the empty string), so memory stays constant for
// any table size. The whole read is one REPEATABLE READ, READ ONLY transaction started WITH
// CONSISTENT SNAPSHOT (InnoDB; MyISAM tables have no snapshot), so the rows and the new
// lastFetchedRow agree. The session runs in UTC (time_zone '+00:00'): TIMESTAMP values arrive in
// UTC, DATETIME values as stored. Types reach the manifest as Keboola base types: integers
// (tinyint(1) too: it holds -128..127), bigint unsigned as NUMERIC(20,0), DECIMAL(p,s) up to
// p = 38 as NUMERIC (wider as STRING, exact text), float/double FLOAT, BIT as an integer,
// DATE, DATETIME/TIMESTAMP as TIMESTAMP (zero dates such as 0000-00-00 as NULL); JSON as its
// text, binary strings as lowercase hex, everything else STRING.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/extractor_io.h"

namespace swan::connectors {

inline constexpr const char* kMysqlExtractorComponentId = "keboola.ex-db-mysql";

// invalid_argument: the configuration, a refused login, an unknown database or a failing query
// (the message names the field or quotes the server); unavailable: the server could not be
// reached, went away, or stopped the statement (killed, timed out); cancelled: io.cancel was set;
// internal: local I/O. Files already written are left for the caller to discard. The state is
// written to io.output_state only on success. Blocking: call it on a job's thread.
Status RunMysqlExtractor(const nlohmann::json& config, const ExtractorIo& io);

}  // namespace swan::connectors
