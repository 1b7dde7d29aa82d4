#include "query/sql_runner.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace swan::query {

using engine::QuoteIdent;
using engine::QuoteLiteral;

namespace {

// Interrupts a connection's query when the deadline passes, unless cancelled first.
class Deadline {
 public:
  Deadline(engine::Connection& conn, int64_t timeout_ms) {
    thread_ = std::thread([this, &conn, timeout_ms] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return done_; })) {
        fired_ = true;
        conn.Interrupt();
      }
    });
  }
  ~Deadline() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

Status CheckRequest(const SqlRequest& r) {
  if (r.sql.find_first_not_of(" \t\r\n;") == std::string::npos) {
    return Status::InvalidArgument("no SQL given").WithDetail("field", "sql");
  }
  if (r.row_limit < 0 || r.row_limit > kSqlRowsMax) {
    return Status::InvalidArgument("limit must be between 0 and " + std::to_string(kSqlRowsMax))
        .WithDetail("field", "limit");
  }
  if (r.timeout_ms <= 0 || r.timeout_ms > kSqlTimeoutMsMax) {
    return Status::InvalidArgument("timeout_ms must be between 1 and " +
                                   std::to_string(kSqlTimeoutMsMax))
        .WithDetail("field", "timeout_ms");
  }
  return Status::Ok();
}

std::string StripTrailingSemicolons(std::string sql) {
  while (!sql.empty() &&
         (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back()))))
    sql.pop_back();
  return sql;
}

}  // namespace

SqlRunner::SqlRunner(std::string memory_limit, int threads)
    : memory_limit_(std::move(memory_limit)), threads_(threads) {
  refill_ = std::thread([this] { RefillLoop(); });
}

SqlRunner::~SqlRunner() {
  {
    std::lock_guard lock(pool_mu_);
    stopping_ = true;
  }
  pool_cv_.notify_all();
  refill_.join();
}

Result<std::unique_ptr<engine::Database>> SqlRunner::OpenDatabase() const {
  engine::DatabaseOptions options;
  options.memory_limit = memory_limit_;
  options.threads = threads_;
  return engine::Database::Open(options);
}

void SqlRunner::Retire(std::unique_ptr<engine::Database> db) {
  std::lock_guard lock(pool_mu_);
  retired_.push_back(std::move(db));
  pool_cv_.notify_all();
}

void SqlRunner::RefillLoop() {
  std::unique_lock lock(pool_mu_);
  while (!stopping_) {
    if (!retired_.empty()) {
      auto old = std::move(retired_);
      retired_.clear();
      lock.unlock();
      old.clear();
      lock.lock();
      continue;
    }
    if (spares_.size() >= kSpareDatabases) {
      pool_cv_.wait(lock);
      continue;
    }
    lock.unlock();
    auto db = OpenDatabase();
    lock.lock();
    if (!db.ok()) {
      pool_cv_.wait_for(lock, std::chrono::seconds(1));  // retry later; TakeDatabase opens its own
      continue;
    }
    spares_.push_back(std::move(*db));
  }
}

Result<std::unique_ptr<engine::Database>> SqlRunner::TakeDatabase() {
  {
    std::lock_guard lock(pool_mu_);
    if (!spares_.empty()) {
      auto db = std::move(spares_.back());
      spares_.pop_back();
      pool_cv_.notify_all();
      return db;
    }
  }
  return OpenDatabase();
}

template <typename T, typename F>
Result<T> SqlRunner::WithSandbox(const std::vector<SqlTable>& tables, const SqlRequest& request,
                                 const std::vector<std::string>& extra_paths, F&& body) {
  RETURN_IF_ERROR(CheckRequest(request));
  std::vector<std::string> allowed = extra_paths;
  std::vector<const SqlTable*> used;
  for (const auto& t : tables) {
    if (request.sql.find(t.full_id) == std::string::npos) continue;  // only tables the query names
    used.push_back(&t);
    allowed.insert(allowed.end(), t.files.begin(), t.files.end());
  }
  ASSIGN_OR_RETURN(auto db, TakeDatabase());
  RETURN_IF_ERROR(db->LockDown(allowed, {}));
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db));
  for (const auto* t : used) {
    Status st = conn->Execute("CREATE VIEW " + QuoteIdent(t->full_id) +
                              " AS SELECT * EXCLUDE (_swan_ts) FROM (" + t->select_sql + ")");
    if (!st.ok()) return Status::Internal("cannot open table " + t->full_id + ": " + st.message());
  }
  std::string sql = StripTrailingSemicolons(request.sql);
  auto single = conn->IsSingleSelect(sql);
  if (!single.ok()) return single.status();
  if (!*single) {
    return Status::InvalidArgument("only a single read-only SELECT statement is allowed")
        .WithDetail("field", "sql");
  }
  auto start = std::chrono::steady_clock::now();
  Result<T> out = Status::Internal("unreachable");
  bool timed_out = false;
  {
    Deadline deadline(*conn, request.timeout_ms);
    out = body(*conn, sql);
    timed_out = deadline.fired();
  }
  if (timed_out && !out.ok()) {
    return Status::InvalidArgument("query exceeded the time limit of " +
                                   std::to_string(request.timeout_ms) + " ms")
        .WithDetail("field", "timeout_ms");
  }
  (void)start;
  conn.reset();
  Retire(std::move(db));  // closing an instance takes time too: the refill thread does it
  return out;
}

Result<SqlResult> SqlRunner::Run(const std::vector<SqlTable>& tables, const SqlRequest& request) {
  auto start = std::chrono::steady_clock::now();
  auto result = WithSandbox<SqlResult>(
      tables, request, {},
      [&](engine::Connection& conn, const std::string& sql) -> Result<SqlResult> {
        ASSIGN_OR_RETURN(auto stream,
                         conn.Stream("SELECT * FROM (" + sql + "\n) AS _swan_user LIMIT " +
                                     std::to_string(request.row_limit + 1)));
        SqlResult r;
        r.rows.columns = stream->columns();
        while (true) {
          ASSIGN_OR_RETURN(bool more, stream->Next(r.rows.rows));
          if (!more) break;
        }
        if (static_cast<int64_t>(r.rows.rows.size()) > request.row_limit) {
          r.truncated = true;
          r.rows.rows.resize(static_cast<size_t>(request.row_limit));
        }
        return r;
      });
  if (result.ok()) {
    result->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  }
  return result;
}

Result<int64_t> SqlRunner::RunToParquet(const std::vector<SqlTable>& tables,
                                        const SqlRequest& request, const std::string& out_path) {
  return WithSandbox<int64_t>(
      tables, request, {out_path}, [&](engine::Connection& conn, const std::string& sql) {
        return conn.QueryInt("COPY (SELECT * FROM (" + sql + "\n) AS _swan_user) TO " +
                             QuoteLiteral(out_path) + " (FORMAT parquet)");
      });
}

}  // namespace swan::query
