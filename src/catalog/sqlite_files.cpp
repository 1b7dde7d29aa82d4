// SqliteCatalog: files (Keboola's Storage files).
#include "catalog/sqlite_catalog.h"

namespace swan::catalog {

using namespace sqlite_json;

namespace {

constexpr const char* kFileSelect =
    "SELECT id, project_id, name, tags, path, size_bytes, is_permanent, job_id, created_at "
    "FROM files ";

StoredFile ReadFile(const SqliteStmt& q) {
  StoredFile f;
  f.id = q.Int(0);
  f.project_id = q.Int(1);
  f.name = q.Text(2);
  f.tags = StringsFromJson(q.Text(3));
  f.path = q.Text(4);
  f.size_bytes = q.Int(5);
  f.is_permanent = q.Int(6) != 0;
  f.job_id = q.OptInt(7);
  f.created_at = q.Int(8);
  return f;
}

}  // namespace

Result<StoredFile> SqliteCatalog::CreateFile(const StoredFile& file) {
  std::lock_guard lock(mu_);
  return InTx<StoredFile>([&]() -> Result<StoredFile> {
    SqliteStmt ins(h(),
                   "INSERT INTO files (id, project_id, name, tags, path, size_bytes, "
                   "is_permanent, job_id, created_at) VALUES (" +
                       NextIdSql("files") + ", ?, ?, ?, ?, ?, ?, ?, ?)");
    RETURN_IF_ERROR(ins.Bind(1, file.project_id)
                        .Bind(2, file.name)
                        .Bind(3, StringsToJson(file.tags))
                        .Bind(4, file.path)
                        .Bind(5, file.size_bytes)
                        .Bind(6, static_cast<int64_t>(file.is_permanent ? 1 : 0))
                        .Bind(7, file.job_id)
                        .Bind(8, clock_.NowMs())
                        .Run());
    SqliteStmt q(h(), std::string(kFileSelect) + "WHERE id = ?");
    q.Bind(1, db_->LastInsertId());
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Internal("file vanished");
    return ReadFile(q);
  });
}

Result<StoredFile> SqliteCatalog::GetFile(int64_t project_id, int64_t id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kFileSelect) + "WHERE project_id = ? AND id = ?");
  q.Bind(1, project_id).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("file " + std::to_string(id) + " not found");
  return ReadFile(q);
}

Result<std::vector<StoredFile>> SqliteCatalog::ListFiles(int64_t project_id,
                                                         const std::vector<std::string>& tags,
                                                         int limit) {
  std::lock_guard lock(mu_);
  // Every tag must be among the file's (json_each over the stored list).
  std::string where = "WHERE project_id = ?1 ";
  for (size_t i = 0; i < tags.size(); ++i) {
    where += "AND EXISTS (SELECT 1 FROM json_each(files.tags) WHERE value = ?" +
             std::to_string(i + 3) + ") ";
  }
  SqliteStmt q(h(), std::string(kFileSelect) + where + "ORDER BY id DESC LIMIT ?2");
  q.Bind(1, project_id).Bind(2, static_cast<int64_t>(limit));
  for (size_t i = 0; i < tags.size(); ++i) q.Bind(static_cast<int>(i + 3), tags[i]);
  std::vector<StoredFile> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadFile(q));
  }
  return out;
}

}  // namespace swan::catalog
