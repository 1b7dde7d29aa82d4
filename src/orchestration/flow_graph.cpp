#include "orchestration/flow_graph.h"

namespace swan::orchestration {
namespace {

using nlohmann::json;

const char* ConditionName(PhaseCondition c) {
  switch (c) {
    case PhaseCondition::kSuccess:
      return "success";
    case PhaseCondition::kFailure:
      return "failure";
    case PhaseCondition::kAlways:
      return "always";
  }
  return "success";
}

// Mermaid node ids: letters, digits and underscores only (ids are free text in Keboola).
std::string NodeId(const std::string& prefix, const std::string& id) {
  std::string out = prefix;
  for (unsigned char ch : id) {
    if (std::isalnum(ch)) {
      out += static_cast<char>(ch);
    } else {
      static const char* hex = "0123456789abcdef";
      out += '_';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

// A label inside ["..."]: Mermaid's entity codes for the quote and the brackets.
std::string Label(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"') {
      out += "#quot;";
    } else if (ch == '\n') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return "[\"" + out + "\"]";
}

}  // namespace

json FlowGraphJson(const FlowDefinition& flow) {
  json phases = json::array(), edges = json::array();
  for (const auto& p : flow.phases) {
    json tasks = json::array();
    for (const auto& t : flow.tasks) {
      if (t.phase != p.id) continue;
      tasks.push_back({{"id", t.id},
                       {"name", t.name},
                       {"componentId", t.component_id},
                       {"configId", t.config_id},
                       {"enabled", t.enabled},
                       {"continueOnFailure", t.continue_on_failure}});
    }
    phases.push_back({{"id", p.id},
                      {"name", p.name},
                      {"condition", ConditionName(p.condition)},
                      {"dependsOn", p.depends_on},
                      {"tasks", tasks}});
    for (const auto& dep : p.depends_on)
      edges.push_back({{"from", dep}, {"to", p.id}, {"condition", ConditionName(p.condition)}});
  }
  return {{"phases", phases}, {"edges", edges}};
}

std::string FlowGraphMermaid(const FlowDefinition& flow) {
  std::string out = "flowchart TD\n";
  for (const auto& p : flow.phases) {
    const std::string phase = NodeId("phase_", p.id);
    out += "  subgraph " + phase + Label(p.name.empty() ? "phase " + p.id : p.name) + "\n";
    bool any = false;
    for (const auto& t : flow.tasks) {
      if (t.phase != p.id) continue;
      any = true;
      std::string text =
          (t.name.empty() ? t.id : t.name) + " (" + t.component_id + " " + t.config_id + ")";
      if (!t.enabled) text += " disabled";
      if (t.continue_on_failure) text += " continues on failure";
      out += "    " + NodeId("task_", t.id) + Label(text) + "\n";
    }
    if (!any) out += "    " + NodeId("empty_", p.id) + Label("no tasks") + "\n";
    out += "  end\n";
  }
  for (const auto& p : flow.phases) {
    for (const auto& dep : p.depends_on) {
      std::string arrow = " --> ";
      if (p.condition == PhaseCondition::kFailure) arrow = " -- on failure --> ";
      if (p.condition == PhaseCondition::kAlways) arrow = " -- always --> ";
      out += "  " + NodeId("phase_", dep) + arrow + NodeId("phase_", p.id) + "\n";
    }
  }
  return out;
}

}  // namespace swan::orchestration
