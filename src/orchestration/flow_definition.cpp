#include "orchestration/flow_definition.h"

#include <algorithm>
#include <functional>
#include <set>

namespace swan::orchestration {
namespace {

using nlohmann::json;

Status FieldError(const std::string& field, const std::string& message) {
  return Status::InvalidArgument(field + ": " + message).WithDetail("field", field);
}

// An id as Keboola writes it: a number or a non-empty string.
Result<std::string> IdOf(const json& value, const std::string& field) {
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_string() && !value.get<std::string>().empty()) return value.get<std::string>();
  return FieldError(field, "must be a number or a non-empty string");
}

// true/false, or Keboola's "true"/"false" strings (and "1"/"0").
Result<bool> FlagOf(const json& object, const std::string& key, bool fallback,
                    const std::string& field) {
  if (!object.contains(key) || object[key].is_null()) return fallback;
  const json& v = object[key];
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
    return v.get<int64_t>() == 1;
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
  }
  return FieldError(field + "." + key, "must be true or false");
}

std::string TextOf(const json& object, const std::string& key) {
  if (!object.contains(key)) return "";
  const json& v = object[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return "";
}

Result<FlowPhase> ParsePhase(const json& p, const std::string& field) {
  if (!p.is_object()) return FieldError(field, "must be an object");
  FlowPhase phase;
  if (!p.contains("id")) return FieldError(field + ".id", "is required");
  ASSIGN_OR_RETURN(phase.id, IdOf(p["id"], field + ".id"));
  phase.name = TextOf(p, "name");
  if (p.contains("dependsOn") && !p["dependsOn"].is_null()) {
    if (!p["dependsOn"].is_array()) return FieldError(field + ".dependsOn", "must be a list");
    for (size_t i = 0; i < p["dependsOn"].size(); ++i) {
      ASSIGN_OR_RETURN(std::string dep,
                       IdOf(p["dependsOn"][i], field + ".dependsOn[" + std::to_string(i) + "]"));
      phase.depends_on.push_back(dep);
    }
  }
  const std::string condition = p.contains("condition") ? TextOf(p, "condition") : "success";
  if (condition == "success") {
    phase.condition = PhaseCondition::kSuccess;
  } else if (condition == "failure") {
    phase.condition = PhaseCondition::kFailure;
  } else if (condition == "always") {
    phase.condition = PhaseCondition::kAlways;
  } else {
    return FieldError(field + ".condition", "must be \"success\", \"failure\" or \"always\"");
  }
  return phase;
}

Result<FlowTask> ParseTask(const json& t, const std::string& field) {
  if (!t.is_object()) return FieldError(field, "must be an object");
  FlowTask task;
  if (!t.contains("id")) return FieldError(field + ".id", "is required");
  ASSIGN_OR_RETURN(task.id, IdOf(t["id"], field + ".id"));
  task.name = TextOf(t, "name");
  if (!t.contains("phase")) return FieldError(field + ".phase", "is required");
  ASSIGN_OR_RETURN(task.phase, IdOf(t["phase"], field + ".phase"));
  ASSIGN_OR_RETURN(task.enabled, FlagOf(t, "enabled", true, field));
  ASSIGN_OR_RETURN(task.continue_on_failure, FlagOf(t, "continueOnFailure", false, field));
  if (!t.contains("task") || !t["task"].is_object())
    return FieldError(field + ".task", "is required: {componentId, configId}");
  const json& job = t["task"];
  task.component_id = TextOf(job, "componentId");
  if (task.component_id.empty()) return FieldError(field + ".task.componentId", "is required");
  task.config_id = TextOf(job, "configId");
  if (task.config_id.empty()) return FieldError(field + ".task.configId", "is required");
  if (job.contains("configRowIds") && !job["configRowIds"].is_null()) {
    if (!job["configRowIds"].is_array())
      return FieldError(field + ".task.configRowIds", "must be a list");
    for (size_t i = 0; i < job["configRowIds"].size(); ++i) {
      ASSIGN_OR_RETURN(std::string row, IdOf(job["configRowIds"][i], field + ".task.configRowIds[" +
                                                                         std::to_string(i) + "]"));
      task.config_row_ids.push_back(row);
    }
  }
  if (job.contains("mode")) {
    // Keboola's "run" and its old "j2jRun"; "debug" has no meaning in a flow.
    const std::string mode = TextOf(job, "mode");
    if (mode != "run" && mode != "j2jRun")
      return FieldError(field + ".task.mode", "must be \"run\", not \"" + mode + "\"");
  }
  return task;
}

// Orders the phases so that each comes after the phases it depends on (stable: configured order
// where the DAG allows); a cycle is an error naming its phases.
Status SortPhases(std::vector<FlowPhase>* phases) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < phases->size(); ++i) index[(*phases)[i].id] = i;
  std::vector<int> mark(phases->size(), 0);  // 0 new, 1 on the path, 2 placed
  std::vector<FlowPhase> sorted;
  std::vector<std::string> path;
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (mark[i] == 2) return Status::Ok();
    if (mark[i] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), (*phases)[i].id);
      for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
      return FieldError("phases", "the dependencies form a cycle: " + cycle + (*phases)[i].id);
    }
    mark[i] = 1;
    path.push_back((*phases)[i].id);
    for (const auto& dep : (*phases)[i].depends_on) RETURN_IF_ERROR(visit(index.at(dep)));
    path.pop_back();
    mark[i] = 2;
    sorted.push_back((*phases)[i]);
    return Status::Ok();
  };
  for (size_t i = 0; i < phases->size(); ++i) RETURN_IF_ERROR(visit(i));
  *phases = std::move(sorted);
  return Status::Ok();
}

}  // namespace

