#include "storage/table_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "common/fs.h"
#include "common/names.h"
#include "storage/read_plan.h"
#include "storage/schema.h"
#include "storage/source_check.h"
#include "storage/source_reader.h"

namespace swan::storage {

using catalog::ColumnDef;
using engine::QuoteIdent;
using engine::QuoteLiteral;

namespace {

constexpr int kCommitRetries = 5;

std::string TimestampLiteral(int64_t ms) {
  std::string iso = fs::IsoTime(ms);  // 2026-11-25T12:00:00.123Z
  iso[10] = ' ';
  iso.pop_back();
  return "CAST(" + QuoteLiteral(iso) + " AS TIMESTAMP)";
}

std::string PrimaryKeyList(const std::vector<std::string>& pk) {
  std::string out;
  for (const auto& k : pk) out += (out.empty() ? "" : ", ") + QuoteIdent(k);
  return out;
}

// True when `header` names only known table columns, each once, all valid identifiers; fills
// `exact` with those columns in file order.
bool ExactColumns(const std::vector<std::string>& header, const std::vector<ColumnDef>& table,
                  std::vector<ColumnDef>* exact) {
  if (header.empty()) return false;
  std::set<std::string> seen;
  for (const auto& name : header) {
    if (!names::ValidateColumn(name).ok() || !seen.insert(name).second) return false;
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const ColumnDef& c) { return c.name == name; });
    if (it == table.end()) return false;
    exact->push_back(*it);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<TableStore>> TableStore::Open(catalog::Catalog& catalog,
                                                     const std::string& data_dir,
                                                     const StoreOptions& options) {
  std::unique_ptr<TableStore> store(new TableStore(catalog, data_dir, options));
  Env& env = store->env_;
  RETURN_IF_ERROR(env.MakeDirs(data_dir + "/segments"));
  RETURN_IF_ERROR(env.MakeDirs(data_dir + "/tmp"));
  // Nothing is in flight at open: leftovers in tmp/ are from a previous process.
  ASSIGN_OR_RETURN(auto leftovers, env.List(data_dir + "/tmp"));
  for (const auto& e : leftovers) RETURN_IF_ERROR(env.RemoveAll(e.path));
  engine::DatabaseOptions db_options;
  db_options.memory_limit = options.memory_limit;
  db_options.threads = options.threads;
  db_options.temp_directory = data_dir + "/tmp/duckdb-spill";
  db_options.private_paths = {data_dir};  // error messages name no upload or segment path
  ASSIGN_OR_RETURN(store->db_, engine::Database::Open(db_options));
  db_options.preserve_insertion_order = false;
  ASSIGN_OR_RETURN(store->unordered_db_, engine::Database::Open(db_options));
  return store;
}

std::shared_ptr<std::mutex> TableStore::TableLock(int64_t bucket_id, const std::string& name) {
  std::lock_guard lock(locks_mu_);
  auto& slot = table_locks_[{bucket_id, name}];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

std::string TableStore::NewSegmentPath(int64_t project_id) {
  return "segments/p" + std::to_string(project_id) + "/" + fs::RandomHex(16) + ".parquet";
}

std::string TableStore::NewTempPath(const std::string& extension) {
  return data_dir_ + "/tmp/" + fs::RandomHex(16) + extension;
}

void TableStore::BeginWrite(const std::string& rel_path) {
  std::lock_guard lock(inflight_mu_);
  inflight_.insert(rel_path);
}

void TableStore::EndWrite(const std::string& rel_path, bool keep_file) {
  if (!keep_file) {
    Status removed = env_.RemoveFile(data_dir_ + "/" + rel_path);
    if (!removed.ok()) spdlog::warn("cannot remove uncommitted segment: {}", removed.ToString());
  }
  std::lock_guard lock(inflight_mu_);
  inflight_.erase(rel_path);
}

Result<catalog::TableVersion> TableStore::ResolveVersion(const catalog::Table& table,
                                                         std::optional<int64_t> number) {
  if (number) return catalog_.GetVersionByNumber(table.id, *number);
  return catalog_.GetVersion(table.head_version_id);
}

Result<WriteResult> TableStore::CreateEmpty(const catalog::Bucket& bucket, const std::string& name,
                                            const std::vector<ColumnDef>& columns,
                                            const std::vector<std::string>& primary_key,
                                            std::optional<int64_t> token_id,
                                            const CommitHook& hook) {
  RETURN_IF_ERROR(names::ValidateTableName(name));
  if (columns.empty())
    return Status::InvalidArgument("a table needs at least one column")
        .WithDetail("field", "columns");
  auto conn_r = engine::Connection::Open(*db_);
  RETURN_IF_ERROR(conn_r.status());
  std::set<std::string> seen;
  for (const auto& c : columns) {
    RETURN_IF_ERROR(names::ValidateColumn(c.name));
    RETURN_IF_ERROR(names::ValidateTypeName(c.type));
    if (!seen.insert(c.name).second)
      return Status::InvalidArgument("duplicate column '" + c.name + "'");
    Status st = (*conn_r)->Execute("SELECT CAST(NULL AS " + c.type + ")");
    if (!st.ok())
      return Status::InvalidArgument("column " + c.name + ": unknown type '" + c.type + "'");
  }
  RETURN_IF_ERROR(CheckPrimaryKey(primary_key, columns));
  catalog::NewVersion first{"create", columns, 0, token_id, {}};
  auto lock = TableLock(bucket.id, name);
  std::lock_guard guard(*lock);
  std::vector<WriteResult> results;
  RETURN_IF_ERROR(catalog_.Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(auto table, tx.CreateTable(bucket.id, name, primary_key, first));
    ASSIGN_OR_RETURN(auto version, tx.GetVersion(table.head_version_id));
    results = {WriteResult{table, version}};
    return hook ? hook(tx, results) : Status::Ok();
  }));
  return results[0];
}

StagedWrite::~StagedWrite() {
  if (store_ != nullptr && !segment_.path.empty()) store_->EndWrite(segment_.path, committed_);
}

Result<WriteResult> TableStore::Import(const catalog::Bucket& bucket, const std::string& name,
                                       const ImportRequest& request, const CommitHook& hook) {
  std::vector<std::unique_ptr<StagedWrite>> writes;
  {
    // One writer of a table at a time in this process: a second would only lose the head race.
    auto lock = TableLock(bucket.id, name);
    std::lock_guard guard(*lock);
    ASSIGN_OR_RETURN(auto staged, Stage(bucket, name, request));
    writes.push_back(std::move(staged));
  }
  ASSIGN_OR_RETURN(auto results, CommitStaged(writes, hook));
  WriteResult result = results[0];
  if (result.version.segments.size() > options_.compaction_threshold_segments) {
    auto compacted = Compact(result.table, request.token_id);
    if (compacted.ok()) return compacted;
    spdlog::warn("automatic compaction of {} failed: {}", result.table.FullId(),
                 compacted.status().ToString());
  }
  return result;
}

Result<std::unique_ptr<StagedWrite>> TableStore::Stage(const catalog::Bucket& bucket,
                                                       const std::string& name,
                                                       const ImportRequest& request) {
  RETURN_IF_ERROR(names::ValidateTableName(name));
  SourceCheck source_check(request);  // a gzip source is checked to its end beside the load

  std::optional<catalog::Table> table;
  std::optional<catalog::TableVersion> head;
  if (auto t = catalog_.GetTable(bucket.id, name); t.ok()) {
    table = *t;
    ASSIGN_OR_RETURN(head, catalog_.GetVersion(table->head_version_id));
    if (!request.primary_key.empty() && request.primary_key != table->primary_key) {
      return Status::InvalidArgument("primary key " + PrimaryKeyText(request.primary_key) +
                                     " does not match table " + table->FullId() +
                                     "'s primary key " + PrimaryKeyText(table->primary_key))
          .WithDetail("field", "primary_key");
    }
  } else if (t.status().code() != StatusCode::kNotFound) {
    return t.status();
  }
  const std::vector<std::string>& pk = table ? table->primary_key : request.primary_key;

  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(pk.empty() ? *unordered_db_ : *db_));
  // Declared types: the table's existing columns keep their types; the request may declare more.
  std::map<std::string, std::string> types;
  for (const auto& [col, type] : request.csv.declared_types) {
    RETURN_IF_ERROR(names::ValidateColumn(col));
    RETURN_IF_ERROR(names::ValidateTypeName(type));
    types[col] = type;
  }
  if (head) {
    for (const auto& c : head->columns) {
      auto it = types.find(c.name);
      if (it != types.end() && !SameType(it->second, c.type)) {
        return Status::Conflict("column " + c.name + " is " + c.type + " in table " +
                                table->FullId() + "; the import declares " + it->second)
            .WithDetail("column", c.name);
      }
      types[c.name] = c.type;
    }
  }

