#include "cli/commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "api/server.h"
#include "cli/output.h"
#include "client/api_client.h"
#include "demo/demo.h"

namespace swan::cli {
namespace {

using client::ApiClient;
using client::UrlEncode;
using nlohmann::json;

std::string EnvOr(const std::string& given, const char* env_name, const std::string& fallback) {
  if (!given.empty()) return given;
  const char* env = std::getenv(env_name);
  if (env != nullptr && env[0] != '\0') return env;
  return fallback;
}

// The API client of a command: URL and token from the options or the environment.
Result<ApiClient> Connect(const GlobalOptions& global) {
  const std::string url = EnvOr(global.url, "SWAN_URL", kDefaultUrl);
  const std::string token = EnvOr(global.token, "SWAN_TOKEN", "");
  if (token.empty()) {
    return Status::InvalidArgument("no token given: pass --token or set SWAN_TOKEN");
  }
  return ApiClient(url, token);
}

// The project a command works in: --project, $SWAN_PROJECT, or the project of the token.
Result<std::string> ResolveProject(const GlobalOptions& global, const ApiClient& api) {
  std::string project = EnvOr(global.project, "SWAN_PROJECT", "");
  if (!project.empty()) return project;
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/token"));
  const json token = answer.value("token", json::object());
  if (token.contains("project") && token["project"].is_string()) {
    return token["project"].get<std::string>();
  }
  return Status::InvalidArgument(
      "this token belongs to no project (admin token): pass --project or set SWAN_PROJECT");
}

// A client plus the resolved project, for project-scoped commands.
struct ProjectSession {
  ApiClient api;
  std::string project;

  std::string Path(const std::string& suffix) const {
    return "/v1/projects/" + UrlEncode(project) + suffix;
  }
  std::string TablePath(const std::string& table_id, const std::string& suffix = "") const {
    return Path("/tables/" + UrlEncode(table_id) + suffix);
  }
};

Result<ProjectSession> OpenProject(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(std::string project, ResolveProject(global, api));
  return ProjectSession{std::move(api), std::move(project)};
}

// Builds "?a=1&b=2" from the non-empty pairs, URL-encoding values.
class Query {
 public:
  // Adds key=value unless value is empty (the server default applies then).
  Query& Add(const std::string& key, const std::string& value) {
    return value.empty() ? *this : AddAlways(key, value);
  }
  Query& AddAlways(const std::string& key, const std::string& value) {
    text_ += text_.empty() ? '?' : '&';
    text_ += key + "=" + UrlEncode(value);
    return *this;
  }
  Query& Add(const std::string& key, const std::optional<int64_t>& value) {
    return value ? Add(key, std::to_string(*value)) : *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

void PrintJson(const json& value) { std::cout << value.dump(2) << '\n'; }

std::string BytesField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return "-";
  return FormatBytes(it->get<uint64_t>());
}

// Prints "key: value" lines with the values aligned.
void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  for (const auto& [key, value] : fields) {
    std::cout << key << ':' << std::string(width - key.size() + 1, ' ')
              << (value.empty() ? "-" : value) << '\n';
  }
}

std::string JoinStrings(const json& array) {
  std::string out;
  if (!array.is_array()) return out;
  for (const auto& item : array) {
    if (!out.empty()) out += ',';
    out += CellText(item);
  }
  return out;
}

std::string ScopesText(const json& token) {
  std::string out;
  if (!token.contains("scopes") || !token["scopes"].is_array()) return "-";
  for (const auto& scope : token["scopes"]) {
    if (!out.empty()) out += ',';
    out += FieldText(scope, "access") + ":" + FieldText(scope, "bucket");
  }
  return out.empty() ? "-" : out;
}

void PrintTables(const json& tables) {
  TextTable table({"ID", "ROWS", "BYTES", "VERSION", "UPDATED"});
  table.AlignRight(1);
  table.AlignRight(2);
  table.AlignRight(3);
  if (tables.is_array()) {
    for (const auto& t : tables) {
      table.AddRow({FieldText(t, "id"), FieldText(t, "row_count"), BytesField(t, "bytes"),
                    FieldText(t, "version"), FieldText(t, "updated_at")});
    }
  }
  table.Print(std::cout);
}

// "version 3 (import_full): 100 rows, 2.0 KiB"
std::string VersionSummary(const json& answer) {
  const json version = answer.value("version", json::object());
  const json table = answer.value("table", json::object());
  std::string text = "version " + FieldText(version.is_object() ? version : table, "version");
  if (version.is_object() && version.contains("operation")) {
    text += " (" + FieldText(version, "operation") + ")";
  }
  const json& counts = version.is_object() && version.contains("row_count") ? version : table;
  text += ", " + FieldText(counts, "row_count") + " rows, " + BytesField(counts, "bytes");
  return text;
}

// A delimiter-like option: one character, with "\t" and "tab" spelled out for convenience.
Result<std::string> CharOption(const std::string& name, const std::string& value) {
  if (value.empty()) return value;
  if (value == "\\t" || value == "tab") return std::string("\t");
  if (value.size() != 1) {
    return Status::InvalidArgument("--" + name + " must be one character, got '" + value + "'");
  }
  return value;
}

Result<std::string> ReadSql(const std::string& sql) {
  if (sql != "-") return sql;
  std::string text;
  char buffer[65536];
  while (std::cin.read(buffer, sizeof(buffer)) || std::cin.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > kSqlTextBytesMax) {
      return Status::InvalidArgument("the SQL read from stdin exceeds " +
                                     std::to_string(kSqlTextBytesMax) + " bytes");
    }
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("no SQL statement on stdin");
  }
  return text;
}

Status PrintDone(const GlobalOptions& global, const json& answer, const std::string& message) {
  if (global.json) {
    PrintJson(answer);
  } else {
    std::cout << message << '\n';
  }
  return Status::Ok();
}

}  // namespace

