// SQL worker processes: each query of the SQL API runs in a child process of the server with a
// hard memory cap, so that no query can take the server past its memory limit.
//
// DuckDB bounds what its buffer manager holds (`memory_limit`), but not the strings it builds
// while it computes a vector: `SELECT repeat('x', 1000000) FROM range(1000)` takes 1 GB at once
// whatever the limit (issue 8, 10f). A worker runs with RLIMIT_DATA set to the memory limit plus
// the answer cap plus a base allowance; such a query fails inside the worker (`unavailable`,
// or the worker dies and the server answers `unavailable`), and the server's own memory does not
// move. Workers are the same executable (`swan __sql-worker ...`), started ahead of need and
// reused for query after query; one that failed, ran out of time or was cancelled is killed.
//
// Thread-safety: SqlWorkerPool::Execute may be called from any number of threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "query/sql_wire.h"

namespace swan::query {

// The argument that makes the executable a worker: `<exe> __sql-worker --data ...`.
inline constexpr const char* kSqlWorkerCommand = "__sql-worker";

// The worker's main: serves requests on file descriptor 3 until the server closes it. argv[1] is
// kSqlWorkerCommand. Returns the process exit code.
int SqlWorkerMain(int argc, char** argv);

// "512MB", "2GiB", "100000" (bytes) ... as DuckDB reads a memory limit; nullopt when it cannot be
// read as an absolute size (a percentage, a typo).
std::optional<uint64_t> ParseMemoryBytes(const std::string& text);

struct SqlWorkerOptions {
  std::string exe;           // the executable to start (the server's own: /proc/self/exe)
  std::string data_dir;      // as SqlRunnerOptions::data_dir
  std::string memory_limit;  // DuckDB's limit in the worker; its RLIMIT_DATA is derived from it
  int threads = 0;
  size_t idle_workers = 2;  // started ahead of need
  Env* env = nullptr;       // removes a reaped worker's spill folder; null = Env::Posix()
};

class SqlWorkerPool {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit SqlWorkerPool(SqlWorkerOptions options);
  // Kills every worker (idle or not: callers of Execute must have returned).
  ~SqlWorkerPool();
  SqlWorkerPool(const SqlWorkerPool&) = delete;
  SqlWorkerPool& operator=(const SqlWorkerPool&) = delete;

  // Runs one request in a worker. The worker's own answer (any status) is returned as it is.
  // Errors of the pool itself: cancelled with detail "reason" = "deadline" (no answer by
  // `deadline` plus a short grace: the worker is killed) or "stop" (`stop` answered true: the
  // worker is killed); unavailable (no worker could start, or the worker ended without an answer,
  // which is how running out of its memory cap usually looks).
  // request.timeout_ms is set here: what is left until `deadline` once a worker is at hand.
  Result<wire::Answer> Execute(wire::Request request, TimePoint deadline,
                               const std::function<bool()>& stop);

  // The RLIMIT_DATA of each worker, in bytes (0 = none: the memory limit is not absolute).
  uint64_t data_bytes_max() const { return data_bytes_max_; }

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
  };
  Result<Worker> Acquire(TimePoint deadline, const std::function<bool()>& stop);
  void Release(Worker worker, bool reusable);
  void Kill(Worker worker);         // SIGKILL now; the spawner thread reaps it
  void KillLocked(Worker worker);   // the same, with mu_ held
  void KillAndReap(Worker worker);  // SIGKILL, and wait for it here
  Result<Worker> Spawn();           // on the spawner thread only (the worker dies with that thread)
  void SpawnerLoop();
  void Reap(pid_t pid);  // waits for a killed worker and removes its spill folder

  const SqlWorkerOptions options_;
  Env& env_;
  const uint64_t data_bytes_max_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Worker> idle_;      // oldest first
  std::vector<pid_t> dead_;      // killed or ended, to be reaped
  int waiting_ = 0;              // callers of Acquire with no idle worker to take
  uint64_t spawn_failures_ = 0;  // ever; a caller waiting gives up at the first after it came
  Status spawn_error_;
  bool stopping_ = false;
  std::thread spawner_;
};

}  // namespace swan::query
