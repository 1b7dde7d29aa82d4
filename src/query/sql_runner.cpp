#include "query/sql_runner.h"

#include <algorithm>
#include <cctype>

#include "common/fs.h"
#include "query/sql_worker.h"

namespace swan::query {

using Clock = std::chrono::steady_clock;
using engine::QuoteIdent;
using engine::QuoteLiteral;

// A DuckDB instance and its private spill folder; closing the instance removes the folder.
class SqlRunner::Sandbox {
 public:
  Sandbox(Env& env, std::unique_ptr<engine::Database> db, std::string spill_dir)
      : env_(env), db_(std::move(db)), spill_dir_(std::move(spill_dir)) {}
  ~Sandbox() {
    db_.reset();  // DuckDB deletes its spill files on close; the folder is ours
    (void)env_.RemoveAll(spill_dir_);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  engine::Database& db() { return *db_; }
  // Set once it is locked to a project's directories for reuse by its scripts.
  std::optional<int64_t> reuse_project;

 private:
  Env& env_;
  std::unique_ptr<engine::Database> db_;
  std::string spill_dir_;
};

// One query: made by the caller, run on a thread of its own, outliving the caller when the
// caller answers at the deadline.
struct SqlRunner::Job {
  // Fixed before the job's thread starts.
  std::string sql;
  std::vector<SqlTable> tables;             // those the query names (copies: the job may
                                            // outlive its caller)
  std::vector<std::string> allowed_paths;   // their segment files and writable_paths
  std::vector<std::string> writable_paths;  // removed when the query fails or is abandoned
  Clock::time_point deadline;
  int64_t timeout_ms = 0;
  Body body;
  bool script = false;
  std::shared_ptr<const std::atomic<bool>> cancel;  // a script's caller cancels through it
  std::optional<int64_t> reuse_project;             // ScriptRequest::reuse_project
  std::vector<std::string> allowed_directories;     // with reuse_project

