#include "connectors/sqlite_extractor.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/db_extractor_config.h"
#include "connectors/sqlite_values.h"

namespace swan::connectors {
namespace {

using nlohmann::json;
using namespace sqlite;  // NOLINT: the value rules of sqlite_values.h

// The cancel flag is read every this many rows, and by SQLite's progress handler every this many
// virtual machine steps (a statement that computes long before its first row).
constexpr int64_t kCancelCheckRows = 1000;
constexpr int kProgressSteps = 10000;
// How long a writer's lock on the file is waited for, a moment at a time.
constexpr auto kBusyWaitMax = std::chrono::seconds(10);
constexpr auto kBusyPoll = std::chrono::milliseconds(20);
// Bytes of CSV gathered before one write.
constexpr size_t kWriteBufferBytes = 1 << 20;
// The largest value (or row) a statement may make or read: a query's zeroblob() or printf()
// must not take gigabytes of the server's memory (SQLite's own default is 1e9). Swan's load bounds
// a CSV row to 2 MB anyway.
constexpr int kMaxValueBytes = 16 << 20;

// ---- the connection ---------------------------------------------------------------------------

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

// What stops a statement early: the job's cancel flag and its deadline. Read by SQLite's progress
// and busy handlers, on the extractor's thread; must outlive the connection.
struct Stop {
  std::shared_ptr<const std::atomic<bool>> cancel;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool cancelled() const { return cancel && cancel->load(); }
  bool timed_out() const { return std::chrono::steady_clock::now() >= deadline; }
};

int OnProgress(void* stop) {
  const auto* s = static_cast<const Stop*>(stop);
  return s->cancelled() || s->timed_out() ? 1 : 0;  // non-zero: SQLITE_INTERRUPT
}

// A writer holds the file: wait in short sleeps, so that a cancel or the deadline is seen.
int OnBusy(void* stop, int tries) {
  const auto* s = static_cast<const Stop*>(stop);
  if (s->cancelled() || s->timed_out() || tries * kBusyPoll >= kBusyWaitMax) return 0;
  std::this_thread::sleep_for(kBusyPoll);
  return 1;
}

// Reading only, this file only: no ATTACH (another file), no PRAGMA, no writes, no extension. The
// views and the configuration's query pass through it alike.
int Authorize(void*, int action, const char* arg, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION:
      return SQLITE_OK;
    case SQLITE_FUNCTION:
      return arg && sqlite3_stricmp(arg, "load_extension") == 0 ? SQLITE_DENY : SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

// A failure of SQLite as a Status, quoting it; cancelled or timed out when the job stopped it.
Status Error(sqlite3* db, int rc, const Stop& stop, const std::string& what) {
  if (stop.cancelled()) return Status::Cancelled("cancelled while " + what);
  const int primary = rc & 0xff;
  if ((primary == SQLITE_INTERRUPT || primary == SQLITE_BUSY) && stop.timed_out())
    return Status::Unavailable(what + ": stopped by the job's timeout");
  const std::string said = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (primary == SQLITE_AUTH || said == "not authorized")  // the authorizer's (or SQLite's) no
    return Status::InvalidArgument(what +
                                   ": not allowed: the extractor only reads (no ATTACH, PRAGMA, "
                                   "writes or extensions)");
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(what + ": a writer kept the database file locked (" + said + ")");
    case SQLITE_NOTADB:
      return FieldError("db.path", "not an SQLite database (" + said + ")");
    case SQLITE_CORRUPT:
      return FieldError("db.path", "the database file is damaged (" + said + ")");
    case SQLITE_TOOBIG:
      return Status::InvalidArgument(what + ": a value or row larger than " +
                                     std::to_string(kMaxValueBytes >> 20) + " MiB (" + said + ")");
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_FULL:
      return Status::Internal(what + ": " + said);
    default:
      return Status::InvalidArgument(what + ": " + said);
  }
}

Result<Db> Open(const std::string& file, Stop* stop) {
  if (file.empty() || file.front() != '/')
    return Status::Internal("the SQLite extractor was not given the database file's full path");
  sqlite3* raw = nullptr;
  // Read-only: never created, never written. NOFOLLOW: the caller resolved every link; one that
  // appears since is refused.
  const int rc =
      sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    if (db && sqlite3_extended_errcode(db.get()) == SQLITE_CANTOPEN_SYMLINK)
      return FieldError("db.path", "is a symbolic link; give the file itself");
    return FieldError("db.path", std::string("cannot open the database file (") +
                                     (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)) + ")");
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_limit(db.get(), SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, kMaxValueBytes);
  int unused = 0;
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, &unused);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &unused);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &unused);
  sqlite3_set_authorizer(db.get(), &Authorize, nullptr);
  sqlite3_progress_handler(db.get(), kProgressSteps, &OnProgress, stop);
  sqlite3_busy_handler(db.get(), &OnBusy, stop);
  return db;
}

