// A flow: Keboola's orchestrator configuration (component keboola.orchestrator, "flows" in the
// UI), so that users bring theirs unchanged.
//
//   phases[]  {id, name, dependsOn: [phase ids]}: a DAG; a phase starts when the phases it depends
//             on have ended. Swan adds `condition` ("success", the default and Keboola's rule:
//             every dependency succeeded; "failure": one of them failed, e.g. a clean-up or an
//             alert; "always": once they ended, whatever their outcome).
//   tasks[]   {id, name, phase, enabled, continueOnFailure, task: {componentId, configId,
//             configRowIds, mode}}: the jobs of a phase, run in parallel. Keboola writes booleans
//             as true/false or as the strings "true"/"false"; both are read.
//   variables {name: value}   (Swan) every task's job gets them (jobs/variables.h: they replace
//                             {{ name }} in its configuration); a run's own variables override
//   parallelism               (Swan) how many tasks run at once, 1-100 (default 4)
//
// Ids are numbers or strings in Keboola's configurations; both are kept as text. Every error
// names its field ("tasks[2].phase").
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace swan::orchestration {

inline constexpr const char* kFlowComponentId = "keboola.orchestrator";
inline constexpr int kFlowParallelismDefault = 4;
inline constexpr int kFlowParallelismMax = 100;

enum class PhaseCondition { kSuccess, kFailure, kAlways };

struct FlowPhase {
  std::string id;
  std::string name;
  std::vector<std::string> depends_on{};
  PhaseCondition condition = PhaseCondition::kSuccess;
};

struct FlowTask {
  std::string id;
  std::string name;
  std::string phase;  // a phase id
  std::string component_id;
  std::string config_id;
  std::vector<std::string> config_row_ids{};  // empty: the whole configuration
  bool enabled = true;
  bool continue_on_failure = false;
};

struct FlowDefinition {
  std::vector<FlowPhase> phases;  // dependencies before dependants (a topological order)
  std::vector<FlowTask> tasks;    // as configured
  std::map<std::string, std::string> variables{};
  int parallelism = kFlowParallelismDefault;

  // Index of a phase by id, or -1.
  int PhaseIndex(const std::string& id) const;
};

// Parses and checks a flow's configuration: unique ids, known phases, no dependency cycle (the
// error names the phases on it).
Result<FlowDefinition> ParseFlow(const nlohmann::json& configuration);

}  // namespace swan::orchestration
