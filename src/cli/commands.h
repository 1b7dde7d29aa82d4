// The commands of the `swan` CLI, as plain functions over plain option structs. Argument parsing
// (CLI11) lives in main.cpp only; everything here is testable without it.
//
// Every client command talks to a Swan server through client::ApiClient, prints its result on
// stdout (an aligned table or a sentence; the raw JSON answer with --json) and returns a Status.
// The caller turns a failed Status into one stderr line and an exit code (PrintError,
// ExitCodeFor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/limits.h"
#include "common/status.h"

namespace swan::cli {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

// Options shared by every client command. Empty strings fall back to the environment.
struct GlobalOptions {
  std::string url;      // empty: $SWAN_URL, else kDefaultUrl
  std::string token;    // empty: $SWAN_TOKEN, else an error
  std::string project;  // empty: $SWAN_PROJECT, else the project of the token (GET /v1/token)
  bool json = false;    // print the raw JSON answer instead of tables
};

// ---- server and demo ----------------------------------------------------------------------------

struct ServerCommandOptions {
  std::string data_dir = limits::kDefaultDataDir;
  std::string listen = "127.0.0.1:8080";  // HOST:PORT
  bool quiet = false;
};
int RunServerCommand(const ServerCommandOptions& options);

struct DemoCommandOptions {
  std::string data_dir = limits::kDefaultDataDir;
  std::string listen = "127.0.0.1:8080";
  int rows = 100000;
  bool exit_after = false;
};
int RunDemoCommand(const DemoCommandOptions& options);

// Splits "HOST:PORT" (the last ':' separates; "[::1]:80" keeps the brackets off). Port 0..65535.
struct HostPort {
  std::string host;
  int port = 0;
};
Result<HostPort> ParseListen(const std::string& listen);

// ---- projects -----------------------------------------------------------------------------------

Status ProjectList(const GlobalOptions& global);
Status ProjectCreate(const GlobalOptions& global, const std::string& name,
                     const std::string& description);
Status ProjectShow(const GlobalOptions& global, const std::string& name);
Status ProjectDelete(const GlobalOptions& global, const std::string& name);

// ---- buckets ------------------------------------------------------------------------------------

Status BucketList(const GlobalOptions& global);
// `bucket_id` is "<stage>.<name>", e.g. "in.sales".
Status BucketCreate(const GlobalOptions& global, const std::string& bucket_id,
                    const std::string& description);
Status BucketShow(const GlobalOptions& global, const std::string& bucket_id);
Status BucketDelete(const GlobalOptions& global, const std::string& bucket_id, bool force);

// ---- tables -------------------------------------------------------------------------------------

struct TableImportOptions {
  std::string table_id;
  std::string file;
  bool incremental = false;
  std::string primary_key;  // "a,b"
  std::string format;       // csv | parquet | jsonl; empty: server default (csv)
  std::string delimiter;    // 1-4 characters; "\t" or "tab" mean a tab; empty: detected
  std::string enclosure;    // "none": no quoting; empty: detected
  std::string escape;
  bool no_header = false;
  bool header = false;
  std::string skip_lines;
  std::string header_rows;
  std::string comment;
  std::string encoding;
  std::string on_bad_rows;  // fail | skip | quarantine
  std::string max_bad_rows;
  bool pad_missing_trailing = false;
  std::string columns;      // "a,b" names when there is no header
  std::string types;        // "a:BIGINT,b:VARCHAR"
  std::string compression;  // auto | none | gzip
};

struct TableExportOptions {
  std::string table_id;
  std::string output = "-";  // a file, or "-" for stdout
  std::string format;        // csv | parquet
  bool gzip = false;
  std::string columns;
  std::optional<int64_t> version;
  std::string where;  // "col=v1,v2" or "col!=v1"
  std::string changed_since;
  std::optional<int64_t> limit;
  bool original_names = false;
};

struct TablePreviewOptions {
  std::string table_id;
  std::optional<int64_t> limit;
  std::optional<int64_t> version;
  std::string columns;
};

Status TableList(const GlobalOptions& global, const std::string& bucket_id);
Status TableShow(const GlobalOptions& global, const std::string& table_id);
Status TableImport(const GlobalOptions& global, const TableImportOptions& options);
Status TableExport(const GlobalOptions& global, const TableExportOptions& options);
Status TablePreview(const GlobalOptions& global, const TablePreviewOptions& options);
Status TableVersions(const GlobalOptions& global, const std::string& table_id);
Status TableRestore(const GlobalOptions& global, const std::string& table_id, int64_t version);
Status TableDelete(const GlobalOptions& global, const std::string& table_id);
Status TableCompact(const GlobalOptions& global, const std::string& table_id);

// Parses a --where filter into (column, values, operator "eq"|"ne").
struct WhereFilter {
  std::string column;
  std::string values;
  std::string op;
};
Result<WhereFilter> ParseWhere(const std::string& where);

// ---- sql ----------------------------------------------------------------------------------------

struct SqlOptions {
  std::string sql;              // "-" reads the statement from stdin
  std::string format = "json";  // json | csv
  std::optional<int64_t> limit;
  std::optional<int64_t> timeout_ms;
  std::string output_table;
};
Status Sql(const GlobalOptions& global, const SqlOptions& options);

// ---- tokens -------------------------------------------------------------------------------------

struct TokenCreateOptions {
  std::string description;
  std::vector<std::string> read_buckets;
  std::vector<std::string> write_buckets;
  std::optional<int64_t> expires_in_seconds;
};
Status TokenCreate(const GlobalOptions& global, const TokenCreateOptions& options);
Status TokenList(const GlobalOptions& global);
Status TokenRevoke(const GlobalOptions& global, int64_t token_id);

// ---- configurations, jobs, components ----------------------------------------------------------

struct ConfigWriteOptions {
  std::string config_id;     // create: empty = a generated number
  std::string component_id;  // create only
  std::string name;
  std::string description;
  std::string file;     // a JSON file: {"configuration": ..., "rows": ...} or the configuration
  std::string message;  // the change's description
};
Status ConfigCreate(const GlobalOptions& global, const ConfigWriteOptions& options);
Status ConfigEdit(const GlobalOptions& global, const ConfigWriteOptions& options);
Status ConfigList(const GlobalOptions& global);
Status ConfigShow(const GlobalOptions& global, const std::string& config_id,
                  std::optional<int64_t> version);
Status ConfigVersions(const GlobalOptions& global, const std::string& config_id);
Status ConfigDiff(const GlobalOptions& global, const std::string& config_id,
                  std::optional<int64_t> from, std::optional<int64_t> to);
Status ConfigRollback(const GlobalOptions& global, const std::string& config_id, int64_t version,
                      const std::string& message);
Status ConfigDelete(const GlobalOptions& global, const std::string& config_id);

struct RunOptions {
  std::string config_id;
  std::string row;
  bool wait = false;  // follow the job's events until it ends; the exit code is the job's
  std::optional<int64_t> timeout_seconds;
  std::optional<int64_t> max_attempts;
  bool debug = false;
  std::vector<std::string> variables;  // "name=value": replace {{ name }} in the configuration
};
Status Run(const GlobalOptions& global, const RunOptions& options);
// ---- flows (configurations of keboola.orchestrator; docs/orchestration.md) ----------------------

Status FlowCreate(const GlobalOptions& global, const ConfigWriteOptions& options);
Status FlowList(const GlobalOptions& global);
// A flow job: its state and its tasks' jobs.
Status FlowShow(const GlobalOptions& global, int64_t job_id);
// `format`: "mermaid" or "json".
Status FlowGraph(const GlobalOptions& global, const std::string& config_id,
                 const std::string& format);
Status FlowRerun(const GlobalOptions& global, int64_t job_id, bool wait);

// ---- schedules and triggers (keboola.scheduler, swan.trigger; docs/orchestration.md) -----------

struct ScheduleWriteOptions {
  std::string id;  // empty: a generated number
  std::string name;
  std::string cron;
  std::string timezone = "UTC";
  std::string flow;    // the target: a flow, or
  std::string config;  // any configuration
  std::string catch_up = "skip";
  bool disabled = false;
};
Status ScheduleCreate(const GlobalOptions& global, const ScheduleWriteOptions& options);
Status ScheduleList(const GlobalOptions& global);
Status ScheduleShow(const GlobalOptions& global, const std::string& id, int next);
Status SchedulePreview(const GlobalOptions& global, const std::string& cron,
                       const std::string& timezone, int next);
Status ScheduleSetState(const GlobalOptions& global, const std::string& id, bool enabled);

struct TriggerWriteOptions {
  std::string id;
  std::string name;
  std::string flow;
  std::string config;
  std::vector<std::string> tables;
  int64_t cooldown_minutes = 5;
  bool disabled = false;
};
Status TriggerCreate(const GlobalOptions& global, const TriggerWriteOptions& options);
Status TriggerList(const GlobalOptions& global);
Status TriggerSetState(const GlobalOptions& global, const std::string& id, bool enabled);

Status JobList(const GlobalOptions& global, const std::string& config_id,
               const std::string& status);
Status JobShow(const GlobalOptions& global, int64_t job_id);
Status JobLogs(const GlobalOptions& global, int64_t job_id, bool follow);
Status JobCancel(const GlobalOptions& global, int64_t job_id);
Status FileList(const GlobalOptions& global, const std::string& tags);
Status FileDownload(const GlobalOptions& global, int64_t file_id, const std::string& output);
Status ComponentList(const GlobalOptions& global);
Status ComponentShow(const GlobalOptions& global, const std::string& component_id);

// ---- maintenance --------------------------------------------------------------------------------

Status Gc(const GlobalOptions& global, std::optional<int64_t> retention_seconds);

// ---- errors -------------------------------------------------------------------------------------

// 0 for OK; 1 for user errors (invalid_argument, unauthorized, forbidden, not_found, conflict,
// payload_too_large); 2 for unavailable and internal.
int ExitCodeFor(const Status& status);

// Prints exactly one line "swan: error: <message>" on stderr (details not already named in the
// message are appended in parentheses; line breaks become spaces).
void PrintError(const Status& status);

}  // namespace swan::cli
