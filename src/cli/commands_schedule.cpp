// CLI commands: schedules and triggers (configurations of keboola.scheduler and swan.trigger).
#include <iostream>

#include "catalog/model.h"
#include "cli/command_support.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "orchestration/schedule_config.h"

namespace swan::cli {

using nlohmann::json;
using namespace support;

namespace {

// {"componentId", "configurationId"} of --flow or --config (whose component the server knows).
Result<json> TargetOf(ProjectSession& session, const std::string& flow, const std::string& config) {
  if (flow.empty() == config.empty())
    return Status::InvalidArgument("give the target: either --flow ID or --config ID");
  if (!flow.empty())
    return json{{"componentId", catalog::kFlowComponentId}, {"configurationId", flow}};
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs/" + config)));
  return json{{"componentId", answer.value("config", json::object()).value("component_id", "")},
              {"configurationId", config}};
}

std::string TargetText(const json& target) {
  return FieldText(target, "configurationId") + " (" + FieldText(target, "componentId") + ")";
}

Status CreateOf(const GlobalOptions& global, ProjectSession& session, const std::string& id,
                const std::string& component, const std::string& name, const json& body,
                const std::string& done) {
  json request = {{"component_id", component}, {"configuration", body}};
  if (!id.empty()) request["id"] = id;
  if (!name.empty()) request["name"] = name;
  ASSIGN_OR_RETURN(json answer, session.api.Post(session.Path("/configs"), request));
  const std::string made = FieldText(answer.value("config", json::object()), "id");
  return PrintDone(global, answer, done + " " + made + ".");
}

Status SetState(const GlobalOptions& global, const std::string& id, const char* component,
                bool enabled) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs/" + id)));
  const json c = answer.value("config", json::object());
  if (c.value("component_id", "") != component)
    return Status::InvalidArgument("configuration " + id + " is of " +
                                   c.value("component_id", std::string("?")) + ", not " +
                                   component);
  json body =
      orchestration::WithState(c.value("configuration", json::object()), component, enabled);
  json request = {{"configuration", body},
                  {"version", c.value("version", int64_t{0})},
                  {"message", enabled ? "enabled" : "disabled"}};
  ASSIGN_OR_RETURN(json saved, session.api.Post(session.Path("/configs/" + id), request));
  return PrintDone(global, saved, std::string(enabled ? "Enabled " : "Disabled ") + id + ".");
}

}  // namespace

Status ScheduleCreate(const GlobalOptions& global, const ScheduleWriteOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json target, TargetOf(session, options.flow, options.config));
  json body = {{"schedule",
                {{"cronTab", options.cron},
                 {"timezone", options.timezone},
                 {"state", options.disabled ? "disabled" : "enabled"}}},
               {"target", target},
               {"catchUp", options.catch_up}};
  return CreateOf(global, session, options.id, catalog::kScheduleComponentId, options.name, body,
                  "Created schedule of " + TargetText(target) + " at '" + options.cron + "' " +
                      options.timezone + ": see its next runs with `swan schedule show`. Id:");
}

Status ScheduleList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/schedules")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "CRON", "TIMEZONE", "STATE", "TARGET", "LAST RUN", "NEXT RUN"});
  for (const auto& s : answer.value("schedules", json::array())) {
    const json next = s.value("next_runs", json::array());
    table.AddRow({FieldText(s, "id"), FieldText(s, "cronTab"), FieldText(s, "timezone"),
                  FieldText(s, "state"), TargetText(s.value("target", json::object())),
                  FieldText(s, "last_run_at"), next.empty() ? "" : next[0].get<std::string>()});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status ScheduleShow(const GlobalOptions& global, const std::string& id, int next) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/schedules/" + id) +
                                                "?next=" + std::to_string(next)));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json s = answer.value("schedule", json::object());
  PrintFields({{"id", FieldText(s, "id")},
               {"cron", FieldText(s, "cronTab")},
               {"timezone", FieldText(s, "timezone")},
               {"state", FieldText(s, "state")},
               {"catch-up", FieldText(s, "catchUp")},
               {"target", TargetText(s.value("target", json::object()))},
               {"last run", FieldText(s, "last_run_at")}});
  std::cout << "Next runs:\n";
  for (const auto& t : s.value("next_runs", json::array()))
    std::cout << "  " << t.get<std::string>() << "\n";
  return Status::Ok();
}

Status SchedulePreview(const GlobalOptions& global, const std::string& cron,
                       const std::string& timezone, int next) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer,
                   api.Post("/v1/schedules/preview",
                            {{"cronTab", cron}, {"timezone", timezone}, {"next", next}}));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  for (const auto& t : answer.value("next_runs", json::array()))
    std::cout << t.get<std::string>() << "\n";
  return Status::Ok();
}

Status ScheduleSetState(const GlobalOptions& global, const std::string& id, bool enabled) {
  return SetState(global, id, catalog::kScheduleComponentId, enabled);
}

Status TriggerCreate(const GlobalOptions& global, const TriggerWriteOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json target, TargetOf(session, options.flow, options.config));
  json body = {{"tableIds", options.tables},
               {"coolDownPeriodMinutes", options.cooldown_minutes},
               {"state", options.disabled ? "disabled" : "enabled"},
               {"target", target}};
  return CreateOf(global, session, options.id, catalog::kTriggerComponentId, options.name, body,
                  "Created trigger of " + TargetText(target) + " on " +
                      std::to_string(options.tables.size()) + " table(s). Id:");
}

Status TriggerList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/triggers")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "STATE", "TARGET", "COOLDOWN MIN", "LAST RUN", "TABLES"});
  table.AlignRight(3);
  for (const auto& t : answer.value("triggers", json::array())) {
    std::string tables;
    for (const auto& tb : t.value("tables", json::array())) {
      if (!tables.empty()) tables += ", ";
      tables += FieldText(tb, "id") + " v" + FieldText(tb, "version");
    }
    table.AddRow({FieldText(t, "id"), FieldText(t, "state"),
                  TargetText(t.value("target", json::object())),
                  FieldText(t, "coolDownPeriodMinutes"), FieldText(t, "last_run_at"), tables});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status TriggerSetState(const GlobalOptions& global, const std::string& id, bool enabled) {
  return SetState(global, id, catalog::kTriggerComponentId, enabled);
}

}  // namespace swan::cli
