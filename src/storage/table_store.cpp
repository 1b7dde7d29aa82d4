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
  RETURN_IF_ERROR(fs::MakeDirs(data_dir + "/segments"));
  RETURN_IF_ERROR(fs::MakeDirs(data_dir + "/tmp"));
  // Nothing is in flight at open: leftovers in tmp/ are from a previous process.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/tmp", ec)) {
    std::filesystem::remove_all(e.path(), ec);
  }
  engine::DatabaseOptions db_options;
  db_options.memory_limit = options.memory_limit;
  db_options.threads = options.threads;
  db_options.temp_directory = data_dir + "/tmp/duckdb-spill";
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
    std::error_code ec;
    std::filesystem::remove(data_dir_ + "/" + rel_path, ec);
  }
  std::lock_guard lock(inflight_mu_);
  inflight_.erase(rel_path);
}

Result<catalog::TableVersion> TableStore::ResolveVersion(const catalog::Table& table,
                                                         std::optional<int64_t> number) {
  if (number) return catalog_.GetVersionByNumber(table.id, *number);
  return catalog_.GetVersion(table.head_version_id);
}

Result<catalog::Table> TableStore::CreateEmpty(const catalog::Bucket& bucket,
                                               const std::string& name,
                                               const std::vector<ColumnDef>& columns,
                                               const std::vector<std::string>& primary_key,
                                               std::optional<int64_t> token_id) {
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
  return catalog_.CreateTable(bucket.id, name, primary_key, first);
}

Result<WriteResult> TableStore::Import(const catalog::Bucket& bucket, const std::string& name,
                                       const ImportRequest& request) {
  RETURN_IF_ERROR(names::ValidateTableName(name));
  SourceCheck source_check(request);  // a gzip source is checked to its end beside the load
  auto lock = TableLock(bucket.id, name);
  std::lock_guard guard(*lock);

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
      if (!described.ok()) return LoadError(request.display_name, described.status().message());
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
            return LoadError(request.display_name, described.status().message());
          }
        }
      }
    }
    input.clear();
    for (const auto& c : *described) input.push_back({c.name, c.type});
    RETURN_IF_ERROR(ValidateInputColumns(input, request.display_name));
    if (!pk.empty()) RETURN_IF_ERROR(CheckPrimaryKey(pk, input).Prefix(request.display_name));
    ASSIGN_OR_RETURN(auto projected,
                     InputProjection(input, head ? head->columns : std::vector<ColumnDef>{},
                                     request.display_name));
    std::string projection = projected.first;
    input = projected.second;
    int64_t now = catalog::NowMs();
    projection += ", " + TimestampLiteral(now) + " AS _swan_ts";

    double describe_ms = since_ms();
    std::string rel = NewSegmentPath(bucket.project_id);
    RETURN_IF_ERROR(
        fs::MakeDirs(std::filesystem::path(data_dir_ + "/" + rel).parent_path().string()));
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
      return LoadError(request.display_name, raw);
    }
    writeback.reset();
    double write_ms = since_ms();
    Status synced = fs::SyncFileAndDir(data_dir_ + "/" + rel);
    auto bytes = fs::FileSize(data_dir_ + "/" + rel);
    if (!synced.ok() || !bytes.ok()) {
      EndWrite(rel, false);
      return synced.ok() ? bytes.status() : synced;
    }
    double sync_ms = since_ms();
    catalog::Segment segment;
    segment.path = rel;
    segment.row_count = *rows;
    segment.bytes = *bytes;
    segment.replaces_keys = request.incremental && !pk.empty();
    segment.columns = input;
    Status whole = source_check.Wait();
    auto result = whole.ok() ? CommitWithRetry(bucket, name, table, request, input, segment, *rows)
                             : Result<WriteResult>(whole);
    EndWrite(rel, result.ok());
    if (!result.ok()) return result.status();
    spdlog::debug(
        "import {}.{}: describe {:.1f} ms, write {:.1f} ms, fsync {:.1f} ms, commit {:.1f} ms",
        bucket.FullId(), name, describe_ms, write_ms, sync_ms, since_ms());
    if (result->version.segments.size() > options_.compaction_threshold_segments) {
      auto compacted = Compact(result->table, request.token_id);
      if (compacted.ok()) return compacted;
      spdlog::warn("automatic compaction of {} failed: {}", result->table.FullId(),
                   compacted.status().ToString());
    }
    return result;
  }
  return Status::Internal("import retry loop exhausted");
}

