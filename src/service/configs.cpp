#include "service/configs.h"

#include <set>

#include "common/fs.h"
#include "connectors/generic_extractor.h"
#include "jobs/config_secrets.h"
#include "orchestration/notification_rules.h"
#include "orchestration/schedule_config.h"
#include "orchestration/scheduler.h"
#include "orchestration/time_zone.h"
#include "service/access.h"

namespace swan::service {

using nlohmann::json;

namespace {

Status ValidateConfigId(const std::string& id) {
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
          std::string::npos ||
      id[0] == '.') {
    return Status::InvalidArgument("configuration id '" + id +
                                   "' must be 1-64 letters, digits, '_', '-' or '.'")
        .WithDetail("field", "id");
  }
  return Status::Ok();
}

// Checks the body and rows and seals their secrets.
Status Normalize(Runtime& rt, const catalog::Project& project, json& body, json& rows) {
  if (!body.is_object()) {
    return Status::InvalidArgument("configuration must be a JSON object")
        .WithDetail("field", "configuration");
  }
  for (const char* key : {"parameters", "storage"}) {
    if (body.contains(key) && !body[key].is_object()) {
      return Status::InvalidArgument(std::string("configuration.") + key + " must be an object")
          .WithDetail("field", std::string("configuration.") + key);
    }
  }
  if (!rows.is_array()) {
    return Status::InvalidArgument("rows must be a list").WithDetail("field", "rows");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    json& r = rows[i];
    const std::string field = "rows[" + std::to_string(i) + "]";
    if (!r.is_object()) return Status::InvalidArgument(field + " must be an object");
    if (!r.contains("id") || (r["id"].is_string() && r["id"].get<std::string>().empty()))
      r["id"] = std::to_string(i + 1);
    if (r["id"].is_number_integer()) r["id"] = std::to_string(r["id"].get<int64_t>());
    if (!r["id"].is_string()) return Status::InvalidArgument(field + ".id must be a string");
    RETURN_IF_ERROR(ValidateConfigId(r["id"].get<std::string>()));
    if (!ids.insert(r["id"].get<std::string>()).second)
      return Status::InvalidArgument(field + ".id '" + r["id"].get<std::string>() + "' repeats")
          .WithDetail("field", field + ".id");
    if (!r.contains("configuration")) r["configuration"] = json::object();
    if (!r["configuration"].is_object())
      return Status::InvalidArgument(field + ".configuration must be an object")
          .WithDetail("field", field + ".configuration");
    if (!r.contains("name")) r["name"] = "";
    if (!r.contains("description")) r["description"] = "";
    if (!r.contains("is_disabled")) r["is_disabled"] = false;
    if (!r["is_disabled"].is_boolean())
      return Status::InvalidArgument(field + ".is_disabled must be true or false")
          .WithDetail("field", field + ".is_disabled");
    for (const char* text : {"name", "description"}) {
      if (!r[text].is_string())
        return Status::InvalidArgument(field + "." + text + " must be a string")
            .WithDetail("field", field + "." + text);
    }
  }
  ASSIGN_OR_RETURN(auto key, jobs::ProjectKey(rt.catalog(), rt.master_key(), project.id));
  RETURN_IF_ERROR(jobs::SealSecrets(body, key, "configuration"));
  return jobs::SealSecrets(rows, key, "rows");
}

Status CheckTarget(Runtime& rt, const catalog::Project& project,
                   const orchestration::RunTarget& target) {
  auto config = rt.catalog().GetConfiguration(project.main_branch_id, target.config_id);
  if (!config.ok()) {
    if (config.status().code() != StatusCode::kNotFound) return config.status();
    return Status::InvalidArgument("target.configurationId: configuration '" + target.config_id +
                                   "' does not exist in this project")
        .WithDetail("field", "target.configurationId");
  }
  if (config->component_id != target.component_id)
    return Status::InvalidArgument("target.componentId: configuration '" + target.config_id +
                                   "' is of component " + config->component_id + ", not " +
                                   target.component_id)
        .WithDetail("field", "target.componentId");
  return Status::Ok();
}

// A schedule's or trigger's body: its fields, its time zone, its target and its tables, all in
// this project.
Status CheckScheduling(Runtime& rt, const catalog::Project& project,
                       const std::string& component_id, const json& body) {
  // Any configuration may ask for notifications of its jobs' ends (orchestration/job_notifier.h).
  if (body.contains("notifications"))
    RETURN_IF_ERROR(orchestration::ParseNotificationRules(body).status());
  if (component_id == catalog::kScheduleComponentId) {
    ASSIGN_OR_RETURN(auto schedule, orchestration::ParseScheduleConfig(body));
    auto zone = orchestration::TimeZone::Load(schedule.time_zone);
    if (!zone.ok())
      return Status::InvalidArgument("schedule.timezone: " + zone.status().message())
          .WithDetail("field", "schedule.timezone");
    return CheckTarget(rt, project, schedule.target);
  }
  if (component_id != catalog::kTriggerComponentId) return Status::Ok();
  ASSIGN_OR_RETURN(auto trigger, orchestration::ParseTriggerConfig(body));
  RETURN_IF_ERROR(CheckTarget(rt, project, trigger.target));
  for (size_t i = 0; i < trigger.table_ids.size(); ++i) {
    ASSIGN_OR_RETURN(auto head, orchestration::HeadVersionOf(rt.catalog(), project.main_branch_id,
                                                             trigger.table_ids[i]));
    if (!head) {
      const std::string field = "tableIds[" + std::to_string(i) + "]";
      return Status::InvalidArgument(field + ": table '" + trigger.table_ids[i] +
                                     "' does not exist in this project")
          .WithDetail("field", field);
    }
  }
  return Status::Ok();
}

json Parse(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

void Diff(const json& a, const json& b, const std::string& path, json& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    for (auto& [k, v] : a.items()) {
      const std::string p = path.empty() ? k : path + "." + k;
      if (!b.contains(k)) {
        out.push_back({{"path", p}, {"change", "removed"}, {"from", v}});
      } else {
        Diff(v, b[k], p, out);
      }
    }
    for (auto& [k, v] : b.items())
      if (!a.contains(k))
        out.push_back(
            {{"path", path.empty() ? k : path + "." + k}, {"change", "added"}, {"to", v}});
    return;
  }
  out.push_back({{"path", path}, {"change", "changed"}, {"from", a}, {"to", b}});
}

Result<catalog::Configuration> Find(Runtime& rt, const catalog::Project& project,
                                    const std::string& config_id) {
  return rt.catalog().GetConfiguration(project.main_branch_id, config_id);
}

// Saves `next` on top of `current` with its audit event, in one transaction.
Result<catalog::Configuration> Save(Runtime& rt, const Caller& caller,
                                    const catalog::Project& project,
                                    const catalog::Configuration& current,
                                    catalog::ConfigVersion next, int64_t expected,
                                    const std::string& action, json details) {
  next.token_id = caller.token.id;
  catalog::Configuration saved;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(saved, tx.SaveConfigVersion(current.id, expected, next));
    details["version"] = saved.version;
    return tx.AppendEvent(
        AuditEvent(caller, project.id, action, "config:" + current.config_id, details));
  }));
  rt.scheduler().Notify();  // a schedule or trigger may have changed
  return saved;
}

}  // namespace

