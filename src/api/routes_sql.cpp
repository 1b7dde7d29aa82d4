// Route: read-only SQL over the project's tables (optionally written into a table).
#include "api/route_support.h"
#include "api/router.h"
#include "api/views.h"
#include "common/limits.h"
#include "service/sql.h"

namespace swan::api {

using nlohmann::json;

namespace {

std::string CsvField(const std::optional<std::string>& v) {
  if (!v) return "";
  if (v->find_first_of(",\"\r\n") == std::string::npos) return *v;
  std::string out = "\"";
  for (char c : *v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RowsCsv(const engine::Rows& rows) {
  std::string out;
  for (size_t i = 0; i < rows.columns.size(); ++i)
    out += (i ? "," : "") + CsvField(rows.columns[i].name);
  out += "\n";
  for (const auto& row : rows.rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + CsvField(row[i]);
    out += "\n";
  }
  return out;
}

}  // namespace

void AddSqlRoutes(Router& router) {
  router.Add(
      {"POST", "/v1/projects/{project}/sql", "Run a read-only SELECT over the project's tables",
       "sql.run", true, json::array(),
       JsonRequestBody({{"sql", {{"type", "string"}}},
                        {"format", {{"type", "string"}, {"enum", {"json", "csv"}}}},
                        {"limit", {{"type", "integer"}}},
                        {"timeout_ms", {{"type", "integer"}}},
                        {"output_table", {{"type", "string"}}},
                        {"mode", {{"type", "string"}, {"enum", {"full", "incremental"}}}}},
                       {"sql"}),
       200,
       [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         if (!body.contains("sql") || !body["sql"].is_string()) {
           return Status::InvalidArgument("missing string field 'sql'").WithDetail("field", "sql");
         }
         query::SqlRequest request;
         request.started = ctx.received_at;  // the time limit counts from the request's arrival
         request.sql = body["sql"];
         ASSIGN_OR_RETURN(request.row_limit, IntField(body, "limit", limits::kSqlRowsDefault));
         ASSIGN_OR_RETURN(request.timeout_ms,
                          IntField(body, "timeout_ms", limits::kSqlTimeoutMsDefault));
         std::string format = body.value("format", "json");
         if (format != "json" && format != "csv") {
           return Status::InvalidArgument("format must be json or csv")
               .WithDetail("field", "format");
         }

         if (body.contains("output_table") && body["output_table"].is_string()) {
           service::SqlIntoTable into;
           into.table_id = body["output_table"];
           ctx.event_object = into.table_id;
           std::string mode = body.value("mode", "full");
           if (mode != "full" && mode != "incremental") {
             return Status::InvalidArgument("mode must be full or incremental")
                 .WithDetail("field", "mode");
           }
           into.incremental = mode == "incremental";
           ASSIGN_OR_RETURN(auto written, service::RunSqlIntoTable(ctx.runtime, ctx.Caller(),
                                                                   project, request, into));
           ctx.Json(200, {{"table", TableJson(written.table, written.version)},
                          {"version", VersionJson(written.version)}});
           return Status::Ok();
         }

         ctx.event_object = "sql";
         ASSIGN_OR_RETURN(auto result,
                          service::RunSql(ctx.runtime, ctx.Caller(), project, request));
         if (format == "csv") {
           ctx.Header("X-Swan-Truncated", result.truncated ? "true" : "false");
           ctx.Text(200, RowsCsv(result.rows), "text/csv");
           return Status::Ok();
         }
         json out = RowsJson(result.rows, result.rows.rows.size());
         out["truncated"] = result.truncated;
         out["elapsed_ms"] = result.elapsed_ms;
         ctx.Json(200, out);
         return Status::Ok();
       },
       /*heavy=*/true});
}

}  // namespace swan::api