// The one statement of `sql`; anything after it (a second statement riding along) is refused.
Result<Stmt> Prepare(sqlite3* db, const std::string& sql, const Stop& stop,
                     const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Stmt s(raw);
  if (rc != SQLITE_OK) return Error(db, rc, stop, what);
  if (!s) return Status::InvalidArgument(what + ": no statement");
  for (; tail && *tail; ++tail) {
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';')
      return Status::InvalidArgument(what + ": one SELECT only; a second statement follows it");
  }
  return s;
}

Status Exec(sqlite3* db, const std::string& sql, const Stop& stop, const std::string& what) {
  ASSIGN_OR_RETURN(Stmt s, Prepare(db, sql, stop, what));
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
  }
  return rc == SQLITE_DONE ? Status::Ok() : Error(db, rc, stop, what);
}

// ---- one table -------------------------------------------------------------------------------

std::string Quote(const std::string& name) {
  std::string q = "\"";
  for (char ch : name) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

// A query as a derived table: without the trailing semicolons a console would want.
std::string TrimQuery(std::string q) {
  while (!q.empty() && (q.back() == ';' || std::isspace(static_cast<unsigned char>(q.back()))))
    q.pop_back();
  return q;
}

std::string FileName(const std::string& output_table) {
  std::string name = output_table;
  for (char& ch : name)
    if (ch == '/' || ch == '\0') ch = '_';
  return name + ".csv";
}

// Binds the last fetched value as what it looks like (an integer, a real, else text), so that it
// compares with a column of any affinity, a query's expressions too, as the value it came from.
void BindLast(sqlite3_stmt* s, const std::string& last) {
  const char* begin = last.data();
  const char* end = begin + last.size();
  int64_t i = 0;
  if (auto r = std::from_chars(begin, end, i);
      r.ec == std::errc() && r.ptr == end && !last.empty()) {
    sqlite3_bind_int64(s, 1, i);
    return;
  }
  double d = 0;
  if (auto r = std::from_chars(begin, end, d);
      r.ec == std::errc() && r.ptr == end && !last.empty() && std::isfinite(d)) {
    sqlite3_bind_double(s, 1, d);
    return;
  }
  sqlite3_bind_text(s, 1, last.data(), static_cast<int>(last.size()), SQLITE_TRANSIENT);
}

struct Source {
  const DbTableSpec& spec;
  std::string Field(const std::string& name) const {
    return (spec.field.empty() ? "" : spec.field + ".") + name;
  }
  std::string Name() const {
    return spec.query.empty() ? "main." + spec.table : "parameters." + Field("query");
  }
};

Status Misfit(const Source& src, const Column& col, int64_t row, const std::string& value) {
  const DbTableSpec& spec = src.spec;
  const std::string hint =
      spec.query.empty()
          ? "read the table with parameters.query instead and CAST the column, e.g. SELECT "
            "CAST(" +
                Quote(col.name) + " AS TEXT) AS " + Quote(col.name) + " FROM " + Quote(spec.table)
          : "CAST it in the query, e.g. CAST(" + Quote(col.name) + " AS TEXT)";
  return Status::InvalidArgument(
             src.Name() + ", column '" + col.name + "', row " + std::to_string(row) + ": " + value +
             " does not fit the column's declared type " + col.declared + " (" +
             BaseType(col).base_type + "); SQLite keeps any value in any column: " + hint)
      .WithDetail("field", "parameters." + src.Field(spec.query.empty() ? "table" : "query"));
}

// Steps `s` into `path` (header row first); returns the row count.
Result<int64_t> StreamOut(sqlite3* db, sqlite3_stmt* s, const std::vector<Column>& columns,
                          const std::string& path, const Source& src, const Stop& stop) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) return Status::Internal("cannot write " + path);
  std::string buffer;
  buffer.reserve(kWriteBufferBytes + 4096);
  auto flush = [&]() {
    const bool ok = std::fwrite(buffer.data(), 1, buffer.size(), out.get()) == buffer.size();
    buffer.clear();
    return ok;
  };
  const int n = static_cast<int>(columns.size());
  for (int i = 0; i < n; ++i) {
    if (i) buffer += ',';
    AppendCsvField(buffer, columns[i].name.data(), columns[i].name.size());
  }
  buffer += '\n';
  int64_t rows = 0;
  while (true) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(db, rc, stop, "reading the rows of " + src.Name());
    ++rows;
    for (int i = 0; i < n; ++i) {
      if (i) buffer += ',';
      const int type = sqlite3_column_type(s, i);  // before anything converts the value
      if (!AppendValue(buffer, s, i, type, columns[i]))
        return Misfit(src, columns[i], rows, ShowValue(s, i, type));
    }
    buffer += '\n';
    if (buffer.size() >= kWriteBufferBytes && !flush())
      return Status::Internal("cannot write " + path);
    if (rows % kCancelCheckRows == 0 && stop.cancelled())
      return Status::Cancelled("cancelled while reading the rows");
  }
  if (!flush() || std::fflush(out.get()) != 0) return Status::Internal("cannot write " + path);
  if (std::fclose(out.release()) != 0) return Status::Internal("cannot write " + path);
  return rows;
}