// ---- server and demo ----------------------------------------------------------------------------

Result<HostPort> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::InvalidArgument("--listen must be HOST:PORT, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = listen.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--listen port must be a number 0..65535, got '" + port_text +
                                   "'");
  }
  const int port = std::stoi(port_text);
  if (port > 65535) {
    return Status::InvalidArgument("--listen port must be 0..65535, got " + port_text);
  }
  return HostPort{std::move(host), port};
}

int RunServerCommand(const ServerCommandOptions& options) {
  Result<HostPort> listen = ParseListen(options.listen);
  if (!listen.ok()) {
    PrintError(listen.status());
    return ExitCodeFor(listen.status());
  }
  api::ServerOptions server;
  server.data_dir = options.data_dir;
  server.host = listen->host;
  server.port = listen->port;
  server.quiet = options.quiet;
  return api::RunServer(server);
}

int RunDemoCommand(const DemoCommandOptions& options) {
  Result<HostPort> listen = ParseListen(options.listen);
  if (!listen.ok()) {
    PrintError(listen.status());
    return ExitCodeFor(listen.status());
  }
  if (options.rows < 1) {
    Status status = Status::InvalidArgument("--rows must be at least 1");
    PrintError(status);
    return ExitCodeFor(status);
  }
  demo::DemoOptions demo;
  demo.data_dir = options.data_dir;
  demo.host = listen->host;
  demo.port = listen->port;
  demo.rows = options.rows;
  demo.exit_after = options.exit_after;
  return demo::RunDemo(demo);
}

// ---- projects -----------------------------------------------------------------------------------

Status ProjectList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/projects"));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "NAME", "DESCRIPTION", "CREATED"});
  table.AlignRight(0);
  for (const auto& p : answer.value("projects", json::array())) {
    table.AddRow({FieldText(p, "id"), FieldText(p, "name"), FieldText(p, "description"),
                  FieldText(p, "created_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status ProjectCreate(const GlobalOptions& global, const std::string& name,
                     const std::string& description) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer,
                   api.Post("/v1/projects", {{"name", name}, {"description", description}}));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json project = answer.value("project", json::object());
  const json token = answer.value("token", json::object());
  std::cout << "Created project " << FieldText(project, "name") << " (id "
            << FieldText(project, "id") << ").\n"
            << "Master token (shown once, store it now):\n"
            << FieldText(token, "secret") << '\n';
  return Status::Ok();
}

Status ProjectShow(const GlobalOptions& global, const std::string& name) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/projects/" + UrlEncode(name)));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json project = answer.value("project", json::object());
  PrintFields({{"id", FieldText(project, "id")},
               {"name", FieldText(project, "name")},
               {"description", FieldText(project, "description")},
               {"created", FieldText(project, "created_at")}});
  return Status::Ok();
}

