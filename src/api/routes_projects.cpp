// Routes: health, OpenAPI, the caller's token, projects and buckets. Parse, call the service,
// render: the logic and the rights checks live in src/service/.
#include "api/route_support.h"
#include "api/router.h"
#include "api/views.h"
#include "service/projects.h"
#include "service/tables.h"

namespace swan::api {

using nlohmann::json;

void AddMetaRoutes(Router& router) {
  router.Add({"GET", "/v1/health", "Liveness check", "", false, json::array(), nullptr, 200,
              [](RequestContext& ctx) {
                ctx.Json(200, {{"status", "ok"}, {"version", SWAN_VERSION}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/openapi.json", "This OpenAPI document", "", false, json::array(), nullptr,
              200, [](RequestContext& ctx) {
                ctx.Json(200, ctx.router.OpenApiDocument());
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/token", "The calling token", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) {
                ctx.Json(200, {{"token", TokenJson(ctx.token)}});
                return Status::Ok();
              }});
}

void AddProjectRoutes(Router& router) {
  router.Add({"GET", "/v1/projects", "List projects", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto projects, service::ListProjects(ctx.runtime, ctx.Caller()));
                json out = json::array();
                for (const auto& p : projects) out.push_back(ProjectJson(p));
                ctx.Json(200, {{"projects", out}});
                return Status::Ok();
              }});
  router.Add(
      {"POST", "/v1/projects", "Create a project and its master token", "project.create", true,
       json::array(),
       JsonRequestBody({{"name", {{"type", "string"}}}, {"description", {{"type", "string"}}}},
                       {"name"}),
       201, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
         ASSIGN_OR_RETURN(std::string description, StringField(body, "description", false));
         ctx.event_object = name;
         ASSIGN_OR_RETURN(auto created,
                          service::CreateProject(ctx.runtime, ctx.Caller(), name, description));
         json token = TokenJson(created.master_token);
         token["secret"] = created.master_secret;
         ctx.Json(201, {{"project", ProjectJson(created.project)}, {"token", token}});
         return Status::Ok();
       }});
  router.Add({"GET", "/v1/projects/{project}", "Show a project", "", true, json::array(), nullptr,
              200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ctx.Json(200, {{"project", ProjectJson(project)}});
                return Status::Ok();
              }});
  router.Add(
      {"DELETE", "/v1/projects/{project}", "Delete a project and everything in it",
       "project.delete", true, json::array(), nullptr, 204, [](RequestContext& ctx) -> Status {
         ctx.event_object = ctx.Param("project");
         RETURN_IF_ERROR(service::DeleteProject(ctx.runtime, ctx.Caller(), ctx.Param("project")));
         ctx.NoContent();
         return Status::Ok();
       }});

  router.Add({"GET", "/v1/projects/{project}/buckets", "List buckets", "", true, json::array(),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto buckets,
                                 service::ListBuckets(ctx.runtime, ctx.Caller(), project));
                json out = json::array();
                for (const auto& b : buckets) out.push_back(BucketJson(b));
                ctx.Json(200, {{"buckets", out}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/buckets", "Create a bucket", "bucket.create", true,
              json::array(),
              JsonRequestBody({{"stage", {{"type", "string"}}},
                               {"name", {{"type", "string"}}},
                               {"description", {{"type", "string"}}}},
                              {"stage", "name"}),
              201, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                catalog::Bucket b;
                ASSIGN_OR_RETURN(b.stage, StringField(body, "stage", true));
                ASSIGN_OR_RETURN(b.name, StringField(body, "name", true));
                ASSIGN_OR_RETURN(b.description, StringField(body, "description", false));
                ctx.event_object = b.FullId();
                ASSIGN_OR_RETURN(auto created,
                                 service::CreateBucket(ctx.runtime, ctx.Caller(), project, b));
                ctx.Json(201, {{"bucket", BucketJson(created)}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/projects/{project}/buckets/{bucket}", "Show a bucket and its tables", "", true,
       json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(auto bucket, service::ResolveBucket(ctx.runtime, ctx.Caller(), project,
                                                              ctx.Param("bucket"), false));
         ASSIGN_OR_RETURN(auto tables,
                          service::ListTables(ctx.runtime, ctx.Caller(), project, bucket.FullId()));
         json out = json::array();
         for (const auto& t : tables) out.push_back(TableJson(t.table, t.head));
         ctx.Json(200, {{"bucket", BucketJson(bucket)}, {"tables", out}});
         return Status::Ok();
       }});
  router.Add({"DELETE", "/v1/projects/{project}/buckets/{bucket}",
              "Delete a bucket (force: with its tables)", "bucket.delete", true,
              json::array({{{"name", "force"}, {"description", "true to delete its tables too"}}}),
              nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("bucket");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                bool force = ctx.Query("force").value_or("false") == "true";
                RETURN_IF_ERROR(service::DeleteBucket(ctx.runtime, ctx.Caller(), project,
                                                      ctx.Param("bucket"), force));
                ctx.NoContent();
                return Status::Ok();
              }});
}

}  // namespace swan::api
