// The one wrapper of DuckDB's C API. Nothing else in Swan includes duckdb.h.
//
// Thread-safety: a Database may be shared by threads; a Connection is used by one thread at a
// time, except Interrupt(), which any thread may call.
//
// Errors: every DuckDB error becomes a Status whose code follows DuckDB's error type
// (docs/architecture.md, "Errors", has the table): the user's SQL or data → invalid_argument; out
// of memory, a full disk → unavailable; an interrupt → cancelled; DuckDB's own failures →
// internal. Messages are scrubbed first: no DuckDB stack trace, and no path under the database's
// private_paths (DatabaseOptions).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace swan::engine {

struct DatabaseOptions {
  std::string memory_limit;    // e.g. "1GB"; empty = DuckDB's default
  int threads = 0;             // 0 = DuckDB's default (all cores)
  std::string temp_directory;  // where operators spill; empty = DuckDB's default
  bool preserve_insertion_order = true;
  // DuckDB's worker threads run at the bulk priority (common/thread_priority.h): for databases
  // that do jobs' loads. The thread that runs a query keeps its own priority.
  bool bulk_workers = false;
  // When set, the database may touch only these files and folders (enable_external_access off).
  std::optional<std::vector<std::string>> allowed_paths;
  std::vector<std::string> allowed_directories;
  // Folders (e.g. the data directory) whose paths error messages must not show: a path in or
  // under one of them reads kHiddenPath instead. Relative entries are matched in their given and
  // their absolute form.
  std::vector<std::string> private_paths;
};

// What an error message shows instead of a private path.
inline constexpr const char* kHiddenPath = "<server file>";

// The message of an engine error as Swan shows it: paths in or under `private_paths` (expanded
// as DatabaseOptions says) become kHiddenPath, and a "Stack Trace" section is dropped.
std::string ScrubEngineMessage(std::string message, const std::vector<std::string>& private_paths);

// Column values as text (NULL = nullopt); `type` is DuckDB's type name, e.g. "BIGINT".
struct Column {
  std::string name;
  std::string type;
};
using Row = std::vector<std::optional<std::string>>;
struct Rows {
  std::vector<Column> columns;
  std::vector<Row> rows;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  void* handle() { return db_; }
  // The expanded DatabaseOptions::private_paths (for the connections' error messages).
  const std::vector<std::string>& private_paths() const { return private_paths_; }
  // Restricts the database to the named files and folders for good (external access off,
  // configuration locked): user SQL cannot reach anything else afterwards.
  Status LockDown(const std::vector<std::string>& allowed_paths,
                  const std::vector<std::string>& allowed_directories);

 private:
  Database() = default;
  void* db_ = nullptr;  // duckdb_database
  std::vector<std::string> private_paths_;
};

// A streaming result: fetch chunk by chunk, values rendered as text.
class RowStream {
 public:
  ~RowStream();
  const std::vector<Column>& columns() const { return columns_; }
  // Appends up to one chunk of rows to `out`; returns false at the end.
  Result<bool> Next(std::vector<Row>& out);
  // Calls `on_row` with each row of the next chunk in order, converting one row at a time (a
  // caller that stops early never holds the rest of the chunk as text). When `on_row` returns
  // false the rest of the chunk is skipped. Returns false at the end of the result.
  Result<bool> NextRows(const std::function<bool(Row& row)>& on_row);

 private:
  friend class Connection;
  RowStream() = default;
  const std::vector<std::string>* private_paths_ = nullptr;  // the Database's
  void* result_ = nullptr;                                   // duckdb_result*
  std::vector<Column> columns_;
  std::vector<int> types_;  // duckdb_type per column
};

class Connection {
 public:
  // `db` must outlive the connection.
  static Result<std::unique_ptr<Connection>> Open(Database& db);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements, discarding results.
  Status Execute(const std::string& sql);
  // Runs the statements of `sql` in order, each checked before it runs: only statements that
  // stay inside the database (queries, DML, DDL, transactions, EXPLAIN) run; COPY, EXPORT,
  // ATTACH, LOAD, INSTALL, PRAGMA, SET, CALL, PREPARE/EXECUTE are invalid_argument. For user
  // scripts in a sandbox whose allowed paths are readable *and writable* by DuckDB.
  Status ExecuteRestricted(const std::string& sql);
  // Runs statement(s) and returns the first value of the last result as an integer (e.g. the row
  // count a COPY reports). Error when there is no integer value.
  Result<int64_t> QueryInt(const std::string& sql);
  // The result columns of a query, without running it (DuckDB binds it: for read_csv that
  // includes sniffing the file).
  Result<std::vector<Column>> Describe(const std::string& sql);
  // Runs one query and materializes it; every value is rendered as text.
  Result<Rows> Query(const std::string& sql);
  // Runs one query, streaming; every value is rendered as text.
  Result<std::unique_ptr<RowStream>> Stream(const std::string& sql);
  // True when `sql` is exactly one statement and that statement is a query (a SELECT, VALUES,
  // FROM-first ... anything that can stand as a subquery). Parses only: no binding or planning,
  // which can take seconds on a large statement.
  Result<bool> IsSingleSelect(const std::string& sql);
  // Cancels the running query (callable from any thread).
  void Interrupt();

 private:
  Connection() = default;
  const std::vector<std::string>* private_paths_ = nullptr;  // the Database's
  void* conn_ = nullptr;                                     // duckdb_connection
};

// Quoting helpers for SQL text we generate: identifiers and string literals.
std::string QuoteIdent(const std::string& name);
std::string QuoteLiteral(const std::string& value);

}  // namespace swan::engine
