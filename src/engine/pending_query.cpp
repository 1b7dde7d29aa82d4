#include "engine/pending_query.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace swan::engine {

namespace {

// The texts DuckDB 1.4 writes before " Error: " for each error type (Exception::EXCEPTION_MAP).
struct ErrorTypeText {
  duckdb_error_type type;
  std::string_view text;
};
constexpr ErrorTypeText kErrorTypeTexts[] = {
    {DUCKDB_ERROR_INVALID, "Invalid"},
    {DUCKDB_ERROR_OUT_OF_RANGE, "Out of Range"},
    {DUCKDB_ERROR_CONVERSION, "Conversion"},
    {DUCKDB_ERROR_UNKNOWN_TYPE, "Unknown Type"},
    {DUCKDB_ERROR_DECIMAL, "Decimal"},
    {DUCKDB_ERROR_MISMATCH_TYPE, "Mismatch Type"},
    {DUCKDB_ERROR_DIVIDE_BY_ZERO, "Divide by Zero"},
    {DUCKDB_ERROR_OBJECT_SIZE, "Object Size"},
    {DUCKDB_ERROR_INVALID_TYPE, "Invalid type"},
    {DUCKDB_ERROR_SERIALIZATION, "Serialization"},
    {DUCKDB_ERROR_TRANSACTION, "TransactionContext"},
    {DUCKDB_ERROR_NOT_IMPLEMENTED, "Not implemented"},
    {DUCKDB_ERROR_EXPRESSION, "Expression"},
    {DUCKDB_ERROR_CATALOG, "Catalog"},
    {DUCKDB_ERROR_PARSER, "Parser"},
    {DUCKDB_ERROR_BINDER, "Binder"},
    {DUCKDB_ERROR_PLANNER, "Planner"},
    {DUCKDB_ERROR_SCHEDULER, "Scheduler"},
    {DUCKDB_ERROR_EXECUTOR, "Executor"},
    {DUCKDB_ERROR_CONSTRAINT, "Constraint"},
    {DUCKDB_ERROR_INDEX, "Index"},
    {DUCKDB_ERROR_STAT, "Stat"},
    {DUCKDB_ERROR_CONNECTION, "Connection"},
    {DUCKDB_ERROR_SYNTAX, "Syntax"},
    {DUCKDB_ERROR_SETTINGS, "Settings"},
    {DUCKDB_ERROR_OPTIMIZER, "Optimizer"},
    {DUCKDB_ERROR_NULL_POINTER, "NullPointer"},
    {DUCKDB_ERROR_IO, "IO"},
    {DUCKDB_ERROR_INTERRUPT, "INTERRUPT"},
    {DUCKDB_ERROR_FATAL, "FATAL"},
    {DUCKDB_ERROR_INTERNAL, "INTERNAL"},
    {DUCKDB_ERROR_INVALID_INPUT, "Invalid Input"},
    {DUCKDB_ERROR_OUT_OF_MEMORY, "Out of Memory"},
    {DUCKDB_ERROR_PERMISSION, "Permission"},
    {DUCKDB_ERROR_PARAMETER_NOT_RESOLVED, "Parameter Not Resolved"},
    {DUCKDB_ERROR_PARAMETER_NOT_ALLOWED, "Parameter Not Allowed"},
    {DUCKDB_ERROR_DEPENDENCY, "Dependency"},
    {DUCKDB_ERROR_MISSING_EXTENSION, "Missing Extension"},
    {DUCKDB_ERROR_HTTP, "HTTP"},
    {DUCKDB_ERROR_AUTOLOAD, "Extension Autoloading"},
    {DUCKDB_ERROR_SEQUENCE, "Sequence"},
};

bool Failed(duckdb_result* out, QueryError* error) {
  error->type = duckdb_result_error_type(out);
  const char* m = duckdb_result_error(out);
  error->message = m ? m : "";
  return false;
}

}  // namespace

duckdb_error_type ErrorTypeOfMessage(std::string_view message) {
  const size_t end = message.find(" Error: ");
  if (end == std::string_view::npos) return DUCKDB_ERROR_INVALID;
  for (const auto& e : kErrorTypeTexts) {
    if (message.substr(0, end) == e.text) return e.type;
  }
  return DUCKDB_ERROR_INVALID;
}

bool ExecuteWithoutSpin(duckdb_prepared_statement prepared, duckdb_result* out, QueryError* error) {
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared(prepared, &pending) == DuckDBError) {
    // Nothing ran: the statement's own execution reports the error, with its type.
    duckdb_destroy_pending(&pending);
    if (duckdb_execute_prepared(prepared, out) == DuckDBError) return Failed(out, error);
    return true;
  }
  int idle = 0;
  duckdb_pending_state state;
  while (true) {
    state = duckdb_pending_execute_task(pending);
    if (state == DUCKDB_PENDING_RESULT_READY || state == DUCKDB_PENDING_ERROR) break;
    if (state == DUCKDB_PENDING_NO_TASKS_AVAILABLE) {
      std::this_thread::sleep_for(std::chrono::microseconds(std::min(50 << idle, 1000)));
      idle = std::min(idle + 1, 5);
    } else {
      idle = 0;
    }
  }
  bool ok = true;
  if (state == DUCKDB_PENDING_ERROR) {
    // duckdb_execute_pending wraps the error in an "Invalid Input" one: the C API of 1.4 gives
    // a pending error's type only in its text.
    const char* m = duckdb_pending_error(pending);
    error->message = m ? m : "unknown DuckDB error";
    error->type = ErrorTypeOfMessage(error->message);
    ok = false;
  }
  if (duckdb_execute_pending(pending, out) == DuckDBError && ok) ok = Failed(out, error);
  duckdb_destroy_pending(&pending);
  return ok;
}

bool QueryWithoutSpin(duckdb_connection conn, const char* sql, duckdb_result* out,
                      QueryError* error) {
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(conn, sql, &prepared) == DuckDBError) {
    duckdb_destroy_prepare(&prepared);
    if (duckdb_query(conn, sql, out) == DuckDBError) return Failed(out, error);
    return true;
  }
  const bool ok = ExecuteWithoutSpin(prepared, out, error);
  duckdb_destroy_prepare(&prepared);
  return ok;
}

}  // namespace swan::engine
