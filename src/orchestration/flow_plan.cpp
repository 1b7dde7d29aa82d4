#include "orchestration/flow_plan.h"

#include <algorithm>
#include <set>

namespace swan::orchestration {

const char* TaskStateName(TaskState s) {
  switch (s) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kRunning:
      return "running";
    case TaskState::kSucceeded:
      return "success";
    case TaskState::kFailed:
      return "error";
    case TaskState::kSkipped:
      return "skipped";
    case TaskState::kReused:
      return "reused";
    case TaskState::kDisabled:
      return "disabled";
  }
  return "?";
}

const char* PhaseStateName(PhaseState s) {
  switch (s) {
    case PhaseState::kWaiting:
      return "waiting";
    case PhaseState::kRunning:
      return "running";
    case PhaseState::kSucceeded:
      return "success";
    case PhaseState::kFailed:
      return "error";
    case PhaseState::kSkipped:
      return "skipped";
  }
  return "?";
}

FlowPlan::FlowPlan(FlowDefinition flow) : FlowPlan(std::move(flow), {}) {}

FlowPlan::FlowPlan(FlowDefinition flow, const std::vector<bool>& reuse) : flow_(std::move(flow)) {
  phases_.resize(flow_.phases.size());
  for (size_t p = 0; p < flow_.phases.size(); ++p)
    for (const auto& dep : flow_.phases[p].depends_on)
      phases_[p].depends_on.push_back(static_cast<size_t>(flow_.PhaseIndex(dep)));
  tasks_.resize(flow_.tasks.size(), TaskState::kPending);
  for (size_t t = 0; t < flow_.tasks.size(); ++t) {
    phases_[static_cast<size_t>(flow_.PhaseIndex(flow_.tasks[t].phase))].tasks.push_back(t);
    if (!flow_.tasks[t].enabled) {
      tasks_[t] = TaskState::kDisabled;
    } else if (t < reuse.size() && reuse[t]) {
      tasks_[t] = TaskState::kReused;
    }
  }
  Advance();
}

Result<FlowPlan> FlowPlan::RerunFromFailure(FlowDefinition flow,
                                            const std::map<std::string, TaskState>& previous) {
  // Phases with a task that did not succeed, then every phase after them.
  std::set<std::string> dirty;
  for (const auto& task : flow.tasks) {
    if (!task.enabled) continue;
    auto it = previous.find(task.id);
    const bool succeeded = it != previous.end() && (it->second == TaskState::kSucceeded ||
                                                    it->second == TaskState::kReused);
    if (!succeeded) dirty.insert(task.phase);
  }
  if (dirty.empty())
    return Status::Conflict("every task of the run succeeded: there is nothing to rerun");
  // Every phase after one of those runs whole again: its inputs change.
  std::set<std::string> downstream;
  for (const auto& phase : flow.phases) {  // topological: dependencies are decided first
    for (const auto& dep : phase.depends_on)
      if (dirty.count(dep) || downstream.count(dep)) downstream.insert(phase.id);
  }
  std::vector<bool> reuse(flow.tasks.size(), false);
  for (size_t t = 0; t < flow.tasks.size(); ++t) {
    const FlowTask& task = flow.tasks[t];
    auto it = previous.find(task.id);
    const bool succeeded = it != previous.end() && (it->second == TaskState::kSucceeded ||
                                                    it->second == TaskState::kReused);
    reuse[t] = task.enabled && succeeded && !downstream.count(task.phase);
  }
  return FlowPlan(std::move(flow), reuse);
}

void FlowPlan::Advance() {
  // Phases are in topological order: one pass decides each from its settled dependencies; a
  // phase that ends in this pass lets later ones start in the same pass.
  for (size_t p = 0; p < phases_.size(); ++p) {
    Phase& phase = phases_[p];
    if (phase.state == PhaseState::kWaiting) {
      bool ended = true, all_succeeded = true, any_failed = false;
      for (size_t d : phase.depends_on) {
        const Phase& dep = phases_[d];
        ended &= dep.state == PhaseState::kSucceeded || dep.state == PhaseState::kFailed ||
                 dep.state == PhaseState::kSkipped;
        all_succeeded &= dep.state == PhaseState::kSucceeded;
        any_failed |= dep.state == PhaseState::kFailed ||
                      (dep.state == PhaseState::kSkipped && dep.upstream_failed);
      }
      if (!ended) continue;
      bool run = false;
      switch (flow_.phases[p].condition) {
        case PhaseCondition::kSuccess:
          run = all_succeeded;
          break;
        case PhaseCondition::kFailure:
          run = any_failed;
          break;
        case PhaseCondition::kAlways:
          run = true;
          break;
      }
      if (stopped_) run = false;
      if (!run) {
        phase.state = PhaseState::kSkipped;
        phase.upstream_failed = any_failed;
        for (size_t t : phase.tasks)
          if (tasks_[t] == TaskState::kPending || tasks_[t] == TaskState::kReused)
            tasks_[t] = TaskState::kSkipped;
        continue;
      }
      phase.state = PhaseState::kRunning;
    }
    if (phase.state == PhaseState::kRunning) {
      bool ended = true, failed = false;
      for (size_t t : phase.tasks) {
        ended &= tasks_[t] != TaskState::kPending && tasks_[t] != TaskState::kRunning;
        failed |= tasks_[t] == TaskState::kFailed && !flow_.tasks[t].continue_on_failure;
      }
      if (ended) phase.state = failed ? PhaseState::kFailed : PhaseState::kSucceeded;
    }
  }
}

std::vector<size_t> FlowPlan::Next() {
  std::vector<size_t> start;
  if (stopped_) return start;
  for (const Phase& phase : phases_) {
    if (phase.state != PhaseState::kRunning) continue;
    for (size_t t : phase.tasks) {
      if (running_ >= flow_.parallelism) return start;
      if (tasks_[t] != TaskState::kPending) continue;
      tasks_[t] = TaskState::kRunning;
      ++running_;
      start.push_back(t);
    }
  }
  return start;
}

void FlowPlan::Finish(size_t task, bool succeeded) {
  if (tasks_[task] != TaskState::kRunning) return;
  tasks_[task] = succeeded ? TaskState::kSucceeded : TaskState::kFailed;
  --running_;
  Advance();
}

void FlowPlan::Stop() {
  stopped_ = true;
  for (auto& state : tasks_)
    if (state == TaskState::kPending) state = TaskState::kSkipped;
  Advance();
}

bool FlowPlan::Done() const {
  if (running_ > 0) return false;
  return std::all_of(phases_.begin(), phases_.end(), [](const Phase& p) {
    return p.state == PhaseState::kSucceeded || p.state == PhaseState::kFailed ||
           p.state == PhaseState::kSkipped;
  });
}

std::string FlowPlan::Outcome() const {
  for (const Phase& p : phases_)
    if (p.state == PhaseState::kFailed) return "error";
  if (stopped_) return "error";
  for (size_t t = 0; t < tasks_.size(); ++t)
    if (tasks_[t] == TaskState::kFailed) return "warning";
  return "success";
}

}  // namespace swan::orchestration
