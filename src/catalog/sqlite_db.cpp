#include "catalog/sqlite_db.h"

#include <sqlite3.h>

namespace swan::catalog {

Status SqliteError(sqlite3* db, int rc, const std::string& context) {
  std::string msg = context + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Status::Conflict(msg);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

SqliteStmt::SqliteStmt(sqlite3* db, const std::string& sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) status_ = SqliteError(db, rc, "prepare");
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

SqliteStmt& SqliteStmt::Bind(int index, int64_t value) {
  if (stmt_) sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
SqliteStmt& SqliteStmt::Bind(int index, const std::string& value) {
  if (stmt_)
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStmt& SqliteStmt::Bind(int index, std::optional<int64_t> value) {
  return value ? Bind(index, *value) : BindNull(index);
}
SqliteStmt& SqliteStmt::BindNull(int index) {
  if (stmt_) sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> SqliteStmt::Step() {
  if (!status_.ok()) return status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Status SqliteStmt::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

SqliteStmt& SqliteStmt::Reset() {
  if (stmt_) sqlite3_reset(stmt_);
  return *this;
}

int64_t SqliteStmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
std::optional<int64_t> SqliteStmt::OptInt(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}
std::string SqliteStmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, col)) : "";
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  std::unique_ptr<SqliteDb> db(new SqliteDb());
  int rc =
      sqlite3_open_v2(path.c_str(), &db->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db->db_, rc, "open catalog " + path);
  sqlite3_busy_timeout(db->db_, 10000);
  // WAL + synchronous=FULL: a committed transaction survives a crash or power loss.
  RETURN_IF_ERROR(
      db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db_, rc, "exec");
    sqlite3_free(err);
    return st;
  }
  return Status::Ok();
}

int64_t SqliteDb::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int SqliteDb::Changes() const { return sqlite3_changes(db_); }

}  // namespace swan::catalog
