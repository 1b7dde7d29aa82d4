// Routes: health, OpenAPI, the caller's token, projects and buckets.
#include "api/auth.h"
#include "api/resolve.h"
#include "api/router.h"
#include "api/services.h"
#include "api/views.h"
#include "common/names.h"

namespace swan::api {

using nlohmann::json;

namespace {

Result<std::string> StringField(const json& body, const char* name, bool required) {
  if (!body.contains(name) || body[name].is_null()) {
    if (required)
      return Status::InvalidArgument(std::string("missing field '") + name + "'")
          .WithDetail("field", name);
    return std::string();
  }
  if (!body[name].is_string()) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be a string")
        .WithDetail("field", name);
  }
  return body[name].get<std::string>();
}

}  // namespace

void AddMetaRoutes(Router& router) {
  router.Add({"GET", "/v1/health", "Liveness check", "", false, json::array(), nullptr, 200,
              [](RequestContext& ctx) {
                ctx.Json(200, {{"status", "ok"}, {"version", SWAN_VERSION}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/openapi.json", "This OpenAPI document", "", false, json::array(), nullptr,
              200, [](RequestContext& ctx) {
                ctx.Json(200, ctx.services.router->OpenApiDocument());
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
              [](RequestContext& ctx) {
                ASSIGN_OR_RETURN(auto projects, ctx.services.catalog->ListProjects());
                json out = json::array();
                for (const auto& p : projects) {
                  if (RequireProjectAccess(ctx.token, p).ok()) out.push_back(ProjectJson(p));
                }
                ctx.Json(200, {{"projects", out}});
                return Status::Ok();
              }});
  router.Add(
      {"POST", "/v1/projects", "Create a project and its master token", "project.create", true,
       json::array(),
       JsonRequestBody({{"name", {{"type", "string"}}}, {"description", {{"type", "string"}}}},
                       {"name"}),
       201, [](RequestContext& ctx) -> Status {
         RETURN_IF_ERROR(RequireAdmin(ctx.token));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
         ASSIGN_OR_RETURN(std::string description, StringField(body, "description", false));
         ctx.event_object = name;
         RETURN_IF_ERROR(names::ValidateProject(name));
         ASSIGN_OR_RETURN(auto project, ctx.services.catalog->CreateProject(name, description));
         ctx.event_project_id = project.id;
         catalog::Token spec;
         spec.project_id = project.id;
         spec.kind = "master";
         spec.description = "master token of " + name;
         ASSIGN_OR_RETURN(auto issued, IssueToken(*ctx.services.catalog, spec));
         json token = TokenJson(issued.token);
         token["secret"] = issued.secret;
         ctx.Json(201, {{"project", ProjectJson(project)}, {"token", token}});
         return Status::Ok();
       }});
  router.Add({"GET", "/v1/projects/{project}", "Show a project", "", true, json::array(), nullptr,
              200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                ctx.Json(200, {{"project", ProjectJson(project)}});
                return Status::Ok();
              }});
  router.Add({"DELETE", "/v1/projects/{project}", "Delete a project and everything in it",
              "project.delete", true, json::array(), nullptr, 204,
              [](RequestContext& ctx) -> Status {
                RETURN_IF_ERROR(RequireAdmin(ctx.token));
                ctx.event_object = ctx.Param("project");
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(ctx.services.catalog->DeleteProject(project.id));
                ctx.NoContent();
                return Status::Ok();
              }});

  router.Add({"GET", "/v1/projects/{project}/buckets", "List buckets", "", true, json::array(),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                ASSIGN_OR_RETURN(auto buckets,
                                 ctx.services.catalog->ListBuckets(project.main_branch_id));
                json out = json::array();
                for (const auto& b : buckets) {
                  if (CanRead(ctx.token, b.FullId())) out.push_back(BucketJson(b));
                }
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
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                catalog::Bucket b;
                ASSIGN_OR_RETURN(b.stage, StringField(body, "stage", true));
                ASSIGN_OR_RETURN(b.name, StringField(body, "name", true));
                ASSIGN_OR_RETURN(b.description, StringField(body, "description", false));
                ctx.event_object = b.FullId();
                RETURN_IF_ERROR(names::ValidateStage(b.stage));
                RETURN_IF_ERROR(names::ValidateBucketName(b.name));
                b.project_id = project.id;
                b.branch_id = project.main_branch_id;
                ASSIGN_OR_RETURN(auto created, ctx.services.catalog->CreateBucket(b));
                ctx.Json(201, {{"bucket", BucketJson(created)}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/projects/{project}/buckets/{bucket}", "Show a bucket and its tables", "", true,
       json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         ASSIGN_OR_RETURN(auto bucket, ResolveBucket(ctx, project, ctx.Param("bucket"), false));
         RETURN_IF_ERROR(RequireRead(ctx.token, bucket.FullId()));
         ASSIGN_OR_RETURN(auto tables,
                          ctx.services.catalog->ListTables(project.main_branch_id, bucket.id));
         json out = json::array();
         for (const auto& t : tables) {
           ASSIGN_OR_RETURN(auto head, ctx.services.catalog->GetVersion(t.head_version_id));
           out.push_back(TableJson(t, head));
         }
         ctx.Json(200, {{"bucket", BucketJson(bucket)}, {"tables", out}});
         return Status::Ok();
       }});
  router.Add({"DELETE", "/v1/projects/{project}/buckets/{bucket}",
              "Delete a bucket (force: with its tables)", "bucket.delete", true,
              json::array({{{"name", "force"}, {"description", "true to delete its tables too"}}}),
              nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("bucket");
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
                ASSIGN_OR_RETURN(auto bucket,
                                 ResolveBucket(ctx, project, ctx.Param("bucket"), false));
                bool force = ctx.Query("force").value_or("false") == "true";
                RETURN_IF_ERROR(ctx.services.catalog->DeleteBucket(bucket.id, force));
                ctx.NoContent();
                return Status::Ok();
              }});
}

}  // namespace swan::api
