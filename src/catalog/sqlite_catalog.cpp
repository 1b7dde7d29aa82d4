// SqliteCatalog: migrations, organization, projects, buckets, tables; opening the catalog.

#include "catalog/sqlite_catalog.h"
#include "catalog/migrations.h"

namespace swan::catalog {

using namespace sqlite_json;

bool IsHeadMoved(const Status& status) {
  if (status.code() != StatusCode::kConflict) return false;
  auto it = status.details().find(kReasonDetail);
  return it != status.details().end() && it->second == kReasonHeadMoved;
}

Status SqliteCatalog::Transact(const std::function<Status(Catalog& tx)>& body) {
  std::lock_guard lock(mu_);
  if (tx_depth_ > 0) return body(*this);  // already inside one: part of the outer transaction
  RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  ++tx_depth_;
  Status st;
  try {
    st = body(*this);
  } catch (...) {
    st = Status::Internal("unexpected exception inside a catalog transaction");
  }
  --tx_depth_;
  if (!st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st;
  }
  st = db_->Exec("COMMIT");
  if (!st.ok()) (void)db_->Exec("ROLLBACK");
  return st;
}

Status SqliteCatalog::Migrate() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at INTEGER NOT NULL)"));
  for (const auto& m : SqliteMigrations()) {
    SqliteStmt q(h(), "SELECT 1 FROM schema_migrations WHERE version = ?");
    q.Bind(1, static_cast<int64_t>(m.number));
    ASSIGN_OR_RETURN(bool applied, q.Step());
    if (applied) continue;
    RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    Status st = db_->Exec(m.sql);
    if (st.ok()) {
      SqliteStmt ins(h(),
                     "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
      st =
          ins.Bind(1, static_cast<int64_t>(m.number)).Bind(2, m.name).Bind(3, clock_.NowMs()).Run();
    }
    if (!st.ok()) {
      (void)db_->Exec("ROLLBACK");
      return st.Prefix("catalog migration " + std::to_string(m.number));
    }
    RETURN_IF_ERROR(db_->Exec("COMMIT"));
  }
  return Status::Ok();
}

Result<int64_t> SqliteCatalog::EnsureOrganization(const std::string& name, bool* created) {
  std::lock_guard lock(mu_);
  *created = false;
  SqliteStmt q(h(), "SELECT id FROM organizations ORDER BY id LIMIT 1");
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (row) return q.Int(0);
  SqliteStmt ins(h(), "INSERT INTO organizations (name, created_at) VALUES (?, ?)");
  RETURN_IF_ERROR(ins.Bind(1, name).Bind(2, clock_.NowMs()).Run());
  *created = true;
  return db_->LastInsertId();
}

Result<Project> SqliteCatalog::CreateProject(const std::string& name,
                                             const std::string& description) {
  std::lock_guard lock(mu_);
  return InTx<Project>([&]() -> Result<Project> {
    int64_t now = clock_.NowMs();
    SqliteStmt ins(h(),
                   "INSERT INTO projects (id, organization_id, name, description, created_at) "
                   "VALUES (" +
                       NextIdSql("projects") + ", (SELECT min(id) FROM organizations), ?, ?, ?)");
    Status st = ins.Bind(1, name).Bind(2, description).Bind(3, now).Run();
    if (st.code() == StatusCode::kConflict) {
      return Status::Conflict("project '" + name + "' already exists")
          .WithDetail(kReasonDetail, kReasonExists);
    }
    RETURN_IF_ERROR(st);
    Project p{db_->LastInsertId(), name, description, 0, now};
    SqliteStmt br(h(),
                  "INSERT INTO branches (id, project_id, name, is_default, created_at) VALUES (" +
                      NextIdSql("branches") + ", ?, 'main', 1, ?)");
    RETURN_IF_ERROR(br.Bind(1, p.id).Bind(2, now).Run());
    p.main_branch_id = db_->LastInsertId();
    return p;
  });
}

Result<Project> SqliteCatalog::GetProject(const std::string& name) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kProjectSelect) + "WHERE p.name = ?");
  q.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("project '" + name + "' not found");
  return ReadProject(q);
}

Result<Project> SqliteCatalog::GetProjectById(int64_t id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kProjectSelect) + "WHERE p.id = ?");
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("project " + std::to_string(id) + " not found");
  return ReadProject(q);
}

Result<std::vector<Project>> SqliteCatalog::ListProjects() {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kProjectSelect) + "ORDER BY p.name");
  std::vector<Project> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadProject(q));
  }
  return out;
}

Status SqliteCatalog::DeleteProject(int64_t id) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt del(h(), "DELETE FROM projects WHERE id = ?");
           RETURN_IF_ERROR(del.Bind(1, id).Run());
           if (db_->Changes() == 0) return Status::NotFound("project not found");
           return true;
         })
      .status();
}

