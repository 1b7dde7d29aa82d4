// The state of one flow run: which tasks may start now, what a finished task means for its phase
// and for the phases after it, and the flow's outcome. Pure logic, no jobs and no clock: the flow
// job (one per run, its tasks child jobs) drives it, and tests drive it directly.
//
// Rules (docs/orchestration.md, "Flows"):
// - A phase starts when every phase it depends on has ended and its condition holds: "success"
//   (every dependency succeeded), "failure" (a dependency failed, or was skipped because of a
//   failure before it), "always". Otherwise it is skipped, and so are its tasks.
// - The tasks of running phases start in configured order, at most `parallelism` at once
//   (independent phases run side by side). Disabled tasks never run.
// - A phase fails when one of its tasks fails without continueOnFailure; a failure with
//   continueOnFailure is a warning.
// - The flow's outcome: "error" when a phase failed, "warning" when a task failed with
//   continueOnFailure, "success" otherwise.
// - Rerun from failure: the tasks that did not succeed, and every task of the phases after
//   theirs, run again; every other task's previous success is reused (also a task that succeeded
//   beside a failed one in its phase).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestration/flow_definition.h"

namespace swan::orchestration {

enum class TaskState { kPending, kRunning, kSucceeded, kFailed, kSkipped, kReused, kDisabled };
enum class PhaseState { kWaiting, kRunning, kSucceeded, kFailed, kSkipped };

const char* TaskStateName(TaskState s);  // "pending", "running", "success", "error", ...
const char* PhaseStateName(PhaseState s);

class FlowPlan {
 public:
  explicit FlowPlan(FlowDefinition flow);

  // A rerun of a run whose tasks ended in `previous` (task id -> state; a task missing from it
  // never ran). Conflict when every task succeeded: nothing to rerun.
  static Result<FlowPlan> RerunFromFailure(FlowDefinition flow,
                                           const std::map<std::string, TaskState>& previous);

  // The tasks (indexes into definition().tasks) to start now; they are marked running.
  std::vector<size_t> Next();
  // A running task ended.
  void Finish(size_t task, bool succeeded);
  // No task starts any more (the flow was cancelled or timed out): what waits is skipped.
  void Stop();

  bool Done() const;            // nothing runs and nothing can start
  std::string Outcome() const;  // "success" | "warning" | "error" (meaningful once Done)

  const FlowDefinition& definition() const { return flow_; }
  TaskState task_state(size_t task) const { return tasks_[task]; }
  PhaseState phase_state(size_t phase) const { return phases_[phase].state; }
  int running() const { return running_; }

 private:
  struct Phase {
    PhaseState state = PhaseState::kWaiting;
    bool upstream_failed = false;  // skipped because of a failure before it
    std::vector<size_t> tasks;     // indexes into flow_.tasks, configured order
    std::vector<size_t> depends_on;
  };
  FlowPlan(FlowDefinition flow, const std::vector<bool>& reuse);
  // Starts the phases that can start, skips those that cannot, ends those whose tasks ended.
  void Advance();

  FlowDefinition flow_;
  std::vector<TaskState> tasks_;
  std::vector<Phase> phases_;
  int running_ = 0;
  bool stopped_ = false;
};

}  // namespace swan::orchestration
