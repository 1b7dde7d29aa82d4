// A thin RAII layer over sqlite3: a connection and prepared statements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace swan::catalog {

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, const std::string& sql);
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  const Status& prepare_status() const { return status_; }
  SqliteStmt& Bind(int index, int64_t value);
  SqliteStmt& Bind(int index, const std::string& value);
  SqliteStmt& Bind(int index, const char* value) { return Bind(index, std::string(value)); }
  SqliteStmt& Bind(int index, std::optional<int64_t> value);
  SqliteStmt& BindNull(int index);
  // Returns true when a row is available, false when done.
  Result<bool> Step();
  Status Run();  // Step to completion, expecting no rows
  // Makes the statement runnable again (bindings are kept until rebound).
  SqliteStmt& Reset();

  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::string Text(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  sqlite3* handle() { return db_; }
  Status Exec(const std::string& sql);
  int64_t LastInsertId() const;
  int Changes() const;

 private:
  SqliteDb() = default;
  sqlite3* db_ = nullptr;
};

// Maps a SQLite error to a Status (constraint violations become Conflict).
Status SqliteError(sqlite3* db, int rc, const std::string& context);

}  // namespace swan::catalog
