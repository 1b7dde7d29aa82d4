// SqliteCatalog: table versions, segments, garbage collection of unreferenced segments.
#include "catalog/sqlite_catalog.h"

namespace swan::catalog {

using namespace sqlite_json;

Result<TableVersion> SqliteCatalog::CommitVersion(int64_t table_id, int64_t expected_head,
                                                  const NewVersion& v) {
  std::lock_guard lock(mu_);
  return InTx<TableVersion>([&]() { return CommitLocked(table_id, expected_head, v); });
}

// Inside a transaction: registers new segments, inserts the version, and moves the head with a
// compare-and-swap on head_version_id.
Result<TableVersion> SqliteCatalog::CommitLocked(int64_t table_id, int64_t expected_head,
                                                 const NewVersion& v) {
  int64_t now = clock_.NowMs();
  SqliteStmt num(h(), "SELECT coalesce(max(number), 0) + 1 FROM table_versions WHERE table_id = ?");
  num.Bind(1, table_id);
  ASSIGN_OR_RETURN(bool has, num.Step());
  int64_t number = has ? num.Int(0) : 1;
  TableVersion out;
  out.table_id = table_id;
  out.number = number;
  out.operation = v.operation;
  out.columns = v.columns;
  out.row_count = v.row_count;
  out.token_id = v.token_id;
  out.created_at = now;
  SqliteStmt proj(
      h(), "SELECT b.project_id FROM tables t JOIN buckets b ON b.id = t.bucket_id WHERE t.id = ?");
  proj.Bind(1, table_id);
  ASSIGN_OR_RETURN(bool found, proj.Step());
  if (!found) return Status::NotFound("table not found");
  int64_t project_id = proj.Int(0);
  for (Segment s : v.segments) {
    if (s.id == 0) {
      s.created_at = now;
      SqliteStmt ins(
          h(),
          "INSERT INTO segments (project_id, path, row_count, bytes, replaces_keys, columns, "
          "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      RETURN_IF_ERROR(ins.Bind(1, project_id)
                          .Bind(2, s.path)
                          .Bind(3, s.row_count)
                          .Bind(4, s.bytes)
                          .Bind(5, static_cast<int64_t>(s.replaces_keys))
                          .Bind(6, ColumnsToJson(s.columns))
                          .Bind(7, now)
                          .Run());
      s.id = db_->LastInsertId();
      s.project_id = project_id;
    }
    out.bytes += s.bytes;
    out.segments.push_back(std::move(s));
  }
  SqliteStmt ins(
      h(),
      "INSERT INTO table_versions (table_id, number, operation, columns, row_count, bytes, "
      "token_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(ins.Bind(1, table_id)
                      .Bind(2, number)
                      .Bind(3, v.operation)
                      .Bind(4, ColumnsToJson(v.columns))
                      .Bind(5, v.row_count)
                      .Bind(6, out.bytes)
                      .Bind(7, v.token_id)
                      .Bind(8, now)
                      .Run());
  out.id = db_->LastInsertId();
  for (size_t i = 0; i < out.segments.size(); ++i) {
    SqliteStmt vs(
        h(), "INSERT INTO version_segments (version_id, ordinal, segment_id) VALUES (?, ?, ?)");
    Status st =
        vs.Bind(1, out.id).Bind(2, static_cast<int64_t>(i)).Bind(3, out.segments[i].id).Run();
    if (st.code() == StatusCode::kConflict) {
      return Status::Conflict("a segment of this version was garbage-collected meanwhile; retry");
    }
    RETURN_IF_ERROR(st);
  }
  SqliteStmt cas(
      h(),
      "UPDATE tables SET head_version_id = ? WHERE id = ? AND coalesce(head_version_id, 0) = ?");
  RETURN_IF_ERROR(cas.Bind(1, out.id).Bind(2, table_id).Bind(3, expected_head).Run());
  if (db_->Changes() != 1) {
    return Status::Conflict("table was changed by another writer meanwhile; retry")
        .WithDetail(kReasonDetail, kReasonHeadMoved);
  }
  return out;
}

Status SqliteCatalog::FillSegments(TableVersion& v) {
  SqliteStmt q(
      h(),
      "SELECT s.id, s.project_id, s.path, s.row_count, s.bytes, s.replaces_keys, s.columns, "
      "s.created_at FROM version_segments vs JOIN segments s ON s.id = vs.segment_id "
      "WHERE vs.version_id = ? ORDER BY vs.ordinal");
  q.Bind(1, v.id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v.segments.push_back(Segment{q.Int(0), q.Int(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5) != 0,
                                 ColumnsFromJson(q.Text(6)), q.Int(7)});
  }
  return Status::Ok();
}

Result<TableVersion> SqliteCatalog::GetVersion(int64_t version_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kVersionSelect) + "WHERE v.id = ?");
  q.Bind(1, version_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("table version not found");
  TableVersion v = ReadVersion(q);
  RETURN_IF_ERROR(FillSegments(v));
  return v;
}

Result<TableVersion> SqliteCatalog::GetVersionByNumber(int64_t table_id, int64_t number) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kVersionSelect) + "WHERE v.table_id = ? AND v.number = ?");
  q.Bind(1, table_id).Bind(2, number);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return Status::NotFound("version " + std::to_string(number) +
                            " not found (or garbage-collected)");
  TableVersion v = ReadVersion(q);
  RETURN_IF_ERROR(FillSegments(v));
  return v;
}

Result<std::vector<TableVersion>> SqliteCatalog::ListVersions(int64_t table_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kVersionSelect) + "WHERE v.table_id = ? ORDER BY v.number DESC");
  q.Bind(1, table_id);
  std::vector<TableVersion> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadVersion(q));
  }
  for (auto& v : out) {
    SqliteStmt c(h(), "SELECT count(*) FROM version_segments WHERE version_id = ?");
    c.Bind(1, v.id);
    ASSIGN_OR_RETURN(bool row, c.Step());
    if (row) v.segments.resize(static_cast<size_t>(c.Int(0)));
  }
  return out;
}

Result<GcReport> SqliteCatalog::CollectGarbage(int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  return InTx<GcReport>([&]() -> Result<GcReport> {
    GcReport report;
    SqliteStmt dv(h(),
                  "DELETE FROM table_versions WHERE created_at < ? AND id NOT IN "
                  "(SELECT head_version_id FROM tables WHERE head_version_id IS NOT NULL)");
    RETURN_IF_ERROR(dv.Bind(1, cutoff_ms).Run());
    report.deleted_versions = db_->Changes();
    SqliteStmt q(h(),
                 "SELECT id, path, bytes FROM segments s WHERE created_at < ? AND NOT EXISTS "
                 "(SELECT 1 FROM version_segments vs WHERE vs.segment_id = s.id)");
    q.Bind(1, cutoff_ms);
    std::vector<int64_t> ids;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.Int(0));
      report.deleted_segment_paths.push_back(q.Text(1));
      report.deleted_bytes += q.Int(2);
    }
    for (int64_t id : ids) {
      SqliteStmt del(h(), "DELETE FROM segments WHERE id = ?");
      RETURN_IF_ERROR(del.Bind(1, id).Run());
    }
    return report;
  });
}

Result<bool> SqliteCatalog::SegmentPathKnown(const std::string& path) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), "SELECT 1 FROM segments WHERE path = ?");
  q.Bind(1, path);
  return q.Step();
}

}  // namespace swan::catalog
