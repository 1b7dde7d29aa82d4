#include "jobs/component_registry.h"

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "catalog/model.h"
#include "common/fs.h"
#include "connectors/generic_extractor.h"
#include "connectors/http_file_extractor.h"
#include "connectors/mysql_extractor.h"
#include "connectors/pg_extractor.h"
#include "connectors/pg_writer.h"
#include "connectors/sqlite_extractor.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

std::vector<ComponentSpec> Builtins() {
  ComponentSpec sql;
  sql.id = kSqlTransformationId;
  sql.type = "transformation";
  sql.name = "SQL transformation (DuckDB)";
  sql.description =
      "Keboola's SQL transformation format (parameters.blocks[].codes[].script[]) run on DuckDB "
      "in Swan's process: input tables are views, output tables are read by the output mapping.";
  sql.builtin = Builtin::kSql;
  sql.network = false;
  sql.source_file = "built-in";
  ComponentSpec py;
  py.id = kPythonTransformationId;
  py.type = "transformation";
  py.name = "Python transformation";
  py.description =
      "Keboola's Python transformation format (parameters.blocks[].codes[].script[], run as one "
      "script by the system python3) on the component interface.";
  py.builtin = Builtin::kPython;
  py.command = {"/usr/bin/python3", "-u", "/code/main.py"};
  py.source_file = "built-in";
  ComponentSpec py_alias = py;
  py_alias.id = "swan.python-transformation";
  ComponentSpec rest;
  rest.id = connectors::kGenericExtractorComponentId;
  rest.type = "extractor";
  rest.name = "Generic REST extractor";
  rest.description =
      "Keboola's Generic Extractor configurations (parameters.api, parameters.config) run "
      "unchanged in Swan's process: REST APIs into tables (docs/connectors.md).";
  rest.builtin = Builtin::kGenericExtractor;
  rest.source_file = "built-in";
  ComponentSpec pg;
  pg.id = connectors::kPostgresExtractorComponentId;
  pg.type = "extractor";
  pg.name = "PostgreSQL extractor";
  pg.description =
      "Keboola's database extractor configurations (parameters.db, table or query, outputTable, "
      "incrementalFetchingColumn) run in Swan's process with libpq's COPY: tables into Swan "
      "(docs/connectors.md).";
  pg.builtin = Builtin::kPostgresExtractor;
  pg.source_file = "built-in";
  ComponentSpec pg_writer;
  pg_writer.id = connectors::kPostgresWriterComponentId;
  pg_writer.type = "writer";
  pg_writer.name = "PostgreSQL writer";
  pg_writer.description =
      "Keboola's database writer configurations (parameters.db, tableId, dbName, incremental, "
      "primaryKey, items) run in Swan's process: COPY into a staging table, then replace or "
      "upsert, in one transaction (docs/connectors.md).";
  pg_writer.builtin = Builtin::kPostgresWriter;
  pg_writer.source_file = "built-in";
  ComponentSpec http;
  http.id = connectors::kHttpFileExtractorComponentId;
  http.type = "extractor";
  http.name = "HTTP file extractor";
  http.description =
      "One file by URL (CSV, TSV, JSON lines, JSON or Parquet, gzip or not; headers, basic or "
      "bearer auth; retries on 429/5xx) streamed to disk and loaded into a table "
      "(docs/connectors.md).";
  http.builtin = Builtin::kHttpFileExtractor;
  http.source_file = "built-in";
  ComponentSpec files;
  files.id = kFileWriterId;
  files.type = "writer";
  files.name = "File writer";
  files.description =
      "The input mapping's tables to CSV (optionally gzip) or Parquet files in the project's "
      "folder of the export root ($SWAN_EXPORT_DIR, default <data>/exports), renamed into place "
      "when complete (docs/connectors.md).";
  files.builtin = Builtin::kFileWriter;
  files.network = false;
  files.source_file = "built-in";
  ComponentSpec mysql = pg;
  mysql.id = connectors::kMysqlExtractorComponentId;
  mysql.name = "MySQL / MariaDB extractor";
  mysql.description =
      "Keboola's database extractor configurations (parameters.db, table or query, outputTable, "
      "incrementalFetchingColumn) run in Swan's process with MariaDB Connector/C, streamed row by "
      "row: tables into Swan (docs/connectors.md).";
  mysql.builtin = Builtin::kMysqlExtractor;
  ComponentSpec sqlite;
  sqlite.id = connectors::kSqliteExtractorComponentId;
  sqlite.type = "extractor";
  sqlite.name = "SQLite extractor";
  sqlite.description =
      "Keboola's database extractor configurations (parameters.db.path, table or query, "
      "outputTable, incrementalFetchingColumn) over an SQLite file in the project's folder of the "
      "import root ($SWAN_IMPORT_DIR, default <data>/imports), read-only, streamed row by row: "
      "tables into Swan (docs/connectors.md).";
  sqlite.builtin = Builtin::kSqliteExtractor;
  sqlite.network = false;
  sqlite.source_file = "built-in";
  ComponentSpec flow;
  flow.id = catalog::kFlowComponentId;
  flow.type = "orchestrator";
  flow.name = "Flow";
  flow.description =
      "Keboola's orchestrator configurations (phases with dependsOn, tasks with componentId and "
      "configId): each task runs as a job of its own, phase after phase (docs/orchestration.md).";
  flow.builtin = Builtin::kFlow;
  flow.network = false;
  flow.source_file = "built-in";
  ComponentSpec schedule;
  schedule.id = catalog::kScheduleComponentId;
  schedule.type = "other";
  schedule.name = "Schedule";
  schedule.description =
      "Keboola's scheduler configurations (schedule.cronTab, schedule.timezone, schedule.state, "
      "target): runs its target configuration on a cron schedule in an IANA time zone "
      "(docs/orchestration.md). Not a job itself.";
  schedule.builtin = Builtin::kSchedule;
  schedule.network = false;
  schedule.source_file = "built-in";
  ComponentSpec trigger = schedule;
  trigger.id = catalog::kTriggerComponentId;
  trigger.name = "Trigger";
  trigger.description =
      "Runs its target configuration when every table of tableIds has a new version since the "
      "target's last run, at most once per coolDownPeriodMinutes (docs/orchestration.md). Not a "
      "job itself.";
  trigger.builtin = Builtin::kTrigger;
  return {sql,   py,    py_alias, rest, pg,       pg_writer, http,
          files, mysql, sqlite,   flow, schedule, trigger};
}

