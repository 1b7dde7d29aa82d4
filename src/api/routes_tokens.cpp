// Routes: tokens, audit events, garbage collection.
#include "api/auth.h"
#include "api/resolve.h"
#include "api/router.h"
#include "api/services.h"
#include "api/views.h"
#include "common/names.h"

namespace swan::api {

using nlohmann::json;

namespace {
constexpr int kEventsMax = 1000;
constexpr int64_t kDefaultRetentionSeconds = 7 * 24 * 3600;

json OptionalBody(json body) {
  body["required"] = false;
  return body;
}
}  // namespace

void AddTokenRoutes(Router& router) {
  router.Add({"GET", "/v1/projects/{project}/tokens", "List a project's tokens", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
                ASSIGN_OR_RETURN(auto tokens, ctx.services.catalog->ListTokens(project.id));
                json out = json::array();
                for (const auto& t : tokens) out.push_back(TokenJson(t));
                ctx.Json(200, {{"tokens", out}});
                return Status::Ok();
              }});
  router.Add(
      {"POST", "/v1/projects/{project}/tokens", "Create a token (scoped, or another master token)",
       "token.create", true, json::array(),
       JsonRequestBody({{"description", {{"type", "string"}}},
                        {"kind", {{"type", "string"}, {"enum", {"scoped", "master"}}}},
                        {"scopes", {{"type", "array"}}},
                        {"expires_in", {{"type", "integer"}}}}),
       201, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         catalog::Token spec;
         spec.project_id = project.id;
         spec.kind = body.value("kind", "scoped");
         if (spec.kind != "scoped" && spec.kind != "master") {
           return Status::InvalidArgument("kind must be scoped or master")
               .WithDetail("field", "kind");
         }
         spec.description = body.value("description", "");
         if (body.contains("scopes")) {
           if (!body["scopes"].is_array())
             return Status::InvalidArgument("scopes must be an array")
                 .WithDetail("field", "scopes");
           for (const auto& s : body["scopes"]) {
             if (!s.is_object() || !s.contains("bucket") || !s["bucket"].is_string()) {
               return Status::InvalidArgument("each scope needs a string 'bucket'")
                   .WithDetail("field", "scopes");
             }
             catalog::TokenScope scope{s["bucket"], s.value("access", "read")};
             std::string stage, name;
             RETURN_IF_ERROR(names::SplitBucketId(scope.bucket, &stage, &name));
             if (scope.access != "read" && scope.access != "write") {
               return Status::InvalidArgument("scope access must be read or write")
                   .WithDetail("field", "scopes");
             }
             spec.scopes.push_back(scope);
           }
         }
         if (spec.kind == "scoped" && spec.scopes.empty()) {
           return Status::InvalidArgument("a scoped token needs at least one scope")
               .WithDetail("field", "scopes");
         }
         if (body.contains("expires_in") && !body["expires_in"].is_null()) {
           if (!body["expires_in"].is_number_integer() || body["expires_in"].get<int64_t>() <= 0) {
             return Status::InvalidArgument("expires_in must be a positive number of seconds")
                 .WithDetail("field", "expires_in");
           }
           spec.expires_at = catalog::NowMs() + body["expires_in"].get<int64_t>() * 1000;
         }
         ASSIGN_OR_RETURN(auto issued, IssueToken(*ctx.services.catalog, spec));
         ctx.event_object = "token:" + std::to_string(issued.token.id);
         json token = TokenJson(issued.token);
         token["secret"] = issued.secret;
         ctx.Json(201, {{"token", token}});
         return Status::Ok();
       }});
  router.Add({"DELETE", "/v1/projects/{project}/tokens/{id}", "Revoke a token", "token.revoke",
              true, json::array(), nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = "token:" + ctx.Param("id");
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
                ASSIGN_OR_RETURN(auto id, OptionalInt(ctx.Param("id"), "id"));
                ASSIGN_OR_RETURN(auto token, ctx.services.catalog->GetToken(*id));
                if (!token.project_id || *token.project_id != project.id) {
                  return Status::NotFound("token " + ctx.Param("id") + " not found in project " +
                                          project.name);
                }
                RETURN_IF_ERROR(ctx.services.catalog->RevokeToken(*id));
                ctx.NoContent();
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/events", "The project's audit events (newest first)",
              "", true,
              json::array({{{"name", "limit"}, {"description", "at most 1000 (default 100)"}}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                RETURN_IF_ERROR(RequireProjectManage(ctx.token, project));
                ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
                int n = static_cast<int>(std::clamp<int64_t>(limit.value_or(100), 1, kEventsMax));
                ASSIGN_OR_RETURN(auto events, ctx.services.catalog->ListEvents(project.id, n));
                json out = json::array();
                for (const auto& e : events) out.push_back(EventJson(e));
                ctx.Json(200, {{"events", out}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/maintenance/gc",
              "Delete versions and files older than the retention window", "maintenance.gc", true,
              json::array(),
              OptionalBody(JsonRequestBody({{"retention_seconds", {{"type", "integer"}}}})), 200,
              [](RequestContext& ctx) -> Status {
                RETURN_IF_ERROR(RequireAdmin(ctx.token));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                int64_t retention = kDefaultRetentionSeconds;
                if (body.contains("retention_seconds")) {
                  if (!body["retention_seconds"].is_number_integer()) {
                    return Status::InvalidArgument("retention_seconds must be an integer")
                        .WithDetail("field", "retention_seconds");
                  }
                  retention = body["retention_seconds"];
                }
                ctx.event_object = "gc";
                ASSIGN_OR_RETURN(auto result, ctx.services.store->CollectGarbage(retention * 1000));
                json out = {{"deleted_versions", result.deleted_versions},
                            {"deleted_segments", result.deleted_segments},
                            {"deleted_orphan_files", result.deleted_orphan_files},
                            {"deleted_bytes", result.deleted_bytes}};
                ctx.event_details["result"] = out;
                ctx.Json(200, out);
                return Status::Ok();
              }});
}

}  // namespace swan::api
