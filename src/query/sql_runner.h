// Read-only SQL over a project's tables, in sandboxes.
//
// Each query runs in a DuckDB instance of its own, used once and then closed, that can reach only
// the segment files of the tables it may read (external access off, configuration locked) and
// spills to a private folder under the data directory that no other query can read. Every query
// is bounded (docs/architecture.md, "SQL sandbox"; values in common/limits.h):
//   - time: from the request's arrival (SqlRequest::started) through the wait for a sandbox,
//     parsing, planning and execution; the caller gets its answer at the deadline even while
//     DuckDB still plans, which no interrupt reaches (the sandbox then stops on its own and keeps
//     its slot until it has);
//   - rows and rendered bytes of the answer (truncated: true past either);
//   - SQL text size;
//   - sandboxes at once (each may use up to the memory limit): past kSqlSandboxesMax, after a
//     short wait, `unavailable` with the detail kRetryAfterSecondsDetail.
//
// Thread-safety: Run and RunToParquet may be called from any number of threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/limits.h"
#include "common/status.h"
#include "engine/duckdb.h"

namespace swan::query {

// Aliases of common/limits.h for the SQL route, which spells them query::...
inline constexpr int64_t kSqlRowsDefault = limits::kSqlRowsDefault;
inline constexpr int64_t kSqlTimeoutMsDefault = limits::kSqlTimeoutMsDefault;

// A table visible to the query as a view named by its full id ("in.sales.orders").
struct SqlTable {
  std::string full_id;
  std::string select_sql;          // the version's rows (may include _swan_ts)
  std::vector<std::string> files;  // the segment files it reads
};

struct SqlRequest {
  std::string sql;  // at most limits::kSqlTextBytesMax bytes
  int64_t row_limit = limits::kSqlRowsDefault;
  int64_t timeout_ms = limits::kSqlTimeoutMsDefault;
  // When the request arrived: the time limit counts from here. Unset: from the call to Run.
  std::optional<std::chrono::steady_clock::time_point> started;
  // Past this many rendered bytes (JSON, an upper bound of CSV too) rows stop: truncated.
  size_t answer_bytes_max = limits::kSqlAnswerBytesMax;
  // When it turns true the query is interrupted (ends `cancelled`); null = never. Shared: the
  // query may outlive the call (it answers at the deadline while DuckDB still plans).
  std::shared_ptr<const std::atomic<bool>> cancel;
};

struct SqlResult {
  engine::Rows rows;
  bool truncated = false;  // more rows existed than row_limit or answer_bytes_max allowed
  int64_t elapsed_ms = 0;  // from SqlRequest::started
};

// A SQL script (a transformation): statements run in order in one sandbox, then the tables it
// names as outputs are written to Parquet files.
struct ScriptStatement {
  std::string sql;
  std::string where;  // for errors: "block 1 (Main), code 2 (Join), statement 3"
};
struct ScriptOutput {
  std::string source;    // a table or view the script made
  std::string out_path;  // the Parquet file to write
};
struct ScriptRequest {
  std::vector<ScriptStatement> statements;
  std::vector<ScriptOutput> outputs;
  int64_t timeout_ms = limits::kSqlTimeoutMsMax;
  std::optional<std::chrono::steady_clock::time_point> started;
  std::shared_ptr<const std::atomic<bool>> cancel;  // as SqlRequest::cancel
  // Set: the script may run in an instance kept from an earlier script of this project, and its
  // instance is kept for a later one when the script left nothing behind (its objects live in a
  // database attached for it and detached after). Such an instance may read and write below
  // `reuse_directories` (the project's segments, its scripts' output folder) instead of exactly
  // the files of `tables` and the outputs: only for a caller who may read every table there.
  std::optional<int64_t> reuse_project;
  std::vector<std::string> reuse_directories;
};

struct SqlRunnerOptions {
  std::string data_dir;      // sandboxes spill under <data_dir>/sql-spill/<random>/ (required)
  std::string memory_limit;  // DuckDB memory limit of each sandbox; empty = DuckDB's default
  int threads = 0;           // DuckDB threads of each sandbox; 0 = DuckDB's default
  int sandboxes_max = limits::kSqlSandboxesMax;
  int64_t sandbox_wait_ms = limits::kSqlSandboxWaitMs;
  Env* env = nullptr;  // the file system of spill folders and output files; null = Env::Posix()
  // Where sandboxes spill (each in a folder of its own below); empty = <data_dir>/sql-spill.
  // Leftovers there are removed at start.
  std::string spill_root;
  size_t spare_sandboxes = 3;  // blank instances kept open ahead of need
  size_t refill_threads = 2;   // threads that open them and close used ones
  size_t warm_sandboxes = 4;   // instances kept for reuse by scripts of their project
  // Not empty: Run and RunToParquet go to worker processes started from this executable
  // (query/sql_worker.h), each capped in memory; RunScript stays in this process.
  std::string worker_exe;
  size_t idle_workers = 2;
};

class SqlWorkerPool;

class SqlRunner {
 public:
  // Removes sandbox spill folders a previous process left behind, and starts a thread that keeps
  // a few blank DuckDB instances ready (opening one costs more than many queries) and closes used
  // ones off the request path.
  explicit SqlRunner(SqlRunnerOptions options);
  // Interrupts the queries still running (they end `cancelled`), waits for them, closes every
  // instance and removes their spill folders.
  ~SqlRunner();
  SqlRunner(const SqlRunner&) = delete;
  SqlRunner& operator=(const SqlRunner&) = delete;

