// CLI commands: flows (Keboola's orchestrator configurations run as a job of jobs).
#include <iostream>
#include <map>

#include "catalog/model.h"
#include "cli/command_support.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "orchestration/flow_definition.h"
#include "orchestration/flow_graph.h"

namespace swan::cli {

using nlohmann::json;
using namespace support;

Status FlowCreate(const GlobalOptions& global, const ConfigWriteOptions& options) {
  ConfigWriteOptions flow = options;
  flow.component_id = catalog::kFlowComponentId;
  return ConfigCreate(global, flow);
}

Status FlowList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs")));
  json flows = json::array();
  for (const auto& c : answer.value("configs", json::array()))
    if (c.value("component_id", "") == catalog::kFlowComponentId) flows.push_back(c);
  if (global.json) {
    PrintJson({{"flows", flows}});
    return Status::Ok();
  }
  TextTable table({"ID", "NAME", "VERSION", "PHASES", "TASKS", "CHANGED"});
  table.AlignRight(2);
  for (const auto& c : flows) {
    const json body = c.value("configuration", json::object());
    table.AddRow({FieldText(c, "id"), FieldText(c, "name"), FieldText(c, "version"),
                  std::to_string(body.value("phases", json::array()).size()),
                  std::to_string(body.value("tasks", json::array()).size()),
                  FieldText(c, "changed_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status FlowShow(const GlobalOptions& global, int64_t job_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/jobs/" + std::to_string(job_id))));
  const json j = answer.value("job", json::object());
  if (j.value("component_id", "") != catalog::kFlowComponentId)
    return Status::InvalidArgument("job " + std::to_string(job_id) +
                                   " is not a flow's job: see it with `swan job show`");
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  PrintFields(
      {{"id", FieldText(j, "id")},
       {"status", FieldText(j, "status")},
       {"flow", FieldText(j, "config") + " (version " + FieldText(j, "config_version") + ")"},
       {"rerun of", FieldText(j, "rerun_of")},
       {"started", FieldText(j, "started_at")},
       {"finished", FieldText(j, "finished_at")},
       {"wall time", FieldText(j.value("usage", json::object()), "wall_ms") + " ms"},
       {"message", FieldText(j, "message")}});
  // Every task of the flow (reused, skipped, disabled and pending ones too), with its last job.
  std::map<int64_t, json> jobs;
  for (const auto& t : j.value("tasks", json::array())) jobs[t.value("id", int64_t{0})] = t;
  TextTable table({"TASK", "PHASE", "STATUS", "JOB", "CONFIG", "WALL MS", "MESSAGE"});
  table.AlignRight(3);
  table.AlignRight(5);
  for (const auto& s : j.value("flow_tasks", json::array())) {
    const json t = s["job"].is_number() ? jobs[s["job"].get<int64_t>()] : json::object();
    std::string message = FieldText(t, "message");
    if (message.size() > 60) message = message.substr(0, 57) + "...";
    for (char& c : message)
      if (c == '\n') c = ' ';
    table.AddRow({FieldText(s, "id"), FieldText(s, "phase"), FieldText(s, "status"),
                  s["job"].is_number() ? FieldText(s, "job") : "", FieldText(t, "config"),
                  FieldText(t.value("usage", json::object()), "wall_ms"), message});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status FlowGraph(const GlobalOptions& global, const std::string& config_id,
                 const std::string& format) {
  if (format != "mermaid" && format != "json")
    return Status::InvalidArgument("--format must be mermaid or json, not '" + format + "'");
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs/" + config_id)));
  const json c = answer.value("config", json::object());
  if (c.value("component_id", "") != catalog::kFlowComponentId)
    return Status::InvalidArgument("configuration " + config_id + " is of " +
                                   c.value("component_id", std::string("?")) + ", not a flow");
  ASSIGN_OR_RETURN(auto flow, orchestration::ParseFlow(c.value("configuration", json::object())));
  if (format == "json" || global.json) {
    PrintJson(orchestration::FlowGraphJson(flow));
  } else {
    std::cout << orchestration::FlowGraphMermaid(flow);
  }
  return Status::Ok();
}

Status FlowRerun(const GlobalOptions& global, int64_t job_id, bool wait) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Post(session.Path("/jobs/" + std::to_string(job_id) + "/rerun"), json::object()));
  const int64_t id = answer.value("job", json::object()).value("id", int64_t{0});
  if (!wait) {
    return PrintDone(global, answer,
                     "Flow job " + std::to_string(id) + " reruns job " + std::to_string(job_id) +
                         " from its failure. Watch it: swan flow show " + std::to_string(id));
  }
  if (!global.json) std::cout << "Flow job " << id << " started.\n";
  return FollowJobToEnd(global, session, id);
}

}  // namespace swan::cli