namespace {

// `body`'s text with the key order of `order_source` where it has the key (secrets sealed in
// `body` stay sealed: only the order is taken).
std::string InOrderOf(const json& body, const std::string& order_source) {
  if (order_source.empty()) return body.dump();
  return connectors::WithKeyOrderOf(body, order_source).dump();
}

}  // namespace

Result<catalog::Configuration> CreateConfig(Runtime& rt, const Caller& caller,
                                            const catalog::Project& project, ConfigChange change) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  if (change.component_id.empty())
    return Status::InvalidArgument("component_id is required").WithDetail("field", "component_id");
  ASSIGN_OR_RETURN(auto component, rt.components().Find(change.component_id));
  if (change.config_id.empty()) {
    // Keboola's ids are numbers: the next free one of the branch.
    ASSIGN_OR_RETURN(auto all, rt.catalog().ListConfigurations(project.main_branch_id));
    int64_t next = 1;
    for (const auto& c : all) {
      if (c.config_id.find_first_not_of("0123456789") == std::string::npos &&
          c.config_id.size() < 18)
        next = std::max<int64_t>(next, std::stoll(c.config_id) + 1);
    }
    change.config_id = std::to_string(next);
  }
  RETURN_IF_ERROR(ValidateConfigId(change.config_id));
  json body = change.configuration.value_or(json::object());
  json rows = change.rows.value_or(json::array());
  RETURN_IF_ERROR(Normalize(rt, project, body, rows));
  RETURN_IF_ERROR(CheckScheduling(rt, project, component.id, body));
  catalog::Configuration config;
  config.project_id = project.id;
  config.branch_id = project.main_branch_id;
  config.component_id = component.id;
  config.config_id = change.config_id;
  catalog::ConfigVersion first;
  first.name = change.name.value_or(change.config_id);
  first.description = change.description.value_or("");
  first.body_json = InOrderOf(body, change.configuration_text);
  first.rows_json = rows.dump();
  first.message = change.message.empty() ? "created" : change.message;
  first.token_id = caller.token.id;
  catalog::Configuration created;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(created, tx.CreateConfiguration(config, first));
    return tx.AppendEvent(AuditEvent(caller, project.id, "config.create",
                                     "config:" + created.config_id,
                                     {{"component_id", created.component_id}, {"version", 1}}));
  }));
  rt.scheduler().Notify();
  return created;
}

