// Compaction and garbage collection.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/fs.h"
#include "storage/read_plan.h"
#include "storage/table_store.h"

namespace swan::storage {

using engine::QuoteLiteral;

Result<WriteResult> TableStore::Compact(const catalog::Table& table_in,
                                        std::optional<int64_t> token_id) {
  // No table lock here (Import calls Compact while holding it): compaction commits against the
  // head it read, and the catalog's compare-and-swap rejects it if a writer moved the head.
  ASSIGN_OR_RETURN(auto table, catalog_.GetTableById(table_in.id));
  ASSIGN_OR_RETURN(auto head, catalog_.GetVersion(table.head_version_id));
  if (head.segments.size() <= 1) {
    bool replacing = !head.segments.empty() && head.segments[0].replaces_keys;
    if (!replacing) return WriteResult{table, head};  // already compact
  }
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  std::string rel = NewSegmentPath(head.segments.empty() ? 0 : head.segments[0].project_id);
  RETURN_IF_ERROR(
      fs::MakeDirs(std::filesystem::path(data_dir_ + "/" + rel).parent_path().string()));
  BeginWrite(rel);
  auto rows = conn->QueryInt("COPY (" + VersionSelectSql(data_dir_, head, table.primary_key) +
                             ") TO " + QuoteLiteral(data_dir_ + "/" + rel) + kSegmentCopyOptions);
  if (!rows.ok()) {
    EndWrite(rel, false);
    return rows.status().Prefix("compacting " + table.FullId());
  }
  Status synced = fs::SyncFileAndDir(data_dir_ + "/" + rel);
  auto bytes = fs::FileSize(data_dir_ + "/" + rel);
  if (!synced.ok() || !bytes.ok()) {
    EndWrite(rel, false);
    return synced.ok() ? bytes.status() : synced;
  }
  catalog::Segment segment;
  segment.path = rel;
  segment.row_count = *rows;
  segment.bytes = *bytes;
  segment.columns = head.columns;
  catalog::NewVersion next{"compact", head.columns, *rows, token_id, {segment}};
  auto committed = catalog_.CommitVersion(table.id, head.id, next);
  EndWrite(rel, committed.ok());
  if (!committed.ok()) return committed.status().Prefix("compacting " + table.FullId());
  ASSIGN_OR_RETURN(auto fresh, catalog_.GetTableById(table.id));
  return WriteResult{fresh, *committed};
}

Result<GcResult> TableStore::CollectGarbage(int64_t retention_ms) {
  if (retention_ms < 0)
    return Status::InvalidArgument("retention must be >= 0")
        .WithDetail("field", "retention_seconds");
  int64_t cutoff = catalog::NowMs() - retention_ms;
  ASSIGN_OR_RETURN(auto report, catalog_.CollectGarbage(cutoff));
  GcResult out;
  out.deleted_versions = report.deleted_versions;
  out.deleted_bytes = report.deleted_bytes;
  std::error_code ec;
  for (const auto& rel : report.deleted_segment_paths) {
    if (std::filesystem::remove(data_dir_ + "/" + rel, ec)) ++out.deleted_segments;
  }
  // Orphans: files a crash left behind (written, never committed). Skip files still in flight.
  for (const auto& dir : std::filesystem::directory_iterator(data_dir_ + "/segments", ec)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : std::filesystem::directory_iterator(dir.path(), ec)) {
      std::string rel =
          "segments/" + dir.path().filename().string() + "/" + f.path().filename().string();
      struct stat st;
      if (::stat(f.path().c_str(), &st) != 0) continue;
      int64_t mtime_ms =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
      if (mtime_ms >= cutoff) continue;
      {
        std::lock_guard lock(inflight_mu_);
        if (inflight_.count(rel)) continue;
      }
      ASSIGN_OR_RETURN(bool known, catalog_.SegmentPathKnown(rel));
      if (known) continue;
      if (std::filesystem::remove(f.path(), ec)) {
        ++out.deleted_orphan_files;
        out.deleted_bytes += st.st_size;
      }
    }
  }
  spdlog::info("gc: {} versions, {} segments, {} orphan files, {} bytes", out.deleted_versions,
               out.deleted_segments, out.deleted_orphan_files, out.deleted_bytes);
  return out;
}

}  // namespace swan::storage
