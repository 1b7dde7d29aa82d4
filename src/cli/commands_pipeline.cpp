// CLI commands: configurations, jobs and components.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command_support.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace swan::cli {

using client::ApiClient;
using nlohmann::json;
using namespace support;

namespace {

Result<json> ReadJsonFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::InvalidArgument("cannot read " + path).WithDetail("field", "file");
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument(path + " is not valid JSON: " + e.what())
        .WithDetail("field", "file");
  }
}

// The file is either {"configuration": ..., "rows": [...]} or the configuration object itself.
Result<json> ConfigBody(const ConfigWriteOptions& o) {
  json body = json::object();
  if (!o.file.empty()) {
    ASSIGN_OR_RETURN(json file, ReadJsonFile(o.file));
    if (!file.is_object()) return Status::InvalidArgument(o.file + " must hold a JSON object");
    if (file.contains("configuration") || file.contains("rows")) {
      for (const char* k : {"configuration", "rows", "name", "description"})
        if (file.contains(k)) body[k] = file[k];
    } else {
      body["configuration"] = file;
    }
  }
  if (!o.name.empty()) body["name"] = o.name;
  if (!o.description.empty()) body["description"] = o.description;
  if (!o.message.empty()) body["message"] = o.message;
  return body;
}

void PrintConfig(const json& c) {
  PrintFields({{"id", FieldText(c, "id")},
               {"component", FieldText(c, "component_id")},
               {"name", FieldText(c, "name")},
               {"description", FieldText(c, "description")},
               {"version", FieldText(c, "version")},
               {"changed", FieldText(c, "changed_at")},
               {"message", FieldText(c, "message")},
               {"rows", std::to_string(c.value("rows", json::array()).size())}});
  std::cout << "configuration:\n" << c.value("configuration", json::object()).dump(2) << '\n';
  if (!c.value("rows", json::array()).empty()) std::cout << "rows:\n" << c["rows"].dump(2) << '\n';
}

void PrintEvent(const json& e) {
  std::cout << FieldText(e, "time") << ' ' << FieldText(e, "level") << ' ' << FieldText(e, "source")
            << ": " << FieldText(e, "message") << '\n';
}

// Prints events from `after` on; with follow, until the job ends. Returns the job's status.
Result<std::string> StreamEvents(ProjectSession& session, int64_t job_id, bool follow,
                                 bool print = true) {
  int64_t after = 0;
  while (true) {
    Query q;
    q.AddAlways("after", std::to_string(after));
    if (follow) q.AddAlways("wait", "20");
    ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/jobs/" + std::to_string(job_id) +
                                                               "/events" + q.str())));
    const json events = answer.value("events", json::array());
    for (const auto& e : events) {
      if (print) PrintEvent(e);
      after = std::max<int64_t>(after, e.value("id", int64_t{0}));
    }
    std::cout.flush();
    const bool finished = answer.value("finished", false);
    if (!follow || (finished && events.empty())) return answer.value("status", std::string());
  }
}

Status JobResult(const json& job) {
  const std::string status = job.value("status", std::string());
  if (status == "success" || status == "warning") return Status::Ok();
  const std::string message = job.value("message", std::string());
  const std::string kind = job.value("error_kind", json()).is_string()
                               ? job["error_kind"].get<std::string>()
                               : std::string();
  const std::string text =
      "job " + FieldText(job, "id") + " ended " + status + (message.empty() ? "" : ": " + message);
  if (kind == "user") return Status::InvalidArgument(text);
  if (status == "cancelled") return Status::Cancelled(text);
  return Status::Internal(text);
}

}  // namespace

Status ConfigCreate(const GlobalOptions& global, const ConfigWriteOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json body, ConfigBody(options));
  body["component_id"] = options.component_id;
  if (!options.config_id.empty()) body["id"] = options.config_id;
  ASSIGN_OR_RETURN(json answer, session.api.Post(session.Path("/configs"), body));
  const json c = answer.value("config", json::object());
  return PrintDone(global, answer,
                   "Created configuration " + FieldText(c, "id") + " of " +
                       FieldText(c, "component_id") + " (version 1). Run it: swan run " +
                       FieldText(c, "id") + " --wait");
}

Status ConfigEdit(const GlobalOptions& global, const ConfigWriteOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json body, ConfigBody(options));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.Path("/configs/" + options.config_id), body));
  const json c = answer.value("config", json::object());
  return PrintDone(
      global, answer,
      "Configuration " + options.config_id + " is now at version " + FieldText(c, "version") + ".");
}

