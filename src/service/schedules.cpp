#include "service/schedules.h"

#include "common/fs.h"
#include "orchestration/schedule.h"
#include "orchestration/schedule_config.h"
#include "orchestration/time_zone.h"
#include "service/access.h"
#include "service/jobs.h"

namespace swan::service {

using nlohmann::json;

namespace {

json StateOf(Runtime& rt, int64_t configuration_id) {
  auto text = rt.catalog().GetConfigState(configuration_id, "");
  if (!text.ok()) return json::object();
  json j = json::parse(*text, nullptr, false);
  return j.is_object() ? j : json::object();
}

Status CheckNextRuns(int next_runs) {
  if (next_runs < 0 || next_runs > kScheduleNextRunsMax)
    return Status::InvalidArgument("next must be between 0 and " +
                                   std::to_string(kScheduleNextRunsMax))
        .WithDetail("field", "next");
  return Status::Ok();
}

Result<json> NextRunsJson(Runtime& rt, const orchestration::CronExpression& cron,
                          const std::string& zone_name, int count) {
  auto zone = orchestration::TimeZone::Load(zone_name);
  if (!zone.ok())
    return Status::InvalidArgument("timezone: " + zone.status().message())
        .WithDetail("field", "timezone");
  ASSIGN_OR_RETURN(auto runs, orchestration::NextRuns(cron, *zone, rt.clock().NowMs(), count));
  json out = json::array();
  for (int64_t ms : runs) out.push_back(fs::IsoTime(ms));
  return out;
}

Result<json> ScheduleJson(Runtime& rt, const catalog::Configuration& c, int next_runs) {
  json body = json::parse(c.current.body_json, nullptr, false);
  json j = {{"id", c.config_id}, {"name", c.current.name}, {"version", c.version}};
  auto parsed = orchestration::ParseScheduleConfig(body);
  if (!parsed.ok()) {
    j["error"] = parsed.status().message();
    return j;
  }
  j["cronTab"] = parsed->cron.text();
  j["timezone"] = parsed->time_zone;
  j["state"] = parsed->enabled ? "enabled" : "disabled";
  j["catchUp"] = orchestration::CatchUpPolicyName(parsed->catch_up);
  j["target"] = orchestration::RunTargetJson(parsed->target);
  const json state = StateOf(rt, c.id);
  j["last_run_at"] =
      state.contains("lastRunMs") ? json(fs::IsoTime(state["lastRunMs"].get<int64_t>())) : json();
  if (parsed->enabled) {
    auto runs = NextRunsJson(rt, parsed->cron, parsed->time_zone, next_runs);
    if (runs.ok()) {
      j["next_runs"] = *runs;
    } else {
      j["error"] = runs.status().message();
    }
  } else {
    j["next_runs"] = json::array();
  }
  return j;
}

}  // namespace

Result<int64_t> StartScheduled(Runtime& rt, const orchestration::ScheduledStart& start) {
  const std::string what = start.origin + " '" + start.origin_id + "'";
  if (!start.token_id) return Status::Forbidden(what + " has no token to run with: save it again");
  ASSIGN_OR_RETURN(auto token, rt.catalog().GetToken(*start.token_id));
  if (token.revoked || (token.expires_at && *token.expires_at <= rt.clock().NowMs()))
    return Status::Forbidden(what + " was saved with token " + std::to_string(token.id) + " (" +
                             token.description + "), which is " +
                             (token.revoked ? "revoked" : "expired") +
                             ": save it again with a valid token");
  ASSIGN_OR_RETURN(auto project, rt.catalog().GetProjectById(start.project_id));
  Caller caller{token, start.origin};
  RunRequest request;
  request.config_id = start.target.config_id;
  request.row_id = start.target.row_id;
  request.origin = start.origin + ":" + start.origin_id;
  ASSIGN_OR_RETURN(auto job, RunConfig(rt, caller, project, request));
  return job.id;
}

Result<json> ListSchedules(Runtime& rt, const Caller& caller, const catalog::Project& project,
                           int next_runs) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  RETURN_IF_ERROR(CheckNextRuns(next_runs));
  ASSIGN_OR_RETURN(auto configs, rt.catalog().ListConfigurations(project.main_branch_id));
  json out = json::array();
  for (const auto& c : configs) {
    if (c.component_id != catalog::kScheduleComponentId) continue;
    ASSIGN_OR_RETURN(json j, ScheduleJson(rt, c, next_runs));
    out.push_back(std::move(j));
  }
  return out;
}

Result<json> GetSchedule(Runtime& rt, const Caller& caller, const catalog::Project& project,
                         const std::string& config_id, int next_runs) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  RETURN_IF_ERROR(CheckNextRuns(next_runs));
  ASSIGN_OR_RETURN(auto c, rt.catalog().GetConfiguration(project.main_branch_id, config_id));
  if (c.component_id != catalog::kScheduleComponentId)
    return Status::NotFound("schedule '" + config_id + "' not found (configuration '" + config_id +
                            "' is of " + c.component_id + ")");
  return ScheduleJson(rt, c, next_runs);
}

Result<json> PreviewSchedule(Runtime& rt, const std::string& cron_tab, const std::string& time_zone,
                             int count) {
  RETURN_IF_ERROR(CheckNextRuns(count));
  auto cron = orchestration::CronExpression::Parse(cron_tab);
  if (!cron.ok())
    return Status::InvalidArgument("cronTab: " + cron.status().message())
        .WithDetail("field", "cronTab");
  ASSIGN_OR_RETURN(json runs, NextRunsJson(rt, *cron, time_zone, count));
  return json{{"cronTab", cron->text()}, {"timezone", time_zone}, {"next_runs", runs}};
}

Result<json> ListTriggers(Runtime& rt, const Caller& caller, const catalog::Project& project) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto configs, rt.catalog().ListConfigurations(project.main_branch_id));
  json out = json::array();
  for (const auto& c : configs) {
    if (c.component_id != catalog::kTriggerComponentId) continue;
    json j = {{"id", c.config_id}, {"name", c.current.name}, {"version", c.version}};
    auto parsed =
        orchestration::ParseTriggerConfig(json::parse(c.current.body_json, nullptr, false));
    if (!parsed.ok()) {
      j["error"] = parsed.status().message();
      out.push_back(std::move(j));
      continue;
    }
    j["state"] = parsed->enabled ? "enabled" : "disabled";
    j["coolDownPeriodMinutes"] = parsed->cooldown_ms / 60000;
    j["target"] = orchestration::RunTargetJson(parsed->target);
    const json state = StateOf(rt, c.id);
    j["last_run_at"] = state.contains("lastFireMs")
                           ? json(fs::IsoTime(state["lastFireMs"].get<int64_t>()))
                           : json();
    json tables = json::array();
    for (const auto& id : parsed->table_ids) {
      json t = {{"id", id}, {"version", nullptr}, {"changed_at", nullptr}};
      ASSIGN_OR_RETURN(auto head,
                       orchestration::HeadVersionOf(rt.catalog(), project.main_branch_id, id));
      if (head) {
        t["version"] = head->number;
        t["changed_at"] = fs::IsoTime(head->created_at);
      }
      tables.push_back(std::move(t));
    }
    j["tables"] = std::move(tables);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace swan::service
