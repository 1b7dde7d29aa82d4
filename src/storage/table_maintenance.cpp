// Compaction and garbage collection.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/fs.h"
#include "storage/read_plan.h"
#include "storage/table_store.h"

namespace swan::storage {

using engine::QuoteLiteral;

Result<WriteResult> TableStore::Compact(const catalog::Table& table_in,
                                        std::optional<int64_t> token_id, const CommitHook& hook) {
  // No table lock: compaction commits against the head it read, and the catalog's
  // compare-and-swap rejects it if a writer moved the head meanwhile.
  ASSIGN_OR_RETURN(auto table, catalog_.GetTableById(table_in.id));
  ASSIGN_OR_RETURN(auto head, catalog_.GetVersion(table.head_version_id));
  if (head.segments.size() <= 1) {
    bool replacing = !head.segments.empty() && head.segments[0].replaces_keys;
    if (!replacing) {  // already compact: no new version, but the hook (an audit) still runs
      std::vector<WriteResult> results = {WriteResult{table, head}};
      if (hook) {
        RETURN_IF_ERROR(catalog_.Transact([&](catalog::Catalog& tx) { return hook(tx, results); }));
      }
      return results[0];
    }
  }
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  std::string rel = NewSegmentPath(head.segments.empty() ? 0 : head.segments[0].project_id);
  RETURN_IF_ERROR(
      env_.MakeDirs(std::filesystem::path(data_dir_ + "/" + rel).parent_path().string()));
  BeginWrite(rel);
  auto rows = conn->QueryInt("COPY (" + VersionSelectSql(data_dir_, head, table.primary_key) +
                             ") TO " + QuoteLiteral(data_dir_ + "/" + rel) + kSegmentCopyOptions);
  if (!rows.ok()) {
    EndWrite(rel, false);
    return rows.status().Prefix("compacting " + table.FullId());
  }
  auto segment = FinishSegment(rel, *rows);
  if (!segment.ok()) {
    EndWrite(rel, false);
    return segment.status();
  }
  segment->columns = head.columns;
  catalog::NewVersion next{"compact", head.columns, *rows, token_id, {*segment}};
  std::vector<WriteResult> results;
  Status committed = catalog_.Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(auto version, tx.CommitVersion(table.id, head.id, next));
    ASSIGN_OR_RETURN(auto fresh, tx.GetTableById(table.id));
    results = {WriteResult{fresh, version}};
    return hook ? hook(tx, results) : Status::Ok();
  });
  EndWrite(rel, committed.ok());
  if (!committed.ok()) return committed.Prefix("compacting " + table.FullId());
  return results[0];
}

Result<GcResult> TableStore::CollectGarbage(int64_t retention_ms) {
  if (retention_ms < 0)
    return Status::InvalidArgument("retention must be >= 0")
        .WithDetail("field", "retention_seconds");
  int64_t cutoff = clock_.NowMs() - retention_ms;
  ASSIGN_OR_RETURN(auto report, catalog_.CollectGarbage(cutoff));
  GcResult out;
  out.deleted_versions = report.deleted_versions;
  out.deleted_bytes = report.deleted_bytes;
  for (const auto& rel : report.deleted_segment_paths) {
    const std::string path = data_dir_ + "/" + rel;
    if (!env_.FileExists(path)) continue;
    Status removed = env_.RemoveFile(path);
    if (removed.ok()) {
      ++out.deleted_segments;
    } else {
      spdlog::warn("gc: {}", removed.ToString());  // the catalog row is gone: an orphan now
    }
  }
  // Orphans: files a crash left behind (written, never committed). Skip files still in flight.
  ASSIGN_OR_RETURN(auto dirs, env_.List(data_dir_ + "/segments"));
  for (const auto& dir : dirs) {
    if (!dir.is_directory) continue;
    ASSIGN_OR_RETURN(auto files, env_.List(dir.path));
    for (const auto& f : files) {
      std::string rel = "segments/" + std::filesystem::path(dir.path).filename().string() + "/" +
                        std::filesystem::path(f.path).filename().string();
      if (f.is_directory || f.modified_ms >= cutoff) continue;
      {
        std::lock_guard lock(inflight_mu_);
        if (inflight_.count(rel)) continue;
      }
      ASSIGN_OR_RETURN(bool known, catalog_.SegmentPathKnown(rel));
      if (known) continue;
      auto size = env_.FileSize(f.path);
      if (env_.RemoveFile(f.path).ok()) {
        ++out.deleted_orphan_files;
        out.deleted_bytes += size.ok() ? *size : 0;
      }
    }
  }
  spdlog::info("gc: {} versions, {} segments, {} orphan files, {} bytes", out.deleted_versions,
               out.deleted_segments, out.deleted_orphan_files, out.deleted_bytes);
  return out;
}

}  // namespace swan::storage