  // Runs the query; at most row_limit rows and answer_bytes_max rendered bytes are returned
  // (truncated says there were more). Errors: invalid_argument (the SQL, a limit, the time limit
  // with field timeout_ms), payload_too_large (SQL text), unavailable (no free sandbox, engine
  // out of memory or disk), cancelled (the runner is shutting down), internal.
  Result<SqlResult> Run(const std::vector<SqlTable>& tables, const SqlRequest& request);
  // Writes the query's whole result to a Parquet file (for SQL into a table); returns rows. The
  // file is removed if the query fails or outlives its time limit.
  Result<int64_t> RunToParquet(const std::vector<SqlTable>& tables, const SqlRequest& request,
                               const std::string& out_path);

  // Runs a script with every table of `tables` visible as a view (no copy), then writes each
  // output; returns the rows of each output, in order. A failing statement is invalid_argument
  // naming its `where` and DuckDB's message; an output the script did not make is
  // invalid_argument naming it. Output files are removed when anything fails.
  Result<std::vector<int64_t>> RunScript(const std::vector<SqlTable>& tables,
                                         const ScriptRequest& request);
  // Returns once every used instance has been closed (they close on a background thread). A
  // worker process calls it between queries, so that its memory cap holds one query's instance
  // at a time.
  void WaitUntilRetiredClosed();
  // Sandboxes running now (for tests and monitoring).
  int running_sandboxes() const;

 private:
  class Sandbox;
  struct Job;
  using Body = std::function<Status(engine::Connection& conn, const std::string& sql)>;

  // Checks the request, waits for a sandbox slot, runs `body` on a thread of its own and waits
  // for it until the deadline.
  // `script`: every table is visible and the body may run any statements (a transformation);
  // otherwise only the tables the SQL names, and it must be a single SELECT.
  // `reuse`: a script's reuse_project and reuse_directories (ScriptRequest).
  Status RunJob(const std::vector<SqlTable>& tables, const SqlRequest& request,
                std::vector<std::string> writable_paths, Body body, bool script = false,
                const ScriptRequest* reuse = nullptr);
  Status AcquireSlot(std::chrono::steady_clock::time_point deadline);
  void ReleaseSlot();
  // On the job's thread: the sandbox's whole life, then the slot's release.
  void RunSandbox(const std::shared_ptr<Job>& job);
  Status RunInSandbox(Job& job, Sandbox& sandbox);

  Result<std::unique_ptr<Sandbox>> OpenSandbox() const;
  Result<std::unique_ptr<Sandbox>> TakeSandbox();
  // An instance kept for `project`, or a blank one locked to `directories` for it.
  Result<std::unique_ptr<Sandbox>> TakeWarm(int64_t project,
                                            const std::vector<std::string>& directories);
  // Detaches the script's database; true when the instance is as it was before the script.
  bool ResetForReuse(Sandbox& sandbox);
  void KeepWarm(std::unique_ptr<Sandbox> sandbox);  // the oldest kept one retires past the cap
  void Retire(std::unique_ptr<Sandbox> sandbox);
  void RefillLoop();

  // Run and RunToParquet in a worker process (options_.worker_exe).
  Status RunInWorker(const std::vector<SqlTable>& tables, const SqlRequest& request,
                     const std::string& out_path, SqlResult* result, int64_t* parquet_rows);

  // Opening an instance costs ~7-8 ms of CPU: a chain of short jobs (a flow's tasks) drained two
  // spares refilled by one thread, and each job then waited for an open of its own (hence the
  // defaults of 3 spares and 2 refill threads in SqlRunnerOptions).
  const SqlRunnerOptions options_;
  Env& env_;
  const std::string spill_root_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Sandbox>> spares_;
  std::vector<std::unique_ptr<Sandbox>> retired_;  // used instances, closed off the request path
  std::deque<std::unique_ptr<Sandbox>> warm_;      // kept for their project, oldest first
  std::map<int64_t, int> resetting_;               // project -> its instances being reset
  size_t closing_ = 0;                             // taken from retired_, being closed
  bool pool_stopping_ = false;
  std::vector<std::thread> refill_;
  std::unique_ptr<SqlWorkerPool> workers_;  // when options_.worker_exe is set

  mutable std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  int running_ = 0;                      // slots taken
  std::set<std::shared_ptr<Job>> jobs_;  // running jobs, for the shutdown's interrupts
  bool stopping_ = false;
};

}  // namespace swan::query
