// What each task of a flow run did. A task with jobs of this run shows its last job's status;
// one without is "reused" (it succeeded in a run this one repeats: a rerun, or an earlier
// attempt of this job), "disabled", "skipped" (the run ended without it) or "pending". The flow
// runner plans a rerun from EarlierTaskStates; the API and `swan flow show` list TaskStatuses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "orchestration/flow_definition.h"
#include "orchestration/flow_plan.h"

namespace swan::orchestration {

struct TaskStatus {
  std::string id;
  std::string name;
  std::string phase;   // the phase's id
  std::string status;  // a job status, or reused | disabled | skipped | pending
  std::optional<int64_t> job_id;
};

// Task id -> how it ended in the runs `flow_job` repeats: the run it reruns and the runs that
// one reran, back to the first (the newest run in which a task had a job decides), and, for a
// later attempt, this job's own earlier tasks (they decide last). Empty for a first run.
Result<std::map<std::string, TaskState>> EarlierTaskStates(catalog::Catalog& cat,
                                                           const catalog::Job& flow_job);

// Every task of `flow`, in configured order. `children`: the run's task jobs, oldest first.
std::vector<TaskStatus> TaskStatuses(const FlowDefinition& flow, const catalog::Job& flow_job,
                                     const std::vector<catalog::Job>& children,
                                     const std::map<std::string, TaskState>& earlier);

}  // namespace swan::orchestration
