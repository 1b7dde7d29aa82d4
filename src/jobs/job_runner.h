// The job runner: worker threads of the runtime that take waiting jobs from the catalog and run
// them, at most `per_project_limit` at once per project. A job runs its component — the built-in
// SQL transformation in Swan's process, anything else as a sandboxed process on Keboola's common
// interface — and commits all its outputs, its new state and its final status in one catalog
// transaction, or nothing of them.
//
// Lifecycle: Start() first ends the jobs a previous process left `processing` (kill -9, power
// loss): `terminated`, or back to `waiting` when their retry policy allows another attempt; then
// the workers start. Stop() cancels what runs and joins the workers.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/secret_box.h"
#include "jobs/component_registry.h"
#include "jobs/job_context.h"
#include "query/sql_runner.h"
#include "storage/table_store.h"

namespace swan::jobs {

struct JobRunnerOptions {
  int workers = 4;
  int per_project_limit = 2;
  std::string worker_id;  // default "<pid>@<start time>"
  int64_t poll_ms = 500;  // how often idle workers look for jobs queued by other processes
};

struct JobRunnerParts {
  catalog::Catalog* catalog = nullptr;
  storage::TableStore* store = nullptr;
  query::SqlRunner* sql = nullptr;
  const ComponentRegistry* registry = nullptr;
  secrets::Key master_key{};
  std::string data_dir;
  RightsCheck rights;
  Env* env = nullptr;
  Clock* clock = nullptr;
  // Called with the job's id as each run of a job starts, and after it ended (it may then be
  // waiting for a retry).
  std::function<void(int64_t)> on_start;
  std::function<void(int64_t)> on_end;
};

class JobRunner {
 public:
  JobRunner(JobRunnerParts parts, JobRunnerOptions options);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  Status Start();
  void Stop();
  // A job became waiting: wake a worker.
  void Notify();
  // Kills the job's component if it runs here (after the catalog recorded the request).
  void Cancel(int64_t job_id);
  // Something happened (events written, a job ended): a counter for WaitForActivity.
  uint64_t activity() const { return activity_.load(); }
  // Something happened outside the workers (a flow's events or end): wakes WaitForActivity.
  void Touch();
  // Returns when activity() differs from `seen`, or after timeout_ms.
  void WaitForActivity(uint64_t seen, int64_t timeout_ms);
  const std::string& jobs_dir() const { return jobs_dir_; }

 private:
  Status SweepUncommittedFiles();
  struct Running;
  void WorkerLoop();
  void RunClaimed(catalog::Job job);

  JobRunnerParts parts_;
  JobRunnerOptions options_;
  std::string jobs_dir_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;  // work or stop
  bool stopping_ = false;
  bool started_ = false;
  std::map<int64_t, std::shared_ptr<Running>> running_;
  std::atomic<uint64_t> activity_{0};
  std::mutex activity_mu_;
  std::condition_variable activity_cv_;
};

}  // namespace swan::jobs