  // Phase timings for the debug log (SWAN_LOG_LEVEL=debug).
  auto started = std::chrono::steady_clock::now();
  auto since_ms = [&started] {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - started).count();
    started = now;
    return ms;
  };
  // Describe the input (DuckDB sniffs CSV here), validate and reconcile its schema.
  std::vector<ColumnDef> input;
  std::string source;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<std::vector<engine::Column>> described = std::vector<engine::Column>{};
    std::vector<ColumnDef> exact;
    if (request.format == FileFormat::kCsv && head && attempt == 0 &&
        ExactColumns(CsvHeaderNames(*conn, request), head->columns, &exact)) {
      // Every column of the file is a table column: read with the table's types, no sniffing.
      ASSIGN_OR_RETURN(source, ExactCsvFunctionSql(request, exact));
      for (const auto& c : exact) described->push_back({c.name, c.type});
    } else {
      ASSIGN_OR_RETURN(source, SourceFunctionSql(request, {}, attempt > 0));
      described = conn->Describe("SELECT * FROM " + source);
      if (!described.ok() && request.format == FileFormat::kCsv &&
          IsSniffError(described.status().message())) {
        return DiagnoseCsv(*conn, request, described.status().message());
      }
      if (!described.ok()) return LoadError(request.display_name, described.status());
      if (request.format == FileFormat::kCsv) {
        // Declare the known types of the columns the file has (DuckDB rejects unknown names).
        std::map<std::string, std::string> used_types;
        for (const auto& c : *described) {
          if (types.count(c.name)) used_types[c.name] = types[c.name];
        }
        if (!used_types.empty()) {
          ASSIGN_OR_RETURN(source, SourceFunctionSql(request, used_types, attempt > 0));
          described = conn->Describe("SELECT * FROM " + source);
          if (!described.ok()) {
            return LoadError(request.display_name, described.status());
          }
        }
      }
    }
    input.clear();
    for (const auto& c : *described) input.push_back({c.name, c.type});
    if (request.format == FileFormat::kJson || request.format == FileFormat::kJsonLines) {
      std::vector<std::string> types_seen;
      for (const auto& c : input) types_seen.push_back(c.type);
      RETURN_IF_ERROR(CheckJsonRecords(*conn, source, types_seen, request.display_name));
    }
    RETURN_IF_ERROR(ValidateInputColumns(input, request.display_name));
    if (!pk.empty()) RETURN_IF_ERROR(CheckPrimaryKey(pk, input).Prefix(request.display_name));
    ASSIGN_OR_RETURN(auto projected,
                     InputProjection(input, head ? head->columns : std::vector<ColumnDef>{},
                                     request.display_name));
    std::string projection = projected.first;
    input = projected.second;
    int64_t now = clock_.NowMs();
    projection += ", " + TimestampLiteral(now) + " AS _swan_ts";

    double describe_ms = since_ms();
    std::string rel = NewSegmentPath(bucket.project_id);
    RETURN_IF_ERROR(
        env_.MakeDirs(std::filesystem::path(data_dir_ + "/" + rel).parent_path().string()));
    BeginWrite(rel);
    std::string out = QuoteLiteral(data_dir_ + "/" + rel);
    Result<int64_t> rows = int64_t{0};
    // Written in input order (the ordered engine for keyed loads), so that a repeated key can
    // keep its last row below.
    std::optional<fs::EarlyWriteback> writeback;
    writeback.emplace(data_dir_ + "/" + rel);
    rows = conn->QueryInt("COPY (SELECT " + projection + " FROM " + source + ") TO " + out +
                          kSegmentCopyOptions);
    if (rows.ok() && !pk.empty()) {
      // Most batches have unique keys: check on the written key column (cheap, columnar) and
      // rewrite only when a key repeats, keeping its last row by position in the file.
      // (GROUP BY spills to disk past the memory limit; count(DISTINCT) does not: 50M keys
      // ran out of memory at 512 MB.)
      auto repeated = conn->QueryInt("SELECT count(*) FROM (SELECT 1 FROM read_parquet(" + out +
                                     ") GROUP BY " + PrimaryKeyList(pk) + " HAVING count(*) > 1)");
      if (!repeated.ok()) {
        rows = repeated.status();
      } else if (*repeated > 0) {
        std::string dedup_rel = NewSegmentPath(bucket.project_id);
        BeginWrite(dedup_rel);
        // The repeated keys with their last position (a spilling GROUP BY, usually small), then a
        // join that keeps every other row as it streams by. A window over the whole batch
        // (PARTITION BY key ORDER BY position) did the same 2.2x slower: 10M rows, each key
        // twice, 12.9 s -> 5.8 s at 512 MB.
        std::string match;
        for (const auto& k : pk) {
          if (!match.empty()) match += " AND ";
          match += "b." + QuoteIdent(k) + " IS NOT DISTINCT FROM r." + QuoteIdent(k);
        }
        const std::string batch = "read_parquet(" + out + ", file_row_number = true)";
        rows =
            conn->QueryInt("COPY (WITH r AS (SELECT " + PrimaryKeyList(pk) +
                           ", max(file_row_number) AS _swan_last FROM " + batch + " GROUP BY " +
                           PrimaryKeyList(pk) +
                           " HAVING count(*) > 1) SELECT b.* EXCLUDE (file_row_number) FROM " +
                           batch + " b LEFT JOIN r ON " + match +
                           " WHERE r._swan_last IS NULL OR b.file_row_number = r._swan_last) TO " +
                           QuoteLiteral(data_dir_ + "/" + dedup_rel) + kSegmentCopyOptions);
        EndWrite(rel, false);
        rel = dedup_rel;
        out = QuoteLiteral(data_dir_ + "/" + rel);
      }
    }
    if (!rows.ok()) {
      EndWrite(rel, false);
      const std::string& raw = rows.status().message();
      if (attempt == 0 && request.format == FileFormat::kCsv && IsInferredCastError(raw)) {
        spdlog::info("{}: sampled type detection was wrong, retrying with whole-file detection",
                     request.display_name);
        continue;
      }
      return LoadError(request.display_name, rows.status());
    }
    writeback.reset();
    double write_ms = since_ms();
    auto segment = FinishSegment(rel, *rows);
    if (!segment.ok()) {
      EndWrite(rel, false);
      return segment.status();
    }
    if (Status whole = source_check.Wait(); !whole.ok()) {
      EndWrite(rel, false);
      return whole;
    }
    segment->replaces_keys = request.incremental && !pk.empty();
    segment->columns = input;
    spdlog::debug("stage {}.{}: describe {:.1f} ms, write {:.1f} ms, fsync {:.1f} ms",
                  bucket.FullId(), name, describe_ms, write_ms, since_ms());
    std::unique_ptr<StagedWrite> staged(new StagedWrite());
    staged->store_ = this;
    staged->bucket_ = bucket;
    staged->table_name_ = name;
    staged->incremental_ = request.incremental;
    staged->primary_key_ = request.primary_key;
    staged->token_id_ = request.token_id;
    staged->operation_ = request.operation.empty()
                             ? (request.incremental ? "import_incremental" : "import_full")
                             : request.operation;
    staged->input_columns_ = input;
    staged->segment_ = std::move(*segment);
    staged->batch_rows_ = *rows;
    return staged;
  }
  return Status::Internal("import retry loop exhausted");
}

