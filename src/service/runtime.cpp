#include "service/runtime.h"

#include <cstdlib>

#include "common/limits.h"
#include "service/access.h"
#include "service/schedules.h"

namespace swan::service {

std::string EffectiveMemoryLimit(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("SWAN_MEMORY_LIMIT"); env && *env) return env;
  return limits::kDefaultMemoryLimit;
}

Result<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& options, bool* created) {
  Env& env = options.env ? *options.env : Env::Posix();
  Clock& clock = options.clock ? *options.clock : Clock::System();
  std::unique_ptr<Runtime> rt(new Runtime(env, clock));
  rt->data_dir_ = options.data_dir.empty() ? limits::kDefaultDataDir : options.data_dir;
  rt->memory_limit_ = EffectiveMemoryLimit(options.memory_limit);
  RETURN_IF_ERROR(env.MakeDirs(rt->data_dir_));
  ASSIGN_OR_RETURN(rt->lock_, fs::DirLock::Acquire(rt->data_dir_));
  ASSIGN_OR_RETURN(rt->catalog_, catalog::OpenSqliteCatalog(rt->data_dir_ + "/catalog.db", &clock));
  if (options.wrap_catalog_for_test)
    rt->catalog_ = options.wrap_catalog_for_test(std::move(rt->catalog_));
  bool made = false;
  ASSIGN_OR_RETURN(int64_t org, rt->catalog_->EnsureOrganization("default", &made));
  (void)org;
  if (created) *created = made;
  storage::StoreOptions store_options = options.store;
  store_options.memory_limit = rt->memory_limit_;
  store_options.env = &env;
  store_options.clock = &clock;
  ASSIGN_OR_RETURN(rt->store_,
                   storage::TableStore::Open(*rt->catalog_, rt->data_dir_, store_options));
  query::SqlRunnerOptions sql_options;
  sql_options.data_dir = rt->data_dir_;
  sql_options.memory_limit = rt->memory_limit_;
  sql_options.env = &env;
  sql_options.worker_exe = options.sql_worker_exe;
  // $SWAN_SQL_WORKERS=0: queries run in the server process (no memory cap per query).
  if (const char* w = std::getenv("SWAN_SQL_WORKERS"); w && std::string(w) == "0")
    sql_options.worker_exe.clear();
  rt->sql_ = std::make_unique<query::SqlRunner>(sql_options);
  ASSIGN_OR_RETURN(rt->master_key_, secrets::LoadOrCreateMasterKey(rt->data_dir_ + "/master.key"));
  std::vector<std::string> dirs = {rt->data_dir_ + "/components"};
  if (const char* extra = std::getenv("SWAN_COMPONENTS_DIR"); extra && *extra) {
    std::string list = extra;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) dirs.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  dirs.insert(dirs.end(), options.component_dirs.begin(), options.component_dirs.end());
  rt->components_ = std::make_unique<jobs::ComponentRegistry>(std::move(dirs));
  jobs::JobRunnerParts parts;
  parts.catalog = rt->catalog_.get();
  parts.store = rt->store_.get();
  parts.sql = rt->sql_.get();
  parts.registry = rt->components_.get();
  parts.master_key = rt->master_key_;
  parts.data_dir = rt->data_dir_;
  parts.rights = [](const catalog::Token& token, const std::string& bucket, bool write) {
    return write ? RequireWrite(token, bucket) : RequireRead(token, bucket);
  };
  parts.env = &env;
  parts.clock = &clock;
  // Configurations' notifications (flows send their own): delivered off the job workers.
  orchestration::JobNotifierParts notifier_parts;
  notifier_parts.catalog = rt->catalog_.get();
  notifier_parts.clock = &clock;
  notifier_parts.master_key = rt->master_key_;
  rt->notifier_ = std::make_unique<orchestration::JobNotifier>(std::move(notifier_parts),
                                                               options.flows.webhook);
  parts.on_start = [n = rt->notifier_.get()](int64_t job_id) { n->JobStarted(job_id); };
  parts.on_end = [n = rt->notifier_.get()](int64_t job_id) { n->JobEnded(job_id); };
  jobs::JobRunnerOptions job_options = options.jobs;
  // Operators size the workers without a rebuild: $SWAN_JOB_WORKERS, $SWAN_JOBS_PER_PROJECT.
  for (auto [name, field] : {std::pair{"SWAN_JOB_WORKERS", &job_options.workers},
                             std::pair{"SWAN_JOBS_PER_PROJECT", &job_options.per_project_limit}}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 256)
      return Status::InvalidArgument(std::string(name) + " must be a number from 1 to 256");
    *field = static_cast<int>(n);
  }
  rt->jobs_ = std::make_unique<jobs::JobRunner>(std::move(parts), job_options);
  orchestration::FlowRunnerParts flow_parts;
  flow_parts.catalog = rt->catalog_.get();
  flow_parts.jobs = rt->jobs_.get();
  flow_parts.clock = &clock;
  flow_parts.master_key = rt->master_key_;
  rt->flows_ = std::make_unique<orchestration::FlowRunner>(std::move(flow_parts), options.flows);
  orchestration::SchedulerParts scheduler_parts;
  scheduler_parts.catalog = rt->catalog_.get();
  scheduler_parts.clock = &clock;
  scheduler_parts.start = [r = rt.get()](const orchestration::ScheduledStart& s) {
    return StartScheduled(*r, s);
  };
  rt->scheduler_ =
      std::make_unique<orchestration::Scheduler>(std::move(scheduler_parts), options.scheduler);
  if (options.start_jobs) {
    RETURN_IF_ERROR(rt->jobs_->Start());
    RETURN_IF_ERROR(rt->flows_->Start());  // after the jobs' restart sweep, which ends old flows
    RETURN_IF_ERROR(rt->scheduler_->Start());
  }
  return rt;
}

Runtime::~Runtime() {
  scheduler_.reset();  // before the runners it starts jobs on
  flows_.reset();      // before the job runner its flows wait on
  jobs_.reset();
  notifier_.reset();  // after the job runner, which reports job ends to it
  sql_.reset();
  store_.reset();
  catalog_.reset();
}

}  // namespace swan::service
