// The catalog's entities. Times are Unix epoch milliseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swan::catalog {

struct Project {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t main_branch_id = 0;
  int64_t created_at = 0;
};

struct Bucket {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t branch_id = 0;
  std::string stage;  // "in" | "out"
  std::string name;
  std::string description;
  int64_t created_at = 0;
  std::string FullId() const { return stage + "." + name; }
};

struct ColumnDef {
  std::string name;
  std::string type;     // DuckDB type name
  std::string label{};  // the source's own text for the column ("Product Name"); empty = name
  bool operator==(const ColumnDef&) const = default;
};

// An immutable Parquet file. `path` is relative to the data directory.
struct Segment {
  int64_t id = 0;  // 0 = not yet in the catalog
  int64_t project_id = 0;
  std::string path;
  int64_t row_count = 0;
  int64_t bytes = 0;
  // An upsert segment's rows replace rows with the same primary key in earlier segments.
  bool replaces_keys = false;
  std::vector<ColumnDef> columns;
  int64_t created_at = 0;
};

struct TableVersion {
  int64_t id = 0;
  int64_t table_id = 0;
  int64_t number = 0;  // 1, 2, 3 ... per table
  std::string operation;
  std::vector<ColumnDef> columns;
  int64_t row_count = 0;
  int64_t bytes = 0;
  std::optional<int64_t> token_id;
  std::string token_description;
  int64_t created_at = 0;
  std::vector<Segment> segments;  // in read order (later segments win on key conflicts)
};

struct Table {
  int64_t id = 0;
  int64_t bucket_id = 0;
  std::string bucket_full_id;  // "in.sales"
  std::string name;
  std::vector<std::string> primary_key;
  int64_t head_version_id = 0;
  int64_t created_at = 0;
  std::string FullId() const { return bucket_full_id + "." + name; }
};

struct TokenScope {
  std::string bucket;  // full bucket id, "in.sales"
  std::string access;  // "read" | "write"
  bool operator==(const TokenScope&) const = default;
};

struct Token {
  int64_t id = 0;
  std::optional<int64_t> project_id;
  std::string project_name;
  std::string kind;  // "admin" | "master" | "scoped"
  std::string description;
  std::vector<TokenScope> scopes;
  std::optional<int64_t> expires_at;
  bool revoked = false;
  int64_t created_at = 0;
};

struct Event {
  int64_t id = 0;
  std::optional<int64_t> project_id;
  std::optional<int64_t> token_id;
  std::string action;  // "table.import", ...
  std::string object;  // "in.sales.orders", ...
  std::string details_json = "{}";
  std::string client_address;
  int64_t created_at = 0;
};

// What a writer proposes as a table's next version.
struct NewVersion {
  std::string operation;
  std::vector<ColumnDef> columns;
  int64_t row_count = 0;
  std::optional<int64_t> token_id;
  // Segments in read order: id != 0 reuses a catalog segment, id == 0 registers a new file.
  std::vector<Segment> segments;
};

struct GcReport {
  int64_t deleted_versions = 0;
  std::vector<std::string> deleted_segment_paths;  // rows already removed; files to unlink
  int64_t deleted_bytes = 0;
};

// One version of a configuration: the whole of it, rows included, so that a diff or a rollback
// covers rows too. `body_json` is Keboola's configuration object ({"parameters", "storage", ...})
// with secrets (`#` keys) encrypted; `rows_json` a JSON array of {id, name, description,
// is_disabled, configuration}.
struct ConfigVersion {
  int64_t number = 0;
  std::string name;
  std::string description;
  std::string body_json = "{}";
  std::string rows_json = "[]";
  std::string message;  // the change's description
  std::optional<int64_t> token_id;
  std::string token_description{};
  int64_t created_at = 0;
};

// A component's configuration on a branch. Its body and rows live in versions: every change is a
// new ConfigVersion and `version` names the current one.
struct Configuration {
  int64_t id = 0;  // internal
  int64_t project_id = 0;
  int64_t branch_id = 0;
  std::string component_id;  // "swan.sql-transformation", "keboola.python-transformation-v2"
  std::string config_id;     // user-visible, unique per branch ("daily-sales", "12")
  int64_t version = 0;       // current version number
  int64_t created_at = 0;
  ConfigVersion current{};  // the current version (filled by Get/List)
};

// Job states (Keboola's): created -> waiting -> processing -> one of the final states.
inline constexpr const char* kJobCreated = "created";
inline constexpr const char* kJobWaiting = "waiting";
inline constexpr const char* kJobProcessing = "processing";
inline constexpr const char* kJobSuccess = "success";
inline constexpr const char* kJobWarning = "warning";
inline constexpr const char* kJobError = "error";
inline constexpr const char* kJobCancelled = "cancelled";
inline constexpr const char* kJobTerminated = "terminated";
bool IsFinalJobStatus(const std::string& status);

// The component of flows (Keboola's orchestrator configurations): their jobs are claimed by the
// flow runner, not by job workers, and do not count against a project's running-jobs limit.
inline constexpr const char* kFlowComponentId = "keboola.orchestrator";
// Schedules and triggers are configurations too (orchestration/schedule_config.h); they are never
// run as jobs themselves.
inline constexpr const char* kScheduleComponentId = "keboola.scheduler";
inline constexpr const char* kTriggerComponentId = "swan.trigger";

// A run of a configuration (or one of its rows).
struct Job {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t branch_id = 0;
  int64_t configuration_id = 0;
  std::string config_id;
  std::string component_id;
  std::string row_id;  // empty: the whole configuration
  int64_t config_version = 0;
  std::string status = kJobCreated;
  std::string message;     // the result: the component's last message on a user error
  std::string error_kind;  // "" | "user" | "application" | "timeout" | ...
  std::optional<int64_t> token_id;
  std::string token_description{};
  int attempt = 1;
  int max_attempts = 1;
  int64_t timeout_ms = 0;
  bool cancel_requested = false;
  bool debug = false;  // keep the job's folder (secrets removed)
  std::string worker;  // the runtime instance processing it
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  // Usage: wall and CPU time, peak memory of the component's process tree.
  int64_t wall_ms = 0;
  int64_t cpu_ms = 0;
  int64_t peak_memory_bytes = 0;
  // JSON arrays of {table, version, rows, bytes}.
  std::string inputs_json = "[]";
  std::string outputs_json = "[]";
  // A task of a flow: the flow's job and the task's id in the flow's configuration.
  std::optional<int64_t> parent_job_id{};
  std::string flow_task_id{};
  // A flow job that reruns the failed part of an earlier flow job.
  std::optional<int64_t> rerun_of{};
  // {name: value}: replaces {{ name }} in the configuration (jobs/variables.h).
  std::string variables_json = "{}";
};

struct JobFilter {
  std::optional<int64_t> project_id;
  std::optional<int64_t> configuration_id;
  std::string status;
  std::optional<int64_t> parent_job_id;  // the tasks of one flow job
  int limit = 100;
};

struct JobEvent {
  int64_t id = 0;
  int64_t job_id = 0;
  std::string level = "info";   // debug | info | warning | error
  std::string source = "swan";  // swan | stdout | stderr
  std::string message;
  int64_t created_at = 0;
};

// A file in a project's file storage (Keboola's Storage files): written by jobs to out/files,
// given to jobs in in/files by tags. `path` is relative to the data directory.
struct StoredFile {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string name;
  std::vector<std::string> tags;
  std::string path;
  int64_t size_bytes = 0;
  bool is_permanent = false;
  std::optional<int64_t> job_id;
  int64_t created_at = 0;
};

}  // namespace swan::catalog
