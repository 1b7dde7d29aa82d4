// The versioned table store: imports, exports, time travel, restore, compaction and garbage
// collection over immutable Parquet segments, with the catalog as the source of truth.
//
// Commit protocol (DESIGN.md decision 2): write new segment files under fresh names, fsync file
// and directory, then one catalog transaction moves the table head from the version the writer
// started from (compare-and-swap). On a lost race the write is recomputed against the new head.
//
// Thread-safety: all methods may be called concurrently; writes to one table are serialized
// inside the process, and the catalog's compare-and-swap guards against other processes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "catalog/catalog.h"
#include "engine/duckdb.h"
#include "storage/load_options.h"

namespace swan::storage {

struct StoreOptions {
  // Past this many segments a write folds the table back into one segment.
  size_t compaction_threshold_segments = 16;
  std::string memory_limit = "512MB";  // DuckDB memory limit for imports/exports (each instance)
  int threads = 0;                     // 0 = all cores
};

struct WriteResult {
  catalog::Table table;
  catalog::TableVersion version;
};

struct GcResult {
  int64_t deleted_versions = 0;
  int64_t deleted_segments = 0;
  int64_t deleted_bytes = 0;
  int64_t deleted_orphan_files = 0;
};

class TableStore {
 public:
  static Result<std::unique_ptr<TableStore>> Open(catalog::Catalog& catalog,
                                                  const std::string& data_dir,
                                                  const StoreOptions& options);

  // Loads a file into table `name` of `bucket`, creating the table when absent. Any error leaves
  // the table at its previous version.
  Result<WriteResult> Import(const catalog::Bucket& bucket, const std::string& name,
                             const ImportRequest& request);
  // Creates an empty table with the given schema (version 1).
  Result<catalog::Table> CreateEmpty(const catalog::Bucket& bucket, const std::string& name,
                                     const std::vector<catalog::ColumnDef>& columns,
                                     const std::vector<std::string>& primary_key,
                                     std::optional<int64_t> token_id);
  // Commits the rows of version `number` as a new head version.
  Result<WriteResult> Restore(const catalog::Table& table, int64_t number,
                              std::optional<int64_t> token_id);
  // Folds the head's segments (and replaced rows) into one segment, as a new version.
  Result<WriteResult> Compact(const catalog::Table& table, std::optional<int64_t> token_id);

  // The head (number empty) or a numbered version, segments filled in.
  Result<catalog::TableVersion> ResolveVersion(const catalog::Table& table,
                                               std::optional<int64_t> number);
  // SQL for the selected rows of a table version (columns in order, filters, limit applied).
  Result<std::string> SelectSql(const catalog::Table& table, const catalog::TableVersion& version,
                                const ReadRequest& request);
  // Writes the selected rows to `out_path` as CSV (optionally gzip) or Parquet.
  Status Export(const catalog::Table& table, const ReadRequest& request, ExportFormat format,
                bool gzip, const std::string& out_path);
  Result<engine::Rows> Preview(const catalog::Table& table, const ReadRequest& request);

  // Deletes versions and segments older than the retention window that no head needs, and orphan
  // files (left by crashes) older than the window. Never deletes a file a version references.
  Result<GcResult> CollectGarbage(int64_t retention_ms);

  // A fresh path under the data directory's tmp/ (the caller deletes it).
  std::string NewTempPath(const std::string& extension);
  const std::string& data_dir() const { return data_dir_; }

 private:
  TableStore(catalog::Catalog& catalog, std::string data_dir, const StoreOptions& options)
      : catalog_(catalog), data_dir_(std::move(data_dir)), options_(options) {}

  std::shared_ptr<std::mutex> TableLock(int64_t bucket_id, const std::string& name);
  std::string NewSegmentPath(int64_t project_id);  // relative to data_dir_
  void BeginWrite(const std::string& rel_path);
  void EndWrite(const std::string& rel_path, bool keep_file);
  Result<WriteResult> CommitWithRetry(const catalog::Bucket& bucket, const std::string& name,
                                      std::optional<catalog::Table> table,
                                      const ImportRequest& request,
                                      const std::vector<catalog::ColumnDef>& input_columns,
                                      catalog::Segment segment, int64_t batch_rows);

  catalog::Catalog& catalog_;
  std::string data_dir_;
  StoreOptions options_;
  // Order-preserving instance: exports, key-deduplicating loads (input order decides which row
  // of a key wins), compaction. Loads without a key use the unordered instance, which streams
  // CSV to Parquet without buffering out-of-order chunks (half the memory, measured).
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Database> unordered_db_;

  std::mutex locks_mu_;
  std::map<std::pair<int64_t, std::string>, std::shared_ptr<std::mutex>> table_locks_;
  std::mutex inflight_mu_;
  std::set<std::string> inflight_;  // segment files being written, not yet committed
};

}  // namespace swan::storage
