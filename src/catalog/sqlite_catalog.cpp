// SQLite implementation of the catalog: one connection, serialized by a mutex; every mutating
// call is one IMMEDIATE transaction.
#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "catalog/migrations.h"
#include "catalog/sqlite_db.h"

namespace swan::catalog {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

using nlohmann::json;

std::string ColumnsToJson(const std::vector<ColumnDef>& cols) {
  json j = json::array();
  for (const auto& c : cols) j.push_back({{"name", c.name}, {"type", c.type}});
  return j.dump();
}
std::vector<ColumnDef> ColumnsFromJson(const std::string& s) {
  std::vector<ColumnDef> out;
  for (const auto& c : json::parse(s)) out.push_back({c.at("name"), c.at("type")});
  return out;
}
std::string StringsToJson(const std::vector<std::string>& v) { return json(v).dump(); }
std::vector<std::string> StringsFromJson(const std::string& s) {
  return json::parse(s).get<std::vector<std::string>>();
}
std::string ScopesToJson(const std::vector<TokenScope>& scopes) {
  json j = json::array();
  for (const auto& s : scopes) j.push_back({{"bucket", s.bucket}, {"access", s.access}});
  return j.dump();
}
std::vector<TokenScope> ScopesFromJson(const std::string& s) {
  std::vector<TokenScope> out;
  for (const auto& j : json::parse(s)) out.push_back({j.at("bucket"), j.at("access")});
  return out;
}

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  Status Migrate() {
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
        SqliteStmt ins(
            h(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
        st = ins.Bind(1, static_cast<int64_t>(m.number)).Bind(2, m.name).Bind(3, NowMs()).Run();
      }
      if (!st.ok()) {
        (void)db_->Exec("ROLLBACK");
        return st.Prefix("catalog migration " + std::to_string(m.number));
      }
      RETURN_IF_ERROR(db_->Exec("COMMIT"));
    }
    return Status::Ok();
  }

