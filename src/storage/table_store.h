// The versioned table store: imports, exports, time travel, restore, compaction and garbage
// collection over immutable Parquet segments, with the catalog as the source of truth.
//
// Commit protocol (DESIGN.md decision 2): write new segment files under fresh names, fsync file
// and directory, then one catalog transaction moves the table head from the version the writer
// started from (compare-and-swap). On a lost race the write is recomputed against the new head.
// Stage-then-commit extends it to several tables: Stage() writes each table's new segment, and
// CommitStaged() moves every head in one catalog transaction, all or nothing.
//
// Thread-safety: all methods may be called concurrently; writes to one table are serialized
// inside the process, and the catalog's compare-and-swap guards against other processes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/env.h"
#include "engine/duckdb.h"
#include "storage/load_options.h"
#include "storage/upload_spool.h"

namespace swan::storage {

struct StoreOptions {
  // Past this many segments a write folds the table back into one segment.
  size_t compaction_threshold_segments = 16;
  std::string memory_limit = "512MB";  // DuckDB memory limit for imports/exports (each instance)
  int threads = 0;                     // 0 = all cores
  Env* env = nullptr;                  // null = Env::Posix()
  Clock* clock = nullptr;              // null = Clock::System()
  // Test seam: called by CommitStaged after it planned the new versions and before its catalog
  // transaction, with the attempt number (0, 1, ...). Lets a test move a head in between.
  std::function<void(int attempt)> before_commit_for_test;
};

struct WriteResult {
  catalog::Table table;
  catalog::TableVersion version;
  ImportReport report{};  // Import: what the load assumed (dialect, renames) and skipped
};

class TableStore;

// One table's new version, written and fsynced but not yet committed (invisible to readers).
// Destroying it uncommitted deletes its segment file. Made by TableStore::Stage.
class StagedWrite {
 public:
  ~StagedWrite();
  StagedWrite(const StagedWrite&) = delete;
  StagedWrite& operator=(const StagedWrite&) = delete;
  const catalog::Bucket& bucket() const { return bucket_; }
  const std::string& table_name() const { return table_name_; }
  int64_t rows() const { return batch_rows_; }
  const ImportReport& report() const { return report_; }
  // The columns the staged rows have, in order, with their types.
  const std::vector<catalog::ColumnDef>& columns() const { return input_columns_; }

 private:
  friend class TableStore;
  StagedWrite() = default;
  TableStore* store_ = nullptr;
  catalog::Bucket bucket_;
  std::string table_name_;
  bool incremental_ = false;
  std::vector<std::string> primary_key_;  // for a table this write creates
  std::optional<DeleteWhere> delete_where_;
  std::optional<int64_t> token_id_;
  std::string operation_;
  std::vector<catalog::ColumnDef> input_columns_;
  // One per staged file; several once CombineStaged joined the slices of one load.
  std::vector<catalog::Segment> segments_;
  int64_t batch_rows_ = 0;
  ImportReport report_;
  std::vector<BadRow> bad_rows_;  // every skipped row (kQuarantine keeps them in a table)
  bool committed_ = false;
};

// Called inside the commit's catalog transaction with the new versions, in the order staged:
// what it writes through `tx` (an audit event, a job's outputs) commits with them or not at all.
using CommitHook =
    std::function<Status(catalog::Catalog& tx, const std::vector<WriteResult>& results)>;

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

  // Loads a file into table `name` of `bucket`, creating the table when absent: Stage, then
  // CommitStaged of that one write (`hook` runs in its transaction). Any error leaves the table at
  // its previous version.
  Result<WriteResult> Import(const catalog::Bucket& bucket, const std::string& name,
                             const ImportRequest& request, const CommitHook& hook = {});
  // Writes (and fsyncs) the new segment of an import without committing it. The table's schema
  // and key checks happen here against its head; CommitStaged re-checks against the head it
  // commits on.
  Result<std::unique_ptr<StagedWrite>> Stage(const catalog::Bucket& bucket, const std::string& name,
                                             const ImportRequest& request);
  // Commits staged writes of several tables (at most one per table) in one catalog transaction:
  // all new versions become heads, or none does. Compare-and-swap on every head; when another
  // writer moved one, every version is recomputed against the new heads and the commit retried
  // (up to kCommitRetries), then it fails with `conflict`. Results are in the order given.
  Result<std::vector<WriteResult>> CommitStaged(std::vector<std::unique_ptr<StagedWrite>>& writes,
                                                const CommitHook& hook = {});
  // Joins staged writes of consecutive slices of one load (same table, load mode and columns; no
  // primary key, no delete_where) into one write whose version has every slice's segment, in the
  // order given. The parts are consumed; on error they are left as they were.
  Result<std::unique_ptr<StagedWrite>> CombineStaged(
      std::vector<std::unique_ptr<StagedWrite>>& parts);
  // Creates an empty table with the given schema (version 1).
  Result<WriteResult> CreateEmpty(const catalog::Bucket& bucket, const std::string& name,
                                  const std::vector<catalog::ColumnDef>& columns,
                                  const std::vector<std::string>& primary_key,
                                  std::optional<int64_t> token_id, const CommitHook& hook = {});
  // Commits the rows of version `number` as a new head version.
  Result<WriteResult> Restore(const catalog::Table& table, int64_t number,
                              std::optional<int64_t> token_id, const CommitHook& hook = {});
  // Folds the head's segments (and replaced rows) into one segment, as a new version.
  Result<WriteResult> Compact(const catalog::Table& table, std::optional<int64_t> token_id,
                              const CommitHook& hook = {});

