// A flow's graph for people and tools: phases (in dependency order) with their tasks and edges,
// as JSON, and as a Mermaid flowchart that GitHub, GitLab and most wikis render.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "orchestration/flow_definition.h"

namespace swan::orchestration {

// {"phases": [{"id","name","condition","dependsOn":[..],"tasks":[{"id","name","componentId",
//   "configId","enabled","continueOnFailure"}]}], "edges": [{"from","to","condition"}]}
nlohmann::json FlowGraphJson(const FlowDefinition& flow);

// "flowchart TD" with one subgraph per phase, its tasks inside, and an arrow per dependency
// (labelled "on failure" / "always" for conditional phases).
std::string FlowGraphMermaid(const FlowDefinition& flow);

}  // namespace swan::orchestration
