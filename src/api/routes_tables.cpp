// Routes: tables — list, create, show, delete, import, export, preview, versions, restore, compact.
// Parse, call the service (src/service/tables.h), render.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "api/route_support.h"
#include "api/router.h"
#include "api/views.h"
#include "common/file_format.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/names.h"
#include "service/runtime.h"
#include "service/tables.h"

namespace swan::api {

using nlohmann::json;

namespace {

int64_t MsBetween(std::chrono::steady_clock::time_point from,
                  std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Deletes a temporary file when it goes out of scope.
// Deletes a file of the data directory's tmp/ when it goes out of scope.
struct TempFile {
  Env& env;
  std::string path;
  ~TempFile() { (void)env.RemoveFile(path); }
};

Result<std::optional<bool>> OptionalBool(RequestContext& ctx, const std::string& name) {
  auto v = ctx.Query(name);
  if (!v) return std::optional<bool>();
  if (*v != "true" && *v != "false")
    return Status::InvalidArgument(name + " must be true or false").WithDetail("field", name);
  return std::optional<bool>(*v == "true");
}

Result<storage::ReadRequest> ReadRequestFromQuery(RequestContext& ctx) {
  storage::ReadRequest r;
  ASSIGN_OR_RETURN(r.version, OptionalInt(ctx.Query("version"), "version"));
  ASSIGN_OR_RETURN(r.limit, OptionalInt(ctx.Query("limit"), "limit"));
  if (auto c = ctx.Query("columns")) r.columns = SplitList(*c);
  if (auto w = ctx.Query("where_column")) r.where_column = *w;
  if (auto w = ctx.Query("where_values")) r.where_values = SplitList(*w);
  if (auto w = ctx.Query("where_operator")) r.where_operator = *w;
  ASSIGN_OR_RETURN(auto original, OptionalBool(ctx, "original_names"));
  r.original_names = original.value_or(false);
  if (auto t = ctx.Query("changed_since"); t && !t->empty()) {
    ASSIGN_OR_RETURN(int64_t ms, fs::ParseTimeMs(*t));
    r.changed_since_ms = ms;
  }
  return r;
}

// How the import read the file: the format and where it came from ("given", "file name" or
// "default"), for the answer (the user sees what was assumed).
struct ImportFormat {
  std::string format;
  std::string source;
};

// The import's answer: how the file was read (every assumption visible), what was renamed and
// which rows were skipped.
json ImportJson(const ImportFormat& used, const storage::ImportRequest& request,
                const storage::ImportReport& report) {
  json read = {{"format", used.format}, {"format_from", used.source}};
  if (report.dialect) {
    const auto& d = *report.dialect;
    const auto& g = request.csv.given;
    auto from = [](bool given) { return given ? "given" : "detected"; };
    read["delimiter"] = d.delimiter;
    read["enclosure"] = d.quote;
    read["escape"] = d.escape;
    read["header"] = d.header;
    read["header_rows"] = d.header ? d.header_rows : 0;
    read["skip_lines"] = d.skip_lines;
    read["comment"] = d.comment;
    read["line_ending"] = d.newline == "\r\n" ? "crlf" : d.newline == "\r" ? "cr" : "lf";
    read["bom"] = d.bom;
    read["encoding"] = report.encoding;
    read["given"] = json::array();
    read["detected"] = json::array();
    for (const auto& [name, given] :
         std::vector<std::pair<std::string, bool>>{{"delimiter", g.delimiter.has_value()},
                                                   {"enclosure", g.quote.has_value()},
                                                   {"escape", g.escape.has_value()},
                                                   {"header", g.header.has_value()},
                                                   {"skip_lines", g.skip_lines.has_value()},
                                                   {"header_rows", g.header_rows.has_value()},
                                                   {"comment", g.comment.has_value()},
                                                   {"encoding", !request.csv.encoding.empty()}})
      read[from(given)].push_back(name);
  }
  json renamed = json::array();
  for (const auto& [from, to] : report.renamed) renamed.push_back({{"from", from}, {"to", to}});
  read["renamed"] = renamed;
  if (request.format == storage::FileFormat::kCsv) {
    read["on_bad_rows"] = request.csv.on_bad_rows == storage::BadRows::kFail   ? "fail"
                          : request.csv.on_bad_rows == storage::BadRows::kSkip ? "skip"
                                                                               : "quarantine";
    read["bad_rows"] = report.bad_rows;
    json samples = json::array();
    for (const auto& b : report.bad_row_samples)
      samples.push_back({{"line", b.line}, {"reason", b.reason}, {"raw", b.raw}});
    read["bad_row_samples"] = samples;
    if (!report.quarantine_table.empty()) read["quarantine_table"] = report.quarantine_table;
  }
  return read;
}

Result<storage::ImportRequest> ImportRequestFromQuery(RequestContext& ctx,
                                                      const std::string& table_name,
                                                      ImportFormat* used) {
  storage::ImportRequest r;
  std::string name = ctx.Query("name").value_or("");
  // The name only labels error messages; keep it printable and short.
  name = std::filesystem::path(name).filename().string().substr(0, 120);
  const auto from_name = FormatFromFileName(name);
  std::string format = "csv";
  used->source = "default";
  if (auto given = ctx.Query("format"); given && !given->empty()) {
    format = *given;
    used->source = "given";
  } else if (from_name) {
    format = from_name->format;
    used->source = "file name";
  }
  if (format == "csv") {
    r.format = storage::FileFormat::kCsv;
  } else if (format == "parquet") {
    r.format = storage::FileFormat::kParquet;
  } else if (format == "jsonl" || format == "ndjson") {
    format = "jsonl";
    r.format = storage::FileFormat::kJsonLines;
  } else if (format == "json") {
    r.format = storage::FileFormat::kJson;
  } else {
    return Status::InvalidArgument("format must be csv, parquet, json or jsonl")
        .WithDetail("field", "format");
  }
  used->format = format;
  if (r.format == storage::FileFormat::kCsv && from_name && !from_name->delimiter.empty() &&
      used->source == "file name")
    r.csv.given.delimiter = from_name->delimiter;
  std::string mode = ctx.Query("mode").value_or("full");
  if (mode != "full" && mode != "incremental") {
    return Status::InvalidArgument("mode must be full or incremental").WithDetail("field", "mode");
  }
  r.incremental = mode == "incremental";
  if (auto pk = ctx.Query("primary_key")) {
    r.primary_key = SplitList(*pk);
    for (const auto& k : r.primary_key) RETURN_IF_ERROR(names::ValidateColumn(k));
  }
  if (auto v = ctx.Query("delimiter")) r.csv.given.delimiter = *v == "\\t" ? "\t" : *v;
  if (auto v = ctx.Query("enclosure")) r.csv.given.quote = *v;
  if (auto v = ctx.Query("escape")) r.csv.given.escape = *v;
  if (auto v = ctx.Query("comment")) r.csv.given.comment = *v;
  ASSIGN_OR_RETURN(r.csv.given.header, OptionalBool(ctx, "header"));
  ASSIGN_OR_RETURN(r.csv.given.skip_lines, OptionalInt(ctx.Query("skip_lines"), "skip_lines"));
  ASSIGN_OR_RETURN(r.csv.given.header_rows, OptionalInt(ctx.Query("header_rows"), "header_rows"));
  if ((r.csv.given.skip_lines && *r.csv.given.skip_lines < 0) ||
      (r.csv.given.header_rows && (*r.csv.given.header_rows < 1 || *r.csv.given.header_rows > 10)))
    return Status::InvalidArgument("skip_lines must be 0 or more, header_rows 1 to 10")
        .WithDetail("field", "skip_lines");
  if (auto v = ctx.Query("encoding")) r.csv.encoding = *v;
  if (auto v = ctx.Query("on_bad_rows")) {
    if (*v == "fail") {
      r.csv.on_bad_rows = storage::BadRows::kFail;
    } else if (*v == "skip") {
      r.csv.on_bad_rows = storage::BadRows::kSkip;
    } else if (*v == "quarantine") {
      r.csv.on_bad_rows = storage::BadRows::kQuarantine;
    } else {
      return Status::InvalidArgument("on_bad_rows must be fail, skip or quarantine")
          .WithDetail("field", "on_bad_rows");
    }
  }
  ASSIGN_OR_RETURN(auto max_bad, OptionalInt(ctx.Query("max_bad_rows"), "max_bad_rows"));
  if (max_bad) {
    if (*max_bad < 0 || *max_bad > limits::kMaxBadRowsMax)
      return Status::InvalidArgument("max_bad_rows must be 0 to " +
                                     std::to_string(limits::kMaxBadRowsMax))
          .WithDetail("field", "max_bad_rows");
    r.csv.max_bad_rows = *max_bad;
  }
  ASSIGN_OR_RETURN(auto pad, OptionalBool(ctx, "pad_missing_trailing"));
  r.csv.pad_missing_trailing = pad.value_or(false);
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
  r.display_name = name.empty() ? table_name + "." + format : name;
  return r;
}

Status RespondWrite(RequestContext& ctx, const storage::WriteResult& w) {
  ctx.Json(200, {{"table", TableJson(w.table, w.version)}, {"version", VersionJson(w.version)}});
  return Status::Ok();
}

}  // namespace

void AddTableRoutes(Router& router) {
  router.Add({"GET", "/v1/projects/{project}/tables", "List tables", "", true,
              QueryParams({{"bucket", "only tables of this bucket id"}}), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto tables,
                                 service::ListTables(ctx.runtime, ctx.Caller(), project,
                                                     ctx.Query("bucket").value_or("")));
                json out = json::array();
                for (const auto& t : tables) out.push_back(TableJson(t.table, t.head));
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
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(json body, ctx.JsonBody());
                service::CreateTableRequest request;
                if (!body.contains("id") || !body["id"].is_string()) {
                  return Status::InvalidArgument("missing field 'id' (e.g. in.sales.orders)")
                      .WithDetail("field", "id");
                }
                request.table_id = body["id"];
                ctx.event_object = request.table_id;
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
                  request.columns.push_back({c["name"], type});
                }
                if (body.contains("primary_key")) {
                  if (!body["primary_key"].is_array()) {
                    return Status::InvalidArgument("field 'primary_key' must be an array")
                        .WithDetail("field", "primary_key");
                  }
                  for (const auto& k : body["primary_key"]) {
                    if (!k.is_string())
                      return Status::InvalidArgument("primary_key items must be strings")
                          .WithDetail("field", "primary_key");
                    request.primary_key.push_back(k);
                  }
                }
                ASSIGN_OR_RETURN(auto created,
                                 service::CreateTable(ctx.runtime, ctx.Caller(), project, request));
                ctx.Json(201, {{"table", TableJson(created.table, created.head)}});
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/tables/{table}", "Show a table", "", true,
              json::array(), nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto t, service::GetTable(ctx.runtime, ctx.Caller(), project,
                                                           ctx.Param("table")));
                ctx.Json(200, {{"table", TableJson(t.table, t.head)}});
                return Status::Ok();
              }});
  router.Add({"DELETE", "/v1/projects/{project}/tables/{table}", "Delete a table", "table.delete",
              true, json::array(), nullptr, 204, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("table");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                RETURN_IF_ERROR(
                    service::DeleteTable(ctx.runtime, ctx.Caller(), project, ctx.Param("table")));
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
       QueryParams({{"format",
                     "csv | parquet | json | jsonl (default: from the name's extension, else csv)"},
                    {"mode", "full | incremental"},
                    {"primary_key", "comma-separated key columns"},
                    {"delimiter", "CSV delimiter (1-4 characters); detected when absent"},
                    {"enclosure", "CSV quote character, empty for none; detected when absent"},
                    {"escape", "CSV escape character; detected when absent"},
                    {"header", "true | false; detected when absent"},
                    {"skip_lines", "lines before the header (titles, notes); detected"},
                    {"header_rows", "rows the header spans (1-10); detected"},
                    {"comment", "lines starting with this character are skipped"},
                    {"encoding", "utf-8 | utf-16 | latin-1 | windows-1250 | windows-1252"},
                    {"on_bad_rows", "fail (default) | skip | quarantine"},
                    {"max_bad_rows", "with skip/quarantine: more bad rows fail (default 1000)"},
                    {"pad_missing_trailing", "true: rows lacking trailing fields get NULLs"},
                    {"columns", "column names instead of the header's"},
                    {"types", "declared types: col:TYPE,..."},
                    {"compression", "auto | none | gzip"},
                    {"name", "file name for error messages"}}),
       {{"required", true},
        {"content",
         {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}},
       200,
       [](RequestContext& ctx) -> Status {
         const std::string& table_id = ctx.Param("table");
         ctx.event_object = table_id;
         ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
         // Refuse before receiving the body when the caller may not write there.
         RETURN_IF_ERROR(service::CheckImportAllowed(ctx.Caller(), table_id));
         std::string stage, bucket_name, table_name;
         RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, &table_name));
         ImportFormat used;
         ASSIGN_OR_RETURN(auto request, ImportRequestFromQuery(ctx, table_name, &used));
         storage::UploadSpool::Lease upload = ctx.runtime.store().uploads().Acquire();
         const auto started = std::chrono::steady_clock::now();
         ASSIGN_OR_RETURN(uint64_t bytes,
                          ctx.BodyToFile(upload.path(),
                                         upload.reused() ? fs::BackgroundWriter::Mode::kOverwrite
                                                         : fs::BackgroundWriter::Mode::kTruncate));
         const auto received = std::chrono::steady_clock::now();
         request.file_path = upload.path();
         ASSIGN_OR_RETURN(auto written,
                          service::ImportTable(ctx.runtime, ctx.Caller(), project, table_id,
                                               request, {{"bytes", bytes}}));
         upload.Finished();
         spdlog::debug("import {}: received {} bytes in {} ms{}, loaded in {} ms", table_id, bytes,
                       MsBetween(started, received), upload.reused() ? " (kept file)" : "",
                       MsBetween(received, std::chrono::steady_clock::now()));
         ctx.Json(200, {{"table", TableJson(written.table, written.version)},
                        {"version", VersionJson(written.version)},
                        {"import", ImportJson(used, request, written.report)}});
         return Status::Ok();
       },
       /*heavy=*/true});
  router.Add({"GET", "/v1/projects/{project}/tables/{table}/export",
              "Download a table or version as CSV or Parquet", "", true,
              QueryParams({{"format", "csv | parquet"},
                           {"gzip", "true to gzip CSV"},
                           {"original_names", "true: columns under their source header text"},
                           {"columns", "comma-separated columns"},
                           {"version", "version number (time travel)"},
                           {"where_column", "filter column"},
                           {"where_values", "comma-separated values"},
                           {"where_operator", "eq | ne"},
                           {"changed_since", "ISO-8601 time or Unix seconds"},
                           {"limit", "row limit"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto request, ReadRequestFromQuery(ctx));
                std::string format = ctx.Query("format").value_or("csv");
                if (format != "csv" && format != "parquet") {
                  return Status::InvalidArgument("format must be csv or parquet")
                      .WithDetail("field", "format");
                }
                bool gzip = ctx.Query("gzip").value_or("false") == "true" && format == "csv";
                std::string ext = format == "parquet" ? ".parquet" : (gzip ? ".csv.gz" : ".csv");
                std::string path = ctx.runtime.store().NewTempPath(ext);
                auto table = service::ExportTable(
                    ctx.runtime, ctx.Caller(), project, ctx.Param("table"), request,
                    format == "parquet" ? storage::ExportFormat::kParquet
                                        : storage::ExportFormat::kCsv,
                    gzip, path);
                if (!table.ok()) {
                  TempFile cleanup{ctx.runtime.env(), path};
                  return table.status();
                }
                std::string type = format == "parquet" ? "application/vnd.apache.parquet"
                                                       : (gzip ? "application/gzip" : "text/csv");
                ctx.SendFile(path, type, table->FullId() + ext);
                return Status::Ok();
              }});
  const std::string preview_limit = "rows (default " + std::to_string(limits::kPreviewRowsDefault) +
                                    ", at most " + std::to_string(limits::kPreviewRowsMax) + ")";
  router.Add({"GET", "/v1/projects/{project}/tables/{table}/preview",
              "The first rows of a table or version", "", true,
              QueryParams({{"limit", preview_limit.c_str()},
                           {"version", "version number"},
                           {"columns", "comma-separated columns"},
                           {"where_column", "filter column"},
                           {"where_values", "comma-separated values"},
                           {"where_operator", "eq | ne"},
                           {"changed_since", "ISO-8601 time or Unix seconds"}}),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto request, ReadRequestFromQuery(ctx));
                ASSIGN_OR_RETURN(auto preview,
                                 service::PreviewTable(ctx.runtime, ctx.Caller(), project,
                                                       ctx.Param("table"), request));
                json out = RowsJson(preview.rows, preview.rows.rows.size());
                for (auto& c : out["columns"]) {
                  auto label = preview.labels.find(c.value("name", std::string()));
                  if (label != preview.labels.end()) c["label"] = label->second;
                }
                out["truncated"] = preview.truncated;
                ctx.Json(200, out);
                return Status::Ok();
              }});
  router.Add({"GET", "/v1/projects/{project}/tables/{table}/versions",
              "List a table's versions (newest first)", "", true, json::array(), nullptr, 200,
              [](RequestContext& ctx) -> Status {
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto versions, service::ListVersions(ctx.runtime, ctx.Caller(),
                                                                      project, ctx.Param("table")));
                json out = json::array();
                for (const auto& v : versions) out.push_back(VersionJson(v));
                ctx.Json(200, {{"versions", out}});
                return Status::Ok();
              }});
  router.Add({"POST", "/v1/projects/{project}/tables/{table}/versions/{n}/restore",
              "Commit an old version's rows as the new head", "table.restore", true, json::array(),
              nullptr, 200, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("table");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto number, OptionalInt(ctx.Param("n"), "version"));
                ASSIGN_OR_RETURN(auto written,
                                 service::RestoreTable(ctx.runtime, ctx.Caller(), project,
                                                       ctx.Param("table"), number.value_or(0)));
                return RespondWrite(ctx, written);
              }});
  router.Add({"POST", "/v1/projects/{project}/tables/{table}/compact",
              "Fold a table's segments into one", "table.compact", true, json::array(), nullptr,
              200, [](RequestContext& ctx) -> Status {
                ctx.event_object = ctx.Param("table");
                ASSIGN_OR_RETURN(auto project, ProjectParam(ctx));
                ASSIGN_OR_RETURN(auto written, service::CompactTable(ctx.runtime, ctx.Caller(),
                                                                     project, ctx.Param("table")));
                return RespondWrite(ctx, written);
              }});
}

}  // namespace swan::api