  // The head (number empty) or a numbered version, segments filled in.
  Result<catalog::TableVersion> ResolveVersion(const catalog::Table& table,
                                               std::optional<int64_t> number);
  // SQL for the selected rows of a table version (columns in order, filters, limit applied).
  Result<std::string> SelectSql(const catalog::Table& table, const catalog::TableVersion& version,
                                const ReadRequest& request);
  // Writes the selected rows to `out_path` as CSV (optionally gzip) or Parquet.
  Status Export(const catalog::Table& table, const ReadRequest& request, ExportFormat format,
                bool gzip, const std::string& out_path);
  // Writes the selected rows as CSV with a header into `fd`, the write end of a pipe whose
  // reader consumes them while they are written (the caller keeps and closes fd; a reader that
  // stops early makes this fail). Rows come in no set order, unless the request has a `limit`.
  // Returns the number of rows written.
  Result<int64_t> ExportCsvToPipe(const catalog::Table& table, const ReadRequest& request, int fd);
  Result<engine::Rows> Preview(const catalog::Table& table, const ReadRequest& request);

  // Deletes versions and segments older than the retention window that no head needs, and orphan
  // files (left by crashes) older than the window. Never deletes a file a version references.
  Result<GcResult> CollectGarbage(int64_t retention_ms);

  // A fresh path under the data directory's tmp/ (the caller deletes it).
  std::string NewTempPath(const std::string& extension);
  // The files import uploads are received into.
  UploadSpool& uploads() { return uploads_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  friend class StagedWrite;
  struct PlannedVersion;
  TableStore(catalog::Catalog& catalog, std::string data_dir, const StoreOptions& options)
      : catalog_(catalog),
        data_dir_(std::move(data_dir)),
        options_(options),
        env_(options.env ? *options.env : Env::Posix()),
        clock_(options.clock ? *options.clock : Clock::System()),
        uploads_(env_, data_dir_ + "/tmp") {}

  std::shared_ptr<std::mutex> TableLock(int64_t bucket_id, const std::string& name);
  std::string NewSegmentPath(int64_t project_id);  // relative to data_dir_
  void BeginWrite(const std::string& rel_path);
  void EndWrite(const std::string& rel_path, bool keep_file);
  // The version a staged write proposes on top of the table's current head.
  Result<PlannedVersion> PlanVersion(const StagedWrite& write);
  // Fsyncs and sizes a segment DuckDB wrote at `rel` (relative to the data directory).
  // Stages `rows` as an incremental load of table `name` (file, line, reason, raw_line).
  Result<std::unique_ptr<StagedWrite>> StageBadRows(const catalog::Bucket& bucket,
                                                    const std::string& name,
                                                    const ImportRequest& request,
                                                    const std::vector<BadRow>& rows);
  // A CSV export whose header (labels that repeat) is written by Swan, the rows by DuckDB; with
  // `gzip`, the header is a gzip member of its own before DuckDB's.
  Status ExportWithHeader(const std::string& sql, const std::vector<std::string>& header, bool gzip,
                          const std::string& out_path);
  Result<catalog::Segment> FinishSegment(const std::string& rel, int64_t rows);

  catalog::Catalog& catalog_;
  std::string data_dir_;
  StoreOptions options_;
  Env& env_;
  Clock& clock_;
  // Order-preserving instance: exports, key-deduplicating loads (input order decides which row
  // of a key wins), compaction. Loads without a key use the unordered instance, which streams
  // CSV to Parquet without buffering out-of-order chunks (half the memory, measured).
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Database> unordered_db_;

  UploadSpool uploads_;

  std::mutex locks_mu_;
  std::map<std::pair<int64_t, std::string>, std::shared_ptr<std::mutex>> table_locks_;
  std::mutex inflight_mu_;
  std::set<std::string> inflight_;  // segment files being written, not yet committed
};

}  // namespace swan::storage
