#include "connectors/mysql_extractor.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/mysql_connection.h"

namespace swan::connectors {
namespace {

using namespace mysql;  // NOLINT: the shared Connector/C helpers

using nlohmann::json;

// The cancel flag is read every this many rows, and by a watcher while a read blocks.
constexpr int64_t kCancelCheckRows = 1000;
constexpr auto kCancelPoll = std::chrono::milliseconds(200);
// Widest DECIMAL Swan's storage keeps exact as a number; wider ones arrive as text.
constexpr unsigned kMaxNumericPrecision = 38;
// Bytes of CSV gathered before one write.
constexpr size_t kWriteBufferBytes = 1 << 20;

// A query as a derived table: without the trailing semicolons a console would want.
std::string TrimQuery(std::string q) {
  while (!q.empty() && (q.back() == ';' || std::isspace(static_cast<unsigned char>(q.back()))))
    q.pop_back();
  return q;
}

bool SameName(const std::string& a, const std::string& b) {  // MySQL: case-insensitive
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// ---- types ------------------------------------------------------------------------------------

// How a value is written: as the server sent it, or converted here (so a query's columns get
// the same treatment as a table's).
enum class Render { kText, kHex, kBit, kDate };

struct Column {
  std::string name;
  Render render = Render::kText;
  std::string base_type;  // Keboola's KBC.datatype.basetype
  std::string length;     // KBC.datatype.length, or ""
};

constexpr unsigned kBinaryCharset = 63;

Column Describe(const MYSQL_FIELD& f) {
  Column c;
  c.name = std::string(f.name, f.name_length);
  c.base_type = "STRING";
  const bool is_unsigned = (f.flags & UNSIGNED_FLAG) != 0;
  switch (f.type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
      c.base_type = "INTEGER";
      break;
    case MYSQL_TYPE_LONGLONG:
      if (is_unsigned) {  // up to 18446744073709551615: past BIGINT, exact as NUMERIC(20,0)
        c.base_type = "NUMERIC";
        c.length = "20,0";
      } else {
        c.base_type = "INTEGER";
      }
      break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
      // The display length counts the digits, a point when there are decimals, and a sign.
      const long digits =
          static_cast<long>(f.length) - (f.decimals > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
      if (digits >= 1 && static_cast<unsigned long>(digits) <= kMaxNumericPrecision &&
          f.decimals <= static_cast<unsigned>(digits)) {
        c.base_type = "NUMERIC";
        c.length = std::to_string(digits) + "," + std::to_string(f.decimals);
      }
      break;
    }
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      c.base_type = "FLOAT";
      break;
    case MYSQL_TYPE_BIT:
      c.render = Render::kBit;
      c.base_type = f.length <= 63 ? "INTEGER" : "NUMERIC";
      if (f.length > 63) c.length = "20,0";
      break;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      c.render = Render::kDate;
      c.base_type = "DATE";
      break;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
      c.render = Render::kDate;
      c.base_type = "TIMESTAMP";
      break;
    case MYSQL_TYPE_JSON:
      break;  // JSON text
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
      if (f.charsetnr == kBinaryCharset) c.render = Render::kHex;  // bytes, not text
      break;
    default:
      break;
  }
  return c;
}

// ---- CSV -------------------------------------------------------------------------------------

// Appends one value (never NULL) of `col` as a CSV field (nothing, i.e. NULL, for a zero date).
void AppendValue(std::string& out, const Column& col, const char* data, size_t size) {
  switch (col.render) {
    case Render::kText:
      AppendCsvField(out, data, size);
      return;
    case Render::kHex: {
      static constexpr char kDigits[] = "0123456789abcdef";
      if (size == 0) out += "\"\"";
      for (size_t i = 0; i < size; ++i) {
        const auto b = static_cast<unsigned char>(data[i]);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
      }
      return;
    }
    case Render::kBit: {
      uint64_t v = 0;
      for (size_t i = 0; i < size; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
      out += std::to_string(v);
      return;
    }
    case Render::kDate:
      // A zero date or one with a zero month or day (allowed outside strict SQL modes) is no
      // date at all: NULL, as JDBC's zeroDateTimeBehavior=convertToNull.
      if (size >= 10 &&
          (std::string_view(data + 5, 2) == "00" || std::string_view(data + 8, 2) == "00"))
        return;
      AppendCsvField(out, data, size);
      return;
  }
}

// ---- cancel ----------------------------------------------------------------------------------

// While alive, aborts the connection's I/O as soon as the cancel flag is set, so that a read
// blocked on a slow server returns too. The connection must outlive the watch.
class CancelWatch {
 public:
  CancelWatch(MYSQL* c, std::shared_ptr<const std::atomic<bool>> flag) : flag_(std::move(flag)) {
    if (!flag_) return;
    thread_ = std::thread([this, c] {
      std::unique_lock lock(mu_);
      while (!stop_) {
        if (flag_->load()) {
          Abort(c);
          return;
        }
        cv_.wait_for(lock, kCancelPoll);
      }
    });
  }
  ~CancelWatch() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  CancelWatch(const CancelWatch&) = delete;
  CancelWatch& operator=(const CancelWatch&) = delete;

 private:
  std::shared_ptr<const std::atomic<bool>> flag_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

bool Cancelled(const ExtractorIo& io) { return io.cancel && io.cancel->load(); }

Status CancelledStatus(const std::string& what) {
  return Status(StatusCode::kCancelled, "cancelled while " + what);
}

// An error of `c`, or cancelled when the job's flag made it.
Status ReadError(MYSQL* c, const ExtractorIo& io, const std::string& what) {
  if (Cancelled(io)) return CancelledStatus(what);
  return QueryError(c, what);
}

// ---- one table -------------------------------------------------------------------------------

std::string FileName(const std::string& output_table) {
  std::string name = output_table;
  for (char& ch : name)
    if (ch == '/' || ch == '\0') ch = '_';
  return name + ".csv";
}

// The source's columns of a table, in order (information_schema: no scan of the table).
Result<std::vector<std::string>> TableColumns(MYSQL* c, const DbTableSpec& spec,
                                              const std::string& schema) {
  ASSIGN_OR_RETURN(MyResult r,
                   QuerySmall(c,
                              "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                              "TABLE_SCHEMA = " +
                                  Literal(c, schema) + " AND TABLE_NAME = " +
                                  Literal(c, spec.table) + " ORDER BY ORDINAL_POSITION",
                              "reading the columns"));
  std::vector<std::string> names;
  while (MYSQL_ROW row = mysql_fetch_row(r.get())) {
    const unsigned long* len = mysql_fetch_lengths(r.get());
    names.emplace_back(row[0], len[0]);
  }
  if (names.empty())
    return FieldError((spec.field.empty() ? "" : spec.field + ".") + "table",
                      "no table " + schema + "." + spec.table + " (or no right to read it)");
  return names;
}

// Streams `select` into `path` (header row first); returns the row count. Checks `primary_key`
// against the result's columns before the first row.
Result<int64_t> StreamOut(MYSQL* c, const std::string& select, const std::string& path,
                          const DbTableSpec& spec, std::vector<Column>* columns,
                          const ExtractorIo& io) {
  if (mysql_real_query(c, select.data(), select.size()) != 0)
    return ReadError(c, io, "reading the rows");
  MyResult res(mysql_use_result(c));
  if (!res) return ReadError(c, io, "reading the rows");
  // From here an early return must not free the result by reading every row left.
  struct AbortUnlessDone {
    MYSQL* c;
    bool done = false;
    ~AbortUnlessDone() {
      if (!done) Abort(c);
    }
  } guard{c};
  const unsigned n = mysql_num_fields(res.get());
  const MYSQL_FIELD* fields = mysql_fetch_fields(res.get());
  columns->clear();
  for (unsigned i = 0; i < n; ++i) columns->push_back(Describe(fields[i]));
  for (const auto& k : spec.primary_key) {
    if (std::none_of(columns->begin(), columns->end(),
                     [&](const Column& col) { return col.name == k; }))
      return FieldError((spec.field.empty() ? "" : spec.field + ".") + "primaryKey",
                        "no column '" + k + "' in the source");
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) return Status::Internal("cannot write " + path);
  std::string buffer;
  buffer.reserve(kWriteBufferBytes + 4096);
  auto flush = [&]() {
    const bool ok = std::fwrite(buffer.data(), 1, buffer.size(), out.get()) == buffer.size();
    buffer.clear();
    return ok;
  };
  for (unsigned i = 0; i < n; ++i) {
    if (i) buffer += ',';
    AppendCsvField(buffer, (*columns)[i].name.data(), (*columns)[i].name.size());
  }
  buffer += '\n';

  int64_t rows = 0;
  while (true) {
    MYSQL_ROW row = mysql_fetch_row(res.get());
    if (!row) break;
    const unsigned long* len = mysql_fetch_lengths(res.get());
    for (unsigned i = 0; i < n; ++i) {
      if (i) buffer += ',';
      if (row[i]) AppendValue(buffer, (*columns)[i], row[i], len[i]);
    }
    buffer += '\n';
    if (buffer.size() >= kWriteBufferBytes && !flush())
      return Status::Internal("cannot write " + path);
    if (++rows % kCancelCheckRows == 0 && Cancelled(io)) return CancelledStatus("reading the rows");
  }
  // The end of the rows or an error: mysql_fetch_row tells them apart only through errno.
  if (mysql_errno(c) != 0) return ReadError(c, io, "reading the rows");
  guard.done = true;
  if (!flush() || std::fflush(out.get()) != 0) return Status::Internal("cannot write " + path);
  if (std::fclose(out.release()) != 0) return Status::Internal("cannot write " + path);
  return rows;
}

Status ExtractTable(MYSQL* c, const DbTableSpec& spec, const std::string& database,
                    const json& state, json* new_state, const ExtractorIo& io) {
  const std::string schema = spec.schema.empty() ? database : spec.schema;
  const std::string from =
      spec.query.empty() ? Quote(schema) + "." + Quote(spec.table) : "(" + spec.query + ")";
  std::string fetch_column = spec.fetch_column;
  std::string list = "q.*";
  if (spec.query.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> all, TableColumns(c, spec, schema));
    auto find = [&](const std::string& name) {
      return std::find_if(all.begin(), all.end(),
                          [&](const std::string& x) { return SameName(x, name); });
    };
    std::vector<std::string> chosen = spec.columns.empty() ? all : std::vector<std::string>{};
    for (const auto& name : spec.columns) {
      auto it = find(name);
      if (it == all.end())
        return FieldError((spec.field.empty() ? "" : spec.field + ".") + "columns",
                          "no column '" + name + "' in " + schema + "." + spec.table);
      chosen.push_back(*it);
    }
    if (!fetch_column.empty()) {
      auto it = find(fetch_column);
      if (it == all.end())
        return FieldError("incrementalFetchingColumn", "no column '" + fetch_column + "'");
      fetch_column = *it;
    }
    list.clear();
    for (const auto& name : chosen) list += (list.empty() ? "q." : ", q.") + Quote(name);
  }
  std::string where, order, limit;
  if (!fetch_column.empty()) {
    const std::string col = "q." + Quote(fetch_column);
    if (state.contains("lastFetchedRow") && state["lastFetchedRow"].is_string())
      where = " WHERE " + col + " >= " + Literal(c, state["lastFetchedRow"].get<std::string>());
    order = " ORDER BY " + col;
    if (spec.fetch_limit > 0) limit = " LIMIT " + std::to_string(spec.fetch_limit);
  }
  const std::string select = "SELECT " + list + " FROM " + from + " AS q" + where + order + limit;

  const std::string path = io.out_dir + "/tables/" + FileName(spec.output_table);
  Log(io.log, LogLevel::kInfo,
      "extracting " + (spec.query.empty() ? schema + "." + spec.table : std::string("a query")) +
          " into " + spec.output_table + (where.empty() ? "" : " (rows since the last run)"));
  std::vector<Column> cols;
  ASSIGN_OR_RETURN(int64_t rows, StreamOut(c, select, path, spec, &cols, io));
  Log(io.log, LogLevel::kInfo, std::to_string(rows) + " rows from " + spec.output_table);

  if (!fetch_column.empty()) {
    const std::string q = "q." + Quote(fetch_column);
    const std::string sql = limit.empty() ? "SELECT max(" + q + ") FROM " + from + " AS q" + where
                                          : "SELECT max(s.v) FROM (SELECT " + q + " AS v FROM " +
                                                from + " AS q" + where + order + limit + ") AS s";
    auto m = QuerySmall(c, sql, "reading the last fetched value");
    if (!m.ok())
      return Cancelled(io) ? CancelledStatus("reading the last fetched value") : m.status();
    MYSQL_ROW row = mysql_fetch_row(m->get());
    if (row && row[0]) {
      const unsigned long* len = mysql_fetch_lengths(m->get());
      (*new_state)["lastFetchedRow"] = std::string(row[0], len[0]);
    }
  }

  std::vector<DbColumnType> types;
  for (const auto& col : cols) types.push_back({col.name, col.base_type, col.length});
  return WriteDbManifest(path, spec, types);
}

}  // namespace

Status RunMysqlExtractor(const json& config, const ExtractorIo& io) {
  const json parameters = config.value("parameters", json::object());
  ASSIGN_OR_RETURN(std::vector<DbTableSpec> tables, ParseDbTables(parameters));
  for (auto& spec : tables) spec.query = TrimQuery(spec.query);
  const json db = parameters.value("db", json());
  ASSIGN_OR_RETURN(Conn c, Connect(db, io.timeout_ms));
  CancelWatch watch(c.get(), io.cancel);
  auto exec = [&](const std::string& sql, const std::string& what) {
    Status s = Exec(c.get(), sql, what);
    return !s.ok() && Cancelled(io) ? CancelledStatus(what) : s;
  };
  // One snapshot for everything read, in UTC.
  RETURN_IF_ERROR(exec("SET time_zone = '+00:00'", "setting the time zone"));
  if (io.timeout_ms > 0) {
    const bool mariadb =
        std::string(mysql_get_server_info(c.get())).find("MariaDB") != std::string::npos;
    RETURN_IF_ERROR(exec(mariadb
                             ? "SET SESSION max_statement_time = " +
                                   std::to_string(static_cast<double>(io.timeout_ms) / 1000.0)
                             : "SET SESSION max_execution_time = " + std::to_string(io.timeout_ms),
                         "setting the statement timeout"));
  }
  RETURN_IF_ERROR(exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                       "setting the isolation level"));
  RETURN_IF_ERROR(exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                       "starting a read-only transaction"));
  json new_state = io.input_state.is_object() ? io.input_state : json::object();
  for (const auto& spec : tables) {
    RETURN_IF_ERROR(
        ExtractTable(c.get(), spec, Text(db, "database"), io.input_state, &new_state, io));
  }
  RETURN_IF_ERROR(exec("COMMIT", "ending the transaction"));
  if (io.output_state) *io.output_state = new_state;
  return Status::Ok();
}

}  // namespace swan::connectors
