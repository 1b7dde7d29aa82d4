#include "orchestration/schedule_config.h"

#include <set>

#include "common/names.h"

namespace swan::orchestration {

using nlohmann::json;

namespace {

Status FieldError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + (what.starts_with(":") ? "" : " ") + what)
      .WithDetail("field", field);
}

Result<std::string> RequiredText(const json& obj, const std::string& key,
                                 const std::string& field) {
  if (!obj.contains(key)) return FieldError(field, "is required");
  const json& v = obj[key];
  // Keboola's configuration ids are numbers or strings.
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (!v.is_string() || v.get<std::string>().empty())
    return FieldError(field, "must be a non-empty string");
  return v.get<std::string>();
}

// "enabled" / "disabled" (Keboola's), or a boolean; absent: enabled.
Result<bool> ReadState(const json& obj, const std::string& field) {
  if (!obj.contains("state")) return true;
  const json& v = obj["state"];
  if (v.is_boolean()) return v.get<bool>();
  if (v == "enabled") return true;
  if (v == "disabled") return false;
  return FieldError(field, "must be \"enabled\" or \"disabled\"");
}

Result<RunTarget> ReadTarget(const json& body) {
  if (!body.contains("target") || !body["target"].is_object())
    return FieldError("target", "must be an object {componentId, configurationId}");
  const json& t = body["target"];
  RunTarget target;
  ASSIGN_OR_RETURN(target.component_id, RequiredText(t, "componentId", "target.componentId"));
  ASSIGN_OR_RETURN(target.config_id, RequiredText(t, "configurationId", "target.configurationId"));
  if (t.contains("mode") && t["mode"] != "run") return FieldError("target.mode", "must be \"run\"");
  if (t.contains("configurationRowIds")) {
    const json& rows = t["configurationRowIds"];
    if (!rows.is_array()) return FieldError("target.configurationRowIds", "must be a list");
    if (rows.size() > 1)
      return FieldError("target.configurationRowIds",
                        "may name one row at most (a job runs one row or the whole configuration)");
    if (rows.size() == 1) {
      if (rows[0].is_number_integer()) {
        target.row_id = std::to_string(rows[0].get<int64_t>());
      } else if (rows[0].is_string()) {
        target.row_id = rows[0].get<std::string>();
      } else {
        return FieldError("target.configurationRowIds[0]", "must be a string");
      }
    }
  }
  if (target.component_id == kScheduleComponentId || target.component_id == kTriggerComponentId)
    return FieldError("target.componentId", "cannot be a schedule or a trigger");
  return target;
}

}  // namespace

Result<ScheduleConfig> ParseScheduleConfig(const json& body) {
  if (!body.is_object()) return FieldError("configuration", "must be an object");
  if (!body.contains("schedule") || !body["schedule"].is_object())
    return FieldError("schedule", "must be an object {cronTab, timezone, state}");
  const json& s = body["schedule"];
  ASSIGN_OR_RETURN(std::string cron_text, RequiredText(s, "cronTab", "schedule.cronTab"));
  auto cron = CronExpression::Parse(cron_text);
  if (!cron.ok()) return FieldError("schedule.cronTab", ": " + cron.status().message());
  ScheduleConfig out{*cron};
  if (s.contains("timezone")) {
    if (!s["timezone"].is_string() || s["timezone"].get<std::string>().empty())
      return FieldError("schedule.timezone", "must be an IANA time zone name such as \"UTC\"");
    out.time_zone = s["timezone"].get<std::string>();
  }
  ASSIGN_OR_RETURN(out.enabled, ReadState(s, "schedule.state"));
  if (body.contains("catchUp")) {
    if (!body["catchUp"].is_string()) return FieldError("catchUp", "must be skip or run_once");
    auto policy = ParseCatchUpPolicy(body["catchUp"].get<std::string>());
    if (!policy.ok()) return FieldError("catchUp", "must be skip or run_once");
    out.catch_up = *policy;
  }
  ASSIGN_OR_RETURN(out.target, ReadTarget(body));
  return out;
}

Result<TriggerConfig> ParseTriggerConfig(const json& body) {
  if (!body.is_object()) return FieldError("configuration", "must be an object");
  TriggerConfig out;
  if (!body.contains("tableIds") || !body["tableIds"].is_array() || body["tableIds"].empty())
    return FieldError("tableIds", "must be a non-empty list of table ids (\"in.sales.orders\")");
  if (body["tableIds"].size() > kTriggerTablesMax)
    return FieldError("tableIds",
                      "may hold at most " + std::to_string(kTriggerTablesMax) + " tables");
  std::set<std::string> seen;
  for (size_t i = 0; i < body["tableIds"].size(); ++i) {
    const std::string field = "tableIds[" + std::to_string(i) + "]";
    const json& t = body["tableIds"][i];
    if (!t.is_string()) return FieldError(field, "must be a table id (\"in.sales.orders\")");
    std::string stage, bucket, table;
    Status valid = names::SplitTableId(t.get<std::string>(), &stage, &bucket, &table);
    if (!valid.ok()) return FieldError(field, ": " + valid.message());
    if (!seen.insert(t.get<std::string>()).second)
      return FieldError(field, "repeats '" + t.get<std::string>() + "'");
    out.table_ids.push_back(t.get<std::string>());
  }
  if (body.contains("coolDownPeriodMinutes")) {
    const json& c = body["coolDownPeriodMinutes"];
    if (!c.is_number_integer() || c.get<int64_t>() < 0 ||
        c.get<int64_t>() > kTriggerCooldownMinutesMax)
      return FieldError("coolDownPeriodMinutes", "must be a whole number of minutes from 0 to " +
                                                     std::to_string(kTriggerCooldownMinutesMax));
    out.cooldown_ms = c.get<int64_t>() * 60 * 1000;
  }
  ASSIGN_OR_RETURN(out.enabled, ReadState(body, "state"));
  ASSIGN_OR_RETURN(out.target, ReadTarget(body));
  return out;
}

json RunTargetJson(const RunTarget& t) {
  json j = {{"componentId", t.component_id}, {"configurationId", t.config_id}};
  if (!t.row_id.empty()) j["configurationRowIds"] = json::array({t.row_id});
  return j;
}

json WithState(json body, const std::string& component_id, bool enabled) {
  const char* state = enabled ? "enabled" : "disabled";
  if (component_id == kScheduleComponentId) {
    if (!body["schedule"].is_object()) body["schedule"] = json::object();
    body["schedule"]["state"] = state;
  } else {
    body["state"] = state;
  }
  return body;
}

}  // namespace swan::orchestration
