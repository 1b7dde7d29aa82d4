#include "engine/duckdb.h"

#include <duckdb.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/thread_priority.h"
#include "engine/pending_query.h"

namespace swan::engine {
namespace {

bool Contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

// An I/O error is the server's when the operating system refused (a full disk is `unavailable`:
// space may come back; any other OS failure is `internal`), and the input's when DuckDB could
// not decode the bytes it was given (a broken gzip stream): DuckDB says which only in words, so
// the strerror() texts of glibc decide.
StatusCode CodeForIoError(const std::string& message) {
  static constexpr const char* kOutOfSpace[] = {
      "No space left on device",  // ENOSPC
      "Disk quota exceeded",      // EDQUOT
      "Too many open files",      // EMFILE, ENFILE ("... in system")
      "Cannot allocate memory",   // ENOMEM
  };
  static constexpr const char* kServerFault[] = {
      "Permission denied",
      "Read-only file system",
      "Input/output error",
      "No such file or directory",
      "Is a directory",
      "Not a directory",
      "Bad file descriptor",
      "Stale file handle",
      "No files found that match",
      "Could not write",
      "Could not fsync",
      "Could not create directory",
      "Could not move",
      "Could not remove",
      "Could not truncate",
  };
  for (const char* part : kOutOfSpace) {
    if (Contains(message, part)) return StatusCode::kUnavailable;
  }
  for (const char* part : kServerFault) {
    if (Contains(message, part)) return StatusCode::kInternal;
  }
  return StatusCode::kInvalidArgument;
}

// DuckDB's error type → Swan's code (docs/architecture.md, "Errors").
StatusCode CodeForEngineError(duckdb_error_type type, const std::string& message) {
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT:
      return StatusCode::kCancelled;
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_HTTP:
      return StatusCode::kUnavailable;
    case DUCKDB_ERROR_IO:
      return CodeForIoError(message);
    case DUCKDB_ERROR_TRANSACTION:
      return StatusCode::kConflict;
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_UNKNOWN_TYPE:
    case DUCKDB_ERROR_DECIMAL:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_OBJECT_SIZE:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
    case DUCKDB_ERROR_EXPRESSION:
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_PLANNER:
    case DUCKDB_ERROR_CONSTRAINT:
    case DUCKDB_ERROR_SYNTAX:
    case DUCKDB_ERROR_SETTINGS:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_PERMISSION:  // a sandboxed query reaching for a file it may not read
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
    case DUCKDB_ERROR_DEPENDENCY:
    case DUCKDB_ERROR_MISSING_EXTENSION:
    case DUCKDB_ERROR_AUTOLOAD:
    case DUCKDB_ERROR_SEQUENCE:
      return StatusCode::kInvalidArgument;
    default:  // INTERNAL, FATAL, an unclassified (INVALID) error, the executor, the optimizer ...
      return StatusCode::kInternal;
  }
}

Status EngineError(duckdb_error_type type, const char* message,
                   const std::vector<std::string>* private_paths) {
  std::string text =
      ScrubEngineMessage(message && *message ? message : "unknown DuckDB error",
                         private_paths ? *private_paths : std::vector<std::string>{});
  const StatusCode code = CodeForEngineError(type, text);  // before `text` moves
  return Status(code, std::move(text));
}

Status ResultError(duckdb_result* res, const std::vector<std::string>* private_paths) {
  return EngineError(duckdb_result_error_type(res), duckdb_result_error(res), private_paths);
}

// duckdb_prepare_error carries no type: a statement that does not prepare is taken as the
// caller's (DESCRIBE, which runs first where it matters, reports the typed error).
Status PrepareError(duckdb_prepared_statement stmt, const std::vector<std::string>* private_paths) {
  return EngineError(DUCKDB_ERROR_INVALID_INPUT, duckdb_prepare_error(stmt), private_paths);
}

std::vector<std::string> ExpandPrivatePaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  auto add = [&](std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p == "/" || p == ".") return;
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  };
  for (const auto& p : paths) {
    add(p);
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(p, ec);
    if (!ec) add(absolute.lexically_normal().string());
    std::filesystem::path canonical = std::filesystem::weakly_canonical(p, ec);
    if (!ec) add(canonical.string());
  }
  // Longest first: a path under another private path is replaced whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