Result<catalog::Segment> TableStore::FinishSegment(const std::string& rel, int64_t rows) {
  const std::string path = data_dir_ + "/" + rel;
  RETURN_IF_ERROR(env_.SyncFileAndDir(path));
  ASSIGN_OR_RETURN(int64_t bytes, env_.FileSize(path));
  catalog::Segment segment;
  segment.path = rel;
  segment.row_count = rows;
  segment.bytes = bytes;
  segment.created_at = clock_.NowMs();
  return segment;
}

struct TableStore::PlannedVersion {
  std::optional<catalog::Table> table;  // empty: the commit creates it
  int64_t expected_head = 0;
  catalog::NewVersion next;
};

Result<TableStore::PlannedVersion> TableStore::PlanVersion(const StagedWrite& w) {
  PlannedVersion plan;
  plan.next.operation = w.operation_;
  plan.next.token_id = w.token_id_;
  auto table = catalog_.GetTable(w.bucket_.id, w.table_name_);
  if (!table.ok()) {
    if (table.status().code() != StatusCode::kNotFound) return table.status();
    plan.next.columns = w.input_columns_;
    plan.next.row_count = w.batch_rows_;
    plan.next.segments = {w.segment_};
    return plan;
  }
  plan.table = *table;
  ASSIGN_OR_RETURN(auto head, catalog_.GetVersion(table->head_version_id));
  plan.expected_head = head.id;
  ASSIGN_OR_RETURN(plan.next.columns, MergeColumns(head.columns, w.input_columns_));
  if (!w.incremental_) {
    plan.next.row_count = w.batch_rows_;
    plan.next.segments = {w.segment_};
    return plan;
  }
  plan.next.segments = head.segments;
  plan.next.segments.push_back(w.segment_);
  plan.next.row_count = head.row_count + w.batch_rows_;
  if (!table->primary_key.empty() && !head.segments.empty() && w.batch_rows_ > 0) {
    // Rows of the batch whose key already exists replace a row instead of adding one.
    ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
    std::string on;
    for (const auto& k : table->primary_key) {
      on += (on.empty() ? "" : " AND ") +
            ("b." + QuoteIdent(k) + " IS NOT DISTINCT FROM o." + QuoteIdent(k));
    }
    std::string old_files;
    for (const auto& p : SegmentPaths(data_dir_, head))
      old_files += (old_files.empty() ? "" : ", ") + QuoteLiteral(p);
    ASSIGN_OR_RETURN(int64_t matched,
                     conn->QueryInt("SELECT count(*) FROM read_parquet(" +
                                    QuoteLiteral(data_dir_ + "/" + w.segment_.path) +
                                    ") AS b SEMI JOIN (SELECT " +
                                    PrimaryKeyList(table->primary_key) + " FROM read_parquet([" +
                                    old_files + "], union_by_name = true)) AS o ON " + on));
    plan.next.row_count -= matched;
  }
  return plan;
}