  Result<int64_t> EnsureOrganization(const std::string& name, bool* created) override {
    std::lock_guard lock(mu_);
    *created = false;
    SqliteStmt q(h(), "SELECT id FROM organizations ORDER BY id LIMIT 1");
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) return q.Int(0);
    SqliteStmt ins(h(), "INSERT INTO organizations (name, created_at) VALUES (?, ?)");
    RETURN_IF_ERROR(ins.Bind(1, name).Bind(2, NowMs()).Run());
    *created = true;
    return db_->LastInsertId();
  }

  Result<Project> CreateProject(const std::string& name, const std::string& description) override {
    std::lock_guard lock(mu_);
    return InTx<Project>([&]() -> Result<Project> {
      int64_t now = NowMs();
      SqliteStmt ins(h(),
                     "INSERT INTO projects (organization_id, name, description, created_at) "
                     "VALUES ((SELECT min(id) FROM organizations), ?, ?, ?)");
      Status st = ins.Bind(1, name).Bind(2, description).Bind(3, now).Run();
      if (st.code() == StatusCode::kConflict) {
        return Status::Conflict("project '" + name + "' already exists");
      }
      RETURN_IF_ERROR(st);
      Project p{db_->LastInsertId(), name, description, 0, now};
      SqliteStmt br(h(),
                    "INSERT INTO branches (project_id, name, is_default, created_at) VALUES (?, "
                    "'main', 1, ?)");
      RETURN_IF_ERROR(br.Bind(1, p.id).Bind(2, now).Run());
      p.main_branch_id = db_->LastInsertId();
      return p;
    });
  }

  static constexpr const char* kProjectSelect =
      "SELECT p.id, p.name, p.description, b.id, p.created_at FROM projects p "
      "JOIN branches b ON b.project_id = p.id AND b.is_default = 1 ";
  static Project ReadProject(const SqliteStmt& q) {
    return Project{q.Int(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4)};
  }

  Result<Project> GetProject(const std::string& name) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kProjectSelect) + "WHERE p.name = ?");
    q.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("project '" + name + "' not found");
    return ReadProject(q);
  }

  Result<Project> GetProjectById(int64_t id) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kProjectSelect) + "WHERE p.id = ?");
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("project " + std::to_string(id) + " not found");
    return ReadProject(q);
  }

  Result<std::vector<Project>> ListProjects() override {
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

  Status DeleteProject(int64_t id) override {
    std::lock_guard lock(mu_);
    return InTx<bool>([&]() -> Result<bool> {
             SqliteStmt del(h(), "DELETE FROM projects WHERE id = ?");
             RETURN_IF_ERROR(del.Bind(1, id).Run());
             if (db_->Changes() == 0) return Status::NotFound("project not found");
             return true;
           })
        .status();
  }

  Result<Bucket> CreateBucket(const Bucket& b) override {
    std::lock_guard lock(mu_);
    return InTx<Bucket>([&]() -> Result<Bucket> {
      Bucket out = b;
      out.created_at = NowMs();
      SqliteStmt ins(
          h(),
          "INSERT INTO buckets (project_id, branch_id, stage, name, description, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?)");
      Status st = ins.Bind(1, b.project_id)
                      .Bind(2, b.branch_id)
                      .Bind(3, b.stage)
                      .Bind(4, b.name)
                      .Bind(5, b.description)
                      .Bind(6, out.created_at)
                      .Run();
      if (st.code() == StatusCode::kConflict) {
        return Status::Conflict("bucket '" + b.FullId() + "' already exists");
      }
      RETURN_IF_ERROR(st);
      out.id = db_->LastInsertId();
      return out;
    });
  }

  static constexpr const char* kBucketSelect =
      "SELECT id, project_id, branch_id, stage, name, description, created_at FROM buckets ";
  static Bucket ReadBucket(const SqliteStmt& q) {
    return Bucket{q.Int(0), q.Int(1), q.Int(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
  }

  Result<Bucket> GetBucket(int64_t branch_id, const std::string& stage,
                           const std::string& name) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(),
                 std::string(kBucketSelect) + "WHERE branch_id = ? AND stage = ? AND name = ?");
    q.Bind(1, branch_id).Bind(2, stage).Bind(3, name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("bucket '" + stage + "." + name + "' not found");
    return ReadBucket(q);
  }

  Result<std::vector<Bucket>> ListBuckets(int64_t branch_id) override {
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

  Status DeleteBucket(int64_t bucket_id, bool force) override {
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

  static constexpr const char* kTableSelect =
      "SELECT t.id, t.bucket_id, b.stage || '.' || b.name, t.name, t.primary_key, "
      "coalesce(t.head_version_id, 0), t.created_at FROM tables t JOIN buckets b ON b.id = "
      "t.bucket_id ";
  static Table ReadTable(const SqliteStmt& q) {
    return Table{q.Int(0), q.Int(1), q.Text(2), q.Text(3), StringsFromJson(q.Text(4)),
                 q.Int(5), q.Int(6)};
  }

  Result<Table> CreateTable(int64_t bucket_id, const std::string& name,
                            const std::vector<std::string>& primary_key,
                            const NewVersion& first) override {
    std::lock_guard lock(mu_);
    return InTx<Table>([&]() -> Result<Table> {
      SqliteStmt ins(
          h(), "INSERT INTO tables (bucket_id, name, primary_key, created_at) VALUES (?, ?, ?, ?)");
      Status st = ins.Bind(1, bucket_id)
                      .Bind(2, name)
                      .Bind(3, StringsToJson(primary_key))
                      .Bind(4, NowMs())
                      .Run();
      if (st.code() == StatusCode::kConflict)
        return Status::Conflict("table '" + name + "' already exists");
      RETURN_IF_ERROR(st);
      int64_t table_id = db_->LastInsertId();
      ASSIGN_OR_RETURN(TableVersion v, CommitLocked(table_id, 0, first));
      (void)v;
      return GetTableLocked("WHERE t.id = ?", table_id);
    });
  }

  Result<Table> GetTableLocked(const std::string& where, int64_t id) {
    SqliteStmt q(h(), std::string(kTableSelect) + where);
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("table not found");
    return ReadTable(q);
  }

  Result<Table> GetTable(int64_t bucket_id, const std::string& name) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kTableSelect) + "WHERE t.bucket_id = ? AND t.name = ?");
    q.Bind(1, bucket_id).Bind(2, name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("table '" + name + "' not found");
    return ReadTable(q);
  }

  Result<Table> GetTableById(int64_t table_id) override {
    std::lock_guard lock(mu_);
    return GetTableLocked("WHERE t.id = ?", table_id);
  }

  Result<std::vector<Table>> ListTables(int64_t branch_id, int64_t bucket_id) override {
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

  Status DeleteTable(int64_t table_id) override {
    std::lock_guard lock(mu_);
    return InTx<bool>([&]() -> Result<bool> {
             SqliteStmt del(h(), "DELETE FROM tables WHERE id = ?");
             RETURN_IF_ERROR(del.Bind(1, table_id).Run());
             if (db_->Changes() == 0) return Status::NotFound("table not found");
             return true;
           })
        .status();
  }

  Result<TableVersion> CommitVersion(int64_t table_id, int64_t expected_head,
                                     const NewVersion& v) override {
    std::lock_guard lock(mu_);
    return InTx<TableVersion>([&]() { return CommitLocked(table_id, expected_head, v); });
  }

  // Inside a transaction: registers new segments, inserts the version, and moves the head with a
  // compare-and-swap on head_version_id.
  Result<TableVersion> CommitLocked(int64_t table_id, int64_t expected_head, const NewVersion& v) {
    int64_t now = NowMs();
    SqliteStmt num(h(),
                   "SELECT coalesce(max(number), 0) + 1 FROM table_versions WHERE table_id = ?");
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
        h(),
        "SELECT b.project_id FROM tables t JOIN buckets b ON b.id = t.bucket_id WHERE t.id = ?");
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
      return Status::Conflict("table was changed by another writer meanwhile (head moved); retry");
    }
    return out;
  }

  static constexpr const char* kVersionSelect =
      "SELECT v.id, v.table_id, v.number, v.operation, v.columns, v.row_count, v.bytes, "
      "v.token_id, "
      "coalesce(k.description, ''), v.created_at FROM table_versions v LEFT JOIN tokens k ON k.id "
      "= v.token_id ";
  static TableVersion ReadVersion(const SqliteStmt& q) {
    TableVersion v;
    v.id = q.Int(0);
    v.table_id = q.Int(1);
    v.number = q.Int(2);
    v.operation = q.Text(3);
    v.columns = ColumnsFromJson(q.Text(4));
    v.row_count = q.Int(5);
    v.bytes = q.Int(6);
    v.token_id = q.OptInt(7);
    v.token_description = q.Text(8);
    v.created_at = q.Int(9);
    return v;
  }

  Status FillSegments(TableVersion& v) {
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

  Result<TableVersion> GetVersion(int64_t version_id) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kVersionSelect) + "WHERE v.id = ?");
    q.Bind(1, version_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("table version not found");
    TableVersion v = ReadVersion(q);
    RETURN_IF_ERROR(FillSegments(v));
    return v;
  }

  Result<TableVersion> GetVersionByNumber(int64_t table_id, int64_t number) override {
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

  Result<std::vector<TableVersion>> ListVersions(int64_t table_id) override {
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

  Result<GcReport> CollectGarbage(int64_t cutoff_ms) override {
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

  Result<bool> SegmentPathKnown(const std::string& path) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), "SELECT 1 FROM segments WHERE path = ?");
    q.Bind(1, path);
    return q.Step();
  }

  static constexpr const char* kTokenSelect =
      "SELECT t.id, t.project_id, coalesce(p.name, ''), t.kind, t.description, t.scopes, "
      "t.expires_at, "
      "t.revoked_at IS NOT NULL, t.created_at FROM tokens t LEFT JOIN projects p ON p.id = "
      "t.project_id ";
  static Token ReadToken(const SqliteStmt& q) {
    Token t;
    t.id = q.Int(0);
    t.project_id = q.OptInt(1);
    t.project_name = q.Text(2);
    t.kind = q.Text(3);
    t.description = q.Text(4);
    t.scopes = ScopesFromJson(q.Text(5));
    t.expires_at = q.OptInt(6);
    t.revoked = q.Int(7) != 0;
    t.created_at = q.Int(8);
    return t;
  }

  Result<Token> CreateToken(const Token& token, const std::string& secret_hash) override {
    std::lock_guard lock(mu_);
    return InTx<Token>([&]() -> Result<Token> {
      SqliteStmt ins(h(),
                     "INSERT INTO tokens (organization_id, project_id, kind, description, "
                     "secret_hash, scopes, "
                     "expires_at, created_at) VALUES ((SELECT min(id) FROM organizations), ?, ?, "
                     "?, ?, ?, ?, ?)");
      RETURN_IF_ERROR(ins.Bind(1, token.project_id)
                          .Bind(2, token.kind)
                          .Bind(3, token.description)
                          .Bind(4, secret_hash)
                          .Bind(5, ScopesToJson(token.scopes))
                          .Bind(6, token.expires_at)
                          .Bind(7, NowMs())
                          .Run());
      int64_t id = db_->LastInsertId();
      SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.id = ?");
      q.Bind(1, id);
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Internal("token vanished");
      return ReadToken(q);
    });
  }

  Result<Token> FindTokenByHash(const std::string& secret_hash) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.secret_hash = ?");
    q.Bind(1, secret_hash);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("token not found");
    return ReadToken(q);
  }

  Result<Token> GetToken(int64_t id) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.id = ?");
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("token " + std::to_string(id) + " not found");
    return ReadToken(q);
  }

  Result<std::vector<Token>> ListTokens(std::optional<int64_t> project_id) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(h(), std::string(kTokenSelect) + (project_id ? "WHERE t.project_id = ? " : "") +
                          "ORDER BY t.id");
    if (project_id) q.Bind(1, *project_id);
    std::vector<Token> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      out.push_back(ReadToken(q));
    }
    return out;
  }

  Status RevokeToken(int64_t id) override {
    std::lock_guard lock(mu_);
    return InTx<bool>([&]() -> Result<bool> {
             SqliteStmt up(h(),
                           "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
             RETURN_IF_ERROR(up.Bind(1, NowMs()).Bind(2, id).Run());
             if (db_->Changes() == 0)
               return Status::NotFound("token " + std::to_string(id) + " not found or revoked");
             return true;
           })
        .status();
  }

  Status AppendEvent(const Event& e) override {
    std::lock_guard lock(mu_);
    SqliteStmt ins(
        h(),
        "INSERT INTO events (project_id, token_id, action, object, details, client_address, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    return ins.Bind(1, e.project_id)
        .Bind(2, e.token_id)
        .Bind(3, e.action)
        .Bind(4, e.object)
        .Bind(5, e.details_json)
        .Bind(6, e.client_address)
        .Bind(7, e.created_at ? e.created_at : NowMs())
        .Run();
  }

  Result<std::vector<Event>> ListEvents(std::optional<int64_t> project_id, int limit) override {
    std::lock_guard lock(mu_);
    SqliteStmt q(
        h(),
        std::string("SELECT id, project_id, token_id, action, object, details, client_address, "
                    "created_at FROM events ") +
            (project_id ? "WHERE project_id = ? " : "") + "ORDER BY id DESC LIMIT " +
            std::to_string(limit));
    if (project_id) q.Bind(1, *project_id);
    std::vector<Event> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      out.push_back(Event{q.Int(0), q.OptInt(1), q.OptInt(2), q.Text(3), q.Text(4), q.Text(5),
                          q.Text(6), q.Int(7)});
    }
    return out;
  }

 private:
  sqlite3* h() { return db_->handle(); }

  template <typename T, typename F>
  Result<T> InTx(F&& body) {
    RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    Result<T> r = body();
    if (!r.ok()) {
      (void)db_->Exec("ROLLBACK");
      return r;
    }
    Status st = db_->Exec("COMMIT");
    if (!st.ok()) {
      (void)db_->Exec("ROLLBACK");
      return st;
    }
    return r;
  }

  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace

Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path));
  auto catalog = std::make_unique<SqliteCatalog>(std::move(db));
  RETURN_IF_ERROR(catalog->Migrate());
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace swan::catalog