Status ProjectDelete(const GlobalOptions& global, const std::string& name) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer, api.Delete("/v1/projects/" + UrlEncode(name)));
  return PrintDone(global, answer, "Deleted project " + name + ".");
}

// ---- buckets ------------------------------------------------------------------------------------

Status BucketList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/buckets")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "DESCRIPTION", "CREATED"});
  for (const auto& b : answer.value("buckets", json::array())) {
    table.AddRow({FieldText(b, "id"), FieldText(b, "description"), FieldText(b, "created_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status BucketCreate(const GlobalOptions& global, const std::string& bucket_id,
                    const std::string& description) {
  const size_t dot = bucket_id.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == bucket_id.size()) {
    return Status::InvalidArgument("bucket id must be <stage>.<name> (e.g. in.sales), got '" +
                                   bucket_id + "'");
  }
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.Path("/buckets"), {{"stage", bucket_id.substr(0, dot)},
                                                               {"name", bucket_id.substr(dot + 1)},
                                                               {"description", description}}));
  return PrintDone(global, answer, "Created bucket " + bucket_id + ".");
}

Status BucketShow(const GlobalOptions& global, const std::string& bucket_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/buckets/" + UrlEncode(bucket_id))));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json bucket = answer.value("bucket", json::object());
  PrintFields({{"id", FieldText(bucket, "id")},
               {"description", FieldText(bucket, "description")},
               {"created", FieldText(bucket, "created_at")}});
  std::cout << '\n';
  PrintTables(answer.value("tables", json::array()));
  return Status::Ok();
}

Status BucketDelete(const GlobalOptions& global, const std::string& bucket_id, bool force) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Delete(session.Path("/buckets/" + UrlEncode(bucket_id) +
                                                                (force ? "?force=true" : ""))));
  return PrintDone(global, answer, "Deleted bucket " + bucket_id + ".");
}

// ---- tables -------------------------------------------------------------------------------------

Status TableList(const GlobalOptions& global, const std::string& bucket_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Get(session.Path("/tables" + Query().Add("bucket", bucket_id).str())));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  PrintTables(answer.value("tables", json::array()));
  return Status::Ok();
}

Status TableShow(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.TablePath(table_id)));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json t = answer.value("table", json::object());
  const std::string primary_key = JoinStrings(t.value("primary_key", json::array()));
  PrintFields({{"id", FieldText(t, "id")},
               {"version", FieldText(t, "version")},
               {"rows", FieldText(t, "row_count")},
               {"bytes", BytesField(t, "bytes")},
               {"segments", FieldText(t, "segments")},
               {"primary key", primary_key.empty() ? "-" : primary_key},
               {"created", FieldText(t, "created_at")},
               {"updated", FieldText(t, "updated_at")}});
  std::cout << '\n';
  TextTable columns({"COLUMN", "TYPE"});
  for (const auto& c : t.value("columns", json::array())) {
    columns.AddRow({FieldText(c, "name"), FieldText(c, "type")});
  }
  columns.Print(std::cout);
  return Status::Ok();
}

Status TableImport(const GlobalOptions& global, const TableImportOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.file, ec)) {
    return Status::InvalidArgument("cannot import " + options.file + ": no such file");
  }
  ASSIGN_OR_RETURN(std::string delimiter, CharOption("delimiter", options.delimiter));
  ASSIGN_OR_RETURN(std::string enclosure, CharOption("enclosure", options.enclosure));
  ASSIGN_OR_RETURN(std::string escape, CharOption("escape", options.escape));
  const std::string name = std::filesystem::path(options.file).filename().string();
  Query query;
  query.Add("format", options.format)
      .Add("mode", options.incremental ? "incremental" : "full")
      .Add("primary_key", options.primary_key)
      .Add("delimiter", delimiter)
      .Add("enclosure", enclosure)
      .Add("escape", escape)
      .Add("header", options.no_header ? "false" : "")
      .Add("columns", options.columns)
      .Add("types", options.types)
      .Add("compression", options.compression)
      .Add("name", name);

  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ProgressBar bar("importing " + name, StderrIsTerminal());
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Upload(session.TablePath(options.table_id, "/import") + query.str(), options.file,
                         [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); }));
  bar.Finish();
  return PrintDone(
      global, answer,
      "Imported " + name + " into " + options.table_id + ": " + VersionSummary(answer) + ".");
}