Result<std::vector<WriteResult>> TableStore::CommitStaged(
    std::vector<std::unique_ptr<StagedWrite>>& writes, const CommitHook& hook) {
  // In-process writers of these tables wait; the lock order (sorted) rules out deadlocks.
  std::set<std::pair<int64_t, std::string>> keys;
  for (const auto& w : writes) {
    if (!w || w->store_ != this || w->committed_)
      return Status::InvalidArgument("not a pending staged write of this store");
    if (!keys.insert({w->bucket_.id, w->table_name_}).second)
      return Status::InvalidArgument("two staged writes of table " + w->bucket_.FullId() + "." +
                                     w->table_name_ + " in one commit");
  }
  std::vector<std::shared_ptr<std::mutex>> mutexes;
  for (const auto& [bucket_id, name] : keys) mutexes.push_back(TableLock(bucket_id, name));
  std::vector<std::unique_lock<std::mutex>> held;
  for (auto& m : mutexes) held.emplace_back(*m);

  for (int attempt = 0; attempt < kCommitRetries; ++attempt) {
    std::vector<PlannedVersion> plans;
    for (const auto& w : writes) {
      ASSIGN_OR_RETURN(auto plan, PlanVersion(*w));
      plans.push_back(std::move(plan));
    }
    if (options_.before_commit_for_test) options_.before_commit_for_test(attempt);
    std::vector<WriteResult> results;
    Status st = catalog_.Transact([&](catalog::Catalog& tx) -> Status {
      results.clear();
      for (size_t i = 0; i < writes.size(); ++i) {
        const PlannedVersion& plan = plans[i];
        if (!plan.table) {
          ASSIGN_OR_RETURN(auto created,
                           tx.CreateTable(writes[i]->bucket_.id, writes[i]->table_name_,
                                          writes[i]->primary_key_, plan.next));
          ASSIGN_OR_RETURN(auto version, tx.GetVersion(created.head_version_id));
          results.push_back({created, version});
          continue;
        }
        ASSIGN_OR_RETURN(auto version,
                         tx.CommitVersion(plan.table->id, plan.expected_head, plan.next));
        ASSIGN_OR_RETURN(auto fresh, tx.GetTableById(plan.table->id));
        results.push_back({fresh, version});
      }
      return hook ? hook(tx, results) : Status::Ok();
    });
    if (st.ok()) {
      for (auto& w : writes) w->committed_ = true;
      return results;
    }
    const bool exists = st.code() == StatusCode::kConflict && [&] {
      auto it = st.details().find(catalog::kReasonDetail);
      return it != st.details().end() && it->second == catalog::kReasonExists;
    }();
    if (!catalog::IsHeadMoved(st) && !exists) return st;
    spdlog::info("a table head moved during a commit of {} table(s), recomputing (attempt {})",
                 writes.size(), attempt + 1);
  }
  return Status::Conflict("tables are being written concurrently; gave up after " +
                          std::to_string(kCommitRetries) + " attempts")
      .WithDetail(catalog::kReasonDetail, catalog::kReasonHeadMoved);
}

Result<WriteResult> TableStore::Restore(const catalog::Table& table, int64_t number,
                                        std::optional<int64_t> token_id, const CommitHook& hook) {
  auto lock = TableLock(table.bucket_id, table.name);
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(auto old, catalog_.GetVersionByNumber(table.id, number));
  catalog::NewVersion next{"restore", old.columns, old.row_count, token_id, old.segments};
  std::vector<WriteResult> results;
  RETURN_IF_ERROR(catalog_.Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(auto current, tx.GetTableById(table.id));
    ASSIGN_OR_RETURN(auto version, tx.CommitVersion(table.id, current.head_version_id, next));
    ASSIGN_OR_RETURN(auto fresh, tx.GetTableById(table.id));
    results = {WriteResult{fresh, version}};
    return hook ? hook(tx, results) : Status::Ok();
  }));
  return results[0];
}

}  // namespace swan::storage
