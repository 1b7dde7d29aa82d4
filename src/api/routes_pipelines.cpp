// Routes: components, configurations (with versions and state) and jobs (with events).
#include "api/route_support.h"
#include "api/router.h"
#include "jobs/variables.h"
#include "service/access.h"
#include "service/configs.h"
#include "service/files.h"
#include "service/jobs.h"

namespace swan::api {

using nlohmann::json;

namespace {

// The fields of a configuration change in a request body.
Result<service::ConfigChange> ConfigChangeFromBody(const json& body, const std::string& text) {
  service::ConfigChange change;
  ASSIGN_OR_RETURN(change.config_id, StringField(body, "id", false));
  ASSIGN_OR_RETURN(change.component_id, StringField(body, "component_id", false));
  ASSIGN_OR_RETURN(change.message, StringField(body, "message", false));
  for (const char* f : {"name", "description"}) {
    if (!body.contains(f)) continue;
    if (!body[f].is_string())
      return Status::InvalidArgument(std::string(f) + " must be a string").WithDetail("field", f);
    (f[0] == 'n' ? change.name : change.description) = body[f].get<std::string>();
  }
  if (body.contains("configuration")) {
    change.configuration = body["configuration"];
    // Its keys in the order sent: a Keboola extractor's columns and query parameters follow it.
    auto ordered = nlohmann::ordered_json::parse(text, nullptr, false);
    if (ordered.is_object() && ordered.contains("configuration"))
      change.configuration_text = ordered["configuration"].dump();
  }
  if (body.contains("rows")) change.rows = body["rows"];
  if (body.contains("version")) {
    if (!body["version"].is_number_integer())
      return Status::InvalidArgument("version must be the version the change is made on")
          .WithDetail("field", "version");
    change.expected_version = body["version"].get<int64_t>();
  }
  return change;
}

Result<int64_t> RequiredInt(RequestContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(auto v, OptionalInt(ctx.Param(name), name));
  if (!v) return Status::InvalidArgument(name + " is required").WithDetail("field", name);
  return *v;
}

const json kConfigBody = JsonRequestBody({{"id", {{"type", "string"}}},
                                          {"component_id", {{"type", "string"}}},
                                          {"name", {{"type", "string"}}},
                                          {"description", {{"type", "string"}}},
                                          {"configuration", {{"type", "object"}}},
                                          {"rows", {{"type", "array"}}},
                                          {"message", {{"type", "string"}}},
                                          {"version", {{"type", "integer"}}}});

}  // namespace

void AddPipelineRoutes(Router& router) {
  router.Add({"GET", "/v1/components", "List the components that can run as jobs", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                // Paths of the server's registry files reach the organization's admin only.
                const bool admin = service::IsAdmin(ctx.token);
                std::vector<std::string> problems;
                json out = json::array();
                for (const auto& c : ctx.runtime.components().List(&problems))
                  out.push_back(jobs::ComponentJson(c, admin));
                json answer = {{"components", out}};
                if (admin) {
                  answer["problems"] = problems;
                } else {
                  answer["problems_count"] = problems.size();
                }
                ctx.Json(200, answer);
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/components/{id}", "Show a component", "", true, json::array(), nullptr,
              200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto c, ctx.runtime.components().Find(ctx.Param("id")));
                ctx.Json(200, {{"component", jobs::ComponentJson(c, service::IsAdmin(ctx.token))}});
                return Status::Ok();
              }});

  router.Add({"GET", "/v1/projects/{project}/configs", "List configurations", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto configs,
                                 service::ListConfigs(ctx.runtime, ctx.Caller(), project));
                json out = json::array();
                for (const auto& c : configs) out.push_back(service::ConfigJson(c));
                ctx.Json(200, {{"configs", out}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/configs",
              "Create a configuration (secrets in `#` keys are encrypted)", "config.create", true,
              json::array(), kConfigBody, 201, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                ASSIGN_OR_RETURN(auto change, ConfigChangeFromBody(body, ctx.json_body_text));
                ctx.event_object = "config:" + change.config_id;
                ASSIGN_OR_RETURN(auto c, service::CreateConfig(ctx.runtime, ctx.Caller(), project,
                                                               std::move(change)));
                ctx.Json(201, {{"config", service::ConfigJson(c)}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/configs/{config}", "Show a configuration", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto c, service::GetConfig(ctx.runtime, ctx.Caller(), project,
                                                            ctx.Param("config")));
                ctx.Json(200, {{"config", service::ConfigJson(c)}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/configs/{config}",
              "Change a configuration: a new version (fields not given stay)", "config.edit", true,
              json::array(), kConfigBody, 200, [](RequestContext& ctx) -> Status {
                ctx.event_object = "config:" + ctx.Param("config");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                ASSIGN_OR_RETURN(auto change, ConfigChangeFromBody(body, ctx.json_body_text));
                ASSIGN_OR_RETURN(auto c,
                                 service::EditConfig(ctx.runtime, ctx.Caller(), project,
                                                     ctx.Param("config"), std::move(change)));
                ctx.Json(200, {{"config", service::ConfigJson(c)}});
                return Status::Ok();
              }});
  router.Add({"DELETE", "/v1/projects/{project}/configs/{config}", "Delete a configuration",
              "config.delete", true, json::array(), nullptr, 204,
              [](RequestContext& ctx) -> Status {
                ctx.event_object = "config:" + ctx.Param("config");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                RETURN_IF_ERROR(
                    service::DeleteConfig(ctx.runtime, ctx.Caller(), project, ctx.Param("config")));
                ctx.NoContent();
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/configs/{config}/versions",
              "A configuration's versions, newest first", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto versions,
                                 service::ListConfigVersions(ctx.runtime, ctx.Caller(), project,
                                                             ctx.Param("config")));
                json out = json::array();
                for (const auto& v : versions) out.push_back(service::ConfigVersionJson(v));
                ctx.Json(200, {{"versions", out}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/configs/{config}/versions/{version}",
              "One version of a configuration", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int64_t n, RequiredInt(ctx, "version"));
                ASSIGN_OR_RETURN(auto v,
                                 service::GetConfigVersion(ctx.runtime, ctx.Caller(), project,
                                                           ctx.Param("config"), n));
                ctx.Json(200, {{"version", service::ConfigVersionJson(v)}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/configs/{config}/diff",
              "What changed between two versions", "", true,
              QueryParams({{"from", "version number (default: the one before `to`)"},
                           {"to", "version number (default: the current one)"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto config, service::GetConfig(ctx.runtime, ctx.Caller(), project,
                                                                 ctx.Param("config")));
                ASSIGN_OR_RETURN(auto to, OptionalInt(ctx.Query("to"), "to"));
                ASSIGN_OR_RETURN(auto from, OptionalInt(ctx.Query("from"), "from"));
                const int64_t to_n = to.value_or(config.version);
                // Version 1 has no earlier one: compared with itself (no changes).
                const int64_t from_n = from.value_or(std::max<int64_t>(1, to_n - 1));
                ASSIGN_OR_RETURN(json changes,
                                 service::DiffConfigVersions(ctx.runtime, ctx.Caller(), project,
                                                             ctx.Param("config"), from_n, to_n));
                ctx.Json(200, {{"from", from_n}, {"to", to_n}, {"changes", changes}});
                return Status::Ok();
              }});
  router.Add(
      {"POST", "/v1/projects/{project}/configs/{config}/rollback",
       "Make an old version current again (as a new version)", "config.rollback", true,
       json::array(),
       JsonRequestBody({{"version", {{"type", "integer"}}}, {"message", {{"type", "string"}}}},
                       {"version"}),
       200, [](RequestContext& ctx) -> Status {
         ctx.event_object = "config:" + ctx.Param("config");
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         ASSIGN_OR_RETURN(int64_t n, IntField(body, "version", 0));
         ASSIGN_OR_RETURN(std::string message, StringField(body, "message", false));
         ASSIGN_OR_RETURN(auto c, service::RollbackConfig(ctx.runtime, ctx.Caller(), project,
                                                          ctx.Param("config"), n, message));
         ctx.Json(200, {{"config", service::ConfigJson(c)}});
         return Status::Ok();
       }});
  router.Add({"GET", "/v1/projects/{project}/configs/{config}/state",
              "The component state stored for the configuration (or a row)", "", true,
              QueryParams({{"row", "row id"}}), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(
                    json state,
                    service::GetConfigState(ctx.runtime, ctx.Caller(), project, ctx.Param("config"),
                                            ctx.Query("row").value_or("")));
                ctx.Json(200, {{"state", state}});
                return Status::Ok();
              }});

  router.Add({"POST", "/v1/projects/{project}/configs/{config}/run",
              "Run a configuration (or one row) as a job", "job.create", true, json::array(),
              JsonRequestBody({{"row", {{"type", "string"}}},
                               {"timeout", {{"type", "integer"}, {"description", "seconds"}}},
                               {"max_attempts", {{"type", "integer"}}},
                               {"debug", {{"type", "boolean"}}},
                               {"variables", {{"type", "object"}}}}),
              201, [](RequestContext& ctx) -> Status {
                ctx.event_object = "config:" + ctx.Param("config");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                service::RunRequest request;
                request.config_id = ctx.Param("config");
                ASSIGN_OR_RETURN(request.row_id, StringField(body, "row", false));
                ASSIGN_OR_RETURN(int64_t timeout, IntField(body, "timeout", 0));
                if (timeout < 0 || timeout > int64_t{7} * 24 * 3600)
                  return Status::InvalidArgument("timeout must be between 1 second and 7 days")
                      .WithDetail("field", "timeout");
                request.timeout_ms = timeout * 1000;
                ASSIGN_OR_RETURN(int64_t attempts, IntField(body, "max_attempts", 1));
                request.max_attempts = static_cast<int>(attempts);
                if (body.contains("debug")) {
                  if (!body["debug"].is_boolean())
                    return Status::InvalidArgument("debug must be true or false")
                        .WithDetail("field", "debug");
                  request.debug = body["debug"].get<bool>();
                }
                // {name: value}, or Keboola's {"variableValuesData": {"values": [{name, value}]}}.
                json variables = body.value("variables", json());
                if (body.contains("variableValuesData")) {
                  const json& values = body["variableValuesData"].value("values", json::array());
                  if (!values.is_array())
                    return Status::InvalidArgument("variableValuesData.values must be a list")
                        .WithDetail("field", "variableValuesData.values");
                  if (!variables.is_object()) variables = json::object();
                  for (const auto& v : values)
                    if (v.is_object() && v.contains("name") && v["name"].is_string())
                      variables[v["name"].get<std::string>()] = v.value("value", json(""));
                }
                ASSIGN_OR_RETURN(request.variables, jobs::ParseVariables(variables));
                ASSIGN_OR_RETURN(auto job,
                                 service::RunConfig(ctx.runtime, ctx.Caller(), project, request));
                ctx.Json(201, {{"job", service::JobJson(job)}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/files",
              "List files jobs wrote (out/files), newest first", "", true,
              QueryParams({{"tags", "only files with every one of these tags: a,b"},
                           {"limit", "at most this many (default 100, at most 1000)"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
                ASSIGN_OR_RETURN(auto files,
                                 service::ListFiles(ctx.runtime, ctx.Caller(), project,
                                                    SplitList(ctx.Query("tags").value_or("")),
                                                    static_cast<int>(limit.value_or(100))));
                json out = json::array();
                for (const auto& f : files) out.push_back(service::FileJson(f));
                ctx.Json(200, {{"files", out}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/files/{id}/download", "Download a file's bytes", "",
              true, json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int64_t id, RequiredInt(ctx, "id"));
                catalog::StoredFile file;
                ASSIGN_OR_RETURN(
                    std::string copy,
                    service::CopyFileForDownload(ctx.runtime, ctx.Caller(), project, id, &file));
                ctx.SendFile(copy, "application/octet-stream", file.name);
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/jobs", "List jobs, newest first", "", true,
              QueryParams({{"config", "only this configuration's jobs"},
                           {"status", "only jobs in this state"},
                           {"limit", "at most this many (default 100, at most 1000)"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
                ASSIGN_OR_RETURN(auto jobs,
                                 service::ListJobs(ctx.runtime, ctx.Caller(), project,
                                                   ctx.Query("config").value_or(""),
                                                   ctx.Query("status").value_or(""),
                                                   static_cast<int>(limit.value_or(100))));
                json out = json::array();
                for (const auto& j : jobs) out.push_back(service::JobJson(j));
                ctx.Json(200, {{"jobs", out}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/projects/{project}/jobs/{id}", "Show a job", "", true, json::array(), nullptr,
       200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(int64_t id, RequiredInt(ctx, "id"));
         ASSIGN_OR_RETURN(auto job, service::GetJob(ctx.runtime, ctx.Caller(), project, id));
         json out = service::JobJson(job);
         if (job.component_id == catalog::kFlowComponentId) {
           // A flow's job shows its tasks' jobs, oldest first.
           ASSIGN_OR_RETURN(auto tasks, service::FlowTasks(ctx.runtime, ctx.Caller(), project, id));
           out["tasks"] = json::array();
           for (const auto& t : tasks) out["tasks"].push_back(service::JobJson(t));
           // And every task of the flow with what it did: also those without a job.
           ASSIGN_OR_RETURN(auto statuses, service::FlowTaskStatuses(ctx.runtime, job, tasks));
           out["flow_tasks"] = json::array();
           for (const auto& s : statuses) out["flow_tasks"].push_back(service::TaskStatusJson(s));
         }
         ctx.Json(200, {{"job", out}});
         return Status::Ok();
       }});
  router.Add({"POST", "/v1/projects/{project}/jobs/{id}/rerun",
              "Rerun a flow's job from failure: failed tasks and what follows them run again",
              "job.rerun", true, json::array(), nullptr, 201, [](RequestContext& ctx) -> Status {
                ctx.event_object = "job:" + ctx.Param("id");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int64_t id, RequiredInt(ctx, "id"));
                ASSIGN_OR_RETURN(auto job,
                                 service::RerunFlow(ctx.runtime, ctx.Caller(), project, id));
                ctx.Json(201, {{"job", service::JobJson(job)}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/jobs/{id}/cancel",
              "Cancel a job (its component's processes are killed)", "job.cancel", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ctx.event_object = "job:" + ctx.Param("id");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int64_t id, RequiredInt(ctx, "id"));
                ASSIGN_OR_RETURN(auto job,
                                 service::CancelJob(ctx.runtime, ctx.Caller(), project, id));
                ctx.Json(200, {{"job", service::JobJson(job)}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/jobs/{id}/events",
              "A job's events in order; with wait, a long poll that follows the job", "", true,
              QueryParams({{"after", "only events with a larger id (default 0)"},
                           {"limit", "at most this many (default 1000)"},
                           {"wait", "seconds to wait for new events while the job runs (0-60)"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int64_t id, RequiredInt(ctx, "id"));
                ASSIGN_OR_RETURN(auto after, OptionalInt(ctx.Query("after"), "after"));
                ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
                ASSIGN_OR_RETURN(auto wait, OptionalInt(ctx.Query("wait"), "wait"));
                ASSIGN_OR_RETURN(
                    auto events,
                    service::JobEvents(ctx.runtime, ctx.Caller(), project, id, after.value_or(0),
                                       static_cast<int>(limit.value_or(1000)),
                                       wait.value_or(0) * 1000));
                ASSIGN_OR_RETURN(auto job, service::GetJob(ctx.runtime, ctx.Caller(), project, id));
                json out = json::array();
                for (const auto& e : events) out.push_back(service::JobEventJson(e));
                ctx.Json(200, {{"events", out},
                               {"status", job.status},
                               {"finished", catalog::IsFinalJobStatus(job.status)}});
                return Status::Ok();
              }});
}

}  // namespace swan::api