Result<WhereFilter> ParseWhere(const std::string& where) {
  size_t pos = where.find("!=");
  WhereFilter filter;
  if (pos != std::string::npos) {
    filter = {where.substr(0, pos), where.substr(pos + 2), "ne"};
  } else if ((pos = where.find('=')) != std::string::npos) {
    filter = {where.substr(0, pos), where.substr(pos + 1), "eq"};
  }
  if (filter.column.empty()) {
    return Status::InvalidArgument("--where must be COLUMN=V1,V2 or COLUMN!=V1, got '" + where +
                                   "'");
  }
  return filter;
}

Status TableExport(const GlobalOptions& global, const TableExportOptions& options) {
  Query query;
  query.Add("format", options.format)
      .Add("gzip", options.gzip ? "true" : "")
      .Add("columns", options.columns)
      .Add("version", options.version)
      .Add("changed_since", options.changed_since)
      .Add("limit", options.limit);
  if (!options.where.empty()) {
    ASSIGN_OR_RETURN(WhereFilter filter, ParseWhere(options.where));
    // where_values is sent even when empty: "col=" filters on the empty string.
    query.Add("where_column", filter.column)
        .AddAlways("where_values", filter.values)
        .Add("where_operator", filter.op);
  }
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ProgressBar bar("exporting " + options.table_id, StderrIsTerminal());
  ASSIGN_OR_RETURN(uint64_t bytes,
                   session.api.Download(
                       session.TablePath(options.table_id, "/export") + query.str(), options.output,
                       [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); }));
  bar.Finish();
  if (options.output == "-") return Status::Ok();
  return PrintDone(
      global, {{"table", options.table_id}, {"file", options.output}, {"bytes", bytes}},
      "Exported " + options.table_id + " to " + options.output + " (" + FormatBytes(bytes) + ").");
}

Status TablePreview(const GlobalOptions& global, const TablePreviewOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  Query query;
  query.Add("limit", options.limit).Add("version", options.version).Add("columns", options.columns);
  ASSIGN_OR_RETURN(json answer,
                   session.api.Get(session.TablePath(options.table_id, "/preview") + query.str()));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  PrintResultGrid(answer, std::cout);
  return Status::Ok();
}

Status TableVersions(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.TablePath(table_id, "/versions")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"VERSION", "OPERATION", "ROWS", "BYTES", "CREATED", "TOKEN"});
  table.AlignRight(0);
  table.AlignRight(2);
  table.AlignRight(3);
  for (const auto& v : answer.value("versions", json::array())) {
    std::string token = FieldText(v, "token_description");
    if (token == "-" || token.empty()) {
      token =
          v.contains("token_id") && !v["token_id"].is_null() ? "#" + FieldText(v, "token_id") : "-";
    }
    table.AddRow({FieldText(v, "version"), FieldText(v, "operation"), FieldText(v, "row_count"),
                  BytesField(v, "bytes"), FieldText(v, "created_at"), token});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status TableRestore(const GlobalOptions& global, const std::string& table_id, int64_t version) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Post(
          session.TablePath(table_id, "/versions/" + std::to_string(version) + "/restore"),
          json::object()));
  return PrintDone(global, answer,
                   "Restored " + table_id + " to version " + std::to_string(version) + ": now " +
                       VersionSummary(answer) + ".");
}

Status TableDelete(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Delete(session.TablePath(table_id)));
  return PrintDone(global, answer, "Deleted table " + table_id + ".");
}

Status TableCompact(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.TablePath(table_id, "/compact"), json::object()));
  const json table = answer.value("table", json::object());
  return PrintDone(global, answer,
                   "Compacted " + table_id + ": " + VersionSummary(answer) + ", " +
                       FieldText(table, "segments") + " segment(s).");
}

