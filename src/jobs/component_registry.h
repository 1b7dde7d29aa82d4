// The component registry: what can run as a job. Built-in components (SQL and Python
// transformations) plus one JSON file per component in the components directories, read when
// asked, so that adding a component needs no rebuild or restart:
//
//   {"id": "acme.hello", "type": "extractor", "name": "Hello", "description": "...",
//    "command": ["/usr/bin/python3", "-u", "/code/main.py"],
//    "code": "hello",                       // folder beside the file, mounted read-only at /code
//    "configuration_schema": {...},         // JSON schema of `parameters`, checked before a run
//    "row_configuration_schema": {...},
//    "network": true,
//    "limits": {"memory_mb": 2048, "cpu_seconds": 3600, "processes": 256, "output_mb": 10240},
//    "timeout_seconds": 3600}
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace swan::jobs {

enum class Builtin {
  kNone,
  kSql,
  kPython,
  kGenericExtractor,
  kPostgresExtractor,
  kPostgresWriter,
  kHttpFileExtractor,
  kFileWriter,
  kMysqlExtractor,
  kSqliteExtractor,
  kFlow,  // run by the flow runner (orchestration/flow_runner.h), never by a job worker
  // Not run at all: a schedule or trigger starts its target (orchestration/scheduler.h).
  kSchedule,
  kTrigger,
};

struct ComponentSpec {
  std::string id;
  std::string type;  // extractor | writer | transformation | application
  std::string name;
  std::string description;
  Builtin builtin = Builtin::kNone;
  std::vector<std::string> command;         // an external component's command, run in /data
  std::string code_dir;                     // host folder mounted read-only at /code; may be empty
  nlohmann::json configuration_schema;      // null: parameters are not checked
  nlohmann::json row_configuration_schema;  // null: rows' parameters are not checked
  bool network = true;
  int64_t memory_mb = 4096;
  int64_t cpu_seconds = 0;  // 0: the job's timeout bounds it
  int64_t processes = 512;
  int64_t output_mb = 51200;
  int64_t timeout_seconds = 3600;
  std::string source_file;  // "built-in" or the registry file
};

inline constexpr const char* kSqlTransformationId = "swan.sql-transformation";
inline constexpr const char* kPythonTransformationId = "keboola.python-transformation-v2";
inline constexpr const char* kFileWriterId = "swan.wr-file";

class ComponentRegistry {
 public:
  // Folders searched for *.json, in order; missing folders are skipped.
  explicit ComponentRegistry(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}
  // Every component; a file that does not parse is left out and named in *problems.
  std::vector<ComponentSpec> List(std::vector<std::string>* problems = nullptr) const;
  // not_found names the folders searched; a broken file is invalid_argument naming it.
  Result<ComponentSpec> Find(const std::string& id) const;
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

// Parses one registry file (exposed for tests).
Result<ComponentSpec> ParseComponentFile(const std::string& path, const std::string& text);

// The API's view. `with_paths`: also the registry file it came from (a server path: shown to the
// organization's admin only).
nlohmann::json ComponentJson(const ComponentSpec& c, bool with_paths);

}  // namespace swan::jobs
