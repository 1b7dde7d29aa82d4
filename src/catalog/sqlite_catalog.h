// SQLite implementation of the catalog (internal to src/catalog): one connection, serialized by
// a mutex; every mutating call is one IMMEDIATE transaction. The methods live in files by entity:
// sqlite_catalog.cpp (organization, projects, buckets, tables, opening), sqlite_versions.cpp
// (versions, segments, garbage collection), sqlite_tokens.cpp (tokens, audit events).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/sqlite_db.h"

namespace swan::catalog {

// Column lists, key lists and token scopes are stored as JSON text.
namespace sqlite_json {

using nlohmann::json;

inline std::string ColumnsToJson(const std::vector<ColumnDef>& cols) {
  json j = json::array();
  for (const auto& c : cols) {
    json col = {{"name", c.name}, {"type", c.type}};
    if (!c.label.empty()) col["label"] = c.label;
    j.push_back(std::move(col));
  }
  return j.dump();
}
inline std::vector<ColumnDef> ColumnsFromJson(const std::string& s) {
  std::vector<ColumnDef> out;
  for (const auto& c : json::parse(s))
    out.push_back({c.at("name"), c.at("type"), c.value("label", std::string())});
  return out;
}
inline std::string StringsToJson(const std::vector<std::string>& v) { return json(v).dump(); }
inline std::vector<std::string> StringsFromJson(const std::string& s) {
  return json::parse(s).get<std::vector<std::string>>();
}
inline std::string ScopesToJson(const std::vector<TokenScope>& scopes) {
  json j = json::array();
  for (const auto& s : scopes) j.push_back({{"bucket", s.bucket}, {"access", s.access}});
  return j.dump();
}
inline std::vector<TokenScope> ScopesFromJson(const std::string& s) {
  std::vector<TokenScope> out;
  for (const auto& j : json::parse(s)) out.push_back({j.at("bucket"), j.at("access")});
  return out;
}

}  // namespace sqlite_json

// The id for a new row of `table`: above every id it holds and every id it ever held (deleted
// rows' ids are recorded in retired_ids by triggers, migration 2), so no id is ever reused.
inline std::string NextIdSql(const std::string& table) {
  return "(SELECT max(coalesce((SELECT max(id) FROM " + table +
         "), 0), coalesce((SELECT last_id FROM retired_ids WHERE entity = '" + table +
         "'), 0)) + 1)";
}

class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(std::unique_ptr<SqliteDb> db, Clock& clock) : db_(std::move(db)), clock_(clock) {}
  Status Migrate();

  // Organization, projects, buckets, tables: sqlite_catalog.cpp.
  Result<int64_t> EnsureOrganization(const std::string& name, bool* created) override;
  Result<Project> CreateProject(const std::string& name, const std::string& description) override;
  Result<Project> GetProject(const std::string& name) override;
  Result<Project> GetProjectById(int64_t id) override;
  Result<std::vector<Project>> ListProjects() override;
  Status DeleteProject(int64_t id) override;
  Result<Bucket> CreateBucket(const Bucket& b) override;
  Result<Bucket> GetBucket(int64_t branch_id, const std::string& stage,
                           const std::string& name) override;
  Result<std::vector<Bucket>> ListBuckets(int64_t branch_id) override;
  Status DeleteBucket(int64_t bucket_id, bool force) override;
  Result<Table> CreateTable(int64_t bucket_id, const std::string& name,
                            const std::vector<std::string>& primary_key,
                            const NewVersion& first) override;
  Result<Table> GetTable(int64_t bucket_id, const std::string& name) override;
  Result<Table> GetTableById(int64_t table_id) override;
  Result<std::vector<Table>> ListTables(int64_t branch_id, int64_t bucket_id) override;
  Status DeleteTable(int64_t table_id) override;

  // Versions, segments, garbage collection: sqlite_versions.cpp.
  Result<TableVersion> CommitVersion(int64_t table_id, int64_t expected_head,
                                     const NewVersion& v) override;
  Result<TableVersion> GetVersion(int64_t version_id) override;
  Result<TableVersion> GetVersionByNumber(int64_t table_id, int64_t number) override;
  Result<std::vector<TableVersion>> ListVersions(int64_t table_id) override;
  Result<GcReport> CollectGarbage(int64_t cutoff_ms) override;
  Result<bool> SegmentPathKnown(const std::string& path) override;

  // Tokens and audit events: sqlite_tokens.cpp.
  Result<Token> CreateToken(const Token& token, const std::string& secret_hash) override;
  Result<Token> FindTokenByHash(const std::string& secret_hash) override;
  Result<Token> GetToken(int64_t id) override;
  Result<std::vector<Token>> ListTokens(std::optional<int64_t> project_id) override;
  Status RevokeToken(int64_t id) override;
  Status AppendEvent(const Event& e) override;
  Result<std::vector<Event>> ListEvents(std::optional<int64_t> project_id, int limit) override;