  // Guarded by mu.
  std::mutex mu;
  std::condition_variable cv;
  engine::Connection* conn = nullptr;  // while a query may run: the shutdown interrupts it
  bool cancelled = false;              // by the shutdown
  bool done = false;
  bool abandoned = false;  // the caller answered at the deadline and left
  Status status;
};

namespace {

// DuckDB drops an interrupt that arrives while no query runs, and a query being parsed or planned
// is not interruptible: from the deadline on, interrupt again every few milliseconds.
constexpr auto kInterruptRepeat = std::chrono::milliseconds(10);
// Whether SQL text names DuckDB's default database ("memory"), where a script's objects would
// outlive its own database.
bool NamesDefaultDatabase(const std::string& sql) {
  static const std::string kName = "memory";
  auto it = std::search(sql.begin(), sql.end(), kName.begin(), kName.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != sql.end();
}

// The database a script of a reused instance works in.
constexpr const char* kScriptDatabase = "swan_script";
constexpr auto kCancelPoll = std::chrono::milliseconds(50);

class Watchdog {
 public:
  // Interrupts the query from `deadline` on, or as soon as *cancel turns true (checked every
  // kCancelPoll; null = no cancel).
  Watchdog(engine::Connection& conn, Clock::time_point deadline,
           const std::atomic<bool>* cancel = nullptr) {
    thread_ = std::thread([this, &conn, deadline, cancel] {
      std::unique_lock lock(mu_);
      if (cancel == nullptr) {
        if (cv_.wait_until(lock, deadline, [this] { return done_; })) return;
      } else {
        while (!done_ && !cancel->load() && Clock::now() < deadline) {
          cv_.wait_until(lock, std::min(deadline, Clock::now() + kCancelPoll),
                         [this] { return done_; });
        }
        if (done_) return;
      }
      while (!done_) {
        conn.Interrupt();
        cv_.wait_for(lock, kInterruptRepeat, [this] { return done_; });
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

Status TimeLimitError(int64_t timeout_ms) {
  return Status::InvalidArgument("query exceeded the time limit of " + std::to_string(timeout_ms) +
                                 " ms (counted from the request's arrival)")
      .WithDetail("field", "timeout_ms");
}

Status ShutdownError() { return Status::Cancelled("the SQL runner is shutting down"); }

Status CheckRequest(const SqlRequest& r) {
  if (r.sql.size() > limits::kSqlTextBytesMax) {
    return Status::PayloadTooLarge("SQL text of " + std::to_string(r.sql.size()) +
                                   " bytes is longer than the limit of " +
                                   std::to_string(limits::kSqlTextBytesMax) + " bytes")
        .WithDetail("field", "sql");
  }
  if (r.sql.find_first_not_of(" \t\r\n;") == std::string::npos) {
    return Status::InvalidArgument("no SQL given").WithDetail("field", "sql");
  }
  if (r.row_limit < 0 || r.row_limit > limits::kSqlRowsMax) {
    return Status::InvalidArgument("limit must be between 0 and " +
                                   std::to_string(limits::kSqlRowsMax))
        .WithDetail("field", "limit");
  }
  if (r.timeout_ms <= 0 || r.timeout_ms > limits::kSqlTimeoutMsMax) {
    return Status::InvalidArgument("timeout_ms must be between 1 and " +
                                   std::to_string(limits::kSqlTimeoutMsMax))
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

// An upper bound of a value's bytes in the JSON answer (a quoted, escaped string, or null) and
// so of its CSV form too; a row adds brackets and commas.
size_t RenderedBytes(const engine::Row& row) {
  size_t n = 3 + row.size();
  for (const auto& v : row) {
    if (!v) {
      n += 4;
      continue;
    }
    n += 2 + v->size();
    for (unsigned char c : *v) {
      if (c == '"' || c == '\\') {
        n += 1;
      } else if (c < 0x20) {
        n += 5;  // \u00XX
      }
    }
  }
  return n;
}

// A query sees only the tables its SQL names (by full id).
bool QueryNames(const std::string& sql, const SqlTable& table) {
  return sql.find(table.full_id) != std::string::npos;
}

void RemoveFiles(Env& env, const std::vector<std::string>& paths) {
  for (const auto& p : paths) (void)env.RemoveFile(p);
}

}  // namespace

SqlRunner::SqlRunner(SqlRunnerOptions options)
    : options_(std::move(options)),
      env_(options_.env != nullptr ? *options_.env : Env::Posix()),
      spill_root_(!options_.spill_root.empty() ? options_.spill_root
                  : options_.data_dir.empty()  ? ""
                                               : options_.data_dir + "/sql-spill") {
  // Nothing runs yet: spill folders here are a previous process's.
  if (!spill_root_.empty()) {
    if (auto leftovers = env_.List(spill_root_); leftovers.ok()) {
      for (const auto& e : *leftovers) (void)env_.RemoveAll(e.path);
    }
  }
  if (!options_.worker_exe.empty()) {
    SqlWorkerOptions w;
    w.exe = options_.worker_exe;
    w.data_dir = options_.data_dir;
    w.memory_limit = options_.memory_limit;
    w.threads = options_.threads;
    w.idle_workers = options_.idle_workers;
    w.env = &env_;
    workers_ = std::make_unique<SqlWorkerPool>(std::move(w));
  }
  for (size_t i = 0; i < std::max<size_t>(1, options_.refill_threads); ++i)
    refill_.emplace_back([this] { RefillLoop(); });
}

SqlRunner::~SqlRunner() {
  {
    std::unique_lock lock(jobs_mu_);
    stopping_ = true;
    jobs_cv_.notify_all();
    while (running_ > 0) {
      for (const auto& job : jobs_) {
        std::lock_guard job_lock(job->mu);
        job->cancelled = true;
        if (job->conn) job->conn->Interrupt();
      }
      jobs_cv_.wait_for(lock, kInterruptRepeat);
    }
  }
  {
    std::lock_guard lock(pool_mu_);
    pool_stopping_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : refill_) t.join();
  workers_.reset();  // every query has returned: kills the idle workers
  spares_.clear();
  warm_.clear();
  retired_.clear();
  if (!spill_root_.empty()) (void)env_.RemoveAll(spill_root_);  // every sandbox has closed
}

void SqlRunner::WaitUntilRetiredClosed() {
  std::unique_lock lock(pool_mu_);
  pool_cv_.wait(lock, [this] { return pool_stopping_ || (retired_.empty() && closing_ == 0); });
}

int SqlRunner::running_sandboxes() const {
  std::lock_guard lock(jobs_mu_);
  return running_;
}

Result<std::unique_ptr<SqlRunner::Sandbox>> SqlRunner::OpenSandbox() const {
  if (spill_root_.empty()) return Status::Internal("the SQL runner has no data directory");
  // A folder of its own: DuckDB lets a locked-down instance read its temp_directory, so a shared
  // one would let one query read another's spilled rows.
  std::string spill_dir = spill_root_ + "/" + fs::RandomHex(8);
  RETURN_IF_ERROR(env_.MakeDirs(spill_dir));
  engine::DatabaseOptions options;
  options.memory_limit = options_.memory_limit;
  options.threads = options_.threads;
  options.temp_directory = spill_dir;
  options.private_paths = {options_.data_dir};
  auto db = engine::Database::Open(options);
  if (!db.ok()) {
    (void)env_.RemoveAll(spill_dir);
    return db.status();
  }
  return std::make_unique<Sandbox>(env_, std::move(*db), std::move(spill_dir));
}

void SqlRunner::Retire(std::unique_ptr<Sandbox> sandbox) {
  std::lock_guard lock(pool_mu_);
  retired_.push_back(std::move(sandbox));
  pool_cv_.notify_all();
}

void SqlRunner::RefillLoop() {
  std::unique_lock lock(pool_mu_);
  while (!pool_stopping_) {
    if (!retired_.empty()) {
      auto old = std::move(retired_);
      retired_.clear();
      closing_ += old.size();
      lock.unlock();
      const size_t n = old.size();
      old.clear();
      lock.lock();
      closing_ -= n;
      pool_cv_.notify_all();
      continue;
    }
    if (spares_.size() >= options_.spare_sandboxes) {
      pool_cv_.wait(lock);
      continue;
    }
    lock.unlock();
    auto sandbox = OpenSandbox();
    lock.lock();
    if (!sandbox.ok()) {
      pool_cv_.wait_for(lock, std::chrono::seconds(1));  // retry later; TakeSandbox opens its own
      continue;
    }
    spares_.push_back(std::move(*sandbox));
  }
}

Result<std::unique_ptr<SqlRunner::Sandbox>> SqlRunner::TakeSandbox() {
  {
    std::lock_guard lock(pool_mu_);
    if (!spares_.empty()) {
      auto sandbox = std::move(spares_.back());
      spares_.pop_back();
      pool_cv_.notify_all();
      return sandbox;
    }
  }
  return OpenSandbox();
}

Result<std::unique_ptr<SqlRunner::Sandbox>> SqlRunner::TakeWarm(
    int64_t project, const std::vector<std::string>& directories) {
  {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return pool_stopping_ || resetting_.count(project) == 0; });
    for (auto it = warm_.rbegin(); it != warm_.rend(); ++it) {
      if ((*it)->reuse_project == project) {
        auto sandbox = std::move(*it);
        warm_.erase(std::next(it).base());
        return sandbox;
      }
    }
  }
  ASSIGN_OR_RETURN(auto sandbox, TakeSandbox());
  RETURN_IF_ERROR(sandbox->db().LockDown({}, directories));
  sandbox->reuse_project = project;
  return sandbox;
}

bool SqlRunner::ResetForReuse(Sandbox& sandbox) {
  auto conn = engine::Connection::Open(sandbox.db());
  if (!conn.ok() || !(*conn)->Execute("DETACH " + std::string(kScriptDatabase)).ok()) return false;
  // A script works in its own database: the default one ("memory") is reached only by naming
  // it, which keeps an instance from reuse (RunSandbox). Left: another attached database, a
  // table anywhere, a secret. (Temporary objects and variables went with its connection;
  // settings are locked.) duckdb_functions() would see macros too, but costs ~20 ms.
  auto left = (*conn)->QueryInt(
      "SELECT (SELECT count(*) FROM duckdb_databases() WHERE NOT internal) - 1 + (SELECT count(*) "
      "FROM duckdb_tables()) + (SELECT count(*) FROM duckdb_secrets())");
  return left.ok() && *left == 0;
}

void SqlRunner::KeepWarm(std::unique_ptr<Sandbox> sandbox) {
  std::lock_guard lock(pool_mu_);
  if (pool_stopping_ || options_.warm_sandboxes == 0) {
    retired_.push_back(std::move(sandbox));
  } else {
    warm_.push_back(std::move(sandbox));
    while (warm_.size() > options_.warm_sandboxes) {
      retired_.push_back(std::move(warm_.front()));
      warm_.pop_front();
    }
  }
  pool_cv_.notify_all();
}

Status SqlRunner::AcquireSlot(Clock::time_point deadline) {
  std::unique_lock lock(jobs_mu_);
  const auto until =
      std::min(deadline, Clock::now() + std::chrono::milliseconds(options_.sandbox_wait_ms));
  bool free = jobs_cv_.wait_until(
      lock, until, [this] { return stopping_ || running_ < options_.sandboxes_max; });
  if (stopping_) return ShutdownError();
  if (!free) {
    const int retry_after = limits::kRetryAfterSecondsDefault;
    return Status::Unavailable("all " + std::to_string(options_.sandboxes_max) +
                               " SQL sandboxes are busy; retry in " + std::to_string(retry_after) +
                               " s")
        .WithDetail(kRetryAfterSecondsDetail, std::to_string(retry_after));
  }
  ++running_;
  return Status::Ok();
}

void SqlRunner::ReleaseSlot() {
  std::lock_guard lock(jobs_mu_);
  --running_;
  jobs_cv_.notify_all();
}

Status SqlRunner::RunJob(const std::vector<SqlTable>& tables, const SqlRequest& request,
                         std::vector<std::string> writable_paths, Body body, bool script,
                         const ScriptRequest* reuse) {
  RETURN_IF_ERROR(CheckRequest(request));
  const Clock::time_point deadline =
      request.started.value_or(Clock::now()) + std::chrono::milliseconds(request.timeout_ms);
  if (Clock::now() >= deadline) return TimeLimitError(request.timeout_ms);

  auto job = std::make_shared<Job>();
  job->sql = StripTrailingSemicolons(request.sql);
  for (const auto& t : tables) {
    // A query sees only the tables it names; a script sees all it was given.
    if (!script && !QueryNames(request.sql, t)) continue;
    job->tables.push_back(t);
    job->allowed_paths.insert(job->allowed_paths.end(), t.files.begin(), t.files.end());
  }
  job->allowed_paths.insert(job->allowed_paths.end(), writable_paths.begin(), writable_paths.end());
  job->writable_paths = std::move(writable_paths);
  job->deadline = deadline;
  job->timeout_ms = request.timeout_ms;
  job->body = std::move(body);
  job->script = script;
  job->cancel = request.cancel;
  if (reuse && reuse->reuse_project) {
    job->reuse_project = reuse->reuse_project;
    job->allowed_directories = reuse->reuse_directories;
  }

  RETURN_IF_ERROR(AcquireSlot(deadline));
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.insert(job);
  }
  try {
    std::thread([this, job] { RunSandbox(job); }).detach();
  } catch (const std::system_error& e) {
    {
      std::lock_guard lock(jobs_mu_);
      jobs_.erase(job);
    }
    ReleaseSlot();
    return Status::Unavailable(std::string("cannot start a SQL sandbox: ") + e.what())
        .WithDetail(kRetryAfterSecondsDetail, std::to_string(limits::kRetryAfterSecondsDefault));
  }
  std::unique_lock lock(job->mu);
  if (job->cv.wait_until(lock, deadline, [&] { return job->done; })) return job->status;
  // Still parsing or planning (which no interrupt reaches), or just stopping: answer now. The
  // job keeps its slot until DuckDB lets go; its watchdog stops any execution.
  job->abandoned = true;
  return TimeLimitError(request.timeout_ms);
}

void SqlRunner::RunSandbox(const std::shared_ptr<Job>& job) {
  Status st;
  std::unique_ptr<Sandbox> sandbox;
  auto taken =
      job->reuse_project ? TakeWarm(*job->reuse_project, job->allowed_directories) : TakeSandbox();
  if (taken.ok()) {
    sandbox = std::move(*taken);
    st = RunInSandbox(*job, *sandbox);
  } else {
    st = taken.status();
  }
  bool cancelled = false;
  {
    std::lock_guard lock(job->mu);
    cancelled = job->cancelled;
  }
  const Status ran = st;
  if (st.code() == StatusCode::kCancelled) {
    st = cancelled ? ShutdownError()
                   : (Clock::now() >= job->deadline ? TimeLimitError(job->timeout_ms) : st);
  }
  const bool returning = sandbox && sandbox->reuse_project.has_value();
  const int64_t project = returning ? *sandbox->reuse_project : 0;
  if (returning) {
    // The project's next script waits for this instance rather than opening another.
    std::lock_guard lock(pool_mu_);
    ++resetting_[project];
  }
  bool abandoned = false;
  {
    std::lock_guard lock(job->mu);
    job->status = st;
    job->done = true;
    abandoned = job->abandoned;
  }
  job->cv.notify_all();
  if (abandoned || !st.ok()) RemoveFiles(env_, job->writable_paths);
  // Off the caller's path now. Kept for the project's next script when it ran to an end of its
  // own (its SQL's error included) and left the instance as it found it; otherwise closed.
  const bool keep = sandbox && sandbox->reuse_project &&
                    (ran.ok() || ran.code() == StatusCode::kInvalidArgument) &&
                    !NamesDefaultDatabase(job->sql) && ResetForReuse(*sandbox);
  if (keep) {
    KeepWarm(std::move(sandbox));
  } else if (sandbox) {
    Retire(std::move(sandbox));  // closing takes time too: the refill thread does it
  }
  if (returning) {
    std::lock_guard lock(pool_mu_);
    if (--resetting_[project] == 0) resetting_.erase(project);
    pool_cv_.notify_all();
  }
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.erase(job);
  }
  ReleaseSlot();  // the last use of `this`: the destructor waits for it
}

Status SqlRunner::RunInSandbox(Job& job, Sandbox& sandbox) {
  auto check_alive = [&job]() -> Status {
    {
      std::lock_guard lock(job.mu);
      if (job.cancelled) return ShutdownError();
    }
    if (Clock::now() >= job.deadline) return TimeLimitError(job.timeout_ms);
    return Status::Ok();
  };
  RETURN_IF_ERROR(check_alive());
  if (!sandbox.reuse_project) RETURN_IF_ERROR(sandbox.db().LockDown(job.allowed_paths, {}));
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(sandbox.db()));
  if (sandbox.reuse_project) {
    // The script's objects go to a database of its own, detached after it (ResetForReuse).
    RETURN_IF_ERROR(conn->Execute("ATTACH ':memory:' AS " + std::string(kScriptDatabase) +
                                  "; USE " + kScriptDatabase));
  }
  {
    std::lock_guard lock(job.mu);
    job.conn = conn.get();
  }
  struct Unpublish {  // before `conn` goes: the shutdown must not interrupt a closed connection
    Job& job;
    ~Unpublish() {
      std::lock_guard lock(job.mu);
      job.conn = nullptr;
    }
  } unpublish{job};
  Watchdog watchdog(*conn, job.deadline, job.cancel.get());

  for (const SqlTable& t : job.tables) {
    Status st = conn->Execute("CREATE VIEW " + QuoteIdent(t.full_id) +
                              " AS SELECT * EXCLUDE (_swan_ts) FROM (" + t.select_sql + ")");
    if (!st.ok()) {
      // Our own SQL over our own files: not the user's input whatever DuckDB says.
      StatusCode code =
          st.code() == StatusCode::kInvalidArgument ? StatusCode::kInternal : st.code();
      return Status(code, "cannot open table " + t.full_id + ": " + st.message());
    }
  }
  RETURN_IF_ERROR(check_alive());
  if (job.script) return job.body(*conn, job.sql);
  ASSIGN_OR_RETURN(bool single, conn->IsSingleSelect(job.sql));
  if (!single) {
    return Status::InvalidArgument("only a single read-only SELECT statement is allowed")
        .WithDetail("field", "sql");
  }
  RETURN_IF_ERROR(check_alive());
  return job.body(*conn, job.sql);
}

Status SqlRunner::RunInWorker(const std::vector<SqlTable>& tables, const SqlRequest& request,
                              const std::string& out_path, SqlResult* result,
                              int64_t* parquet_rows) {
  RETURN_IF_ERROR(CheckRequest(request));
  const Clock::time_point started = request.started.value_or(Clock::now());
  const Clock::time_point deadline = started + std::chrono::milliseconds(request.timeout_ms);
  if (Clock::now() >= deadline) return TimeLimitError(request.timeout_ms);
  wire::Request w;
  w.kind = result != nullptr ? wire::Kind::kQuery : wire::Kind::kToParquet;
  w.sql = request.sql;
  w.row_limit = request.row_limit;
  w.answer_bytes_max = request.answer_bytes_max;
  w.out_path = out_path;
  for (const auto& t : tables) {
    if (QueryNames(request.sql, t)) w.tables.push_back(t);
  }
  RETURN_IF_ERROR(AcquireSlot(deadline));
  auto stop = [this, cancel = request.cancel] {
    if (cancel && cancel->load()) return true;
    std::lock_guard lock(jobs_mu_);
    return stopping_;
  };
  auto answer = workers_->Execute(std::move(w), deadline, stop);
  Status st = answer.ok() ? answer->status : answer.status();
  if (!answer.ok() && st.code() == StatusCode::kCancelled) {
    const auto reason = st.details().find("reason");
    bool shutting_down = false;
    {
      std::lock_guard lock(jobs_mu_);
      shutting_down = stopping_;
    }
    if (reason != st.details().end() && reason->second == "deadline") {
      st = TimeLimitError(request.timeout_ms);
    } else {
      st = shutting_down ? ShutdownError() : Status::Cancelled("the query was cancelled");
    }
  }
  if (!st.ok() && !out_path.empty()) (void)env_.RemoveFile(out_path);
  ReleaseSlot();  // the last use of `this`: the destructor waits for it
  if (!st.ok()) return st;
  if (result != nullptr) *result = std::move(answer->result);
  if (parquet_rows != nullptr) *parquet_rows = answer->parquet_rows;
  return Status::Ok();
}

Result<SqlResult> SqlRunner::Run(const std::vector<SqlTable>& tables, const SqlRequest& request) {
  const Clock::time_point started = request.started.value_or(Clock::now());
  SqlRequest timed = request;
  timed.started = started;
  if (workers_) {
    SqlResult result;
    RETURN_IF_ERROR(RunInWorker(tables, timed, "", &result, nullptr));
    result.elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    return result;
  }
  // Owned by the job as well: it outlives this call when the caller answers at the deadline.
  auto result = std::make_shared<SqlResult>();
  const int64_t row_limit = request.row_limit;
  const size_t bytes_max = request.answer_bytes_max;
  RETURN_IF_ERROR(RunJob(
      tables, timed, {},
      [result, row_limit, bytes_max](engine::Connection& conn, const std::string& sql) -> Status {
        ASSIGN_OR_RETURN(auto stream,
                         conn.Stream("SELECT * FROM (" + sql + "\n) AS _swan_user LIMIT " +
                                     std::to_string(row_limit + 1)));
        SqlResult r;
        r.rows.columns = stream->columns();
        size_t bytes = 64;  // the answer's frame: "columns", "truncated", "elapsed_ms"
        for (const auto& c : r.rows.columns) bytes += 32 + c.name.size() + c.type.size();
        // Rows stop at the first that would pass a limit; the rest stays in DuckDB, unread.
        bool full = false;
        while (!full) {
          ASSIGN_OR_RETURN(bool more, stream->NextRows([&](engine::Row& row) {
            const size_t row_bytes = RenderedBytes(row);
            if (static_cast<int64_t>(r.rows.rows.size()) >= row_limit ||
                bytes + row_bytes > bytes_max) {
              full = true;
              return false;
            }
            bytes += row_bytes;
            r.rows.rows.push_back(std::move(row));
            return true;
          }));
          if (!more) break;
        }
        r.truncated = full;
        *result = std::move(r);
        return Status::Ok();
      }));
  result->elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return std::move(*result);
}

Result<int64_t> SqlRunner::RunToParquet(const std::vector<SqlTable>& tables,
                                        const SqlRequest& request, const std::string& out_path) {
  if (workers_) {
    int64_t n = 0;
    RETURN_IF_ERROR(RunInWorker(tables, request, out_path, nullptr, &n));
    return n;
  }
  auto rows = std::make_shared<int64_t>(0);
  RETURN_IF_ERROR(
      RunJob(tables, request, {out_path},
             [rows, out_path](engine::Connection& conn, const std::string& sql) -> Status {
               ASSIGN_OR_RETURN(
                   *rows, conn.QueryInt("COPY (SELECT * FROM (" + sql + "\n) AS _swan_user) TO " +
                                        QuoteLiteral(out_path) + " (FORMAT parquet)"));
               return Status::Ok();
             }));
  return *rows;
}

Result<std::vector<int64_t>> SqlRunner::RunScript(const std::vector<SqlTable>& tables,
                                                  const ScriptRequest& script) {
  SqlRequest request;
  for (const auto& st : script.statements) request.sql += st.sql + "\n";
  request.timeout_ms = script.timeout_ms;
  request.started = script.started;
  request.cancel = script.cancel;
  std::vector<std::string> out_paths;
  for (const auto& o : script.outputs) out_paths.push_back(o.out_path);
  auto rows = std::make_shared<std::vector<int64_t>>();
  auto statements = std::make_shared<std::vector<ScriptStatement>>(script.statements);
  auto outputs = std::make_shared<std::vector<ScriptOutput>>(script.outputs);
  RETURN_IF_ERROR(RunJob(
      tables, request, out_paths,
      [rows, statements, outputs](engine::Connection& conn, const std::string&) -> Status {
        for (const auto& st : *statements) {
          if (st.sql.find_first_not_of(" \t\r\n;") == std::string::npos) continue;
          Status s = conn.ExecuteRestricted(st.sql);
          if (s.code() == StatusCode::kCancelled) return s;
          if (!s.ok()) {
            return Status(s.code(), st.where + ": " + s.message())
                .WithDetail("statement", st.where);
          }
        }
        for (const auto& o : *outputs) {
          auto n = conn.QueryInt("COPY (SELECT * FROM " + QuoteIdent(o.source) + ") TO " +
                                 QuoteLiteral(o.out_path) + " (FORMAT parquet)");
          if (!n.ok()) {
            if (n.status().code() != StatusCode::kInvalidArgument) return n.status();
            // DuckDB's first line only: the rest quotes Swan's COPY and a server path.
            const std::string& m = n.status().message();
            return Status::InvalidArgument("output mapping: the transformation made no table '" +
                                           o.source + "' (" + m.substr(0, m.find('\n')) + ")")
                .WithDetail("field", "storage.output.tables");
          }
          rows->push_back(*n);
        }
        return Status::Ok();
      },
      /*script=*/true, &script));
  return *rows;
}

}  // namespace swan::query