int FlowDefinition::PhaseIndex(const std::string& id) const {
  for (size_t i = 0; i < phases.size(); ++i)
    if (phases[i].id == id) return static_cast<int>(i);
  return -1;
}

Result<FlowDefinition> ParseFlow(const json& configuration) {
  if (!configuration.is_object()) return FieldError("configuration", "must be an object");
  FlowDefinition flow;
  const json phases = configuration.value("phases", json::array());
  const json tasks = configuration.value("tasks", json::array());
  if (!phases.is_array()) return FieldError("phases", "must be a list");
  if (!tasks.is_array()) return FieldError("tasks", "must be a list");
  std::set<std::string> phase_ids, task_ids;
  for (size_t i = 0; i < phases.size(); ++i) {
    const std::string field = "phases[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(FlowPhase phase, ParsePhase(phases[i], field));
    if (!phase_ids.insert(phase.id).second)
      return FieldError(field + ".id", "phase " + phase.id + " is defined twice");
    flow.phases.push_back(std::move(phase));
  }
  for (size_t i = 0; i < flow.phases.size(); ++i) {
    const auto& deps = flow.phases[i].depends_on;
    for (size_t d = 0; d < deps.size(); ++d) {
      const std::string field =
          "phases[" + std::to_string(i) + "].dependsOn[" + std::to_string(d) + "]";
      if (!phase_ids.count(deps[d])) return FieldError(field, "no phase " + deps[d]);
      if (deps[d] == flow.phases[i].id) return FieldError(field, "a phase cannot depend on itself");
    }
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string field = "tasks[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(FlowTask task, ParseTask(tasks[i], field));
    if (!task_ids.insert(task.id).second)
      return FieldError(field + ".id", "task " + task.id + " is defined twice");
    if (!phase_ids.count(task.phase)) return FieldError(field + ".phase", "no phase " + task.phase);
    flow.tasks.push_back(std::move(task));
  }
  RETURN_IF_ERROR(SortPhases(&flow.phases));
  if (configuration.contains("variables") && !configuration["variables"].is_null()) {
    const json& vars = configuration["variables"];
    if (!vars.is_object()) return FieldError("variables", "must be an object of name: value");
    for (const auto& [name, value] : vars.items()) {
      if (value.is_string()) {
        flow.variables[name] = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        flow.variables[name] = value.dump();
      } else {
        return FieldError("variables." + name, "must be a text, a number or true/false");
      }
    }
  }
  if (configuration.contains("parallelism")) {
    const json& p = configuration["parallelism"];
    if (!p.is_number_integer() || p.get<int64_t>() < 1 || p.get<int64_t>() > kFlowParallelismMax)
      return FieldError("parallelism",
                        "must be a whole number from 1 to " + std::to_string(kFlowParallelismMax));
    flow.parallelism = p.get<int>();
  }
  return flow;
}

}  // namespace swan::orchestration