Status ConfigList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "COMPONENT", "NAME", "VERSION", "ROWS", "CHANGED"});
  table.AlignRight(3);
  for (const auto& c : answer.value("configs", json::array())) {
    table.AddRow({FieldText(c, "id"), FieldText(c, "component_id"), FieldText(c, "name"),
                  FieldText(c, "version"), std::to_string(c.value("rows", json::array()).size()),
                  FieldText(c, "changed_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status ConfigShow(const GlobalOptions& global, const std::string& config_id,
                  std::optional<int64_t> version) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  if (version) {
    ASSIGN_OR_RETURN(json answer,
                     session.api.Get(session.Path("/configs/" + config_id + "/versions/" +
                                                  std::to_string(*version))));
    if (global.json) {
      PrintJson(answer);
    } else {
      json v = answer.value("version", json::object());
      v["id"] = config_id;
      PrintConfig(v);
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/configs/" + config_id)));
  if (global.json) {
    PrintJson(answer);
  } else {
    PrintConfig(answer.value("config", json::object()));
  }
  return Status::Ok();
}

Status ConfigVersions(const GlobalOptions& global, const std::string& config_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Get(session.Path("/configs/" + config_id + "/versions")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"VERSION", "CREATED", "AUTHOR", "MESSAGE"});
  table.AlignRight(0);
  for (const auto& v : answer.value("versions", json::array())) {
    const json author = v.value("author", json::object());
    table.AddRow({FieldText(v, "version"), FieldText(v, "created_at"),
                  author.empty() ? "-" : FieldText(author, "description"),
                  FieldText(v, "message")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status ConfigDiff(const GlobalOptions& global, const std::string& config_id,
                  std::optional<int64_t> from, std::optional<int64_t> to) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  Query q;
  q.Add("from", from);
  q.Add("to", to);
  ASSIGN_OR_RETURN(json answer,
                   session.api.Get(session.Path("/configs/" + config_id + "/diff" + q.str())));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  std::cout << "version " << FieldText(answer, "from") << " -> " << FieldText(answer, "to") << '\n';
  const json changes = answer.value("changes", json::array());
  if (changes.empty()) std::cout << "no changes\n";
  for (const auto& c : changes) {
    const std::string kind = c.value("change", std::string());
    if (kind == "added") {
      std::cout << "+ " << FieldText(c, "path") << " = " << c["to"].dump() << '\n';
    } else if (kind == "removed") {
      std::cout << "- " << FieldText(c, "path") << " = " << c["from"].dump() << '\n';
    } else {
      std::cout << "~ " << FieldText(c, "path") << ": " << c["from"].dump() << " -> "
                << c["to"].dump() << '\n';
    }
  }
  return Status::Ok();
}

Status ConfigRollback(const GlobalOptions& global, const std::string& config_id, int64_t version,
                      const std::string& message) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  json body = {{"version", version}};
  if (!message.empty()) body["message"] = message;
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.Path("/configs/" + config_id + "/rollback"), body));
  return PrintDone(global, answer,
                   "Configuration " + config_id + " is now at version " +
                       FieldText(answer.value("config", json::object()), "version") +
                       ", with the content of version " + std::to_string(version) + ".");
}

Status ConfigDelete(const GlobalOptions& global, const std::string& config_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Delete(session.Path("/configs/" + config_id)));
  return PrintDone(global, answer, "Deleted configuration " + config_id + ".");
}

Status Run(const GlobalOptions& global, const RunOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  json body = json::object();
  if (!options.row.empty()) body["row"] = options.row;
  if (options.timeout_seconds) body["timeout"] = *options.timeout_seconds;
  if (options.max_attempts) body["max_attempts"] = *options.max_attempts;
  if (options.debug) body["debug"] = true;
  for (const auto& v : options.variables) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("--var takes name=value, not '" + v + "'");
    body["variables"][v.substr(0, eq)] = v.substr(eq + 1);
  }
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.Path("/configs/" + options.config_id + "/run"), body));
  const json job = answer.value("job", json::object());
  const int64_t id = job.value("id", int64_t{0});
  if (!options.wait) {
    return PrintDone(global, answer,
                     "Job " + std::to_string(id) + " is waiting. Follow it: swan job logs " +
                         std::to_string(id) + " -f");
  }
  if (!global.json) std::cout << "Job " << id << " started.\n";
  return FollowJobToEnd(global, session, id);
}

Status support::FollowJobToEnd(const GlobalOptions& global, ProjectSession& session, int64_t id) {
  ASSIGN_OR_RETURN(std::string status, StreamEvents(session, id, true, !global.json));
  (void)status;
  ASSIGN_OR_RETURN(json final_answer, session.api.Get(session.Path("/jobs/" + std::to_string(id))));
  if (global.json) {
    PrintJson(final_answer);
  } else {
    const json j = final_answer.value("job", json::object());
    std::cout << "Job " << id << " ended " << FieldText(j, "status") << " in "
              << FieldText(j.value("usage", json::object()), "wall_ms") << " ms.\n";
  }
  return JobResult(final_answer.value("job", json::object()));
}

