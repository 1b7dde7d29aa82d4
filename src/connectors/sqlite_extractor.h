// SQLite extractor (swan.ex-db-sqlite): a database file read in Swan's process with the system
// libsqlite3. Keboola has no SQLite extractor; the configuration is the shape of Keboola's
// database extractors, so it reads like keboola.ex-db-mysql / keboola.ex-db-pgsql:
//
//   parameters.db.path   the database file, relative to the project's import folder (resolved and
//                        confined by the job, jobs/job_execution.cpp: this layer gets the file)
//   parameters.table     {schema ("main", the default), tableName}
//                        or parameters.query: "SELECT ..."
//   parameters.columns              columns of the table (default: all)
//   parameters.outputTable          e.g. "in.c-sqlite.orders"
//   parameters.incremental          load incrementally (with primaryKey: upsert)
//   parameters.primaryKey           ["id"]
//   parameters.incrementalFetchingColumn / incrementalFetchingLimit
//                                   rows with col >= the last fetched value (state
//                                   {"lastFetchedRow": "..."}), ordered by it, at most the limit
//   parameters.tables[]             the older multi-table form: each item as above
//
// Rows stream one at a time (sqlite3_step) into <out_dir>/tables/<name>.csv (RFC 4180, header
// row, NULL an empty unquoted field, "" the empty string), written in 1 MiB blocks, so memory
// stays constant for any table size. Everything is read in one read transaction (BEGIN ...
// COMMIT), so the rows and the new lastFetchedRow agree.
//
// Types come from each column's declared type with SQLite's affinity rules, as Keboola base
// types: INT... INTEGER; REAL/FLOA/DOUB FLOAT; DECIMAL(p,s)/NUMERIC(p,s) (p <= 38) NUMERIC "p,s";
// BOOL... BOOLEAN (written true/false, as the PostgreSQL extractor does); DATE; DATETIME and
// TIMESTAMP as TIMESTAMP (written "YYYY-MM-DD HH:MM:SS[.ffffff]", offsets converted to UTC); any
// other type, and a query's expressions (no declared type), STRING, with BLOBs as lowercase hex.
// SQLite keeps any value in any column, so each value is checked against its column's type as
// it is written: one that does not fit (text 'abc' in an INTEGER column, an epoch number in a
// DATE column) fails the run, naming the table, column, row and value.
//
// The file is opened read-only (never created), refusing symbolic links; the connection cannot
// ATTACH another file, load an extension or run anything but SELECT (an authorizer), so neither
// the file's schema nor the configuration's SQL reads beyond that one file; no value or row may
// pass 16 MiB (a query's zeroblob() cannot take the server's memory). Value rules:
// sqlite_values.h.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/extractor_io.h"

namespace swan::connectors {

inline constexpr const char* kSqliteExtractorComponentId = "swan.ex-db-sqlite";

// `db_file`: the absolute, symlink-free path of the database file, already resolved and confined
// by the caller (the job keeps it inside the project's import folder); parameters.db.path is not
// read here. invalid_argument: the configuration, a file that cannot be opened or is not an
// SQLite database, a failing query (quoting SQLite), a value that does not fit its column's type;
// unavailable: a writer held the file locked too long, or the job's timeout (io.timeout_ms)
// stopped a statement; cancelled: io.cancel was set; internal: local I/O. Files already written
// are left for the caller to discard. The state is written to io.output_state only on success.
// Blocking: call it on a job's thread.
Status RunSqliteExtractor(const nlohmann::json& config, const std::string& db_file,
                          const ExtractorIo& io);

}  // namespace swan::connectors
