#include "jobs/job_execution.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/fs.h"
#include "common/limits.h"
#include "common/transcode.h"
#include "connectors/generic_extractor.h"
#include "connectors/http_file_extractor.h"
#include "connectors/mysql_extractor.h"
#include "connectors/pg_extractor.h"
#include "connectors/pg_writer.h"
#include "connectors/sqlite_extractor.h"
#include "jobs/config_secrets.h"
#include "jobs/file_mapping.h"
#include "jobs/json_schema.h"
#include "jobs/slice_stager.h"
#include "jobs/streamed_export.h"
#include "jobs/table_mapping.h"
#include "jobs/variables.h"

namespace swan::jobs {

using nlohmann::json;

void JobControl::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  flag_->store(true);
  if (process_) process_->Cancel();
}

void JobControl::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  Cancel();
}

bool JobControl::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

bool JobControl::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void JobControl::Attach(SandboxedProcess* process) {
  std::lock_guard lock(mu_);
  process_ = process;
  if (process_ && cancelled_) process_->Cancel();
}

namespace {

// How a job ended, before it is written.
struct Outcome {
  std::string status = catalog::kJobSuccess;
  std::string message;
  std::string error_kind;  // user | application | timeout | cancelled
};

Outcome UserError(std::string m) { return {catalog::kJobError, std::move(m), "user"}; }
Outcome AppError(std::string m) { return {catalog::kJobError, std::move(m), "application"}; }

// A failed step: the user's doing (their configuration, SQL, files) or Swan's.
Outcome FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kForbidden:
    case StatusCode::kUnauthorized:
    case StatusCode::kPayloadTooLarge:
      return UserError(st.message());
    case StatusCode::kCancelled:
      return {catalog::kJobCancelled, st.message(), "cancelled"};
    default:
      return AppError(st.message());
  }
}

