#include "storage/table_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>

#include "common/column_names.h"
#include "common/fs.h"
#include "common/names.h"
#include "storage/csv_source.h"
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
constexpr const char* kQuarantineSuffix = "_bad_rows";  // the companion table of bad rows
constexpr size_t kBadRowSamples = 20;                   // bad rows an import's answer shows

Status CheckBadRowLimit(const ImportRequest& r, int64_t bad) {
  if (bad <= r.csv.max_bad_rows) return Status::Ok();
  return Status::InvalidArgument(r.display_name + ": " + std::to_string(bad) +
                                 (bad > r.csv.max_bad_rows + 1 ? "" : " or more") +
                                 " bad rows, more than max_bad_rows=" +
                                 std::to_string(r.csv.max_bad_rows) + "; nothing was loaded")
      .WithDetail("file", r.display_name)
      .WithDetail("field", "max_bad_rows");
}

Status BadRowError(const ImportRequest& r, const BadRow& row) {
  return Status::InvalidArgument(r.display_name + ": line " + std::to_string(row.line) + ": " +
                                 row.reason +
                                 "; to load the other rows, import with on_bad_rows=skip (or "
                                 "quarantine, which keeps the bad rows in a table)")
      .WithDetail("file", r.display_name)
      .WithDetail("line", std::to_string(row.line));
}

// A load error of a CSV: the row check's first bad row when it found one (DuckDB's reader may
// stop on a later symptom of it), else DuckDB's error in Swan's words.
Status CsvLoadError(const ImportRequest& r, const Status& engine_error,
                    std::optional<SourceCheck>& check, const CsvRowCheck* rows) {
  Status st = LoadError(r.display_name, engine_error);
  if (st.code() != StatusCode::kInvalidArgument) return st;
  if (check && rows && check->Wait().ok() && rows->bad_count() > 0)
    return BadRowError(r, rows->bad_rows().front());
  if (st.message().find("line ") != std::string::npos && r.csv.on_bad_rows == BadRows::kFail) {
    Status hinted = Status::InvalidArgument(
        st.message() + "; to load the other rows, import with on_bad_rows=skip");
    for (const auto& [key, value] : st.details()) hinted = hinted.WithDetail(key, value);
    return hinted;
  }
  return st;
}

bool IsSniffFailure(const std::string& raw) {
  return raw.find("Error when sniffing file") != std::string::npos ||
         raw.find("not possible to automatically detect") != std::string::npos;
}

// The rows DuckDB skipped (values that do not convert) in this connection's last read.
Result<std::vector<BadRow>> RejectedRows(engine::Connection& conn, const ImportRequest& r) {
  auto rows =
      conn.Query(std::string("SELECT line, any_value(csv_line), string_agg(") +
                 "error_message, '; ') " + "FROM " + kCsvRejectsTable +
                 " GROUP BY line ORDER BY line LIMIT " + std::to_string(r.csv.max_bad_rows + 1));
  if (!rows.ok()) {
    // No table: nothing was rejected.
    if (rows.status().message().find("does not exist") != std::string::npos)
      return std::vector<BadRow>{};
    return rows.status();
  }
  std::vector<BadRow> out;
  for (const auto& row : rows->rows) {
    BadRow b;
    b.line = row[0] ? std::stoll(*row[0]) : 0;
    // DuckDB's text of the row starts with the line ends of emptied lines above it.
    std::string raw = row[1].value_or("");
    raw.erase(0, raw.find_first_not_of("\r\n") == std::string::npos
                     ? raw.size()
                     : raw.find_first_not_of("\r\n"));
    b.raw = raw.substr(0, CsvRowCheck::kBadRowTextMax);
    // The reason alone: LoadError's "file: line N, column C: " prefix is cut.
    std::string reason = LoadError("\x01", row[2].value_or("")).message();
    static const std::regex where_re("^\x01(: line [0-9]+)?(, column [^:]+)?: ");
    b.reason = std::regex_replace(reason, where_re, "");
    out.push_back(std::move(b));
  }
  return out;
}

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

