// Routes: tables — list, create, show, delete, import, export, preview, versions, restore, compact.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "api/auth.h"
#include "api/resolve.h"
#include "api/router.h"
#include "api/services.h"
#include "api/views.h"
#include "common/fs.h"
#include "common/names.h"

namespace swan::api {

using nlohmann::json;

namespace {

int64_t MsBetween(std::chrono::steady_clock::time_point from,
                  std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Deletes a temporary file when it goes out of scope.
struct TempFile {
  std::string path;
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

json QueryParams(std::initializer_list<std::pair<const char*, const char*>> params) {
  json out = json::array();
  for (const auto& [name, description] : params)
    out.push_back({{"name", name}, {"description", description}});
  return out;
}

Result<storage::ReadRequest> ReadRequestFromQuery(RequestContext& ctx) {
  storage::ReadRequest r;
  ASSIGN_OR_RETURN(r.version, OptionalInt(ctx.Query("version"), "version"));
  ASSIGN_OR_RETURN(r.limit, OptionalInt(ctx.Query("limit"), "limit"));
  if (auto c = ctx.Query("columns")) r.columns = SplitList(*c);
  if (auto w = ctx.Query("where_column")) r.where_column = *w;
  if (auto w = ctx.Query("where_values")) r.where_values = SplitList(*w);
  if (auto w = ctx.Query("where_operator")) r.where_operator = *w;
  if (auto t = ctx.Query("changed_since"); t && !t->empty()) {
    ASSIGN_OR_RETURN(int64_t ms, fs::ParseTimeMs(*t));
    r.changed_since_ms = ms;
  }
  return r;
}

Result<storage::ImportRequest> ImportRequestFromQuery(RequestContext& ctx,
                                                      const std::string& table_name) {
  storage::ImportRequest r;
  std::string format = ctx.Query("format").value_or("csv");
  if (format == "csv") {
    r.format = storage::FileFormat::kCsv;
  } else if (format == "parquet") {
    r.format = storage::FileFormat::kParquet;
  } else if (format == "jsonl" || format == "json") {
    r.format = storage::FileFormat::kJsonLines;
  } else {
    return Status::InvalidArgument("format must be csv, parquet or jsonl")
        .WithDetail("field", "format");
  }
  std::string mode = ctx.Query("mode").value_or("full");
  if (mode != "full" && mode != "incremental") {
    return Status::InvalidArgument("mode must be full or incremental").WithDetail("field", "mode");
  }
  r.incremental = mode == "incremental";
  if (auto pk = ctx.Query("primary_key")) {
    r.primary_key = SplitList(*pk);
    for (const auto& k : r.primary_key) RETURN_IF_ERROR(names::ValidateColumn(k));
  }
  if (auto v = ctx.Query("delimiter")) r.csv.delimiter = *v == "\\t" ? "\t" : *v;
  if (auto v = ctx.Query("enclosure")) r.csv.enclosure = *v;
  if (auto v = ctx.Query("escape")) r.csv.escape = *v;
  if (auto v = ctx.Query("header")) {
    if (*v != "true" && *v != "false")
      return Status::InvalidArgument("header must be true or false").WithDetail("field", "header");
    r.csv.header = *v == "true";
  }
  if (auto v = ctx.Query("columns")) r.csv.column_names = SplitList(*v);
  if (auto v = ctx.Query("types")) {
    for (const auto& item : SplitList(*v)) {
      auto colon = item.find(':');
      if (colon == std::string::npos) {
        return Status::InvalidArgument("types must look like col:TYPE,col2:TYPE, got '" + item +
                                       "'")
            .WithDetail("field", "types");
      }
      r.csv.declared_types[item.substr(0, colon)] = item.substr(colon + 1);
    }
  }
  if (auto v = ctx.Query("compression")) r.csv.compression = *v;
  std::string name = ctx.Query("name").value_or(table_name + "." + format);
  // The name only labels error messages; keep it printable and short.
  name = std::filesystem::path(name).filename().string().substr(0, 120);
  r.display_name = name.empty() ? table_name : name;
  r.token_id = ctx.token.id;
  return r;
}

Status CheckTableWrite(RequestContext& ctx, const catalog::Bucket& bucket) {
  return RequireWrite(ctx.token, bucket.FullId());
}

Status RespondWrite(RequestContext& ctx, const storage::WriteResult& w) {
  ctx.event_details["version"] = w.version.number;
  ctx.event_details["row_count"] = w.version.row_count;
  ctx.Json(200, {{"table", TableJson(w.table, w.version)}, {"version", VersionJson(w.version)}});
  return Status::Ok();
}

}  // namespace

void AddTableRoutes(Router& router) {
  router.Add({"GET", "/v1/projects/{project}/tables", "List tables", "", true,
              QueryParams({{"bucket", "only tables of this bucket id"}}), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                int64_t bucket_id = 0;
                if (auto b = ctx.Query("bucket"); b && !b->empty()) {
                  ASSIGN_OR_RETURN(auto bucket, ResolveBucket(ctx, project, *b, false));
                  RETURN_IF_ERROR(RequireRead(ctx.token, bucket.FullId()));
                  bucket_id = bucket.id;
                }
                ASSIGN_OR_RETURN(auto tables, ctx.services.catalog->ListTables(
                                                  project.main_branch_id, bucket_id));
                json out = json::array();
                for (const auto& t : tables) {
                  if (!CanRead(ctx.token, t.bucket_full_id)) continue;
                  ASSIGN_OR_RETURN(auto head, ctx.services.catalog->GetVersion(t.head_version_id));
                  out.push_back(TableJson(t, head));
                }
                ctx.Json(200, {{"tables", out}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/tables", "Create an empty table", "table.create",
              true, json::array(),
              JsonRequestBody({{"id", {{"type", "string"}}},
                               {"columns", {{"type", "array"}}},
                               {"primary_key", {{"type", "array"}}}},
                              {"id", "columns"}),
              201, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                if (!body.contains("id") || !body["id"].is_string()) {
                  return Status::InvalidArgument("missing field 'id' (e.g. in.sales.orders)")
                      .WithDetail("field", "id");
                }
                std::string id = body["id"];
                ctx.event_object = id;
                std::string stage, bucket_name, table_name;
                RETURN_IF_ERROR(names::SplitTableId(id, &stage, &bucket_name, &table_name));
                ASSIGN_OR_RETURN(auto bucket,
                                 ResolveBucket(ctx, project, stage + "." + bucket_name, true));
                RETURN_IF_ERROR(CheckTableWrite(ctx, bucket));
                std::vector<catalog::ColumnDef> columns;
                if (!body.contains("columns") || !body["columns"].is_array()) {
                  return Status::InvalidArgument("field 'columns' must be an array of {name, type}")
                      .WithDetail("field", "columns");
                }
                for (const auto& c : body["columns"]) {
                  if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) {
                    return Status::InvalidArgument("each column needs a string 'name'")
                        .WithDetail("field", "columns");
                  }
                  std::string type = c.contains("type") && c["type"].is_string()
                                         ? c["type"].get<std::string>()
                                         : "VARCHAR";
                  columns.push_back({c["name"], type});
                }
                std::vector<std::string> pk;
                if (body.contains("primary_key")) {
                  if (!body["primary_key"].is_array()) {
                    return Status::InvalidArgument("field 'primary_key' must be an array")
                        .WithDetail("field", "primary_key");
                  }
                  for (const auto& k : body["primary_key"]) {
                    if (!k.is_string())
                      return Status::InvalidArgument("primary_key items must be strings");
                    pk.push_back(k);
                  }
                }
                ASSIGN_OR_RETURN(auto table, ctx.services.store->CreateEmpty(
                                                 bucket, table_name, columns, pk, ctx.token.id));
                ASSIGN_OR_RETURN(auto head,
                                 ctx.services.catalog->GetVersion(table.head_version_id));
                ctx.Json(201, {{"table", TableJson(table, head)}});
                return Status::Ok();
              }});
  router.Add(
      {"GET", "/v1/projects/{project}/tables/{table}", "Show a table", "", true, json::array(),
       nullptr, 200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         catalog::Bucket bucket;
         ASSIGN_OR_RETURN(auto table, ResolveTable(ctx, project, ctx.Param("table"), &bucket));
         ASSIGN_OR_RETURN(auto head, ctx.services.catalog->GetVersion(table.head_version_id));
         ctx.Json(200, {{"table", TableJson(table, head)}});
         return Status::Ok();
       }});
  router.Add({"DELETE", "/v1/projects/{project}/tables/{table}", "Delete a table", "table.delete",
              true, json::array(), nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("table");
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                catalog::Bucket bucket;
                ASSIGN_OR_RETURN(auto table,
                                 ResolveTable(ctx, project, ctx.Param("table"), &bucket));
                RETURN_IF_ERROR(CheckTableWrite(ctx, bucket));
                RETURN_IF_ERROR(ctx.services.catalog->DeleteTable(table.id));
                ctx.NoContent();
                return Status::Ok();
              }});
  router.Add(
      {"POST",
       "/v1/projects/{project}/tables/{table}/import",
       "Load a file (raw request body) into a table: full or incremental, upsert with a primary "
       "key",
       "table.import",
       true,
       QueryParams({{"format", "csv | parquet | jsonl"},
                    {"mode", "full | incremental"},
                    {"primary_key", "comma-separated key columns"},
                    {"delimiter", "CSV delimiter"},
                    {"enclosure", "CSV quote character"},
                    {"escape", "CSV escape character"},
                    {"header", "true | false"},
                    {"columns", "column names when there is no header"},
                    {"types", "declared types: col:TYPE,..."},
                    {"compression", "auto | none | gzip"},
                    {"name", "file name for error messages"}}),
       {{"required", true},
        {"content",
         {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}},
       200,
       [](RequestContext& ctx) -> Status {
         ctx.event_object = ctx.Param("table");
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         std::string stage, bucket_name, table_name;
         RETURN_IF_ERROR(
             names::SplitTableId(ctx.Param("table"), &stage, &bucket_name, &table_name));
         std::string bucket_id = stage + "." + bucket_name;
         RETURN_IF_ERROR(RequireWrite(ctx.token, bucket_id));
         ASSIGN_OR_RETURN(auto request, ImportRequestFromQuery(ctx, table_name));
         TempFile upload{ctx.services.store->NewTempPath(".upload")};
         const auto started = std::chrono::steady_clock::now();
         ASSIGN_OR_RETURN(uint64_t bytes, ctx.BodyToFile(upload.path));
         const auto received = std::chrono::steady_clock::now();
         ctx.event_details["bytes"] = bytes;
         ASSIGN_OR_RETURN(auto bucket, ResolveBucket(ctx, project, bucket_id, true));
         request.file_path = upload.path;
         ASSIGN_OR_RETURN(auto written, ctx.services.store->Import(bucket, table_name, request));
         spdlog::debug("import {}: received {} bytes in {} ms, loaded in {} ms", ctx.Param("table"),
                       bytes, MsBetween(started, received),
                       MsBetween(received, std::chrono::steady_clock::now()));
         return RespondWrite(ctx, written);
       },
       /*heavy=*/true});
  router.Add(
      {"GET", "/v1/projects/{project}/tables/{table}/export",
       "Download a table or version as CSV or Parquet", "", true,
       QueryParams({{"format", "csv | parquet"},
                    {"gzip", "true to gzip CSV"},
                    {"columns", "comma-separated columns"},
                    {"version", "version number (time travel)"},
                    {"where_column", "filter column"},
                    {"where_values", "comma-separated values"},
                    {"where_operator", "eq | ne"},
                    {"changed_since", "ISO-8601 time or Unix seconds"},
                    {"limit", "row limit"}}),
       nullptr, 200, [](RequestContext& ctx) -> Status {
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         catalog::Bucket bucket;
         ASSIGN_OR_RETURN(auto table, ResolveTable(ctx, project, ctx.Param("table"), &bucket));
         ASSIGN_OR_RETURN(auto request, ReadRequestFromQuery(ctx));
         std::string format = ctx.Query("format").value_or("csv");
         if (format != "csv" && format != "parquet") {
           return Status::InvalidArgument("format must be csv or parquet")
               .WithDetail("field", "format");
         }
         bool gzip = ctx.Query("gzip").value_or("false") == "true" && format == "csv";
         std::string ext = format == "parquet" ? ".parquet" : (gzip ? ".csv.gz" : ".csv");
         std::string path = ctx.services.store->NewTempPath(ext);
         Status st = ctx.services.store->Export(
             table, request,
             format == "parquet" ? storage::ExportFormat::kParquet : storage::ExportFormat::kCsv,
             gzip, path);
         if (!st.ok()) {
           TempFile cleanup{path};
           return st;
         }
         std::string type = format == "parquet" ? "application/vnd.apache.parquet"
                                                : (gzip ? "application/gzip" : "text/csv");
         ctx.SendFile(path, type, table.FullId() + ext);
         return Status::Ok();
       }});
  router.Add({"GET", "/v1/projects/{project}/tables/{table}/preview",
              "The first rows of a table or version", "", true,
              QueryParams({{"limit", "rows (default 100, at most 1000)"},
                           {"version", "version number"},
                           {"columns", "comma-separated columns"},
                           {"where_column", "filter column"},
                           {"where_values", "comma-separated values"},
                           {"where_operator", "eq | ne"},
                           {"changed_since", "ISO-8601 time or Unix seconds"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                catalog::Bucket bucket;
                ASSIGN_OR_RETURN(auto table,
                                 ResolveTable(ctx, project, ctx.Param("table"), &bucket));
                ASSIGN_OR_RETURN(auto request, ReadRequestFromQuery(ctx));
                int64_t limit = request.limit.value_or(100);
                request.limit = limit + 1;
                if (limit > 1000)
                  return Status::InvalidArgument("preview limit is at most 1000")
                      .WithDetail("field", "limit");
                ASSIGN_OR_RETURN(auto rows, ctx.services.store->Preview(table, request));
                json out = RowsJson(rows, static_cast<size_t>(limit));
                out["truncated"] = static_cast<int64_t>(rows.rows.size()) > limit;
                ctx.Json(200, out);
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/tables/{table}/versions",
              "List a table's versions (newest first)", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
                catalog::Bucket bucket;
                ASSIGN_OR_RETURN(auto table,
                                 ResolveTable(ctx, project, ctx.Param("table"), &bucket));
                ASSIGN_OR_RETURN(auto versions, ctx.services.catalog->ListVersions(table.id));
                json out = json::array();
                for (const auto& v : versions) out.push_back(VersionJson(v));
                ctx.Json(200, {{"versions", out}});
                return Status::Ok();
              }});
  router.Add(
      {"POST", "/v1/projects/{project}/tables/{table}/versions/{n}/restore",
       "Commit an old version's rows as the new head", "table.restore", true, json::array(),
       nullptr, 200, [](RequestContext& ctx) -> Status {
         ctx.event_object = ctx.Param("table");
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         catalog::Bucket bucket;
         ASSIGN_OR_RETURN(auto table, ResolveTable(ctx, project, ctx.Param("table"), &bucket));
         RETURN_IF_ERROR(CheckTableWrite(ctx, bucket));
         ASSIGN_OR_RETURN(auto number, OptionalInt(ctx.Param("n"), "version"));
         ctx.event_details["restored_version"] = *number;
         ASSIGN_OR_RETURN(auto written, ctx.services.store->Restore(table, *number, ctx.token.id));
         return RespondWrite(ctx, written);
       }});
  router.Add(
      {"POST", "/v1/projects/{project}/tables/{table}/compact", "Fold a table's segments into one",
       "table.compact", true, json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
         ctx.event_object = ctx.Param("table");
         ASSIGN_OR_RETURN(auto project, ResolveProject(ctx));
         catalog::Bucket bucket;
         ASSIGN_OR_RETURN(auto table, ResolveTable(ctx, project, ctx.Param("table"), &bucket));
         RETURN_IF_ERROR(CheckTableWrite(ctx, bucket));
         ASSIGN_OR_RETURN(auto written, ctx.services.store->Compact(table, ctx.token.id));
         return RespondWrite(ctx, written);
       }});
}

}  // namespace swan::api