std::vector<std::string> JsonFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.ends_with(".json")) out.push_back(dir + "/" + name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status FieldError(const std::string& path, const std::string& field, const std::string& what) {
  return Status::InvalidArgument(path + ": field `" + field + "` " + what)
      .WithDetail("field", field);
}

}  // namespace

Result<ComponentSpec> ParseComponentFile(const std::string& path, const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument(path + ": not a JSON object");
  ComponentSpec c;
  c.source_file = path;
  auto str = [&](const char* field, std::string* out, bool required) -> Status {
    if (!j.contains(field)) {
      return required ? FieldError(path, field, "is required") : Status::Ok();
    }
    if (!j[field].is_string()) return FieldError(path, field, "must be a string");
    *out = j[field].get<std::string>();
    return Status::Ok();
  };
  RETURN_IF_ERROR(str("id", &c.id, true));
  RETURN_IF_ERROR(str("type", &c.type, true));
  RETURN_IF_ERROR(str("name", &c.name, false));
  RETURN_IF_ERROR(str("description", &c.description, false));
  if (c.id.empty() || c.id.size() > 128 ||
      c.id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
          std::string::npos)
    return FieldError(path, "id", "must be 1-128 characters of letters, digits, '.', '-', '_'");
  static const char* kTypes[] = {"extractor", "writer", "transformation", "application"};
  if (std::find(std::begin(kTypes), std::end(kTypes), c.type) == std::end(kTypes))
    return FieldError(path, "type", "must be extractor, writer, transformation or application");
  if (!j.contains("command") || !j["command"].is_array() || j["command"].empty())
    return FieldError(path, "command", "must be a non-empty list of strings");
  for (const auto& a : j["command"]) {
    if (!a.is_string()) return FieldError(path, "command", "must be a non-empty list of strings");
    c.command.push_back(a.get<std::string>());
  }
  std::string code;
  RETURN_IF_ERROR(str("code", &code, false));
  if (!code.empty()) {
    const std::string base = path.substr(0, path.find_last_of('/'));
    c.code_dir = code[0] == '/' ? code : base + "/" + code;
  }
  for (const char* field : {"configuration_schema", "row_configuration_schema"}) {
    if (!j.contains(field)) continue;
    if (!j[field].is_object()) return FieldError(path, field, "must be a JSON schema object");
    (field[0] == 'c' ? c.configuration_schema : c.row_configuration_schema) = j[field];
  }
  if (j.contains("network")) {
    if (!j["network"].is_boolean()) return FieldError(path, "network", "must be true or false");
    c.network = j["network"].get<bool>();
  }
  auto positive = [&](const json& obj, const char* field, int64_t* out) -> Status {
    if (!obj.contains(field)) return Status::Ok();
    if (!obj[field].is_number_integer() || obj[field].get<int64_t>() <= 0)
      return FieldError(path, field, "must be a positive integer");
    *out = obj[field].get<int64_t>();
    return Status::Ok();
  };
  RETURN_IF_ERROR(positive(j, "timeout_seconds", &c.timeout_seconds));
  if (j.contains("limits")) {
    if (!j["limits"].is_object()) return FieldError(path, "limits", "must be an object");
    RETURN_IF_ERROR(positive(j["limits"], "memory_mb", &c.memory_mb));
    RETURN_IF_ERROR(positive(j["limits"], "cpu_seconds", &c.cpu_seconds));
    RETURN_IF_ERROR(positive(j["limits"], "processes", &c.processes));
    RETURN_IF_ERROR(positive(j["limits"], "output_mb", &c.output_mb));
  }
  return c;
}

