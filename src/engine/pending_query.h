// Runs DuckDB statements to their result without DuckDB's busy wait.
//
// duckdb_query waits for a query's last tasks by asking for a task again at once while DuckDB's
// other threads hold every one (PendingQueryResult::ExecuteInternal retries NO_TASKS_AVAILABLE
// in a loop). On two cores that spin took ~10% of a REST job's CPU, from the very threads it
// waited for. These calls drive the pending result themselves and sleep there instead, a little
// longer each time (50 us up to 1 ms), so a query that ends on another thread is seen within 1 ms.
#pragma once

#include <duckdb.h>

#include <string>
#include <string_view>

namespace swan::engine {

// Why a statement failed: DuckDB's error type and message.
struct QueryError {
  duckdb_error_type type = DUCKDB_ERROR_INVALID;
  std::string message;
};

// duckdb_query for one statement; several statements, or one that cannot be prepared, go through
// duckdb_query itself. `out` is filled either way (destroy it with duckdb_destroy_result); false
// with `error` filled when the statement failed.
bool QueryWithoutSpin(duckdb_connection conn, const char* sql, duckdb_result* out,
                      QueryError* error);

// duckdb_execute_prepared, likewise.
bool ExecuteWithoutSpin(duckdb_prepared_statement prepared, duckdb_result* out, QueryError* error);

// The error type DuckDB names at the start of an error message ("IO Error: ..."), INVALID when it
// names none it knows.
duckdb_error_type ErrorTypeOfMessage(std::string_view message);

}  // namespace swan::engine
