#include "cli/commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "api/server.h"
#include "cli/command_support.h"
#include "cli/output.h"
#include "client/api_client.h"
#include "demo/demo.h"

namespace swan::cli {

using client::ApiClient;
using client::UrlEncode;
using nlohmann::json;
using namespace support;

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
  server.sql_worker_exe = "/proc/self/exe";
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