// ---- sql ----------------------------------------------------------------------------------------

Status Sql(const GlobalOptions& global, const SqlOptions& options) {
  if (options.format != "json" && options.format != "csv") {
    return Status::InvalidArgument("--format must be json or csv, got '" + options.format + "'");
  }
  ASSIGN_OR_RETURN(std::string sql, ReadSql(options.sql));
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  json body = {{"sql", sql}, {"format", options.format}};
  if (options.limit) body["limit"] = *options.limit;
  if (options.timeout_ms) body["timeout_ms"] = *options.timeout_ms;
  if (!options.output_table.empty()) body["output_table"] = options.output_table;

  if (options.format == "csv" && options.output_table.empty()) {
    ASSIGN_OR_RETURN(std::string text, session.api.PostText(session.Path("/sql"), body));
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << '\n';
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(json answer, session.api.Post(session.Path("/sql"), body));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  if (!options.output_table.empty()) {
    std::cout << "Wrote " << options.output_table << ": " << VersionSummary(answer) << ".\n";
    return Status::Ok();
  }
  PrintResultGrid(answer, std::cout);
  return Status::Ok();
}

// ---- tokens -------------------------------------------------------------------------------------

Status TokenCreate(const GlobalOptions& global, const TokenCreateOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  json scopes = json::array();
  for (const auto& bucket : options.read_buckets) {
    scopes.push_back({{"bucket", bucket}, {"access", "read"}});
  }
  for (const auto& bucket : options.write_buckets) {
    scopes.push_back({{"bucket", bucket}, {"access", "write"}});
  }
  json body = {{"description", options.description}, {"scopes", scopes}};
  if (options.expires_in_seconds) body["expires_in"] = *options.expires_in_seconds;
  ASSIGN_OR_RETURN(json answer, session.api.Post(session.Path("/tokens"), body));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json token = answer.value("token", json::object());
  std::cout << "Created token " << FieldText(token, "id") << " (" << FieldText(token, "kind")
            << ", scopes " << ScopesText(token) << ", expires " << FieldText(token, "expires_at")
            << ").\nSecret (shown once, store it now):\n"
            << FieldText(token, "secret") << '\n';
  return Status::Ok();
}

Status TokenList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/tokens")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "KIND", "DESCRIPTION", "SCOPES", "EXPIRES", "REVOKED", "CREATED"});
  table.AlignRight(0);
  for (const auto& t : answer.value("tokens", json::array())) {
    table.AddRow({FieldText(t, "id"), FieldText(t, "kind"), FieldText(t, "description"),
                  ScopesText(t), FieldText(t, "expires_at"), FieldText(t, "revoked"),
                  FieldText(t, "created_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status TokenRevoke(const GlobalOptions& global, int64_t token_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Delete(session.Path("/tokens/" + std::to_string(token_id))));
  return PrintDone(global, answer, "Revoked token " + std::to_string(token_id) + ".");
}

// ---- maintenance --------------------------------------------------------------------------------

Status Gc(const GlobalOptions& global, std::optional<int64_t> retention_seconds) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  json body = json::object();
  if (retention_seconds) body["retention_seconds"] = *retention_seconds;
  ASSIGN_OR_RETURN(json answer, api.Post("/v1/maintenance/gc", body));
  return PrintDone(global, answer,
                   "Deleted " + FieldText(answer, "deleted_versions") + " version(s), " +
                       FieldText(answer, "deleted_segments") + " segment(s), " +
                       BytesField(answer, "deleted_bytes") + ".");
}

// ---- errors -------------------------------------------------------------------------------------

int ExitCodeFor(const Status& status) { return swan::ExitCodeFor(status.code()); }

void PrintError(const Status& status) {
  std::string line = status.message();
  if (line.empty()) line = StatusCodeName(status.code());
  std::string extra;
  for (const auto& [key, value] : status.details()) {
    if (value.empty() || line.find(value) != std::string::npos) continue;
    if (!extra.empty()) extra += ", ";
    extra += key + " " + value;
  }
  if (!extra.empty()) line += " (" + extra + ")";
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fflush(stdout);
  std::fprintf(stderr, "swan: error: %s\n", line.c_str());
}

}  // namespace swan::cli
