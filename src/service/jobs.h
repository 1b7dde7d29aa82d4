// Services: running configurations as jobs, and reading jobs and their events. A job runs with
// the rights of the token that started it, in its project only: another project's token sees
// no job of this one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobs/variables.h"
#include "orchestration/flow_status.h"
#include "service/caller.h"
#include "service/runtime.h"

namespace swan::service {

struct RunRequest {
  std::string config_id;
  std::string row_id;         // empty: the whole configuration
  int64_t timeout_ms = 0;     // 0: the component's default
  int max_attempts = 1;       // retries of application errors and timeouts: max_attempts - 1
  bool debug = false;         // keep the job's folder (secrets sealed again)
  jobs::Variables variables;  // replace {{ name }} in the configuration (a flow: its tasks')
  std::string origin;         // who asked, when not a person: "schedule:nightly", "trigger:t1"
};

// Creates the job (created), checks what can be checked before it runs, and queues it
// (waiting). The job and its audit event commit together.
Result<catalog::Job> RunConfig(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               const RunRequest& request);
Result<catalog::Job> GetJob(Runtime& rt, const Caller& caller, const catalog::Project& project,
                            int64_t job_id);
Result<std::vector<catalog::Job>> ListJobs(Runtime& rt, const Caller& caller,
                                           const catalog::Project& project,
                                           const std::string& config_id, const std::string& status,
                                           int limit);
// Cancels a job: at once when it has not started, else its component's processes are killed.
Result<catalog::Job> CancelJob(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               int64_t job_id);
// Events with id > after_id. With wait_ms > 0 and none yet, waits for some (or the job's end)
// up to wait_ms: the follow mode.
Result<std::vector<catalog::JobEvent>> JobEvents(Runtime& rt, const Caller& caller,
                                                 const catalog::Project& project, int64_t job_id,
                                                 int64_t after_id, int limit, int64_t wait_ms);

// A flow job's tasks: the jobs it created, oldest first.
Result<std::vector<catalog::Job>> FlowTasks(Runtime& rt, const Caller& caller,
                                            const catalog::Project& project, int64_t flow_job_id);
// Every task of a flow job's flow with what it did in this run (orchestration/flow_status.h);
// `tasks`: FlowTasks of the job.
Result<std::vector<orchestration::TaskStatus>> FlowTaskStatuses(
    Runtime& rt, const catalog::Job& flow_job, const std::vector<catalog::Job>& tasks);
// A TaskStatus as the API shows it: {id, name, phase, status, job}.
nlohmann::json TaskStatusJson(const orchestration::TaskStatus& s);
// Reruns a flow job that did not succeed: a new flow job on the same configuration version,
// whose tasks that succeeded before are reused and the others, with every phase after theirs,
// run again.
Result<catalog::Job> RerunFlow(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               int64_t flow_job_id);

nlohmann::json JobJson(const catalog::Job& job);
nlohmann::json JobEventJson(const catalog::JobEvent& e);

}  // namespace swan::service
