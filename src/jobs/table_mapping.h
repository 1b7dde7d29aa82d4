// Keboola's table input and output mappings (config.json `storage.input.tables[]` and
// `storage.output.tables[]`), resolved against Swan's tables with the job's rights.
//
// Input: each entry's table (by id, at its head or a pinned `version`), with `columns`,
// `where_column`/`where_values`/`where_operator`, `changed_since` and `limit`; delivered either as
// in/tables/<destination> CSV files with manifests (external components) or as views named by
// the destination (the SQL transformation: no copy).
// Output: out/tables files with their manifests, or tables a SQL transformation made, staged as
// new versions; the caller commits them all together.
//
// Thread-safety: free functions over one job's context.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobs/job_context.h"
#include "jobs/manifest.h"
#include "storage/table_store.h"

namespace swan::jobs {

struct InputTable {
  catalog::Table table;
  catalog::TableVersion version;
  storage::ReadRequest read;
  std::string destination;  // file name in in/tables, or the view name
};

// Resolves storage.input.tables. Errors name the entry ("storage.input.tables[0].source").
Result<std::vector<InputTable>> ResolveInputTables(JobContext& ctx, const nlohmann::json& storage,
                                                   bool for_files);

// Writes each input as in/tables/<destination> (CSV with header) plus its .manifest; returns
// the usage records ({table, version, rows, bytes}).
Result<nlohmann::json> WriteInputTables(JobContext& ctx, const std::vector<InputTable>& inputs,
                                        const std::string& tables_dir);

// The inputs as SQL views named by their destination; appends usage records to *usage.
Result<std::vector<query::SqlTable>> InputViews(JobContext& ctx,
                                                const std::vector<InputTable>& inputs,
                                                nlohmann::json* usage);

// What the job writes: its staged versions and the buckets it had to create (removed again
// when the job fails and they stayed empty).
struct StagedOutputs {
  std::vector<std::unique_ptr<storage::StagedWrite>> writes;
  std::vector<catalog::Bucket> created_buckets;
  std::vector<std::string> temp_files;  // removed after the commit
};

// How one out/tables source loads: its manifest, whose fields the output mapping entry overrides
// one by one (Keboola: `columns`, `delimiter`, `enclosure`, `has_header`, `incremental`,
// `primary_key`, `delete_where_*`, `write_always`...).
struct OutputLoad {
  std::string source;              // name in out/tables ("orders.csv")
  std::string destination;         // a valid table id
  nlohmann::json mapping;          // the mapping entry; null when there is none
  storage::ImportRequest request;  // file_path empty for a sliced source
  bool write_always = false;
  bool sliced = false;
};
Result<OutputLoad> PlanOutputLoad(JobContext& ctx, const nlohmann::json& storage,
                                  const OutputSource& source);

// Stages `file_path` (the whole source or one slice of it) as `load` says, creating the
// destination bucket when absent (remembered in out->created_buckets).
Result<std::unique_ptr<storage::StagedWrite>> StageLoad(JobContext& ctx, const OutputLoad& load,
                                                        const std::string& file_path,
                                                        StagedOutputs* out);

class SliceStager;

// Stages every table in `tables_dir` (out/tables) per its OutputLoad.
// `only_write_always`: after a failed run, stage just the tables marked `write_always`, and
// skip the check that every mapped source exists. `slices` (may be null): slices staged while
// the component ran, used where they cover a sliced source whole.
Status StageOutputFolder(JobContext& ctx, const nlohmann::json& storage,
                         const std::string& tables_dir, StagedOutputs* out,
                         bool only_write_always = false, SliceStager* slices = nullptr);

// One output a built-in component wrote as a file: the mapping entry and the file (a SQL
// transformation's Parquet, a downloaded CSV, JSON lines or Parquet, gzip or not).
struct FileOutput {
  nlohmann::json mapping;  // {source, destination, incremental, primary_key, ...}
  std::string path;
  storage::FileFormat format = storage::FileFormat::kParquet;
  std::string csv_delimiter{};  // CSV: empty = detected
};
Status StageFileOutputs(JobContext& ctx, const std::vector<FileOutput>& outputs,
                        StagedOutputs* out);

// Removes buckets the job created that are still empty (after a failed job).
void DropCreatedBuckets(JobContext& ctx, const StagedOutputs& outputs);

// Usage records of committed versions, for the job's `outputs`.
nlohmann::json OutputUsage(const std::vector<storage::WriteResult>& results);

}  // namespace swan::jobs