Result<WriteResult> TableStore::CommitWithRetry(const catalog::Bucket& bucket,
                                                const std::string& name,
                                                std::optional<catalog::Table> table,
                                                const ImportRequest& request,
                                                const std::vector<ColumnDef>& input,
                                                catalog::Segment segment, int64_t batch_rows) {
  std::string operation = request.operation.empty()
                              ? (request.incremental ? "import_incremental" : "import_full")
                              : request.operation;
  for (int attempt = 0; attempt < kCommitRetries; ++attempt) {
    catalog::NewVersion next;
    next.operation = operation;
    next.token_id = request.token_id;
    if (!table) {
      next.columns = input;
      next.row_count = batch_rows;
      next.segments = {segment};
      auto created = catalog_.CreateTable(bucket.id, name, request.primary_key, next);
      if (created.ok()) {
        ASSIGN_OR_RETURN(auto version, catalog_.GetVersion(created->head_version_id));
        return WriteResult{*created, version};
      }
      if (created.status().code() != StatusCode::kConflict) return created.status();
      ASSIGN_OR_RETURN(table,
                       catalog_.GetTable(bucket.id, name));  // created meanwhile: append to it
      continue;
    }
    ASSIGN_OR_RETURN(auto head, catalog_.GetVersion(table->head_version_id));
    ASSIGN_OR_RETURN(next.columns, MergeColumns(head.columns, input));
    if (!request.incremental) {
      next.row_count = batch_rows;
      next.segments = {segment};
    } else {
      next.segments = head.segments;
      next.segments.push_back(segment);
      next.row_count = head.row_count + batch_rows;
      if (!table->primary_key.empty() && !head.segments.empty() && batch_rows > 0) {
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
        ASSIGN_OR_RETURN(
            int64_t matched,
            conn->QueryInt("SELECT count(*) FROM read_parquet(" +
                           QuoteLiteral(data_dir_ + "/" + segment.path) +
                           ") AS b SEMI JOIN (SELECT " + PrimaryKeyList(table->primary_key) +
                           " FROM read_parquet([" + old_files +
                           "], union_by_name = true)) AS o ON " + on));
        next.row_count -= matched;
      }
    }
    auto committed = catalog_.CommitVersion(table->id, head.id, next);
    if (committed.ok()) {
      ASSIGN_OR_RETURN(auto fresh, catalog_.GetTableById(table->id));
      return WriteResult{fresh, *committed};
    }
    if (committed.status().code() != StatusCode::kConflict ||
        committed.status().message().find("head moved") == std::string::npos) {
      return committed.status();
    }
    spdlog::info("{}: head moved during the write, recomputing (attempt {})", table->FullId(),
                 attempt + 1);
    ASSIGN_OR_RETURN(table, catalog_.GetTableById(table->id));
  }
  return Status::Conflict("table " + bucket.FullId() + "." + name +
                          " is being written concurrently; gave up after " +
                          std::to_string(kCommitRetries) + " attempts");
}

Result<WriteResult> TableStore::Restore(const catalog::Table& table, int64_t number,
                                        std::optional<int64_t> token_id) {
  auto lock = TableLock(table.bucket_id, table.name);
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(auto old, catalog_.GetVersionByNumber(table.id, number));
  ASSIGN_OR_RETURN(auto current, catalog_.GetTableById(table.id));
  catalog::NewVersion next{"restore", old.columns, old.row_count, token_id, old.segments};
  ASSIGN_OR_RETURN(auto version, catalog_.CommitVersion(table.id, current.head_version_id, next));
  ASSIGN_OR_RETURN(auto fresh, catalog_.GetTableById(table.id));
  return WriteResult{fresh, version};
}

}  // namespace swan::storage
