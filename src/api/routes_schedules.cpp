// Routes: schedules and triggers as the scheduler sees them (their configurations are created,
// edited and deleted through the configuration routes, component keboola.scheduler or
// swan.trigger), and a preview of a cron expression's next run times.
#include "api/route_support.h"
#include "api/router.h"
#include "service/schedules.h"

namespace swan::api {

using nlohmann::json;

namespace {

Result<int> NextParam(RequestContext& ctx, int fallback) {
  ASSIGN_OR_RETURN(auto next, OptionalInt(ctx.Query("next"), "next"));
  return static_cast<int>(next.value_or(fallback));
}

}  // namespace

void AddScheduleRoutes(Router& router) {
  router.Add({"GET", "/v1/projects/{project}/schedules",
              "List schedules with their last and next run times", "", true,
              QueryParams({{"next", "next run times shown per schedule (default 1, at most 100)"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(int next, NextParam(ctx, 1));
                ASSIGN_OR_RETURN(json schedules,
                                 service::ListSchedules(ctx.runtime, ctx.Caller(), project, next));
                ctx.Json(200, {{"schedules", schedules}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/projects/{project}/schedules/{id}", "Show a schedule with its next run times",
       "", true, QueryParams({{"next", "next run times shown (default 5, at most 100)"}}), nullptr,
       200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(int next, NextParam(ctx, 5));
         ASSIGN_OR_RETURN(json schedule, service::GetSchedule(ctx.runtime, ctx.Caller(), project,
                                                              ctx.Param("id"), next));
         ctx.Json(200, {{"schedule", schedule}});
         return Status::Ok();
       }});
  router.Add({"POST", "/v1/schedules/preview",
              "The next run times of a cron expression in a time zone (nothing is saved)", "", true,
              json::array(),
              JsonRequestBody({{"cronTab", {{"type", "string"}}},
                               {"timezone", {{"type", "string"}}},
                               {"next", {{"type", "integer"}}}}),
              200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                ASSIGN_OR_RETURN(std::string cron, StringField(body, "cronTab", true));
                ASSIGN_OR_RETURN(std::string zone, StringField(body, "timezone", false));
                ASSIGN_OR_RETURN(int64_t next, IntField(body, "next", 5));
                ASSIGN_OR_RETURN(json preview, service::PreviewSchedule(ctx.runtime, cron,
                                                                        zone.empty() ? "UTC" : zone,
                                                                        static_cast<int>(next)));
                ctx.Json(200, preview);
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/triggers",
              "List triggers with the version of every table they watch", "", true, json::array(),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json triggers,
                                 service::ListTriggers(ctx.runtime, ctx.Caller(), project));
                ctx.Json(200, {{"triggers", triggers}});
                return Status::Ok();
              }});
}

}  // namespace swan::api