Result<Bucket> SqliteCatalog::CreateBucket(const Bucket& b) {
  std::lock_guard lock(mu_);
  return InTx<Bucket>([&]() -> Result<Bucket> {
    Bucket out = b;
    out.created_at = clock_.NowMs();
    SqliteStmt ins(
        h(),
        "INSERT INTO buckets (id, project_id, branch_id, stage, name, description, created_at) "
        "VALUES (" +
            NextIdSql("buckets") + ", ?, ?, ?, ?, ?, ?)");
    Status st = ins.Bind(1, b.project_id)
                    .Bind(2, b.branch_id)
                    .Bind(3, b.stage)
                    .Bind(4, b.name)
                    .Bind(5, b.description)
                    .Bind(6, out.created_at)
                    .Run();
    if (st.code() == StatusCode::kConflict) {
      return Status::Conflict("bucket '" + b.FullId() + "' already exists")
          .WithDetail(kReasonDetail, kReasonExists);
    }
    RETURN_IF_ERROR(st);
    out.id = db_->LastInsertId();
    return out;
  });
}

Result<Bucket> SqliteCatalog::GetBucket(int64_t branch_id, const std::string& stage,
                                        const std::string& name) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kBucketSelect) + "WHERE branch_id = ? AND stage = ? AND name = ?");
  q.Bind(1, branch_id).Bind(2, stage).Bind(3, name);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("bucket '" + stage + "." + name + "' not found");
  return ReadBucket(q);
}

Result<std::vector<Bucket>> SqliteCatalog::ListBuckets(int64_t branch_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kBucketSelect) + "WHERE branch_id = ? ORDER BY stage, name");
  q.Bind(1, branch_id);
  std::vector<Bucket> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadBucket(q));
  }
  return out;
}

Status SqliteCatalog::DeleteBucket(int64_t bucket_id, bool force) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt q(h(), "SELECT count(*) FROM tables WHERE bucket_id = ?");
           q.Bind(1, bucket_id);
           ASSIGN_OR_RETURN(bool row, q.Step());
           if (row && q.Int(0) > 0 && !force) {
             return Status::Conflict("bucket has " + std::to_string(q.Int(0)) +
                                     " table(s); delete them first or use force");
           }
           SqliteStmt del(h(), "DELETE FROM buckets WHERE id = ?");
           RETURN_IF_ERROR(del.Bind(1, bucket_id).Run());
           if (db_->Changes() == 0) return Status::NotFound("bucket not found");
           return true;
         })
      .status();
}

Result<Table> SqliteCatalog::CreateTable(int64_t bucket_id, const std::string& name,
                                         const std::vector<std::string>& primary_key,
                                         const NewVersion& first) {
  std::lock_guard lock(mu_);
  return InTx<Table>([&]() -> Result<Table> {
    SqliteStmt ins(h(),
                   "INSERT INTO tables (id, bucket_id, name, primary_key, created_at) VALUES (" +
                       NextIdSql("tables") + ", ?, ?, ?, ?)");
    Status st = ins.Bind(1, bucket_id)
                    .Bind(2, name)
                    .Bind(3, StringsToJson(primary_key))
                    .Bind(4, clock_.NowMs())
                    .Run();
    if (st.code() == StatusCode::kConflict)
      return Status::Conflict("table '" + name + "' already exists")
          .WithDetail(kReasonDetail, kReasonExists);
    RETURN_IF_ERROR(st);
    int64_t table_id = db_->LastInsertId();
    ASSIGN_OR_RETURN(TableVersion v, CommitLocked(table_id, 0, first));
    (void)v;
    return GetTableLocked("WHERE t.id = ?", table_id);
  });
}

Result<Table> SqliteCatalog::GetTableLocked(const std::string& where, int64_t id) {
  SqliteStmt q(h(), std::string(kTableSelect) + where);
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("table not found");
  return ReadTable(q);
}

Result<Table> SqliteCatalog::GetTable(int64_t bucket_id, const std::string& name) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kTableSelect) + "WHERE t.bucket_id = ? AND t.name = ?");
  q.Bind(1, bucket_id).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("table '" + name + "' not found");
  return ReadTable(q);
}

Result<Table> SqliteCatalog::GetTableById(int64_t table_id) {
  std::lock_guard lock(mu_);
  return GetTableLocked("WHERE t.id = ?", table_id);
}

Result<std::vector<Table>> SqliteCatalog::ListTables(int64_t branch_id, int64_t bucket_id) {
  std::lock_guard lock(mu_);
  std::string where =
      bucket_id ? "WHERE b.branch_id = ? AND t.bucket_id = ?" : "WHERE b.branch_id = ?";
  SqliteStmt q(h(), std::string(kTableSelect) + where + " ORDER BY b.stage, b.name, t.name");
  q.Bind(1, branch_id);
  if (bucket_id) q.Bind(2, bucket_id);
  std::vector<Table> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadTable(q));
  }
  return out;
}

Status SqliteCatalog::DeleteTable(int64_t table_id) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt del(h(), "DELETE FROM tables WHERE id = ?");
           RETURN_IF_ERROR(del.Bind(1, table_id).Run());
           if (db_->Changes() == 0) return Status::NotFound("table not found");
           return true;
         })
      .status();
}

Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock) {
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path));
  auto catalog = std::make_unique<SqliteCatalog>(std::move(db), clock ? *clock : Clock::System());
  RETURN_IF_ERROR(catalog->Migrate());
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace swan::catalog
