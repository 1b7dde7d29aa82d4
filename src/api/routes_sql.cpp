// Route: read-only SQL over the project's tables (optionally written into a table).
#include "api/auth.h"
#include "api/resolve.h"
#include "api/router.h"
#include "api/services.h"
#include "api/views.h"
#include "common/names.h"
#include "storage/read_plan.h"

#include <filesystem>

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

Result<int64_t> IntField(const json& body, const char* name, int64_t fallback) {
  if (!body.contains(name) || body[name].is_null()) return fallback;
  if (!body[name].is_number_integer()) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be an integer")
        .WithDetail("field", name);
  }
  return body[name].get<int64_t>();
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
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         ASSIGN_OR_RETURN(json body, ctx.JsonBody());
         if (!body.contains("sql") || !body["sql"].is_string()) {
           return Status::InvalidArgument("missing string field 'sql'").WithDetail("field", "sql");
         }
         query::SqlRequest request;
         request.sql = body["sql"];
         ASSIGN_OR_RETURN(request.row_limit, IntField(body, "limit", query::kSqlRowsDefault));
         ASSIGN_OR_RETURN(request.timeout_ms,
                          IntField(body, "timeout_ms", query::kSqlTimeoutMsDefault));
         std::string format = body.value("format", "json");
         if (format != "json" && format != "csv") {
           return Status::InvalidArgument("format must be json or csv")
               .WithDetail("field", "format");
         }
         ctx.event_details["sql"] = request.sql.substr(0, 2000);

         ASSIGN_OR_RETURN(auto tables, ctx.services.catalog->ListTables(project.main_branch_id, 0));
         std::vector<query::SqlTable> visible;
         for (const auto& t : tables) {
           if (!CanRead(ctx.token, t.bucket_full_id)) continue;
           if (request.sql.find(t.FullId()) == std::string::npos) continue;
           ASSIGN_OR_RETURN(auto head, ctx.services.catalog->GetVersion(t.head_version_id));
           visible.push_back({t.FullId(),
                              storage::VersionSelectSql(ctx.services.data_dir, head, t.primary_key),
                              storage::SegmentPaths(ctx.services.data_dir, head)});
         }

         if (body.contains("output_table") && body["output_table"].is_string()) {
           std::string target = body["output_table"];
           ctx.event_object = target;
           std::string stage, bucket_name, table_name;
           RETURN_IF_ERROR(names::SplitTableId(target, &stage, &bucket_name, &table_name));
           RETURN_IF_ERROR(RequireWrite(ctx.token, stage + "." + bucket_name));
           std::string mode = body.value("mode", "full");
           if (mode != "full" && mode != "incremental") {
             return Status::InvalidArgument("mode must be full or incremental")
                 .WithDetail("field", "mode");
           }
           std::string out = ctx.services.store->NewTempPath(".parquet");
           struct Cleanup {
             std::string p;
             ~Cleanup() {
               std::error_code ec;
               std::filesystem::remove(p, ec);
             }
           } cleanup{out};
           ASSIGN_OR_RETURN(int64_t rows, ctx.services.sql->RunToParquet(visible, request, out));
           (void)rows;
           ASSIGN_OR_RETURN(auto bucket,
                            ResolveBucket(ctx, project, stage + "." + bucket_name, true));
           storage::ImportRequest import;
           import.file_path = out;
           import.display_name = "SQL result";
           import.format = storage::FileFormat::kParquet;
           import.incremental = mode == "incremental";
           import.token_id = ctx.token.id;
           import.operation = "sql";
           ASSIGN_OR_RETURN(auto written, ctx.services.store->Import(bucket, table_name, import));
           ctx.event_details["version"] = written.version.number;
           ctx.Json(200, {{"table", TableJson(written.table, written.version)},
                          {"version", VersionJson(written.version)}});
           return Status::Ok();
         }

         ctx.event_object = "sql";
         ASSIGN_OR_RETURN(auto result, ctx.services.sql->Run(visible, request));
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