// Types read directly from vectors; anything else is cast to VARCHAR by the query wrapper.
bool IsDirectType(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_VARCHAR:
      return true;
    default:
      return false;
  }
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest form that round-trips.
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string ValueText(duckdb_type t, void* data, idx_t row) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
      return static_cast<bool*>(data)[row] ? "true" : "false";
    case DUCKDB_TYPE_TINYINT:
      return std::to_string(static_cast<int8_t*>(data)[row]);
    case DUCKDB_TYPE_SMALLINT:
      return std::to_string(static_cast<int16_t*>(data)[row]);
    case DUCKDB_TYPE_INTEGER:
      return std::to_string(static_cast<int32_t*>(data)[row]);
    case DUCKDB_TYPE_BIGINT:
      return std::to_string(static_cast<int64_t*>(data)[row]);
    case DUCKDB_TYPE_UTINYINT:
      return std::to_string(static_cast<uint8_t*>(data)[row]);
    case DUCKDB_TYPE_USMALLINT:
      return std::to_string(static_cast<uint16_t*>(data)[row]);
    case DUCKDB_TYPE_UINTEGER:
      return std::to_string(static_cast<uint32_t*>(data)[row]);
    case DUCKDB_TYPE_UBIGINT:
      return std::to_string(static_cast<uint64_t*>(data)[row]);
    case DUCKDB_TYPE_FLOAT:
      return FormatDouble(static_cast<float*>(data)[row]);
    case DUCKDB_TYPE_DOUBLE:
      return FormatDouble(static_cast<double*>(data)[row]);
    case DUCKDB_TYPE_VARCHAR: {
      auto* s = &static_cast<duckdb_string_t*>(data)[row];
      return std::string(duckdb_string_t_data(s), duckdb_string_t_length(*s));
    }
    default:
      return "";
  }
}

// Wraps a query so that every non-primitive column arrives as VARCHAR, and returns the column
// names and DuckDB type names (from DESCRIBE).
Result<std::vector<Column>> DescribeQuery(duckdb_connection conn, const std::string& sql,
                                          const std::vector<std::string>* private_paths) {
  std::string describe = "DESCRIBE (" + sql + "\n)";
  duckdb_result res;
  if (duckdb_query(conn, describe.c_str(), &res) == DuckDBError) {
    Status st = ResultError(&res, private_paths);
    duckdb_destroy_result(&res);
    return st;
  }
  std::vector<Column> columns;
  idx_t n = duckdb_row_count(&res);
  for (idx_t r = 0; r < n; ++r) {
    char* name = duckdb_value_varchar(&res, 0, r);
    char* type = duckdb_value_varchar(&res, 1, r);
    columns.push_back({name ? name : "", type ? type : ""});
    duckdb_free(name);
    duckdb_free(type);
  }
  duckdb_destroy_result(&res);
  return columns;
}

Result<std::pair<std::string, std::vector<Column>>> TextQuery(
    duckdb_connection conn, const std::string& sql, const std::vector<std::string>* private_paths) {
  ASSIGN_OR_RETURN(std::vector<Column> columns, DescribeQuery(conn, sql, private_paths));
  std::string select = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) select += ", ";
    const std::string& t = columns[i].type;
    bool direct = t == "BOOLEAN" || t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" ||
                  t == "BIGINT" || t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" ||
                  t == "UBIGINT" || t == "FLOAT" || t == "DOUBLE" || t == "VARCHAR";
    std::string ref = "#" + std::to_string(i + 1);
    select += direct ? ref : "CAST(" + ref + " AS VARCHAR)";
  }
  if (columns.empty()) select += "*";
  select += " FROM (" + sql + "\n) AS _swan_q";
  return std::make_pair(select, columns);
}

}  // namespace