Status ExtractTable(sqlite3* db, const DbTableSpec& spec, const json& state, json* new_state,
                    const Stop& stop, const ExtractorIo& io) {
  const Source src{spec};
  if (!spec.schema.empty() && !SameText(spec.schema, "main"))
    return FieldError(src.Field("table.schema"), "an SQLite database file has one schema, main");
  const std::string from =
      spec.query.empty() ? "main." + Quote(spec.table) : "(\n" + spec.query + "\n)";

  // The source's columns: preparing SELECT * (not running it) reads the schema only.
  std::vector<Column> all;
  {
    auto probe = Prepare(db, "SELECT * FROM " + from + " AS q", stop,
                         spec.query.empty() ? "reading " + src.Name() : src.Name());
    if (!probe.ok()) {
      if (spec.query.empty() && probe.status().code() == StatusCode::kInvalidArgument &&
          probe.status().message().find("no such table") != std::string::npos)
        return FieldError(src.Field("table"), "no table " + src.Name() + " in the database file");
      return probe.status();
    }
    for (int i = 0; i < sqlite3_column_count(probe->get()); ++i)
      all.push_back(
          Describe(sqlite3_column_name(probe->get(), i), sqlite3_column_decltype(probe->get(), i)));
  }
  auto find = [&](const std::string& name) {
    return std::find_if(all.begin(), all.end(),
                        [&](const Column& c) { return SameText(c.name, name); });
  };
  std::string list = "q.*";
  if (!spec.columns.empty()) {
    list.clear();
    for (const auto& name : spec.columns) {
      auto it = find(name);
      if (it == all.end())
        return FieldError(src.Field("columns"), "no column '" + name + "' in " + src.Name());
      list += (list.empty() ? "q." : ", q.") + Quote(it->name);
    }
  }
  std::string fetch_column;
  if (!spec.fetch_column.empty()) {
    auto it = find(spec.fetch_column);
    if (it == all.end())
      return FieldError("incrementalFetchingColumn",
                        "no column '" + spec.fetch_column + "' in " + src.Name());
    fetch_column = it->name;
  }
  std::string where, order, limit, last;
  if (!fetch_column.empty()) {
    const std::string col = "q." + Quote(fetch_column);
    if (state.contains("lastFetchedRow") && state["lastFetchedRow"].is_string()) {
      last = state["lastFetchedRow"].get<std::string>();
      where = " WHERE " + col + " >= ?1";
    }
    order = " ORDER BY " + col;
    if (spec.fetch_limit > 0) limit = " LIMIT " + std::to_string(spec.fetch_limit);
  }
  const std::string select = "SELECT " + list + " FROM " + from + " AS q" + where + order + limit;
  ASSIGN_OR_RETURN(Stmt s, Prepare(db, select, stop, "reading " + src.Name()));
  if (!where.empty()) BindLast(s.get(), last);
  std::vector<Column> columns;
  for (int i = 0; i < sqlite3_column_count(s.get()); ++i)
    columns.push_back(
        Describe(sqlite3_column_name(s.get(), i), sqlite3_column_decltype(s.get(), i)));
  for (const auto& k : spec.primary_key) {
    if (std::none_of(columns.begin(), columns.end(), [&](const Column& c) { return c.name == k; }))
      return FieldError(src.Field("primaryKey"), "no column '" + k + "' in the source");
  }

  const std::string path = io.out_dir + "/tables/" + FileName(spec.output_table);
  Log(io.log, LogLevel::kInfo,
      "extracting " + (spec.query.empty() ? src.Name() : std::string("a query")) + " into " +
          spec.output_table + (where.empty() ? "" : " (rows since the last run)"));
  ASSIGN_OR_RETURN(int64_t rows, StreamOut(db, s.get(), columns, path, src, stop));
  Log(io.log, LogLevel::kInfo, std::to_string(rows) + " rows from " + spec.output_table);

  if (!fetch_column.empty()) {  // in the same read transaction as the rows
    ASSIGN_OR_RETURN(
        Stmt m, Prepare(db,
                        "SELECT max(s.v) FROM (SELECT q." + Quote(fetch_column) + " AS v FROM " +
                            from + " AS q" + where + order + limit + ") AS s",
                        stop, "reading the last fetched value"));
    if (!where.empty()) BindLast(m.get(), last);
    const int rc = sqlite3_step(m.get());
    if (rc != SQLITE_ROW) return Error(db, rc, stop, "reading the last fetched value");
    if (sqlite3_column_type(m.get(), 0) != SQLITE_NULL)
      (*new_state)["lastFetchedRow"] = RawText(m.get(), 0);
  }

  std::vector<DbColumnType> types;
  for (const auto& c : columns) types.push_back(BaseType(c));
  return WriteDbManifest(path, spec, types);
}

}  // namespace