// Keboola's row merge: the row's configuration over the configuration's, objects merged key by
// key, anything else replaced.
void DeepMerge(json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (auto& [k, v] : over.items()) {
    if (base.contains(k) && base[k].is_object() && v.is_object()) {
      DeepMerge(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

// Whether `dir` (itself included) holds only folders and regular files; the first other entry
// is an invalid_argument naming it under `shown`. A component's data folder is read and written
// by the server outside the sandbox, where a link the component left would resolve to a host
// path (a host file loaded as a table or state, a kept config.json written over a host file) and
// a FIFO would block the reading worker. Links are never followed. Called once the component has
// ended (its pid namespace dies with it), so nothing changes the folder meanwhile.
Status OnlyFilesAndFolders(const std::string& dir, const std::string& shown) {
  namespace fs = std::filesystem;  // here: the standard one, not swan::fs
  std::error_code ec;
  const fs::file_type top = fs::symlink_status(dir, ec).type();
  if (top == fs::file_type::not_found) return Status::Ok();
  auto refuse = [&](const std::string& name, fs::file_type type) {
    return Status::InvalidArgument(
               name + " is " +
               (type == fs::file_type::symlink ? "a symbolic link" : "not a regular file") +
               ": Swan reads only regular files and folders a component "
               "writes, never links, FIFOs or devices")
        .WithDetail("field", name);
  };
  if (top != fs::file_type::directory) return refuse(shown, top);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_type type = it->symlink_status(ec).type();
    if (type != fs::file_type::directory && type != fs::file_type::regular)
      return refuse(shown + "/" + fs::relative(it->path(), dir, ec).string(), type);
  }
  if (ec) return Status::Internal("cannot list " + shown + ": " + ec.message());
  return Status::Ok();
}

int64_t ProcessCpuMs() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000;
}

// Everything one execution needs and produces.
struct Execution {
  const JobRunnerParts& parts;
  catalog::Job& job;
  JobControl& control;
  JobLog& log;
  std::string job_dir;
  catalog::Project project{};
  catalog::Token token{};
  catalog::ConfigVersion version{};
  ComponentSpec component{};
  json body{};  // the configuration with secrets opened (never written outside the job folder)
  secrets::Key key{};  // the project's
  std::string state_json = "{}";
  std::optional<std::string> new_state{};
  json inputs = json::array();
  StagedOutputs outputs{};
  // After a failed run: `outputs` holds the write_always tables only, loaded despite the failure
  // (otherwise what a failed job staged is dropped).
  bool write_always_outputs = false;
  StagedFiles files{};  // out/files, moved into the file storage, registered by the commit
};

// Keboola's transformation code: parameters.blocks[].codes[].script[].
Result<std::vector<query::ScriptStatement>> TransformationScript(const json& parameters) {
  std::vector<query::ScriptStatement> out;
  const json blocks = parameters.is_object() ? parameters.value("blocks", json()) : json();
  if (!blocks.is_array() || blocks.empty()) {
    return Status::InvalidArgument(
               "parameters.blocks: a transformation needs blocks[].codes[].script[]")
        .WithDetail("field", "parameters.blocks");
  }
  for (size_t b = 0; b < blocks.size(); ++b) {
    const std::string bf = "parameters.blocks[" + std::to_string(b) + "]";
    const json& block = blocks[b];
    if (!block.is_object() || !block.contains("codes") || !block["codes"].is_array())
      return Status::InvalidArgument(bf + ".codes must be a list").WithDetail("field", bf);
    for (size_t c = 0; c < block["codes"].size(); ++c) {
      const json& code = block["codes"][c];
      const std::string cf = bf + ".codes[" + std::to_string(c) + "]";
      if (!code.is_object() || !code.contains("script") || !code["script"].is_array())
        return Status::InvalidArgument(cf + ".script must be a list of strings")
            .WithDetail("field", cf);
      for (size_t s = 0; s < code["script"].size(); ++s) {
        const json& text = code["script"][s];
        if (!text.is_string())
          return Status::InvalidArgument(cf + ".script[" + std::to_string(s) + "] must be a string")
              .WithDetail("field", cf);
        out.push_back({text.get<std::string>(),
                       "block " + std::to_string(b + 1) + " (" + block.value("name", "") +
                           "), code " + std::to_string(c + 1) + " (" + code.value("name", "") +
                           "), statement " + std::to_string(s + 1)});
      }
    }
  }
  return out;
}

JobContext Context(Execution& ex) {
  return JobContext{*ex.parts.catalog, *ex.parts.store, *ex.parts.sql,    *ex.parts.env,
                    *ex.parts.clock,   ex.parts.rights, ex.job,           ex.project,
                    ex.token,          ex.log,          ex.parts.data_dir};
}

Outcome RunSql(Execution& ex) {
  JobContext ctx = Context(ex);
  const json storage = ex.body.value("storage", json::object());
  auto inputs = ResolveInputTables(ctx, storage, false);
  if (!inputs.ok()) return FromStatus(inputs.status());
  auto views = InputViews(ctx, *inputs, &ex.inputs);
  if (!views.ok()) return FromStatus(views.status());
  auto statements = TransformationScript(ex.body.value("parameters", json::object()));
  if (!statements.ok()) return FromStatus(statements.status());
  query::ScriptRequest script;
  script.statements = std::move(*statements);
  // A token that reads every table of the project may run in an instance kept from the
  // project's previous script (opening one costs ~10 ms of CPU): it is locked to the project's
  // segments and its scripts' output folder instead of exactly this job's files.
  const std::string segments_dir =
      ex.parts.data_dir + "/segments/p" + std::to_string(ex.project.id) + "/";
  const std::string outputs_dir =
      ex.parts.data_dir + "/tmp/sql-p" + std::to_string(ex.project.id) + "/";
  const bool reads_all = ex.token.kind == "master" || ex.token.kind == "admin";
  const bool within = std::all_of(views->begin(), views->end(), [&](const query::SqlTable& t) {
    return std::all_of(t.files.begin(), t.files.end(),
                       [&](const std::string& f) { return f.starts_with(segments_dir); });
  });
  if (reads_all && within && ex.parts.env->MakeDirs(outputs_dir).ok()) {
    script.reuse_project = ex.project.id;
    script.reuse_directories = {segments_dir, outputs_dir};
  }
  std::vector<FileOutput> outputs;
  const json out_tables = storage.contains("output") && storage["output"].is_object()
                              ? storage["output"].value("tables", json::array())
                              : json::array();
  for (size_t i = 0; i < out_tables.size(); ++i) {
    const json& m = out_tables[i];
    const std::string field = "storage.output.tables[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("source") || !m["source"].is_string() ||
        !m.contains("destination") || !m["destination"].is_string())
      return UserError(field + ": needs source (a table the SQL makes) and destination");
    FileOutput o{m, script.reuse_project ? outputs_dir + fs::RandomHex(16) + ".parquet"
                                         : ex.parts.store->NewTempPath(".parquet")};
    ex.outputs.temp_files.push_back(o.path);
    script.outputs.push_back({m["source"].get<std::string>(), o.path});
    outputs.push_back(std::move(o));
  }
  // The SQL runner's ceiling (an hour) bounds a transformation however long the job may run.
  if (ex.job.timeout_ms > 0)
    script.timeout_ms = std::min<int64_t>(ex.job.timeout_ms, limits::kSqlTimeoutMsMax);
  ex.log.Info("running " + std::to_string(script.statements.size()) + " SQL statements over " +
              std::to_string(views->size()) + " input tables");
  script.cancel = ex.control.flag();
  auto rows = ex.parts.sql->RunScript(*views, script);
  if (!rows.ok()) {
    const auto& details = rows.status().details();
    auto field = details.find("field");
    if (field != details.end() && field->second == "timeout_ms")
      return {catalog::kJobError, rows.status().message(), "timeout"};
    return FromStatus(rows.status());
  }
  Status staged = StageFileOutputs(ctx, outputs, &ex.outputs);
  if (!staged.ok()) return FromStatus(staged);
  return {};
}

std::map<std::string, std::string> ComponentEnv(const Execution& ex) {
  const auto& j = ex.job;
  return {{"KBC_DATADIR", "/data/"},
          {"KBC_RUNID", std::to_string(j.id)},
          {"KBC_PROJECTID", std::to_string(j.project_id)},
          {"KBC_PROJECTNAME", ex.project.name},
          {"KBC_STACKID", "swan"},
          {"KBC_CONFIGID", j.config_id},
          {"KBC_CONFIGROWID", j.row_id},
          {"KBC_CONFIGVERSION", std::to_string(j.config_version)},
          {"KBC_COMPONENTID", j.component_id},
          {"KBC_BRANCHID", std::to_string(j.branch_id)},
          {"KBC_TOKENID", j.token_id ? std::to_string(*j.token_id) : ""},
          {"KBC_TOKENDESC", ex.token.description},
          {"KBC_COMPONENT_RUN_MODE", "run"},
          // keboola.component: with KBC_STACKID set, `queuev2` keeps write_always in manifests;
          // "none" keeps the legacy manifest format (types come from column metadata).
          {"KBC_DATA_TYPE_SUPPORT", "none"},
          {"KBC_PROJECT_FEATURE_GATES", "queuev2"},
          {"KBC_STAGING_FILE_PROVIDER", "local"},
          {"PATH", kDefaultPath},
          {"HOME", "/tmp"},
          {"LANG", "C.UTF-8"},
          {"PYTHONIOENCODING", "utf-8"},
          {"PYTHONUNBUFFERED", "1"}};
}

Status PrepareFolder(Execution& ex, const std::string& data, const std::string& code) {
  Env& env = *ex.parts.env;
  for (const char* sub : {"in/tables", "in/files", "in/user", "out/tables", "out/files"})
    RETURN_IF_ERROR(env.MakeDirs(data + "/" + sub));
  json config = ex.body.is_object() ? ex.body : json::object();
  if (!config.contains("parameters")) config["parameters"] = json::object();
  if (!config.contains("storage")) config["storage"] = json::object();
  config["image_parameters"] = config.value("image_parameters", json::object());
  config["action"] = "run";
  if (!config.contains("authorization")) config["authorization"] = json::object();
  RETURN_IF_ERROR(WriteText(data + "/config.json", config.dump(2)));
  RETURN_IF_ERROR(WriteText(data + "/in/state.json", ex.state_json));
  if (ex.component.builtin == Builtin::kPython) {
    RETURN_IF_ERROR(env.MakeDirs(code));
    ASSIGN_OR_RETURN(auto statements, TransformationScript(config["parameters"]));
    std::string script;
    for (const auto& s : statements) script += s.sql + "\n";
    RETURN_IF_ERROR(WriteText(code + "/main.py", script));
    if (config["parameters"].contains("packages") && !config["parameters"]["packages"].empty()) {
      ex.log.Warning(
          "parameters.packages: Swan does not install packages; the script runs with "
          "the python3 packages of the server");
    }
  }
  return Status::Ok();
}

// Reads out/state.json as a component left it: the new state, its `#` keys sealed.
Outcome ReadOutputState(Execution& ex, const std::string& state_path) {
  if (!ex.parts.env->FileExists(state_path)) {
    // Keboola: a component that writes no state leaves an empty one.
    ex.new_state = "{}";
    return {};
  }
  auto text = fs::ReadFileText(state_path);
  if (!text.ok()) return AppError(text.status().message());
  // Keboola: an empty file is an empty state.
  json state = text->find_first_not_of(" \t\r\n") == std::string::npos
                   ? json::object()
                   : json::parse(*text, nullptr, false);
  if (state.is_discarded() || !state.is_object())
    return UserError("out/state.json is not a JSON object");
  // Keboola seals `#` keys of a state like a configuration's.
  Status sealed = SealSecrets(state, ex.key, "state");
  if (!sealed.ok()) return UserError("out/state.json: " + sealed.message());
  ex.new_state = state.dump();
  return {};
}

// Makes the job's fresh, private folder (one per attempt: a kept debug folder must not hand a
// retry old outputs); it will hold opened secrets.
Status MakeJobFolder(Execution& ex) {
  (void)ex.parts.env->RemoveAll(ex.job_dir);
  RETURN_IF_ERROR(ex.parts.env->MakeDirs(ex.job_dir));
  if (::chmod(ex.job_dir.c_str(), 0700) != 0)
    return Status::Internal("cannot make the job folder private: " +
                            std::string(std::strerror(errno)));
  return Status::Ok();
}

// An in-process connector that failed once the job's timeout had passed was stopped by it
// (a statement timeout, a request cut short): the job ends as timed out, which retries.
bool PastTimeout(const Execution& ex, std::chrono::steady_clock::time_point started) {
  return ex.job.timeout_ms > 0 &&
         std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(ex.job.timeout_ms);
}

// What an in-process extractor left in `out`: its state (sealed like a component's) and its
// tables, staged through the output mapping (`slices`: what was staged while it ran).
Outcome LoadExtractorOutputs(Execution& ex, const std::string& out, const std::string& state,
                             SliceStager* slices = nullptr) {
  {
    std::ofstream f(out + "/state.json", std::ios::binary);
    f << state;
    if (!f.flush()) return AppError("cannot write the extractor's state");
  }
  Outcome state_read = ReadOutputState(ex, out + "/state.json");
  if (state_read.status != catalog::kJobSuccess) return state_read;
  // No slice is staged beside the load of the folder, and the buckets made for slices stay
  // (an extractor may have dropped the slices it announced and written the table whole).
  if (slices != nullptr) slices->Settle(&ex.outputs);
  JobContext ctx = Context(ex);
  const json storage = ex.body.value("storage", json::object());
  Status staged = StageOutputFolder(ctx, storage, out + "/tables", &ex.outputs, false, slices);
  if (!staged.ok()) return FromStatus(staged);
  return {};
}

// Keboola's Generic Extractor (connectors/generic_extractor.h), in Swan's process: it writes
// out/tables and the state as the component would, and the output mapping loads them.
Outcome RunGenericExtractor(Execution& ex) {
  if (Status made = MakeJobFolder(ex); !made.ok()) return FromStatus(made);
  const std::string out = ex.job_dir + "/data/out";
  if (Status made = ex.parts.env->MakeDirs(out + "/tables"); !made.ok()) return FromStatus(made);
  connectors::GenericExtractorIo io;
  io.out_dir = out;
  io.work_dir = ex.job_dir + "/work";
  connectors::Json state = connectors::Json::parse(ex.state_json, nullptr, false);
  io.input_state = state.is_object() ? state : connectors::Json::object();
  connectors::Json new_state = connectors::Json::object();
  io.output_state = &new_state;
  io.log = [&](connectors::LogLevel level, const std::string& line) {
    if (level == connectors::LogLevel::kDebug) return;
    ex.log.Add(level == connectors::LogLevel::kWarning ? "warning" : "info", "component", line);
  };
  if (ex.job.timeout_ms > 0) io.options.max_run_time_ms = ex.job.timeout_ms;
  io.options.cancel = ex.control.flag();
  // The tables streamed as pages arrive load slice by slice while the extractor runs on.
  JobContext ctx = Context(ex);
  SliceStager slices(ctx, ex.body.value("storage", json::object()), out + "/tables");
  io.slice_done = [&slices](const std::string& source, const std::string& path) {
    slices.SliceDone(source, path);
  };
  ex.log.Info("running the Generic Extractor configuration");
  const auto started = std::chrono::steady_clock::now();
  // Key order decides column and query-parameter order: the stored text's, not nlohmann's sort.
  Status ran = connectors::RunGenericExtractor(
      connectors::WithKeyOrderOf(ex.body, ex.version.body_json), io);
  if (!ran.ok()) {
    if (ran.code() == StatusCode::kCancelled)
      return {catalog::kJobCancelled, "cancelled: " + ran.message(), "cancelled"};
    if (PastTimeout(ex, started)) return {catalog::kJobError, ran.message(), "timeout"};
    // The API or the configuration (Keboola's extractor exits 1 for both); Swan's own I/O is
    // an application error.
    if (ran.code() == StatusCode::kInternal) return AppError(ran.message());
    return UserError(ran.message());
  }
  return LoadExtractorOutputs(ex, out, new_state.dump(), &slices);
}

// Keboola's database extractors (connectors/pg_extractor.h, mysql_extractor.h,
// sqlite_extractor.h), in Swan's process: the same configuration, io and error rules for each.
Outcome RunDatabaseExtractor(
    Execution& ex,
    const std::function<Status(const json& config, const connectors::ExtractorIo& io)>& run) {
  if (Status made = MakeJobFolder(ex); !made.ok()) return FromStatus(made);
  const std::string out = ex.job_dir + "/data/out";
  if (Status made = ex.parts.env->MakeDirs(out + "/tables"); !made.ok()) return FromStatus(made);
  connectors::ExtractorIo io;
  io.out_dir = out;
  json state = json::parse(ex.state_json, nullptr, false);
  io.input_state = state.is_object() ? state : json::object();
  json new_state = json::object();
  io.output_state = &new_state;
  io.log = [&](connectors::LogLevel level, const std::string& line) {
    if (level == connectors::LogLevel::kDebug) return;
    ex.log.Add(level == connectors::LogLevel::kWarning ? "warning" : "info", "component", line);
  };
  io.cancel = ex.control.flag();
  io.timeout_ms = ex.job.timeout_ms;
  // Slices load while the extractor reads on.
  JobContext ctx = Context(ex);
  SliceStager slices(ctx, ex.body.value("storage", json::object()), out + "/tables");
  io.slice_done = [&slices](const std::string& source, const std::string& path) {
    slices.SliceDone(source, path);
  };
  const auto started = std::chrono::steady_clock::now();
  Status ran = run(ex.body, io);
  if (!ran.ok()) {
    if (ran.code() == StatusCode::kCancelled)
      return {catalog::kJobCancelled, "cancelled: " + ran.message(), "cancelled"};
    if (PastTimeout(ex, started)) return {catalog::kJobError, ran.message(), "timeout"};
    if (ran.code() == StatusCode::kInternal) return AppError(ran.message());
    return UserError(ran.message());
  }
  return LoadExtractorOutputs(ex, out, new_state.dump(), &slices);
}

// One file by URL (connectors/http_file_extractor.h), in Swan's process, loaded in its format.
Outcome RunHttpFileExtractor(Execution& ex) {
  JobContext ctx = Context(ex);
  if (Status made = MakeJobFolder(ex); !made.ok()) return FromStatus(made);
  const std::string out = ex.job_dir + "/data/out";
  if (Status made = ex.parts.env->MakeDirs(out + "/tables"); !made.ok()) return FromStatus(made);
  connectors::ExtractorIo io;
  io.out_dir = out;
  io.log = [&](connectors::LogLevel level, const std::string& line) {
    if (level == connectors::LogLevel::kDebug) return;
    ex.log.Add(level == connectors::LogLevel::kWarning ? "warning" : "info", "component", line);
  };
  io.cancel = ex.control.flag();
  io.timeout_ms = ex.job.timeout_ms;
  auto got = connectors::RunHttpFileExtractor(ex.body, io);
  if (!got.ok()) {
    if (got.status().code() == StatusCode::kCancelled)
      return {catalog::kJobCancelled, "cancelled: " + got.status().message(), "cancelled"};
    if (got.status().code() == StatusCode::kInternal) return AppError(got.status().message());
    return UserError(got.status().message());
  }
  ex.inputs.push_back({{"url", ex.body["parameters"].value("url", "")}, {"bytes", got->bytes}});
  FileOutput o{got->mapping, got->path};
  o.format = got->format == "parquet" ? storage::FileFormat::kParquet
             : got->format == "jsonl" ? storage::FileFormat::kJsonLines
             : got->format == "json"  ? storage::FileFormat::kJson
                                      : storage::FileFormat::kCsv;
  o.csv_delimiter = got->delimiter;
  // The configuration's output mapping may still send the table elsewhere or change its mode.
  const json storage = ex.body.value("storage", json::object());
  if (storage.contains("output") && storage["output"].is_object())
    for (const auto& m : storage["output"].value("tables", json::array()))
      if (m.is_object() && m.value("source", "") == o.mapping.value("source", ""))
        for (const auto& [k, v] : m.items()) o.mapping[k] = v;
  Status staged = StageFileOutputs(ctx, {o}, &ex.outputs);
  if (!staged.ok()) return FromStatus(staged);
  return {};
}

// The file writer (swan.wr-file): each input table to a CSV or Parquet file under the project's
// folder of the export root, written beside and renamed into place (a reader never sees half a
// file; a failed job leaves the previous file).
Outcome RunFileWriter(Execution& ex) {
  JobContext ctx = Context(ex);
  const json parameters = ex.body.value("parameters", json::object());
  const std::string format = parameters.value("format", std::string("csv"));
  if (format != "csv" && format != "parquet")
    return UserError("parameters.format: must be csv or parquet");
  const bool gzip = parameters.value("gzip", false);
  if (gzip && format != "csv") return UserError("parameters.gzip: only a CSV file is gzipped");
  const std::string folder = parameters.value("path", std::string());
  if (folder.starts_with('/') || folder.find("..") != std::string::npos ||
      folder.find_first_of("\\:*?\"<>|") != std::string::npos)
    return UserError(
        "parameters.path: a folder inside the project's export folder, like "
        "reports/daily");
  const char* root_env = std::getenv("SWAN_EXPORT_DIR");
  const std::string root =
      (root_env && *root_env ? std::string(root_env) : ex.parts.data_dir + "/exports") + "/" +
      ex.project.name + (folder.empty() ? "" : "/" + folder);
  if (Status made = ex.parts.env->MakeDirs(root); !made.ok()) return FromStatus(made);
  const json storage = ex.body.value("storage", json::object());
  auto inputs = ResolveInputTables(ctx, storage, true);
  if (!inputs.ok()) return FromStatus(inputs.status());
  if (inputs->empty()) return UserError("storage.input.tables: name the tables to write");
  const std::string ext = format == "parquet" ? ".parquet" : gzip ? ".csv.gz" : ".csv";
  for (const auto& in : *inputs) {
    std::string name = in.destination;
    if (name.ends_with(".csv")) name.resize(name.size() - 4);
    if (name.empty() || name.find('/') != std::string::npos || name.starts_with('.'))
      return UserError("storage.input.tables: '" + in.destination + "' is not a file name");
    const std::string target = root + "/" + name + ext;
    const std::string partial = root + "/." + name + ext + ".swan-" + fs::RandomHex(6);
    Status written = ex.parts.store->Export(
        in.table, in.read,
        format == "parquet" ? storage::ExportFormat::kParquet : storage::ExportFormat::kCsv, gzip,
        partial);
    if (written.ok()) written = fs::SyncFileAndDir(partial);
    if (written.ok() && std::rename(partial.c_str(), target.c_str()) != 0)
      written = Status::Internal("cannot rename into " + target + ": " + std::strerror(errno));
    if (!written.ok()) {
      (void)ex.parts.env->RemoveFile(partial);
      return FromStatus(written);
    }
    (void)fs::SyncFileAndDir(target);
    auto size = fs::FileSize(target);
    ex.inputs.push_back({{"table", in.table.FullId()},
                         {"version", in.version.number},
                         {"rows", in.version.row_count},
                         {"bytes", in.version.bytes}});
    ex.log.Info("wrote " + in.table.FullId() + " (version " + std::to_string(in.version.number) +
                ") to " + (folder.empty() ? "" : folder + "/") + name + ext + " (" +
                std::to_string(size.ok() ? *size : 0) + " bytes)");
  }
  return {};
}

// The project's folder of the import root ($SWAN_IMPORT_DIR, default <data>/imports): where
// connectors that read a file find it, as the file writer writes to the export root's.
std::string ImportFolder(const Execution& ex) {
  const char* root_env = std::getenv("SWAN_IMPORT_DIR");
  return (root_env && *root_env ? std::string(root_env) : ex.parts.data_dir + "/imports") + "/" +
         ex.project.name;
}

// The file `value` names inside the project's import folder, as an absolute path with every link
// resolved. Tenants never meet: an absolute path, a `..`, or a link leading out of the folder (to
// another project's folder, to Swan's own files) is refused, and so is anything but a regular
// file. Messages name `field`, never a server path.
Result<std::string> ImportFile(const Execution& ex, const json& value, const std::string& field) {
  auto refuse = [&](const std::string& what) {
    return Status::InvalidArgument(field + ": " + what).WithDetail("field", field);
  };
  const std::string where = "the project's import folder (" + ex.project.name +
                            "/ in the import root: $SWAN_IMPORT_DIR, default <data>/imports)";
  if (!value.is_string() || value.get<std::string>().empty())
    return refuse("is required: a file in " + where + ", like shop.sqlite");
  const std::string rel = value.get<std::string>();
  if (rel.find('\0') != std::string::npos) return refuse("must not contain a NUL character");
  if (rel.front() == '/') return refuse("must be relative to " + where + ", not absolute");
  for (size_t start = 0; start <= rel.size();) {
    const size_t end = std::min(rel.find('/', start), rel.size());
    if (rel.compare(start, end - start, "..") == 0)
      return refuse("must not contain '..': a file in " + where);
    start = end + 1;
  }
  auto real = [](const std::string& path) -> Result<std::string> {
    std::unique_ptr<char, decltype(&std::free)> r(::realpath(path.c_str(), nullptr), &std::free);
    if (!r) return Status::NotFound(std::strerror(errno));
    return std::string(r.get());
  };
  const std::string import_folder = ImportFolder(ex);
  auto folder = real(import_folder);
  if (!folder.ok()) return refuse("the project has no import folder: " + where);
  auto file = real(import_folder + "/" + rel);
  if (!file.ok())
    return refuse("cannot find '" + rel + "' in " + where + " (" + file.status().message() + ")");
  if (!file->starts_with(*folder + "/"))
    return refuse("'" + rel + "' leads outside " + where +
                  " through a symbolic link; only files inside it are read");
  struct stat st {};
  if (::stat(file->c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return refuse("'" + rel + "' is not a regular file");
  return *file;
}

// The SQLite extractor (connectors/sqlite_extractor.h): parameters.db.path is resolved and
// confined to the project's import folder here, before anything runs; the connector gets the
// checked file.
Outcome RunSqliteExtractorJob(Execution& ex) {
  const json parameters = ex.body.value("parameters", json::object());
  json path;
  if (parameters.is_object() && parameters.contains("db") && parameters["db"].is_object())
    path = parameters["db"].value("path", json());
  auto file = ImportFile(ex, path, "parameters.db.path");
  if (!file.ok()) return FromStatus(file.status());
  ex.log.Info("reading " + path.get<std::string>() + " of the project's import folder");
  return RunDatabaseExtractor(ex, [&](const json& config, const connectors::ExtractorIo& io) {
    return connectors::RunSqliteExtractor(config, *file, io);
  });
}

// Keboola's PostgreSQL writer (connectors/pg_writer.h), in Swan's process: the table it writes
// is exported as a component would get it, as CSV with a header, streamed through a pipe while
// the writer copies it into one transaction.
Outcome RunPostgresWriter(Execution& ex) {
  JobContext ctx = Context(ex);
  if (Status made = MakeJobFolder(ex); !made.ok()) return FromStatus(made);
  const json storage = ex.body.value("storage", json::object());
  auto inputs = ResolveInputTables(ctx, storage, true);
  if (!inputs.ok()) return FromStatus(inputs.status());
  if (inputs->empty())
    return UserError("storage.input.tables: a writer needs the table to write as its input");
  std::vector<connectors::WriterInput> tables;
  std::vector<std::shared_ptr<StreamedUsage>> streamed;
  for (const auto& in : *inputs) {
    connectors::WriterInput w;
    w.table_id = in.table.FullId();
    auto usage = std::make_shared<StreamedUsage>();
    streamed.push_back(usage);
    w.open = [&ctx, &in, usage] { return StreamInputTable(ctx.store, in, usage); };
    for (const auto& c : in.version.columns) {
      if (!in.read.columns.empty() && std::find(in.read.columns.begin(), in.read.columns.end(),
                                                c.name) == in.read.columns.end())
        continue;
      w.columns.push_back({c.name, c.type});
    }
    // In the order the file has them (the mapping's column list, when it gives one).
    if (!in.read.columns.empty()) {
      std::vector<connectors::WriterColumn> ordered;
      for (const auto& name : in.read.columns)
        for (const auto& c : w.columns)
          if (c.name == name) ordered.push_back(c);
      w.columns = std::move(ordered);
    }
    tables.push_back(std::move(w));
  }
  connectors::ExtractorIo io;
  io.log = [&](connectors::LogLevel level, const std::string& line) {
    if (level == connectors::LogLevel::kDebug) return;
    ex.log.Add(level == connectors::LogLevel::kWarning ? "warning" : "info", "component", line);
  };
  io.cancel = ex.control.flag();
  io.timeout_ms = ex.job.timeout_ms;
  Status ran = connectors::RunPostgresWriter(ex.body, tables, io);
  // Usage: the input that was read (the writer reads only the table it writes).
  for (size_t i = 0; i < inputs->size(); ++i) {
    if (streamed[i]->bytes == 0) continue;
    const InputTable& in = (*inputs)[i];
    ex.inputs.push_back({{"table", in.table.FullId()},
                         {"version", in.version.number},
                         {"rows", streamed[i]->rows.load()},
                         {"bytes", streamed[i]->bytes.load()}});
    const std::string what =
        "input " + in.table.FullId() + " (version " + std::to_string(in.version.number) + "): ";
    if (streamed[i]->rows > 0) {
      ex.log.Info(what + std::to_string(streamed[i]->rows.load()) + " rows streamed to the writer");
    } else {
      ex.log.Info(what + "the writer stopped reading after " +
                  std::to_string(streamed[i]->bytes.load()) + " bytes");
    }
  }
  if (!ran.ok()) {
    if (ran.code() == StatusCode::kCancelled)
      return {catalog::kJobCancelled, "cancelled: " + ran.message(), "cancelled"};
    if (ran.code() == StatusCode::kInternal) return AppError(ran.message());
    return UserError(ran.message() + " (the target is unchanged)");
  }
  return {};
}

Outcome RunExternal(Execution& ex) {
  JobContext ctx = Context(ex);
  if (!SandboxedProcess::SandboxAvailable()) {
    return AppError(
        "bubblewrap (/usr/bin/bwrap) cannot build a sandbox on this server: "
        "install it (scripts/setup.sh); Swan never runs a component unsandboxed");
  }
  const std::string data = ex.job_dir + "/data";
  const std::string code = ex.job_dir + "/code";
  // The sandbox binds data/ and code/ below the job folder, and hands them to the component's
  // job uid (SandboxedProcess).
  if (Status made = MakeJobFolder(ex); !made.ok()) return FromStatus(made);
  const json storage = ex.body.value("storage", json::object());
  auto inputs = ResolveInputTables(ctx, storage, true);
  if (!inputs.ok()) return FromStatus(inputs.status());
  // config.json names each input's file: keboola.component reads `destination` of every mapping
  // (KeyError without it), and Keboola's API lets a mapping leave it out.
  for (size_t i = 0; i < inputs->size(); ++i)
    ex.body["storage"]["input"]["tables"][i]["destination"] = (*inputs)[i].destination;
  Status prepared = PrepareFolder(ex, data, code);
  if (!prepared.ok()) return FromStatus(prepared);
  auto usage = WriteInputTables(ctx, *inputs, data + "/in/tables");
  if (!usage.ok()) return FromStatus(usage.status());
  ex.inputs = std::move(*usage);
  auto file_usage = WriteInputFiles(ctx, storage, data + "/in/files");
  if (!file_usage.ok()) return FromStatus(file_usage.status());
  for (auto& f : *file_usage) ex.inputs.push_back(std::move(f));

  ProcessSpec spec;
  spec.argv = ex.component.command;
  spec.env = ComponentEnv(ex);
  spec.data_dir = data;
  if (ex.component.builtin == Builtin::kPython) {
    spec.ro_binds.push_back({code, "/code"});
    spec.owned_paths.push_back(code);
  } else if (!ex.component.code_dir.empty()) {
    spec.ro_binds.push_back({ex.component.code_dir, "/code"});
  }
  spec.network = ex.component.network;
  spec.limits.memory_bytes = ex.component.memory_mb << 20;
  spec.limits.cpu_seconds = ex.component.cpu_seconds;
  spec.limits.max_processes = ex.component.processes;
  spec.limits.file_bytes = ex.component.output_mb << 20;
  spec.timeout_ms = ex.job.timeout_ms > 0 ? ex.job.timeout_ms : ex.component.timeout_seconds * 1000;
  ex.log.Info("starting " + ex.component.id + ": " + [&] {
    std::string cmd;
    for (const auto& a : spec.argv) cmd += (cmd.empty() ? "" : " ") + a;
    return cmd;
  }());
  auto process = SandboxedProcess::Start(spec, [&](OutputStream stream, std::string_view line) {
    const bool err = stream == OutputStream::kStderr;
    ex.log.Add(err ? "warning" : "info", err ? "stderr" : "stdout", std::string(line));
  });
  if (!process.ok()) return AppError("cannot start the component: " + process.status().message());
  ex.control.Attach(process->get());
  ProcessResult r = (*process)->Wait();
  ex.control.Attach(nullptr);
  ex.job.wall_ms = r.wall_ms;
  ex.job.cpu_ms = r.cpu_ms;
  ex.job.peak_memory_bytes = r.peak_rss_bytes;
  if (r.output_truncated) ex.log.Warning("the component wrote more output than is kept");
  if (r.cancelled || ex.control.cancelled())
    return {catalog::kJobCancelled, "cancelled: the component's processes were killed",
            "cancelled"};
  if (r.timed_out) {
    return {catalog::kJobError,
            "the component ran past its timeout of " + std::to_string(spec.timeout_ms / 1000) +
                " s and was killed",
            "timeout"};
  }
  // Keboola: tables whose manifest or mapping says write_always are loaded even when the
  // component fails (Finish commits them once no retry follows).
  auto failed = [&](Outcome outcome) {
    if (!OnlyFilesAndFolders(data + "/out", "out").ok()) return outcome;
    Status kept = StageOutputFolder(ctx, storage, data + "/out/tables", &ex.outputs, true);
    if (!kept.ok()) {
      ex.log.Warning("the write_always outputs were not loaded: " + kept.message());
      ex.outputs.writes.clear();
    }
    ex.write_always_outputs = kept.ok();
    return outcome;
  };
  if (r.exit_code == 1) {
    std::string last = ex.log.LastComponentMessage();
    return failed(
        UserError(last.empty() ? "the component failed (exit code 1) without a message" : last));
  }
  if (r.exit_code != 0) {
    std::string last = ex.log.LastComponentMessage();
    std::string how = r.exit_code > 128 && r.exit_code < 160
                          ? "was killed by signal " + std::to_string(r.exit_code - 128)
                      : r.exit_code < 0 ? "was killed by signal " + std::to_string(r.term_signal)
                                        : "failed with exit code " + std::to_string(r.exit_code);
    return failed(
        AppError("application error: the component " + how + (last.empty() ? "" : ": " + last)));
  }
  // Success: its state and outputs, from out/ as the component left it.
  Status plain = OnlyFilesAndFolders(data + "/out", "out");
  if (!plain.ok()) return FromStatus(plain);
  Outcome state_read = ReadOutputState(ex, data + "/out/state.json");
  if (state_read.status != catalog::kJobSuccess) return state_read;
  Status staged = StageOutputFolder(ctx, storage, data + "/out/tables", &ex.outputs);
  if (!staged.ok()) return FromStatus(staged);
  Status files = StageOutputFiles(ctx, storage, data + "/out/files", &ex.files);
  if (!files.ok()) return FromStatus(files);
  return {};
}

// Loads everything the run needs; an error here is the configuration's (user) or Swan's.
Status Load(Execution& ex) {
  catalog::Catalog& cat = *ex.parts.catalog;
  ASSIGN_OR_RETURN(ex.project, cat.GetProjectById(ex.job.project_id));
  if (ex.job.token_id) {
    ASSIGN_OR_RETURN(ex.token, cat.GetToken(*ex.job.token_id));
    if (ex.token.revoked)
      return Status::Unauthorized("the token that started the job has been revoked");
  }
  ASSIGN_OR_RETURN(ex.version,
                   cat.GetConfigVersion(ex.job.configuration_id, ex.job.config_version));
  ASSIGN_OR_RETURN(ex.component, ex.parts.registry->Find(ex.job.component_id));
  ex.body = json::parse(ex.version.body_json, nullptr, false);
  if (!ex.body.is_object()) return Status::Internal("stored configuration is not a JSON object");
  const nlohmann::json* schema = &ex.component.configuration_schema;
  if (!ex.job.row_id.empty()) {
    json rows = json::parse(ex.version.rows_json, nullptr, false);
    const json* row = nullptr;
    if (rows.is_array())
      for (const auto& r : rows)
        if (r.is_object() && r.value("id", std::string()) == ex.job.row_id) row = &r;
    if (!row) return Status::NotFound("row '" + ex.job.row_id + "' not found in the configuration");
    DeepMerge(ex.body, row->value("configuration", json::object()));
    if (!ex.component.row_configuration_schema.is_null())
      schema = &ex.component.row_configuration_schema;
  }
  {
    ASSIGN_OR_RETURN(Variables variables,
                     ParseVariables(json::parse(ex.job.variables_json, nullptr, false)));
    RETURN_IF_ERROR(SubstituteVariables(ex.body, variables));
  }
  ASSIGN_OR_RETURN(ex.key, ProjectKey(cat, ex.parts.master_key, ex.job.project_id));
  std::vector<std::string> opened;
  RETURN_IF_ERROR(OpenSecrets(ex.body, ex.key, &opened));
  ASSIGN_OR_RETURN(ex.state_json, cat.GetConfigState(ex.job.configuration_id, ex.job.row_id));
  json state = json::parse(ex.state_json, nullptr, false);
  if (state.is_object()) {
    RETURN_IF_ERROR(OpenSecrets(state, ex.key, &opened));
    ex.state_json = state.dump();
  }
  ex.log.SetMasker(SecretMasker(std::move(opened)));
  if (!schema->is_null())
    RETURN_IF_ERROR(ValidateJson(*schema, ex.body.value("parameters", json::object())));
  return Status::Ok();
}

// Writes the job's end: with outputs, in the commit of their versions.
void Finish(Execution& ex, Outcome outcome) {
  catalog::Catalog& cat = *ex.parts.catalog;
  catalog::Job& job = ex.job;
  // The message is shown by the API: a secret a component put in a file name, a header or a
  // value that an error quotes must not reach it in clear.
  outcome.message = transcode::ValidUtf8(ex.log.masker().Mask(std::move(outcome.message)));
  if (outcome.status == catalog::kJobSuccess) {
    for (const auto& w : ex.outputs.writes)
      if (w->report().bad_rows > 0) outcome.status = catalog::kJobWarning;
    job.finished_at = ex.parts.clock->NowMs();
    job.status = outcome.status;
    job.message = outcome.message.empty() ? "done" : outcome.message;
    job.error_kind.clear();  // an earlier attempt's failure is over
    job.inputs_json = ex.inputs.dump();
    ex.log.Info("committing " + std::to_string(ex.outputs.writes.size()) + " output tables");
    ex.log.Flush();
    auto hook = [&](catalog::Catalog& tx,
                    const std::vector<storage::WriteResult>& results) -> Status {
      json outputs = OutputUsage(results);
      for (const auto& f : ex.files.files)
        outputs.push_back({{"file", f.name}, {"bytes", f.size_bytes}, {"tags", f.tags}});
      job.outputs_json = outputs.dump();
      RETURN_IF_ERROR(RegisterOutputFiles(tx, ex.files));
      if (ex.new_state)
        RETURN_IF_ERROR(tx.SetConfigState(job.configuration_id, job.row_id, *ex.new_state));
      // The last event commits with the status: a follower that sees the job end has seen it.
      RETURN_IF_ERROR(
          tx.AppendJobEvents({{0, job.id, "info", "swan",
                               "job " + job.status + ": " + std::to_string(results.size()) +
                                   " output tables committed",
                               0}}));
      return tx.UpdateJob(job, catalog::kJobProcessing);
    };
    Status committed;
    if (ex.outputs.writes.empty()) {
      committed = cat.Transact([&](catalog::Catalog& tx) { return hook(tx, {}); });
    } else {
      committed = ex.parts.store->CommitStaged(ex.outputs.writes, hook).status();
    }
    if (committed.ok()) return;
    outcome = FromStatus(committed);
    outcome.message = "the outputs could not be committed (nothing was): " + committed.message();
  }
  const bool retry = (outcome.error_kind == "application" || outcome.error_kind == "timeout" ||
                      outcome.error_kind == "terminated") &&
                     job.attempt < job.max_attempts;
  // What is staged now after a failure is the write_always tables (RunExternal): committed
  // together, at the last attempt only.
  json kept_outputs = json::array();
  if (!retry && outcome.status == catalog::kJobError && ex.write_always_outputs &&
      !ex.outputs.writes.empty()) {
    auto kept = ex.parts.store->CommitStaged(
        ex.outputs.writes,
        [&](catalog::Catalog& tx, const std::vector<storage::WriteResult>& results) -> Status {
          kept_outputs = OutputUsage(results);
          return tx.AppendJobEvents({{0, job.id, "info", "swan",
                                      std::to_string(results.size()) +
                                          " write_always output tables committed although the "
                                          "job failed",
                                      0}});
        });
    if (!kept.ok()) {
      kept_outputs = json::array();
      ex.log.Warning("the write_always outputs could not be committed: " + kept.status().message());
    }
  }
  {
    JobContext ctx = Context(ex);
    DropCreatedBuckets(ctx, ex.outputs);  // only the empty ones
    DropOutputFiles(ctx, ex.files);
  }
  ex.outputs.writes.clear();  // staged segments are deleted, uncommitted
  if (outcome.status == catalog::kJobError || outcome.status == catalog::kJobTerminated)
    ex.log.Error(outcome.message);
  if (outcome.status == catalog::kJobCancelled) ex.log.Warning(outcome.message);
  if (retry) {
    ex.log.Warning("attempt " + std::to_string(job.attempt) + " of " +
                   std::to_string(job.max_attempts) + " failed: the job will run again");
    job.status = catalog::kJobWaiting;
    job.attempt += 1;
    job.worker.clear();
  } else {
    job.status = outcome.status;
    job.finished_at = ex.parts.clock->NowMs();
  }
  job.message = outcome.message;
  job.error_kind = outcome.error_kind;
  job.inputs_json = ex.inputs.dump();
  job.outputs_json = kept_outputs.dump();
  ex.log.Flush();
  Status st = cat.UpdateJob(job, catalog::kJobProcessing);
  (void)st;  // only a catalog that went away fails here; restart recovery ends the job then
}

}  // namespace

void ExecuteJob(const JobRunnerParts& parts, const std::string& jobs_dir, catalog::Job job,
                JobControl& control, const std::function<void()>& on_activity) {
  JobLog log(*parts.catalog, *parts.clock, job.id, on_activity);
  Execution ex{parts, job, control, log, jobs_dir + "/" + std::to_string(job.id)};
  log.Info("job " + std::to_string(job.id) + ": " + job.component_id + " configuration '" +
           job.config_id + "' version " + std::to_string(job.config_version) +
           (job.row_id.empty() ? "" : " row '" + job.row_id + "'") +
           (job.max_attempts > 1 ? ", attempt " + std::to_string(job.attempt) + " of " +
                                       std::to_string(job.max_attempts)
                                 : ""));
  const auto started = std::chrono::steady_clock::now();
  const int64_t cpu_before = ProcessCpuMs();
  Outcome outcome;
  // An exception must end this job, never the server and every other tenant's jobs with it.
  try {
    Status loaded = Load(ex);
    if (!loaded.ok()) {
      outcome = FromStatus(loaded);
    } else if (control.cancelled()) {
      outcome = {catalog::kJobCancelled, "cancelled", "cancelled"};
    } else if (ex.component.builtin == Builtin::kFlow) {
      outcome = AppError("a flow's job is run by the flow runner, not by a job worker");
    } else if (ex.component.builtin == Builtin::kSchedule ||
               ex.component.builtin == Builtin::kTrigger) {
      outcome = UserError("a schedule or trigger is not run: it starts its target's jobs");
    } else if (ex.component.builtin == Builtin::kSql) {
      outcome = RunSql(ex);
      // In Swan's process: its wall time, and the process's CPU time meanwhile (other work that
      // runs at the same time is counted too).
      job.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
      job.cpu_ms = ProcessCpuMs() - cpu_before;
    } else if (ex.component.builtin == Builtin::kGenericExtractor ||
               ex.component.builtin == Builtin::kPostgresExtractor ||
               ex.component.builtin == Builtin::kPostgresWriter ||
               ex.component.builtin == Builtin::kHttpFileExtractor ||
               ex.component.builtin == Builtin::kFileWriter ||
               ex.component.builtin == Builtin::kMysqlExtractor ||
               ex.component.builtin == Builtin::kSqliteExtractor) {
      switch (ex.component.builtin) {
        case Builtin::kGenericExtractor:
          outcome = RunGenericExtractor(ex);
          break;
        case Builtin::kPostgresExtractor:
          outcome = RunDatabaseExtractor(ex, connectors::RunPostgresExtractor);
          break;
        case Builtin::kMysqlExtractor:
          outcome = RunDatabaseExtractor(ex, connectors::RunMysqlExtractor);
          break;
        case Builtin::kSqliteExtractor:
          outcome = RunSqliteExtractorJob(ex);
          break;
        case Builtin::kPostgresWriter:
          outcome = RunPostgresWriter(ex);
          break;
        case Builtin::kFileWriter:
          outcome = RunFileWriter(ex);
          break;
        default:
          outcome = RunHttpFileExtractor(ex);
          break;
      }
      job.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
      job.cpu_ms = ProcessCpuMs() - cpu_before;
    } else {
      outcome = RunExternal(ex);
    }
  } catch (const json::exception& e) {
    // A configuration value of the wrong JSON type where a mapping or script reads it.
    outcome =
        UserError(std::string("the configuration has a value of the wrong type: ") + e.what());
  } catch (const std::exception& e) {
    outcome = AppError(std::string("unexpected error: ") + e.what());
  }
  if (control.cancelled() && outcome.status == catalog::kJobSuccess)
    outcome = {catalog::kJobCancelled, "cancelled", "cancelled"};
  // Nobody cancelled it: the server is stopping (docs/api.md: terminated).
  if (control.stopping() && outcome.status == catalog::kJobCancelled) {
    outcome = {catalog::kJobTerminated,
               "terminated: the server stopped while the job ran; nothing of it was committed",
               "terminated"};
  }
  try {
    Finish(ex, std::move(outcome));
  } catch (const std::exception& e) {
    job.status = catalog::kJobError;
    job.error_kind = "application";
    job.message = std::string("unexpected error while ending the job: ") + e.what();
    job.finished_at = parts.clock->NowMs();
    (void)parts.catalog->UpdateJob(job, catalog::kJobProcessing);
  }
  for (const auto& f : ex.outputs.temp_files) (void)parts.env->RemoveFile(f);
  // The folder held the opened secrets: gone, unless kept for debugging with the secrets
  // sealed again (and only when the component left no link there to write through).
  if (job.debug && parts.env->FileExists(ex.job_dir + "/data/config.json") &&
      OnlyFilesAndFolders(ex.job_dir + "/data", "data").ok()) {
    json sealed = json::parse(ex.version.body_json, nullptr, false);
    (void)WriteText(ex.job_dir + "/data/config.json", sealed.dump(2));
    // The state handed in was opened too.
    json state = json::parse(ex.state_json, nullptr, false);
    if (state.is_object() && SealSecrets(state, ex.key, "state").ok()) {
      (void)WriteText(ex.job_dir + "/data/in/state.json", state.dump());
    } else {
      (void)parts.env->RemoveFile(ex.job_dir + "/data/in/state.json");
    }
    // And the state the component wrote, whose `#` keys are secrets as well.
    const std::string out_state = ex.job_dir + "/data/out/state.json";
    if (parts.env->FileExists(out_state)) {
      auto text = fs::ReadFileText(out_state);
      json written = text.ok() ? json::parse(*text, nullptr, false) : json();
      if (written.is_object() && SealSecrets(written, ex.key, "state").ok()) {
        (void)WriteText(out_state, written.dump());
      } else {
        (void)parts.env->RemoveFile(out_state);
      }
    }
  } else {
    (void)parts.env->RemoveAll(ex.job_dir);
  }
  log.Flush();
}

}  // namespace swan::jobs