std::string ScrubEngineMessage(std::string message, const std::vector<std::string>& private_paths) {
  for (const char* marker : {"Stack Trace", "Stack trace"}) {
    size_t at = message.find(marker);
    if (at != std::string::npos) message.erase(at);
  }
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back())))
    message.pop_back();
  auto is_delimiter = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || std::strchr("\"'`(),;:=[]", c);
  };
  for (const std::string& path : ExpandPrivatePaths(private_paths)) {
    const bool absolute = path.front() == '/';
    size_t from = 0;
    while ((from = message.find(path, from)) != std::string::npos) {
      size_t end = from + path.size();
      const bool starts_token = from == 0 || is_delimiter(message[from - 1]);
      const bool under = end < message.size() && message[end] == '/';
      const bool whole = end == message.size() || is_delimiter(message[end]);
      if (!starts_token || !(under || (whole && absolute))) {
        from = end;
        continue;
      }
      while (end < message.size() && !is_delimiter(message[end]) && message[end] != '"') ++end;
      message.replace(from, end - from, kHiddenPath);
      from += std::strlen(kHiddenPath);
    }
  }
  return message;
}

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  if (options.bulk_workers) {
    // DuckDB starts its workers while opening; threads inherit their creator's priority.
    DatabaseOptions plain = options;
    plain.bulk_workers = false;
    Result<std::unique_ptr<Database>> opened = Status::Internal("not opened");
    std::thread([&] {
      EnterBulkPriority();
      opened = Open(plain);
    }).join();
    return opened;
  }
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError) return Status::Internal("duckdb_create_config");
  auto set = [&](const char* k, const std::string& v) { duckdb_set_config(config, k, v.c_str()); };
  set("autoinstall_known_extensions", "false");
  set("autoload_known_extensions", "false");
  if (!options.memory_limit.empty()) set("memory_limit", options.memory_limit);
  if (options.threads > 0) set("threads", std::to_string(options.threads));
  if (!options.temp_directory.empty()) set("temp_directory", options.temp_directory);
  set("preserve_insertion_order", options.preserve_insertion_order ? "true" : "false");
  // DuckDB's allocator (jemalloc) keeps the pages a query freed: a server's memory stayed at the
  // peak of its last load. With a low flush threshold and jemalloc's background threads they go
  // back to the system within about a second of the query's end.
  set("allocator_flush_threshold", "8MB");
  set("allocator_background_threads", "true");
  std::unique_ptr<Database> db(new Database());
  duckdb_database handle = nullptr;
  char* error = nullptr;
  if (duckdb_open_ext(nullptr, &handle, config, &error) == DuckDBError) {
    Status st = Status::Internal(std::string("cannot open DuckDB: ") + (error ? error : "?"));
    duckdb_free(error);
    duckdb_destroy_config(&config);
    return st;
  }
  duckdb_destroy_config(&config);
  db->db_ = handle;
  db->private_paths_ = options.private_paths;
  if (options.allowed_paths) {
    RETURN_IF_ERROR(db->LockDown(*options.allowed_paths, options.allowed_directories));
  }
  return db;
}

Status Database::LockDown(const std::vector<std::string>& allowed_paths,
                          const std::vector<std::string>& allowed_directories) {
  ASSIGN_OR_RETURN(auto conn, Connection::Open(*this));
  std::string list_paths, list_dirs;
  for (const auto& p : allowed_paths)
    list_paths += (list_paths.empty() ? "" : ", ") + QuoteLiteral(p);
  for (const auto& d : allowed_directories) {
    list_dirs += (list_dirs.empty() ? "" : ", ") + QuoteLiteral(d);
  }
  return conn->Execute("SET allowed_paths = [" + list_paths + "]; SET allowed_directories = [" +
                       list_dirs +
                       "]; SET enable_external_access = false; SET lock_configuration = true;");
}

