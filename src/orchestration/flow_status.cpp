#include "orchestration/flow_status.h"

namespace swan::orchestration {
namespace {

// How many runs back a rerun looks (a rerun of a rerun of ...).
constexpr size_t kMaxRerunChain = 1000;

bool Succeeded(const std::string& status) {
  return status == catalog::kJobSuccess || status == catalog::kJobWarning;
}

}  // namespace

Result<std::map<std::string, TaskState>> EarlierTaskStates(catalog::Catalog& cat,
                                                           const catalog::Job& flow_job) {
  std::vector<int64_t> runs;  // newest first
  if (flow_job.attempt > 1) runs.push_back(flow_job.id);
  for (std::optional<int64_t> run = flow_job.rerun_of; run && runs.size() < kMaxRerunChain;) {
    runs.push_back(*run);
    ASSIGN_OR_RETURN(auto earlier, cat.GetJob(*run));
    run = earlier.rerun_of;
  }
  std::map<std::string, TaskState> states;
  for (auto r = runs.rbegin(); r != runs.rend(); ++r) {
    catalog::JobFilter f;
    f.parent_job_id = *r;
    f.limit = 100000;
    ASSIGN_OR_RETURN(auto jobs, cat.ListJobs(f));
    // Oldest first: a task's last job decides (ListJobs gives the newest first).
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
      states[it->flow_task_id] = Succeeded(it->status) ? TaskState::kSucceeded : TaskState::kFailed;
  }
  return states;
}

std::vector<TaskStatus> TaskStatuses(const FlowDefinition& flow, const catalog::Job& flow_job,
                                     const std::vector<catalog::Job>& children,
                                     const std::map<std::string, TaskState>& earlier) {
  std::map<std::string, const catalog::Job*> last;  // task id -> its newest job of this run
  for (const auto& c : children) last[c.flow_task_id] = &c;
  std::vector<TaskStatus> out;
  for (const auto& t : flow.tasks) {
    TaskStatus s{t.id, t.name, t.phase, "", std::nullopt};
    if (auto it = last.find(t.id); it != last.end()) {
      s.status = it->second->status;
      s.job_id = it->second->id;
    } else if (!t.enabled) {
      s.status = "disabled";
    } else if (auto e = earlier.find(t.id);
               e != earlier.end() && e->second == TaskState::kSucceeded) {
      s.status = "reused";
    } else {
      s.status = catalog::IsFinalJobStatus(flow_job.status) ? "skipped" : "pending";
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace swan::orchestration
