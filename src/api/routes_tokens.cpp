// Routes: tokens, audit events, garbage collection.
#include "api/route_support.h"
#include "api/router.h"
#include "api/views.h"
#include "common/limits.h"
#include "service/tokens.h"

namespace swan::api {

using nlohmann::json;

namespace {
json OptionalBody(json body) {
  body["required"] = false;
  return body;
}
}  // namespace

void AddTokenRoutes(Router& router) {
  router.Add({"GET", "/v1/projects/{project}/tokens", "List a project's tokens", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto tokens,
                                 service::ListTokens(ctx.runtime, ctx.Caller(), project));
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
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         service::CreateTokenRequest request;
         ASSIGN_OR_RETURN(request.kind, StringField(body, "kind", false));
         if (request.kind.empty()) request.kind = "scoped";
         ASSIGN_OR_RETURN(request.description, StringField(body, "description", false));
         if (body.contains("scopes")) {
           if (!body["scopes"].is_array())
             return Status::InvalidArgument("scopes must be an array")
                 .WithDetail("field", "scopes");
           for (const auto& s : body["scopes"]) {
             if (!s.is_object() || !s.contains("bucket") || !s["bucket"].is_string()) {
               return Status::InvalidArgument("each scope needs a string 'bucket'")
                   .WithDetail("field", "scopes");
             }
             request.scopes.push_back({s["bucket"], s.value("access", "read")});
           }
         }
         if (body.contains("expires_in") && !body["expires_in"].is_null()) {
           if (!body["expires_in"].is_number_integer())
             return Status::InvalidArgument("expires_in must be a positive number of seconds")
                 .WithDetail("field", "expires_in");
           request.expires_in_seconds = body["expires_in"].get<int64_t>();
         }
         ASSIGN_OR_RETURN(auto issued,
                          service::CreateToken(ctx.runtime, ctx.Caller(), project, request));
         json token = TokenJson(issued.token);
         token["secret"] = issued.secret;
         ctx.Json(201, {{"token", token}});
         return Status::Ok();
       }});
  router.Add({"DELETE", "/v1/projects/{project}/tokens/{id}", "Revoke a token", "token.revoke",
              true, json::array(), nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = "token:" + ctx.Param("id");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto id, OptionalInt(ctx.Param("id"), "id"));
                RETURN_IF_ERROR(
                    service::RevokeToken(ctx.runtime, ctx.Caller(), project, id.value_or(0)));
                ctx.NoContent();
                return Status::Ok();
              }});
  const std::string events_limit = "at most " + std::to_string(limits::kEventsMax) + " (default " +
                                   std::to_string(limits::kEventsDefault) + ")";
  router.Add({"GET", "/v1/projects/{project}/events", "The project's audit events (newest first)",
              "", true, QueryParams({{"limit", events_limit.c_str()}}), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
                int n = static_cast<int>(std::clamp<int64_t>(limit.value_or(limits::kEventsDefault),
                                                             1, limits::kEventsMax));
                ASSIGN_OR_RETURN(auto events,
                                 service::ListEvents(ctx.runtime, ctx.Caller(), project, n));
                json out = json::array();
                for (const auto& e : events) out.push_back(EventJson(e));
                ctx.Json(200, {{"events", out}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/events",
       "Audit events of the organization, any project (deleted ones too): admin only", "", true,
       QueryParams({{"project_id", "only this project id"}, {"limit", events_limit.c_str()}}),
       nullptr, 200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project_id, OptionalInt(ctx.Query("project_id"), "project_id"));
         ASSIGN_OR_RETURN(auto limit, OptionalInt(ctx.Query("limit"), "limit"));
         int n = static_cast<int>(
             std::clamp<int64_t>(limit.value_or(limits::kEventsDefault), 1, limits::kEventsMax));
         ASSIGN_OR_RETURN(auto events, service::ListOrganizationEvents(ctx.runtime, ctx.Caller(),
                                                                       project_id, n));
         json out = json::array();
         for (const auto& e : events) out.push_back(EventJson(e));
         ctx.Json(200, {{"events", out}});
         return Status::Ok();
       }});
  router.Add(
      {"POST", "/v1/maintenance/gc", "Delete versions and files older than the retention window",
       "maintenance.gc", true, json::array(),
       OptionalBody(JsonRequestBody({{"retention_seconds", {{"type", "integer"}}}})), 200,
       [](RequestContext& ctx) -> Status {
         ctx.event_object = "gc";
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         ASSIGN_OR_RETURN(int64_t retention,
                          IntField(body, "retention_seconds", limits::kRetentionSecondsDefault));
         ASSIGN_OR_RETURN(auto result,
                          service::CollectGarbage(ctx.runtime, ctx.Caller(), retention));
         ctx.Json(200, {{"deleted_versions", result.deleted_versions},
                        {"deleted_segments", result.deleted_segments},
                        {"deleted_orphan_files", result.deleted_orphan_files},
                        {"deleted_bytes", result.deleted_bytes}});
         return Status::Ok();
       }});
}

}  // namespace swan::api