  // Configurations, their versions and states, project keys: sqlite_configs.cpp.
  Result<Configuration> CreateConfiguration(const Configuration& config,
                                            const ConfigVersion& first) override;
  Result<Configuration> GetConfiguration(int64_t branch_id, const std::string& config_id) override;
  Result<Configuration> GetConfigurationById(int64_t id) override;
  Result<std::vector<Configuration>> ListConfigurations(int64_t branch_id) override;
  Result<Configuration> SaveConfigVersion(int64_t configuration_id, int64_t expected_version,
                                          const ConfigVersion& version) override;
  Result<ConfigVersion> GetConfigVersion(int64_t configuration_id, int64_t number) override;
  Result<std::vector<ConfigVersion>> ListConfigVersions(int64_t configuration_id) override;
  Status DeleteConfiguration(int64_t configuration_id) override;
  Result<std::string> GetConfigState(int64_t configuration_id, const std::string& row_id) override;
  Status SetConfigState(int64_t configuration_id, const std::string& row_id,
                        const std::string& state_json) override;
  Result<std::string> EnsureProjectKey(int64_t project_id,
                                       const std::string& wrapped_if_absent) override;
  // Jobs and their events: sqlite_jobs.cpp.
  Result<Job> CreateJob(const Job& job) override;
  Result<Job> GetJob(int64_t id) override;
  Result<std::vector<Job>> ListJobs(const JobFilter& filter) override;
  Result<std::optional<Job>> ClaimJob(const std::string& worker, int per_project_limit) override;
  Result<std::optional<Job>> ClaimFlowJob(const std::string& worker) override;
  Status UpdateJob(const Job& job, const std::string& expected_status) override;
  Result<Job> RequestJobCancel(int64_t id) override;
  Status AppendJobEvents(const std::vector<JobEvent>& events) override;
  Result<std::vector<JobEvent>> ListJobEvents(int64_t job_id, int64_t after_id, int limit) override;
  // Files: sqlite_files.cpp.
  Result<StoredFile> CreateFile(const StoredFile& file) override;
  Result<StoredFile> GetFile(int64_t project_id, int64_t id) override;
  Result<std::vector<StoredFile>> ListFiles(int64_t project_id,
                                            const std::vector<std::string>& tags,
                                            int limit) override;
  Status Transact(const std::function<Status(Catalog& tx)>& body) override;

 private:
  using json = nlohmann::json;

  static constexpr const char* kProjectSelect =
      "SELECT p.id, p.name, p.description, b.id, p.created_at FROM projects p "
      "JOIN branches b ON b.project_id = p.id AND b.is_default = 1 ";
  static Project ReadProject(const SqliteStmt& q) {
    return Project{q.Int(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4)};
  }

  static constexpr const char* kBucketSelect =
      "SELECT id, project_id, branch_id, stage, name, description, created_at FROM buckets ";
  static Bucket ReadBucket(const SqliteStmt& q) {
    return Bucket{q.Int(0), q.Int(1), q.Int(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
  }

  static constexpr const char* kTableSelect =
      "SELECT t.id, t.bucket_id, b.stage || '.' || b.name, t.name, t.primary_key, "
      "coalesce(t.head_version_id, 0), t.created_at FROM tables t JOIN buckets b ON b.id = "
      "t.bucket_id ";
  static Table ReadTable(const SqliteStmt& q) {
    return Table{q.Int(0), q.Int(1), q.Text(2), q.Text(3), sqlite_json::StringsFromJson(q.Text(4)),
                 q.Int(5), q.Int(6)};
  }

  Result<Table> GetTableLocked(const std::string& where, int64_t id);

  // Inside a transaction: registers new segments, inserts the version, and moves the head with a
  // compare-and-swap on head_version_id.
  Result<TableVersion> CommitLocked(int64_t table_id, int64_t expected_head, const NewVersion& v);

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
    v.columns = sqlite_json::ColumnsFromJson(q.Text(4));
    v.row_count = q.Int(5);
    v.bytes = q.Int(6);
    v.token_id = q.OptInt(7);
    v.token_description = q.Text(8);
    v.created_at = q.Int(9);
    return v;
  }

  Status FillSegments(TableVersion& v);

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
    t.scopes = sqlite_json::ScopesFromJson(q.Text(5));
    t.expires_at = q.OptInt(6);
    t.revoked = q.Int(7) != 0;
    t.created_at = q.Int(8);
    return t;
  }

  Result<Configuration> GetConfigurationWhere(const std::string& where, int64_t id,
                                              const std::string& text);
  Result<ConfigVersion> GetConfigVersionLocked(int64_t configuration_id, int64_t number);
  Status InsertConfigVersion(int64_t configuration_id, int64_t number, const ConfigVersion& v);
  Result<Job> GetJobLocked(int64_t id);
  // Claims the job `pick` selects (its first column, an id), in one transaction.
  Result<std::optional<Job>> ClaimLocked(SqliteStmt& pick, const std::string& worker);

  sqlite3* h() { return db_->handle(); }

  // One transaction around `body`; inside Transact (same thread, mutex held) it is a savepoint, so
  // that a failed step undoes only itself and the outer body decides.
  template <typename T, typename F>
  Result<T> InTx(F&& body) {
    const bool nested = tx_depth_ > 0;
    RETURN_IF_ERROR(db_->Exec(nested ? "SAVEPOINT swan_step" : "BEGIN IMMEDIATE"));
    Result<T> r = body();
    if (!r.ok()) {
      if (nested) {
        (void)db_->Exec("ROLLBACK TO swan_step");
        (void)db_->Exec("RELEASE swan_step");
      } else {
        (void)db_->Exec("ROLLBACK");
      }
      return r;
    }
    Status st = db_->Exec(nested ? "RELEASE swan_step" : "COMMIT");
    if (!st.ok()) {
      (void)db_->Exec(nested ? "ROLLBACK TO swan_step" : "ROLLBACK");
      return st;
    }
    return r;
  }

  // Recursive: the methods called by a Transact body on its thread lock it again.
  std::recursive_mutex mu_;
  int tx_depth_ = 0;  // > 0 while a Transact body runs (guarded by mu_)
  std::unique_ptr<SqliteDb> db_;
  Clock& clock_;
};

}  // namespace swan::catalog