Status RunSqliteExtractor(const json& config, const std::string& db_file, const ExtractorIo& io) {
  const json parameters = config.value("parameters", json::object());
  ASSIGN_OR_RETURN(std::vector<DbTableSpec> tables, ParseDbTables(parameters));
  for (auto& spec : tables) spec.query = TrimQuery(spec.query);
  Stop stop;  // outlives the connection, whose handlers read it
  stop.cancel = io.cancel;
  if (io.timeout_ms > 0)
    stop.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(io.timeout_ms);
  ASSIGN_OR_RETURN(Db db, Open(db_file, &stop));
  // One read transaction for everything read: the rows and lastFetchedRow agree.
  RETURN_IF_ERROR(Exec(db.get(), "BEGIN", stop, "starting a read transaction"));
  // The first read: a file that is not a database fails here, whatever the configuration reads.
  RETURN_IF_ERROR(
      Exec(db.get(), "SELECT 1 FROM sqlite_schema LIMIT 1", stop, "reading the database file"));
  json new_state = io.input_state.is_object() ? io.input_state : json::object();
  for (const auto& spec : tables)
    RETURN_IF_ERROR(ExtractTable(db.get(), spec, io.input_state, &new_state, stop, io));
  RETURN_IF_ERROR(Exec(db.get(), "COMMIT", stop, "ending the read transaction"));
  if (io.output_state) *io.output_state = new_state;
  return Status::Ok();
}

}  // namespace swan::connectors