std::vector<ComponentSpec> ComponentRegistry::List(std::vector<std::string>* problems) const {
  std::vector<ComponentSpec> out = Builtins();
  for (const auto& dir : dirs_) {
    for (const auto& file : JsonFiles(dir)) {
      auto text = fs::ReadFileText(file);
      auto spec =
          text.ok() ? ParseComponentFile(file, *text) : Result<ComponentSpec>(text.status());
      if (!spec.ok()) {
        if (problems) problems->push_back(spec.status().message());
        continue;
      }
      const bool taken = std::any_of(out.begin(), out.end(),
                                     [&](const ComponentSpec& c) { return c.id == spec->id; });
      if (taken) {
        if (problems) problems->push_back(file + ": component id '" + spec->id + "' is taken");
        continue;
      }
      out.push_back(std::move(*spec));
    }
  }
  return out;
}

Result<ComponentSpec> ComponentRegistry::Find(const std::string& id) const {
  for (auto& c : Builtins())
    if (c.id == id) return c;
  for (const auto& dir : dirs_) {
    for (const auto& file : JsonFiles(dir)) {
      ASSIGN_OR_RETURN(std::string text, fs::ReadFileText(file));
      // Only the file that declares `id` may fail the lookup.
      json j = json::parse(text, nullptr, false);
      if (!j.is_object() || !j.contains("id") || j["id"] != id) {
        if (j.is_discarded() && file.ends_with("/" + id + ".json")) {
          return Status::InvalidArgument(file + ": not valid JSON");
        }
        continue;
      }
      return ParseComponentFile(file, text);
    }
  }
  std::string searched;
  for (const auto& d : dirs_) searched += (searched.empty() ? "" : ", ") + d;
  return Status::NotFound("component '" + id + "' not found (built-ins and " +
                          (searched.empty() ? std::string("no components folder") : searched) + ")")
      .WithDetail("field", "component_id");
}

json ComponentJson(const ComponentSpec& c, bool with_paths) {
  json j = {{"id", c.id},
            {"type", c.type},
            {"name", c.name},
            {"description", c.description},
            {"builtin", c.builtin != Builtin::kNone},
            {"network", c.network},
            {"timeout_seconds", c.timeout_seconds},
            {"limits",
             {{"memory_mb", c.memory_mb},
              {"cpu_seconds", c.cpu_seconds},
              {"processes", c.processes},
              {"output_mb", c.output_mb}}}};
  if (with_paths) j["source"] = c.source_file;
  if (!c.command.empty()) j["command"] = c.command;
  if (!c.configuration_schema.is_null()) j["configuration_schema"] = c.configuration_schema;
  if (!c.row_configuration_schema.is_null())
    j["row_configuration_schema"] = c.row_configuration_schema;
  return j;
}

}  // namespace swan::jobs