Database::~Database() {
  if (db_) {
    auto h = static_cast<duckdb_database>(db_);
    duckdb_close(&h);
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(Database& db) {
  std::unique_ptr<Connection> c(new Connection());
  duckdb_connection h = nullptr;
  if (duckdb_connect(static_cast<duckdb_database>(db.handle()), &h) == DuckDBError) {
    return Status::Internal("cannot connect to DuckDB");
  }
  c->conn_ = h;
  c->private_paths_ = &db.private_paths();
  return c;
}

Connection::~Connection() {
  if (conn_) {
    auto h = static_cast<duckdb_connection>(conn_);
    duckdb_disconnect(&h);
  }
}

void Connection::Interrupt() { duckdb_interrupt(static_cast<duckdb_connection>(conn_)); }

Status Connection::Execute(const std::string& sql) {
  duckdb_result res;
  QueryError error;
  Status st;
  if (!QueryWithoutSpin(static_cast<duckdb_connection>(conn_), sql.c_str(), &res, &error))
    st = EngineError(error.type, error.message.c_str(), private_paths_);
  duckdb_destroy_result(&res);
  return st;
}

namespace {

const char* RefusedStatement(duckdb_statement_type type) {
  switch (type) {
    case DUCKDB_STATEMENT_TYPE_SELECT:
    case DUCKDB_STATEMENT_TYPE_INSERT:
    case DUCKDB_STATEMENT_TYPE_UPDATE:
    case DUCKDB_STATEMENT_TYPE_DELETE:
    case DUCKDB_STATEMENT_TYPE_EXPLAIN:
    case DUCKDB_STATEMENT_TYPE_CREATE:
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
    case DUCKDB_STATEMENT_TYPE_ALTER:
    case DUCKDB_STATEMENT_TYPE_DROP:
    case DUCKDB_STATEMENT_TYPE_TRANSACTION:
    case DUCKDB_STATEMENT_TYPE_ANALYZE:
    case DUCKDB_STATEMENT_TYPE_VACUUM:
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
      return nullptr;
    case DUCKDB_STATEMENT_TYPE_COPY:
      return "COPY";
    case DUCKDB_STATEMENT_TYPE_EXPORT:
      return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_ATTACH:
    case DUCKDB_STATEMENT_TYPE_DETACH:
      return "ATTACH/DETACH";
    case DUCKDB_STATEMENT_TYPE_LOAD:
    case DUCKDB_STATEMENT_TYPE_EXTENSION:
      return "LOAD/INSTALL";
    case DUCKDB_STATEMENT_TYPE_PRAGMA:
      return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_SET:
      return "SET";
    case DUCKDB_STATEMENT_TYPE_CALL:
      return "CALL";
    case DUCKDB_STATEMENT_TYPE_PREPARE:
    case DUCKDB_STATEMENT_TYPE_EXECUTE:
      return "PREPARE/EXECUTE";
    default:
      return "this kind of statement";
  }
}

}  // namespace

Status Connection::ExecuteRestricted(const std::string& sql) {
  auto conn = static_cast<duckdb_connection>(conn_);
  duckdb_extracted_statements extracted = nullptr;
  const idx_t count = duckdb_extract_statements(conn, sql.c_str(), &extracted);
  struct Extracted {
    duckdb_extracted_statements& e;
    ~Extracted() { duckdb_destroy_extracted(&e); }
  } guard{extracted};
  if (count == 0) {
    const char* err = duckdb_extract_statements_error(extracted);
    if (err && *err) return EngineError(DUCKDB_ERROR_PARSER, err, private_paths_);
    return Status::Ok();  // only comments or whitespace
  }
  for (idx_t i = 0; i < count; ++i) {
    duckdb_prepared_statement prepared = nullptr;
    const bool ok =
        duckdb_prepare_extracted_statement(conn, extracted, i, &prepared) == DuckDBSuccess;
    struct Prepared {
      duckdb_prepared_statement& p;
      ~Prepared() { duckdb_destroy_prepare(&p); }
    } prepared_guard{prepared};
    if (!ok) {
      // The C API of 1.4 gives no error type for a failed prepare: its message names the kind.
      const char* m = duckdb_prepare_error(prepared);
      const std::string text = m ? m : "cannot prepare a statement";
      duckdb_error_type type = DUCKDB_ERROR_BINDER;
      if (text.starts_with("Out of Memory")) type = DUCKDB_ERROR_OUT_OF_MEMORY;
      if (text.starts_with("INTERRUPT")) type = DUCKDB_ERROR_INTERRUPT;
      if (text.starts_with("IO Error")) type = DUCKDB_ERROR_IO;
      if (text.starts_with("INTERNAL")) type = DUCKDB_ERROR_INTERNAL;
      return EngineError(type, text.c_str(), private_paths_);
    }
    if (const char* refused = RefusedStatement(duckdb_prepared_statement_type(prepared))) {
      return Status::InvalidArgument(std::string(refused) +
                                     " is not allowed here: a transformation reads its mapped "
                                     "tables and writes through its output mapping only");
    }
    duckdb_result res;
    QueryError error;
    Status st;
    if (!ExecuteWithoutSpin(prepared, &res, &error))
      st = EngineError(error.type, error.message.c_str(), private_paths_);
    duckdb_destroy_result(&res);
    RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

Result<std::vector<Column>> Connection::Describe(const std::string& sql) {
  return DescribeQuery(static_cast<duckdb_connection>(conn_), sql, private_paths_);
}

Result<int64_t> Connection::QueryInt(const std::string& sql) {
  duckdb_result res;
  QueryError error;
  if (!QueryWithoutSpin(static_cast<duckdb_connection>(conn_), sql.c_str(), &res, &error)) {
    Status st = EngineError(error.type, error.message.c_str(), private_paths_);
    duckdb_destroy_result(&res);
    return st;
  }
  Result<int64_t> out = Status::Internal("query returned no integer value");
  duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
  if (chunk && duckdb_data_chunk_get_size(chunk) > 0 && duckdb_column_count(&res) > 0) {
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
    void* data = duckdb_vector_get_data(vec);
    uint64_t* validity = duckdb_vector_get_validity(vec);
    duckdb_type t = duckdb_column_type(&res, 0);
    if (validity && !duckdb_validity_row_is_valid(validity, 0)) {
      out = int64_t{0};
    } else if (t == DUCKDB_TYPE_BIGINT) {
      out = static_cast<int64_t*>(data)[0];
    } else if (t == DUCKDB_TYPE_INTEGER) {
      out = static_cast<int64_t>(static_cast<int32_t*>(data)[0]);
    } else if (t == DUCKDB_TYPE_UBIGINT) {
      out = static_cast<int64_t>(static_cast<uint64_t*>(data)[0]);
    } else if (t == DUCKDB_TYPE_HUGEINT) {
      out = static_cast<int64_t>(static_cast<duckdb_hugeint*>(data)[0].lower);
    }
  }
  if (chunk) duckdb_destroy_data_chunk(&chunk);
  duckdb_destroy_result(&res);
  return out;
}

Result<std::unique_ptr<RowStream>> Connection::Stream(const std::string& sql) {
  auto conn = static_cast<duckdb_connection>(conn_);
  ASSIGN_OR_RETURN(auto text, TextQuery(conn, sql, private_paths_));
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(conn, text.first.c_str(), &stmt) == DuckDBError) {
    Status st = PrepareError(stmt, private_paths_);
    duckdb_destroy_prepare(&stmt);
    return st;
  }
  std::unique_ptr<RowStream> stream(new RowStream());
  auto* res = new duckdb_result;
  if (duckdb_execute_prepared_streaming(stmt, res) == DuckDBError) {
    Status st = ResultError(res, private_paths_);
    duckdb_destroy_result(res);
    delete res;
    duckdb_destroy_prepare(&stmt);
    return st;
  }
  duckdb_destroy_prepare(&stmt);
  stream->result_ = res;
  stream->private_paths_ = private_paths_;
  stream->columns_ = std::move(text.second);
  for (idx_t c = 0; c < duckdb_column_count(res); ++c) {
    stream->types_.push_back(duckdb_column_type(res, c));
  }
  return stream;
}

RowStream::~RowStream() {
  if (result_) {
    auto* res = static_cast<duckdb_result*>(result_);
    duckdb_destroy_result(res);
    delete res;
  }
}

Result<bool> RowStream::Next(std::vector<Row>& out) {
  return NextRows([&out](Row& row) {
    out.push_back(std::move(row));
    return true;
  });
}

Result<bool> RowStream::NextRows(const std::function<bool(Row& row)>& on_row) {
  auto* res = static_cast<duckdb_result*>(result_);
  duckdb_data_chunk chunk = duckdb_fetch_chunk(*res);
  if (!chunk) {
    const char* err = duckdb_result_error(res);
    if (err && *err) return ResultError(res, private_paths_);
    return false;
  }
  const idx_t n = duckdb_data_chunk_get_size(chunk);
  const size_t ncol = types_.size();
  std::vector<void*> data(ncol);
  std::vector<uint64_t*> validity(ncol);
  for (size_t c = 0; c < ncol; ++c) {
    if (!IsDirectType(static_cast<duckdb_type>(types_[c]))) {
      duckdb_destroy_data_chunk(&chunk);
      return Status::Internal("unexpected column type in text stream");
    }
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
    data[c] = duckdb_vector_get_data(vec);
    validity[c] = duckdb_vector_get_validity(vec);
  }
  for (idx_t r = 0; r < n; ++r) {
    Row row(ncol);
    for (size_t c = 0; c < ncol; ++c) {
      if (validity[c] && !duckdb_validity_row_is_valid(validity[c], r)) continue;
      row[c] = ValueText(static_cast<duckdb_type>(types_[c]), data[c], r);
    }
    if (!on_row(row)) break;
  }
  duckdb_destroy_data_chunk(&chunk);
  return true;
}

Result<Rows> Connection::Query(const std::string& sql) {
  ASSIGN_OR_RETURN(auto stream, Stream(sql));
  Rows rows;
  rows.columns = stream->columns();
  while (true) {
    ASSIGN_OR_RETURN(bool more, stream->Next(rows.rows));
    if (!more) break;
  }
  return rows;
}

namespace {

// Parses `sql` without binding it; returns the number of statements.
Result<idx_t> CountStatements(duckdb_connection conn, const std::string& sql,
                              const std::vector<std::string>* private_paths) {
  duckdb_extracted_statements extracted = nullptr;
  idx_t count = duckdb_extract_statements(conn, sql.c_str(), &extracted);
  Result<idx_t> out = count;
  if (count == 0) {
    const char* err = duckdb_extract_statements_error(extracted);
    out = err && *err ? EngineError(DUCKDB_ERROR_PARSER, err, private_paths)
                      : Status::InvalidArgument("no SQL statement given");
  }
  duckdb_destroy_extracted(&extracted);
  return out;
}

}  // namespace

Result<bool> Connection::IsSingleSelect(const std::string& sql) {
  auto conn = static_cast<duckdb_connection>(conn_);
  ASSIGN_OR_RETURN(idx_t count, CountStatements(conn, sql, private_paths_));
  if (count != 1) return false;
  // Only a query parses as a subquery (DuckDB's grammar: select_with_parens); the newline ends a
  // trailing -- comment. Parsing alone keeps this cheap: planning a statement (e.g. a long IN
  // list) can take seconds, and it happens once, when the query runs.
  auto as_subquery =
      CountStatements(conn, "SELECT * FROM (" + sql + "\n) AS _swan_check", private_paths_);
  return as_subquery.ok() && *as_subquery == 1;
}

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace swan::engine
