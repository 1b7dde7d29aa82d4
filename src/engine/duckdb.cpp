#include "engine/duckdb.h"

#include <duckdb.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace swan::engine {
namespace {

Status EngineError(const char* what, const char* detail) {
  std::string msg = detail ? detail : "unknown DuckDB error";
  (void)what;
  return Status::InvalidArgument(msg);
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
Result<std::vector<Column>> DescribeQuery(duckdb_connection conn, const std::string& sql) {
  std::string describe = "DESCRIBE (" + sql + "\n)";
  duckdb_result res;
  if (duckdb_query(conn, describe.c_str(), &res) == DuckDBError) {
    Status st = EngineError("describe", duckdb_result_error(&res));
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

Result<std::pair<std::string, std::vector<Column>>> TextQuery(duckdb_connection conn,
                                                              const std::string& sql) {
  ASSIGN_OR_RETURN(std::vector<Column> columns, DescribeQuery(conn, sql));
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

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError) return Status::Internal("duckdb_create_config");
  auto set = [&](const char* k, const std::string& v) { duckdb_set_config(config, k, v.c_str()); };
  set("autoinstall_known_extensions", "false");
  set("autoload_known_extensions", "false");
  if (!options.memory_limit.empty()) set("memory_limit", options.memory_limit);
  if (options.threads > 0) set("threads", std::to_string(options.threads));
  if (!options.temp_directory.empty()) set("temp_directory", options.temp_directory);
  set("preserve_insertion_order", options.preserve_insertion_order ? "true" : "false");
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
  Status st;
  if (duckdb_query(static_cast<duckdb_connection>(conn_), sql.c_str(), &res) == DuckDBError) {
    st = EngineError("execute", duckdb_result_error(&res));
  }
  duckdb_destroy_result(&res);
  return st;
}

Result<std::vector<Column>> Connection::Describe(const std::string& sql) {
  return DescribeQuery(static_cast<duckdb_connection>(conn_), sql);
}

Result<int64_t> Connection::QueryInt(const std::string& sql) {
  duckdb_result res;
  if (duckdb_query(static_cast<duckdb_connection>(conn_), sql.c_str(), &res) == DuckDBError) {
    Status st = EngineError("query", duckdb_result_error(&res));
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
  ASSIGN_OR_RETURN(auto text, TextQuery(conn, sql));
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(conn, text.first.c_str(), &stmt) == DuckDBError) {
    Status st = EngineError("prepare", duckdb_prepare_error(stmt));
    duckdb_destroy_prepare(&stmt);
    return st;
  }
  std::unique_ptr<RowStream> stream(new RowStream());
  auto* res = new duckdb_result;
  if (duckdb_execute_prepared_streaming(stmt, res) == DuckDBError) {
    Status st = EngineError("execute", duckdb_result_error(res));
    duckdb_destroy_result(res);
    delete res;
    duckdb_destroy_prepare(&stmt);
    return st;
  }
  duckdb_destroy_prepare(&stmt);
  stream->result_ = res;
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
  auto* res = static_cast<duckdb_result*>(result_);
  duckdb_data_chunk chunk = duckdb_fetch_chunk(*res);
  if (!chunk) {
    const char* err = duckdb_result_error(res);
    if (err && *err) return EngineError("fetch", err);
    return false;
  }
  idx_t n = duckdb_data_chunk_get_size(chunk);
  size_t ncol = types_.size();
  size_t base = out.size();
  out.resize(base + n, Row(ncol));
  for (size_t c = 0; c < ncol; ++c) {
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
    void* data = duckdb_vector_get_data(vec);
    uint64_t* validity = duckdb_vector_get_validity(vec);
    auto t = static_cast<duckdb_type>(types_[c]);
    if (!IsDirectType(t)) {
      duckdb_destroy_data_chunk(&chunk);
      return Status::Internal("unexpected column type in text stream");
    }
    for (idx_t r = 0; r < n; ++r) {
      if (validity && !duckdb_validity_row_is_valid(validity, r)) continue;
      out[base + r][c] = ValueText(t, data, r);
    }
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

Result<bool> Connection::IsSingleSelect(const std::string& sql) {
  auto conn = static_cast<duckdb_connection>(conn_);
  duckdb_extracted_statements extracted = nullptr;
  idx_t count = duckdb_extract_statements(conn, sql.c_str(), &extracted);
  if (count == 0) {
    const char* err = duckdb_extract_statements_error(extracted);
    Status st = Status::InvalidArgument(err && *err ? err : "no SQL statement given");
    duckdb_destroy_extracted(&extracted);
    return st;
  }
  if (count != 1) {
    duckdb_destroy_extracted(&extracted);
    return false;
  }
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare_extracted_statement(conn, extracted, 0, &stmt) == DuckDBError) {
    Status st = Status::InvalidArgument(duckdb_prepare_error(stmt));
    duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&extracted);
    return st;
  }
  bool select = duckdb_prepared_statement_type(stmt) == DUCKDB_STATEMENT_TYPE_SELECT;
  duckdb_destroy_prepare(&stmt);
  duckdb_destroy_extracted(&extracted);
  return select;
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
