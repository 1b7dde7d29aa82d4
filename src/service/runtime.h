// The runtime: what a Swan process runs on, with or without HTTP in front. It owns the catalog,
// the table store and the SQL runner, the job runner, the flow runner and the scheduler, the Env
// and the Clock they use, and starts and stops them in order. `swan server` is an HTTP front that
// borrows a Runtime; a `swan worker` process will run the same Runtime with no HTTP at all.
//
// Thread-safety: the accessors may be called from any thread between Open and destruction; the
// objects they return are themselves thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/dir_lock.h"
#include "common/env.h"
#include "common/secret_box.h"
#include "common/status.h"
#include "jobs/component_registry.h"
#include "jobs/job_runner.h"
#include "orchestration/flow_runner.h"
#include "orchestration/job_notifier.h"
#include "orchestration/scheduler.h"
#include "query/sql_runner.h"
#include "storage/table_store.h"

namespace swan::service {

struct RuntimeOptions {
  std::string data_dir;
  std::string memory_limit;  // DuckDB memory limit per engine instance; empty = the default
  // Not empty: SQL queries run in worker processes of this executable (SqlRunnerOptions).
  std::string sql_worker_exe;
  Env* env = nullptr;      // null = Env::Posix(); must outlive the runtime
  Clock* clock = nullptr;  // null = Clock::System(); must outlive the runtime
  // Test seams passed to the table store (see StoreOptions).
  storage::StoreOptions store;
  // Jobs: worker threads and the per-project limit. start_jobs = false opens the runtime without
  // workers (jobs stay waiting), for tests of the layers below.
  jobs::JobRunnerOptions jobs;
  orchestration::FlowRunnerOptions flows;
  orchestration::SchedulerOptions scheduler;
  bool start_jobs = true;
  // Folders of component registry files, searched after <data_dir>/components and the folders
  // in $SWAN_COMPONENTS_DIR (colon-separated).
  std::vector<std::string> component_dirs;
  // Test seam: wraps the opened catalog (e.g. to inject faults into single calls).
  std::function<std::unique_ptr<catalog::Catalog>(std::unique_ptr<catalog::Catalog>)>
      wrap_catalog_for_test;
};

class Runtime {
 public:
  // Opens (initialising when new) the data directory: catalog, table store, SQL runner. The
  // organization exists afterwards; *created says whether this call made it.
  static Result<std::unique_ptr<Runtime>> Open(const RuntimeOptions& options,
                                               bool* created = nullptr);
  // Stops background work (the SQL runner's spare instances, later jobs and schedules).
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  catalog::Catalog& catalog() { return *catalog_; }
  storage::TableStore& store() { return *store_; }
  query::SqlRunner& sql() { return *sql_; }
  jobs::JobRunner& jobs() { return *jobs_; }
  orchestration::FlowRunner& flows() { return *flows_; }
  orchestration::Scheduler& scheduler() { return *scheduler_; }
  const jobs::ComponentRegistry& components() const { return *components_; }
  // The instance's master key (<data_dir>/master.key): it wraps every project's secret key.
  const secrets::Key& master_key() const { return master_key_; }
  Env& env() { return env_; }
  Clock& clock() { return clock_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& memory_limit() const { return memory_limit_; }

 private:
  Runtime(Env& env, Clock& clock) : env_(env), clock_(clock) {}
  Env& env_;
  Clock& clock_;
  fs::DirLock lock_;  // released last: nothing of this runtime touches the directory after it
  std::string data_dir_;
  std::string memory_limit_;
  // Destroyed in reverse order: the runner and the store before the catalog they use.
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<storage::TableStore> store_;
  std::unique_ptr<query::SqlRunner> sql_;
  secrets::Key master_key_{};
  std::unique_ptr<jobs::ComponentRegistry> components_;
  std::unique_ptr<orchestration::JobNotifier> notifier_;  // stopped after the jobs it hears of
  std::unique_ptr<jobs::JobRunner> jobs_;  // stopped third: its jobs use everything above
  std::unique_ptr<orchestration::FlowRunner> flows_;     // stopped second: flows wait on jobs
  std::unique_ptr<orchestration::Scheduler> scheduler_;  // stopped first: it starts jobs
};

// The memory limit a process uses: `given`, else $SWAN_MEMORY_LIMIT, else the default.
std::string EffectiveMemoryLimit(const std::string& given);

}  // namespace swan::service