Status JobList(const GlobalOptions& global, const std::string& config_id,
               const std::string& status) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  Query q;
  q.Add("config", config_id);
  q.Add("status", status);
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/jobs" + q.str())));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "STATUS", "CONFIG", "ROW", "COMPONENT", "CREATED", "WALL MS", "MESSAGE"});
  table.AlignRight(0);
  table.AlignRight(6);
  for (const auto& j : answer.value("jobs", json::array())) {
    std::string message = FieldText(j, "message");
    if (message.size() > 60) message = message.substr(0, 57) + "...";
    for (char& c : message)
      if (c == '\n') c = ' ';
    table.AddRow({FieldText(j, "id"), FieldText(j, "status"), FieldText(j, "config"),
                  FieldText(j, "row"), FieldText(j, "component_id"), FieldText(j, "created_at"),
                  FieldText(j.value("usage", json::object()), "wall_ms"), message});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status JobShow(const GlobalOptions& global, int64_t job_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/jobs/" + std::to_string(job_id))));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json j = answer.value("job", json::object());
  const json usage = j.value("usage", json::object());
  PrintFields(
      {{"id", FieldText(j, "id")},
       {"status", FieldText(j, "status")},
       {"config", FieldText(j, "config") + " (version " + FieldText(j, "config_version") + ")"},
       {"row", FieldText(j, "row")},
       {"component", FieldText(j, "component_id")},
       {"attempt", FieldText(j, "attempt") + " of " + FieldText(j, "max_attempts")},
       {"created", FieldText(j, "created_at")},
       {"started", FieldText(j, "started_at")},
       {"finished", FieldText(j, "finished_at")},
       {"wall time", FieldText(usage, "wall_ms") + " ms"},
       {"cpu time", FieldText(usage, "cpu_ms") + " ms"},
       {"peak memory", BytesField(usage, "peak_memory_bytes")},
       {"message", FieldText(j, "message")}});
  for (const char* dir : {"inputs", "outputs"}) {
    for (const auto& t : j.value(dir, json::array())) {
      std::cout << (dir[0] == 'i' ? "input  " : "output ") << FieldText(t, "table") << " v"
                << FieldText(t, "version") << ": " << FieldText(t, "rows") << " rows, "
                << BytesField(t, "bytes") << '\n';
    }
  }
  return Status::Ok();
}

Status JobLogs(const GlobalOptions& global, int64_t job_id, bool follow) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  if (global.json) {
    ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/jobs/" + std::to_string(job_id) +
                                                               "/events?limit=10000")));
    PrintJson(answer);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string status, StreamEvents(session, job_id, follow));
  (void)status;
  return Status::Ok();
}

Status JobCancel(const GlobalOptions& global, int64_t job_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.Path("/jobs/" + std::to_string(job_id) + "/cancel"),
                                    json::object()));
  return PrintDone(global, answer,
                   "Cancel requested for job " + std::to_string(job_id) + " (now " +
                       FieldText(answer.value("job", json::object()), "status") + ").");
}

Status FileList(const GlobalOptions& global, const std::string& tags) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  Query q;
  q.Add("tags", tags);
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.Path("/files" + q.str())));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "NAME", "TAGS", "SIZE", "JOB", "CREATED"});
  table.AlignRight(0);
  for (const auto& f : answer.value("files", json::array())) {
    table.AddRow({FieldText(f, "id"), FieldText(f, "name"), JoinStrings(f.value("tags", json())),
                  BytesField(f, "size_bytes"), FieldText(f, "job_id"), FieldText(f, "created_at")});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status FileDownload(const GlobalOptions& global, int64_t file_id, const std::string& output) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      uint64_t bytes,
      session.api.Download(session.Path("/files/" + std::to_string(file_id) + "/download"), output,
                           nullptr));
  if (output != "-") std::cerr << "Wrote " << bytes << " bytes to " << output << ".\n";
  return Status::Ok();
}

Status ComponentList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/components"));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"ID", "TYPE", "NAME", "SOURCE"});
  for (const auto& c : answer.value("components", json::array()))
    table.AddRow(
        {FieldText(c, "id"), FieldText(c, "type"), FieldText(c, "name"), FieldText(c, "source")});
  table.Print(std::cout);
  for (const auto& p : answer.value("problems", json::array()))
    std::cerr << "swan: warning: " << p.get<std::string>() << '\n';
  if (const int64_t broken = answer.value("problems_count", int64_t{0}); broken > 0) {
    std::cerr << "swan: warning: " << broken
              << " component file(s) of the server could not be read (an admin token shows "
                 "which and why)\n";
  }
  return Status::Ok();
}

Status ComponentShow(const GlobalOptions& global, const std::string& component_id) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/components/" + component_id));
  PrintJson(global.json ? answer : answer.value("component", json::object()));
  return Status::Ok();
}

}  // namespace swan::cli