// True when every column of `header` has a type in `types` (the table's, or declared), each
// named once with a valid identifier; fills `exact` with those columns in file order. Such a file
// is read with exactly those types: nothing is sniffed.
bool ExactColumns(const std::vector<std::string>& header,
                  const std::map<std::string, std::string>& types, std::vector<ColumnDef>* exact) {
  if (header.empty()) return false;
  std::set<std::string> seen;
  for (const auto& name : header) {
    if (!names::ValidateColumn(name).ok() || !seen.insert(name).second) return false;
    auto it = types.find(name);
    if (it == types.end()) return false;
    exact->push_back({name, it->second});
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
  db_options.bulk_workers = true;         // loads are jobs' work: common/thread_priority.h
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
  if (store_ == nullptr) return;
  for (const auto& segment : segments_)
    if (!segment.path.empty()) store_->EndWrite(segment.path, committed_);
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
  ImportReport report = writes[0]->report_;
  if (request.csv.on_bad_rows == BadRows::kQuarantine && !writes[0]->bad_rows_.empty()) {
    // The bad rows go to a companion table, committed with the load or not at all.
    std::string quarantine =
        name.substr(0, 64 - std::string(kQuarantineSuffix).size()) + kQuarantineSuffix;
    auto lock = TableLock(bucket.id, quarantine);
    std::lock_guard guard(*lock);
    ASSIGN_OR_RETURN(auto staged, StageBadRows(bucket, quarantine, request, writes[0]->bad_rows_));
    writes.push_back(std::move(staged));
    report.quarantine_table = bucket.FullId() + "." + quarantine;
  }
  ASSIGN_OR_RETURN(auto results, CommitStaged(writes, hook));
  WriteResult result = results[0];
  result.report = report;
  if (result.version.segments.size() > options_.compaction_threshold_segments) {
    auto compacted = Compact(result.table, request.token_id);
    if (compacted.ok()) {
      compacted->report = std::move(report);
      return compacted;
    }
    spdlog::warn("automatic compaction of {} failed: {}", result.table.FullId(),
                 compacted.status().ToString());
  }
  return result;
}

Result<std::unique_ptr<StagedWrite>> TableStore::Stage(const catalog::Bucket& bucket,
                                                       const std::string& name,
                                                       const ImportRequest& request) {
  RETURN_IF_ERROR(names::ValidateTableName(name));
  if (request.delete_where) {
    if (!request.incremental)
      return Status::InvalidArgument("delete_where applies to incremental loads only")
          .WithDetail("field", "delete_where");
    if (request.delete_where->op != "eq" && request.delete_where->op != "ne")
      return Status::InvalidArgument("delete_where operator must be eq or ne")
          .WithDetail("field", "delete_where");
    RETURN_IF_ERROR(names::ValidateColumn(request.delete_where->column));
  }
  ImportReport report;
  std::unique_ptr<CsvSource> csv;
  std::unique_ptr<CsvRowCheck> row_check;
  const bool tolerant = request.csv.on_bad_rows != BadRows::kFail;
  std::optional<SourceCheck> source_check;
  if (request.format == FileFormat::kCsv) {
    ASSIGN_OR_RETURN(csv, PrepareCsv(request));
    report.dialect = csv->dialect;
    report.encoding = csv->encoding;
    for (size_t i = 0; i < csv->names.size(); ++i) {
      if (!csv->labels[i].empty() && csv->labels[i] != csv->names[i])
        report.renamed.emplace_back(csv->labels[i], csv->names[i]);
    }
    // Swan's own slices are whole by construction: DuckDB's strict reader is their only check.
    const bool check_rows = tolerant || !csv->swan_written;
    if (check_rows) {
      row_check = std::make_unique<CsvRowCheck>(
          csv->dialect, csv->names.size(), request.csv.pad_missing_trailing,
          tolerant ? static_cast<size_t>(request.csv.max_bad_rows) + 1 : 20,
          // Light beside DuckDB's strict reader; full where DuckDB does not count fields itself.
          /*full=*/tolerant || csv->dialect.mixed_newlines);
    }
    if (tolerant) {
      // Bad rows are found first and emptied in a copy, so that DuckDB never reads them (it
      // would take a row with one extra empty field as a good one).
      RETURN_IF_ERROR(CheckCsvRows(csv->path, csv->gzip, *row_check, request.display_name));
      RETURN_IF_ERROR(CheckBadRowLimit(request, row_check->bad_count()));
      if (row_check->bad_count() > 0) {
        std::string clean = csv->TempPath(".clean");
        RETURN_IF_ERROR(CopyWithoutLines(csv->path, csv->gzip, row_check->bad_lines(),
                                         csv->dialect.newline == "\r" ? '\r' : '\n', clean,
                                         request.display_name));
        csv->path = clean;
        csv->gzip = false;
      }
    } else if (check_rows) {
      // Strict: the rows are checked beside the load (and a gzip source to its end).
      source_check.emplace(csv->path, csv->gzip, row_check.get(), request.display_name);
    }
  } else {
    source_check.emplace(request);  // a gzip source is checked to its end beside the load
  }

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
  bool sample_types = false;  // the CSV's types are Swan's guesses, not DuckDB's
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<std::vector<engine::Column>> described = std::vector<engine::Column>{};
    std::vector<ColumnDef> exact;
    const CsvReadMode mode{attempt > 0, tolerant};
    if (csv && attempt == 0 && ExactColumns(csv->names, types, &exact)) {
      // Every column of the file is a table column or declared: read with those types.
      ASSIGN_OR_RETURN(source, CsvReadSql(*csv, request, {}, mode, &exact));
      for (const auto& c : exact) described->push_back({c.name, c.type});
    } else if (csv) {
      ASSIGN_OR_RETURN(source, CsvReadSql(*csv, request, types, mode));
      described = conn->Describe("SELECT * FROM " + source);
      // DuckDB's type detection cannot read rows of different lengths (pad_missing_trailing), and
      // it names one column "column0" when no data row is left (every row bad): Swan's types.
      if ((!described.ok() && IsSniffFailure(described.status().message())) ||
          (described.ok() && described->size() != csv->names.size())) {
        // The types Swan guessed from its sample, and all text when a value does not fit them
        // (the second attempt).
        sample_types = true;
        std::vector<ColumnDef> guessed;
        for (size_t i = 0; i < csv->names.size(); ++i) {
          std::string type = attempt == 0 && i < csv->dialect.sample_types.size()
                                 ? csv->dialect.sample_types[i]
                                 : "VARCHAR";
          if (auto it = types.find(csv->names[i]); it != types.end()) type = it->second;
          guessed.push_back({csv->names[i], type});
        }
        ASSIGN_OR_RETURN(source, CsvReadSql(*csv, request, {}, mode, &guessed));
        described = std::vector<engine::Column>{};
        for (const auto& c : guessed) described->push_back({c.name, c.type});
      }
      if (!described.ok())
        return CsvLoadError(request, described.status(), source_check, row_check.get());
    } else {
      ASSIGN_OR_RETURN(source, SourceFunctionSql(request));
      described = conn->Describe("SELECT * FROM " + source);
      if (!described.ok()) return LoadError(request.display_name, described.status());
      // Keys and column names that are not SQL-friendly ("Product Name") are renamed by the
      // rule of CSV headers, the original kept as the label.
      std::vector<std::string> labels;
      for (const auto& c : *described) labels.push_back(c.name);
      if (request.format == FileFormat::kJson || request.format == FileFormat::kJsonLines) {
        // The keys as written where DuckDB renamed them (an empty key, keys differing in case).
        std::vector<std::string> keys = FirstJsonKeys(request);
        for (size_t i = 0; i < keys.size() && i < labels.size(); ++i) {
          std::string key = keys[i], name = labels[i];
          for (auto* t : {&key, &name})
            std::transform(t->begin(), t->end(), t->begin(),
                           [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
          if (keys[i] != labels[i] && (key.empty() || name.rfind(key, 0) == 0)) labels[i] = keys[i];
        }
      }
      std::vector<std::string> renamed = names::SqlFriendlyColumns(labels);
      if (renamed != labels) {
        std::string select;
        for (size_t i = 0; i < labels.size(); ++i) {
          select +=
              (i ? ", " : "") + QuoteIdent((*described)[i].name) + " AS " + QuoteIdent(renamed[i]);
          if (renamed[i] != labels[i]) report.renamed.emplace_back(labels[i], renamed[i]);
          (*described)[i].name = renamed[i];
        }
        source = "(SELECT " + select + " FROM " + source + ")";
      }
    }
    input.clear();
    for (size_t i = 0; i < described->size(); ++i) {
      const auto& c = (*described)[i];
      std::string label;
      if (csv && i < csv->labels.size() && csv->labels[i] != c.name) label = csv->labels[i];
      for (const auto& [from, to] : report.renamed) {
        if (!csv && to == c.name) label = from;
      }
      input.push_back({c.name, c.type, label});
    }
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
      if (attempt == 0 && csv && (IsInferredCastError(raw) || sample_types)) {
        spdlog::info("{}: sampled type detection was wrong, retrying with whole-file detection",
                     request.display_name);
        continue;
      }
      if (csv) return CsvLoadError(request, rows.status(), source_check, row_check.get());
      return LoadError(request.display_name, rows.status());
    }
    writeback.reset();
    double write_ms = since_ms();
    auto segment = FinishSegment(rel, *rows);
    if (!segment.ok()) {
      EndWrite(rel, false);
      return segment.status();
    }
    if (source_check) {
      if (Status whole = source_check->Wait(); !whole.ok()) {
        EndWrite(rel, false);
        return whole;
      }
    }
    if (csv && !tolerant && row_check && row_check->bad_count() > 0) {
      EndWrite(rel, false);
      return BadRowError(request, row_check->bad_rows().front());
    }
    std::vector<BadRow> bad_rows;
    if (csv && tolerant) {
      bad_rows = row_check->bad_rows();
      auto rejected = RejectedRows(*conn, request);
      if (!rejected.ok()) {
        EndWrite(rel, false);
        return rejected.status();
      }
      bad_rows.insert(bad_rows.end(), rejected->begin(), rejected->end());
      std::sort(bad_rows.begin(), bad_rows.end(),
                [](const BadRow& a, const BadRow& b) { return a.line < b.line; });
      if (Status limit = CheckBadRowLimit(request, static_cast<int64_t>(bad_rows.size()));
          !limit.ok()) {
        EndWrite(rel, false);
        return limit;
      }
      report.bad_rows = static_cast<int64_t>(bad_rows.size());
      for (size_t i = 0; i < bad_rows.size() && i < kBadRowSamples; ++i)
        report.bad_row_samples.push_back(bad_rows[i]);
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
    staged->delete_where_ = request.delete_where;
    staged->token_id_ = request.token_id;
    staged->operation_ = request.operation.empty()
                             ? (request.incremental ? "import_incremental" : "import_full")
                             : request.operation;
    staged->input_columns_ = input;
    staged->segments_ = {std::move(*segment)};
    staged->batch_rows_ = *rows;
    staged->report_ = std::move(report);
    staged->bad_rows_ = std::move(bad_rows);
    return staged;
  }
  return Status::Internal("import retry loop exhausted");
}

Result<std::unique_ptr<StagedWrite>> TableStore::StageBadRows(const catalog::Bucket& bucket,
                                                              const std::string& name,
                                                              const ImportRequest& request,
                                                              const std::vector<BadRow>& rows) {
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  RETURN_IF_ERROR(conn->Execute(
      "CREATE TEMP TABLE bad_rows (file VARCHAR, line BIGINT, reason VARCHAR, raw_line VARCHAR)"));
  constexpr size_t kBatch = 500;
  for (size_t i = 0; i < rows.size(); i += kBatch) {
    std::string values;
    for (size_t k = i; k < rows.size() && k < i + kBatch; ++k) {
      values += (values.empty() ? "" : ", ") + std::string("(") +
                QuoteLiteral(request.display_name) + ", " + std::to_string(rows[k].line) + ", " +
                QuoteLiteral(rows[k].reason) + ", " + QuoteLiteral(rows[k].raw) + ")";
    }
    RETURN_IF_ERROR(conn->Execute("INSERT INTO bad_rows VALUES " + values));
  }
  ImportRequest r;
  r.file_path = request.file_path + ".bad_rows.parquet";
  r.display_name = name;
  r.format = FileFormat::kParquet;
  r.incremental = true;
  r.token_id = request.token_id;
  r.operation = "import_bad_rows";
  RETURN_IF_ERROR(
      conn->Execute("COPY bad_rows TO " + QuoteLiteral(r.file_path) + " (FORMAT parquet)"));
  auto staged = Stage(bucket, name, r);
  std::error_code ec;
  std::filesystem::remove(r.file_path, ec);
  return staged;
}

Result<std::unique_ptr<StagedWrite>> TableStore::CombineStaged(
    std::vector<std::unique_ptr<StagedWrite>>& parts) {
  if (parts.empty()) return Status::InvalidArgument("no staged slices to combine");
  const StagedWrite& first = *parts.front();
  for (const auto& p : parts) {
    if (!p || p->store_ != this || p->committed_)
      return Status::InvalidArgument("not a pending staged write of this store");
    if (p->bucket_.id != first.bucket_.id || p->table_name_ != first.table_name_ ||
        p->incremental_ != first.incremental_ || p->operation_ != first.operation_)
      return Status::InvalidArgument("staged slices of different loads cannot be combined");
    if (!p->primary_key_.empty() || p->delete_where_ || !p->bad_rows_.empty())
      return Status::InvalidArgument(
          "staged slices with a primary key, delete_where or bad rows cannot be combined");
    if (p->input_columns_.size() != first.input_columns_.size())
      return Status::InvalidArgument("staged slices have different columns");
    for (size_t i = 0; i < p->input_columns_.size(); ++i) {
      const auto &a = p->input_columns_[i], &b = first.input_columns_[i];
      if (a.name != b.name || !SameType(a.type, b.type))
        return Status::InvalidArgument("staged slices have different columns: " + a.name + " " +
                                       a.type + " vs " + b.name + " " + b.type);
    }
  }
  std::unique_ptr<StagedWrite> combined(new StagedWrite());
  combined->store_ = this;
  combined->bucket_ = first.bucket_;
  combined->table_name_ = first.table_name_;
  combined->incremental_ = first.incremental_;
  combined->token_id_ = first.token_id_;
  combined->operation_ = first.operation_;
  combined->input_columns_ = first.input_columns_;
  combined->report_ = first.report_;
  for (auto& p : parts) {
    combined->batch_rows_ += p->batch_rows_;
    for (auto& segment : p->segments_) combined->segments_.push_back(std::move(segment));
    p->segments_.clear();  // the combined write owns the files now
  }
  parts.clear();
  return combined;
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
  std::string kept_segment;  // delete_where: the rows kept, written for this plan (relative)
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
    plan.next.segments = w.segments_;
    return plan;
  }
  plan.table = *table;
  if (w.segments_.size() > 1 && !table->primary_key.empty()) {
    // Combined slices are deduplicated only within each slice: a key could repeat across them.
    return Status::Conflict("table " + table->FullId() +
                            " has a primary key now; its load was staged in slices without one");
  }
  ASSIGN_OR_RETURN(auto head, catalog_.GetVersion(table->head_version_id));
  plan.expected_head = head.id;
  ASSIGN_OR_RETURN(plan.next.columns, MergeColumns(head.columns, w.input_columns_));
  if (!w.incremental_) {
    plan.next.row_count = w.batch_rows_;
    plan.next.segments = w.segments_;
    return plan;
  }
  plan.next.segments = head.segments;
  plan.next.segments.insert(plan.next.segments.end(), w.segments_.begin(), w.segments_.end());
  plan.next.row_count = head.row_count + w.batch_rows_;
  if (w.delete_where_ && !head.segments.empty()) {
    // The head's rows that the filter keeps, folded into one new segment, then the batch.
    const DeleteWhere& d = *w.delete_where_;
    if (std::none_of(head.columns.begin(), head.columns.end(),
                     [&](const catalog::ColumnDef& c) { return c.name == d.column; })) {
      return Status::InvalidArgument("delete_where column '" + d.column + "' is not in table " +
                                     table->FullId())
          .WithDetail("field", "delete_where");
    }
    std::string values;
    for (const auto& v : d.values) values += (values.empty() ? "" : ", ") + QuoteLiteral(v);
    if (values.empty()) values = "NULL";
    // Kept: rows the DELETE's condition does not select. As in SQL, a NULL value matches
    // neither `IN` nor `NOT IN`, so it is never deleted.
    const std::string match = "CAST(" + QuoteIdent(d.column) + " AS VARCHAR) IN (" + values + ")";
    const std::string deleted = d.op == "eq" ? match : "NOT (" + match + ")";
    const std::string keep = "(" + deleted + ") IS NOT TRUE";
    std::string rel = NewSegmentPath(w.bucket_.project_id);
    RETURN_IF_ERROR(
        env_.MakeDirs(std::filesystem::path(data_dir_ + "/" + rel).parent_path().string()));
    BeginWrite(rel);
    ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
    auto kept = conn->QueryInt(
        "COPY (SELECT * FROM (" + VersionSelectSql(data_dir_, head, table->primary_key) +
        ") WHERE " + keep + ") TO " + QuoteLiteral(data_dir_ + "/" + rel) + kSegmentCopyOptions);
    auto segment = kept.ok() ? FinishSegment(rel, *kept) : Result<catalog::Segment>(kept.status());
    if (!segment.ok()) {
      EndWrite(rel, false);
      return segment.status().Prefix("delete_where on " + table->FullId());
    }
    segment->project_id = w.bucket_.project_id;
    segment->columns = head.columns;
    plan.kept_segment = rel;
    plan.next.segments = {*segment};
    plan.next.segments.insert(plan.next.segments.end(), w.segments_.begin(), w.segments_.end());
    plan.next.row_count = *kept + w.batch_rows_;
    head.segments = {*segment};  // the upsert count below is against the kept rows
    head.columns = segment->columns;
  }
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
    auto counted = conn->QueryInt("SELECT count(*) FROM read_parquet(" +
                                  QuoteLiteral(data_dir_ + "/" + w.segments_.front().path) +
                                  ") AS b SEMI JOIN (SELECT " + PrimaryKeyList(table->primary_key) +
                                  " FROM read_parquet([" + old_files +
                                  "], union_by_name = true)) AS o ON " + on);
    if (!counted.ok()) {
      // The kept rows' segment (delete_where) is this plan's: not used now.
      if (!plan.kept_segment.empty()) EndWrite(plan.kept_segment, false);
      return counted.status();
    }
    const int64_t matched = *counted;
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
    // Segments a plan wrote (delete_where) are kept only by the commit that uses them.
    struct PlanFiles {
      TableStore& store;
      std::vector<PlannedVersion>& plans;
      bool committed = false;
      ~PlanFiles() {
        for (const auto& p : plans)
          if (!p.kept_segment.empty()) store.EndWrite(p.kept_segment, committed);
      }
    } plan_files{*this, plans};
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
      plan_files.committed = true;
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