Result<catalog::Configuration> EditConfig(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& config_id, ConfigChange change) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  ASSIGN_OR_RETURN(auto current, Find(rt, project, config_id));
  catalog::ConfigVersion next = current.current;
  const std::string order = change.configuration ? change.configuration_text : next.body_json;
  json body = change.configuration.value_or(Parse(next.body_json, json::object()));
  json rows = change.rows.value_or(Parse(next.rows_json, json::array()));
  RETURN_IF_ERROR(Normalize(rt, project, body, rows));
  RETURN_IF_ERROR(CheckScheduling(rt, project, current.component_id, body));
  if (change.name) next.name = *change.name;
  if (change.description) next.description = *change.description;
  next.body_json = InOrderOf(body, order);
  next.rows_json = rows.dump();
  next.message = change.message.empty() ? "edited" : change.message;
  return Save(rt, caller, project, current, next, change.expected_version.value_or(current.version),
              "config.edit", json::object());
}

Result<catalog::Configuration> GetConfig(Runtime& rt, const Caller& caller,
                                         const catalog::Project& project,
                                         const std::string& config_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  return Find(rt, project, config_id);
}

Result<std::vector<catalog::Configuration>> ListConfigs(Runtime& rt, const Caller& caller,
                                                        const catalog::Project& project) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  return rt.catalog().ListConfigurations(project.main_branch_id);
}

Result<std::vector<catalog::ConfigVersion>> ListConfigVersions(Runtime& rt, const Caller& caller,
                                                               const catalog::Project& project,
                                                               const std::string& config_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto config, Find(rt, project, config_id));
  return rt.catalog().ListConfigVersions(config.id);
}

Result<catalog::ConfigVersion> GetConfigVersion(Runtime& rt, const Caller& caller,
                                                const catalog::Project& project,
                                                const std::string& config_id, int64_t number) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto config, Find(rt, project, config_id));
  return rt.catalog().GetConfigVersion(config.id, number);
}

Result<json> DiffConfigVersions(Runtime& rt, const Caller& caller, const catalog::Project& project,
                                const std::string& config_id, int64_t from, int64_t to) {
  ASSIGN_OR_RETURN(auto a, GetConfigVersion(rt, caller, project, config_id, from));
  ASSIGN_OR_RETURN(auto b, GetConfigVersion(rt, caller, project, config_id, to));
  auto view = [](const catalog::ConfigVersion& v) {
    return json{{"name", v.name},
                {"description", v.description},
                {"configuration", Parse(v.body_json, json::object())},
                {"rows", Parse(v.rows_json, json::array())}};
  };
  json changes = json::array();
  Diff(view(a), view(b), "", changes);
  return changes;
}

Result<catalog::Configuration> RollbackConfig(Runtime& rt, const Caller& caller,
                                              const catalog::Project& project,
                                              const std::string& config_id, int64_t number,
                                              const std::string& message) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  ASSIGN_OR_RETURN(auto current, Find(rt, project, config_id));
  ASSIGN_OR_RETURN(auto old, rt.catalog().GetConfigVersion(current.id, number));
  old.message = message.empty() ? "rollback to version " + std::to_string(number) : message;
  return Save(rt, caller, project, current, old, current.version, "config.rollback",
              {{"to_version", number}});
}

Status DeleteConfig(Runtime& rt, const Caller& caller, const catalog::Project& project,
                    const std::string& config_id) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  ASSIGN_OR_RETURN(auto current, Find(rt, project, config_id));
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    RETURN_IF_ERROR(tx.DeleteConfiguration(current.id));
    return tx.AppendEvent(AuditEvent(caller, project.id, "config.delete", "config:" + config_id));
  }));
  rt.scheduler().Notify();
  return Status::Ok();
}

Result<json> GetConfigState(Runtime& rt, const Caller& caller, const catalog::Project& project,
                            const std::string& config_id, const std::string& row_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto config, Find(rt, project, config_id));
  ASSIGN_OR_RETURN(std::string state, rt.catalog().GetConfigState(config.id, row_id));
  return Parse(state, json::object());
}

json ConfigVersionJson(const catalog::ConfigVersion& v) {
  json j = {{"version", v.number},
            {"name", v.name},
            {"description", v.description},
            {"configuration", Parse(v.body_json, json::object())},
            {"rows", Parse(v.rows_json, json::array())},
            {"message", v.message},
            {"created_at", fs::IsoTime(v.created_at)}};
  if (v.token_id) j["author"] = {{"token_id", *v.token_id}, {"description", v.token_description}};
  return j;
}

json ConfigJson(const catalog::Configuration& c) {
  json j = ConfigVersionJson(c.current);
  j["id"] = c.config_id;
  j["component_id"] = c.component_id;
  j["version"] = c.version;
  j["created_at"] = fs::IsoTime(c.created_at);
  j["changed_at"] = fs::IsoTime(c.current.created_at);
  return j;
}

}  // namespace swan::service
