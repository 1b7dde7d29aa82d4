// SqliteCatalog: configurations with their versions and states, and project keys.
#include "catalog/sqlite_catalog.h"

namespace swan::catalog {

namespace {

constexpr const char* kConfigSelect =
    "SELECT c.id, c.project_id, c.branch_id, c.component_id, c.config_id, c.version, "
    "c.created_at, v.number, v.name, v.description, v.body, v.rows, v.message, v.token_id, "
    "coalesce(t.description, ''), v.created_at FROM configurations c "
    "JOIN config_versions v ON v.configuration_id = c.id AND v.number = c.version "
    "LEFT JOIN tokens t ON t.id = v.token_id ";

constexpr const char* kConfigVersionSelect =
    "SELECT v.number, v.name, v.description, v.body, v.rows, v.message, v.token_id, "
    "coalesce(t.description, ''), v.created_at FROM config_versions v "
    "LEFT JOIN tokens t ON t.id = v.token_id ";

ConfigVersion ReadConfigVersion(const SqliteStmt& q, int first) {
  ConfigVersion v;
  v.number = q.Int(first);
  v.name = q.Text(first + 1);
  v.description = q.Text(first + 2);
  v.body_json = q.Text(first + 3);
  v.rows_json = q.Text(first + 4);
  v.message = q.Text(first + 5);
  v.token_id = q.OptInt(first + 6);
  v.token_description = q.Text(first + 7);
  v.created_at = q.Int(first + 8);
  return v;
}

Configuration ReadConfig(const SqliteStmt& q) {
  Configuration c;
  c.id = q.Int(0);
  c.project_id = q.Int(1);
  c.branch_id = q.Int(2);
  c.component_id = q.Text(3);
  c.config_id = q.Text(4);
  c.version = q.Int(5);
  c.created_at = q.Int(6);
  c.current = ReadConfigVersion(q, 7);
  return c;
}

}  // namespace

Status SqliteCatalog::InsertConfigVersion(int64_t configuration_id, int64_t number,
                                          const ConfigVersion& v) {
  SqliteStmt ins(h(),
                 "INSERT INTO config_versions (configuration_id, number, name, description, body, "
                 "rows, message, token_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  return ins.Bind(1, configuration_id)
      .Bind(2, number)
      .Bind(3, v.name)
      .Bind(4, v.description)
      .Bind(5, v.body_json)
      .Bind(6, v.rows_json)
      .Bind(7, v.message)
      .Bind(8, v.token_id)
      .Bind(9, clock_.NowMs())
      .Run();
}

Result<Configuration> SqliteCatalog::GetConfigurationWhere(const std::string& where, int64_t id,
                                                           const std::string& text) {
  SqliteStmt q(h(), std::string(kConfigSelect) + where);
  q.Bind(1, id);
  if (!text.empty()) q.Bind(2, text);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return Status::NotFound("configuration '" + (text.empty() ? std::to_string(id) : text) +
                            "' not found");
  return ReadConfig(q);
}

Result<Configuration> SqliteCatalog::CreateConfiguration(const Configuration& config,
                                                         const ConfigVersion& first) {
  std::lock_guard lock(mu_);
  return InTx<Configuration>([&]() -> Result<Configuration> {
    SqliteStmt ins(h(),
                   "INSERT INTO configurations (id, project_id, branch_id, component_id, "
                   "config_id, version, created_at) VALUES (" +
                       NextIdSql("configurations") + ", ?, ?, ?, ?, 1, ?)");
    Status st = ins.Bind(1, config.project_id)
                    .Bind(2, config.branch_id)
                    .Bind(3, config.component_id)
                    .Bind(4, config.config_id)
                    .Bind(5, clock_.NowMs())
                    .Run();
    if (st.code() == StatusCode::kConflict)
      return Status::Conflict("configuration '" + config.config_id + "' already exists")
          .WithDetail(kReasonDetail, kReasonExists);
    RETURN_IF_ERROR(st);
    const int64_t id = db_->LastInsertId();
    RETURN_IF_ERROR(InsertConfigVersion(id, 1, first));
    return GetConfigurationWhere("WHERE c.id = ?", id, "");
  });
}

Result<Configuration> SqliteCatalog::GetConfiguration(int64_t branch_id,
                                                      const std::string& config_id) {
  std::lock_guard lock(mu_);
  return GetConfigurationWhere("WHERE c.branch_id = ? AND c.config_id = ?", branch_id, config_id);
}

Result<Configuration> SqliteCatalog::GetConfigurationById(int64_t id) {
  std::lock_guard lock(mu_);
  return GetConfigurationWhere("WHERE c.id = ?", id, "");
}

Result<std::vector<Configuration>> SqliteCatalog::ListConfigurations(int64_t branch_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kConfigSelect) + "WHERE c.branch_id = ? ORDER BY c.config_id");
  q.Bind(1, branch_id);
  std::vector<Configuration> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadConfig(q));
  }
  return out;
}

Result<Configuration> SqliteCatalog::SaveConfigVersion(int64_t configuration_id,
                                                       int64_t expected_version,
                                                       const ConfigVersion& version) {
  std::lock_guard lock(mu_);
  return InTx<Configuration>([&]() -> Result<Configuration> {
    SqliteStmt up(h(),
                  "UPDATE configurations SET version = version + 1 WHERE id = ? AND version = ?");
    RETURN_IF_ERROR(up.Bind(1, configuration_id).Bind(2, expected_version).Run());
    if (db_->Changes() == 0) {
      ASSIGN_OR_RETURN(auto current, GetConfigurationWhere("WHERE c.id = ?", configuration_id, ""));
      return Status::Conflict(
                 "configuration '" + current.config_id + "' changed meanwhile: it is at version " +
                 std::to_string(current.version) + ", the change was made on version " +
                 std::to_string(expected_version))
          .WithDetail(kReasonDetail, kReasonHeadMoved);
    }
    RETURN_IF_ERROR(InsertConfigVersion(configuration_id, expected_version + 1, version));
    return GetConfigurationWhere("WHERE c.id = ?", configuration_id, "");
  });
}

Result<ConfigVersion> SqliteCatalog::GetConfigVersionLocked(int64_t configuration_id,
                                                            int64_t number) {
  SqliteStmt q(h(),
               std::string(kConfigVersionSelect) + "WHERE v.configuration_id = ? AND v.number = ?");
  q.Bind(1, configuration_id).Bind(2, number);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return Status::NotFound("configuration version " + std::to_string(number) + " not found");
  return ReadConfigVersion(q, 0);
}

Result<ConfigVersion> SqliteCatalog::GetConfigVersion(int64_t configuration_id, int64_t number) {
  std::lock_guard lock(mu_);
  return GetConfigVersionLocked(configuration_id, number);
}

Result<std::vector<ConfigVersion>> SqliteCatalog::ListConfigVersions(int64_t configuration_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kConfigVersionSelect) +
                        "WHERE v.configuration_id = ? ORDER BY v.number DESC");
  q.Bind(1, configuration_id);
  std::vector<ConfigVersion> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadConfigVersion(q, 0));
  }
  return out;
}

Status SqliteCatalog::DeleteConfiguration(int64_t configuration_id) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt del(h(), "DELETE FROM configurations WHERE id = ?");
           RETURN_IF_ERROR(del.Bind(1, configuration_id).Run());
           if (db_->Changes() == 0) return Status::NotFound("configuration not found");
           return true;
         })
      .status();
}

Result<std::string> SqliteCatalog::GetConfigState(int64_t configuration_id,
                                                  const std::string& row_id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), "SELECT state FROM config_states WHERE configuration_id = ? AND row_id = ?");
  q.Bind(1, configuration_id).Bind(2, row_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::string("{}");
  return q.Text(0);
}

Status SqliteCatalog::SetConfigState(int64_t configuration_id, const std::string& row_id,
                                     const std::string& state_json) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt up(h(),
                         "INSERT INTO config_states (configuration_id, row_id, state, updated_at) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT (configuration_id, row_id) DO UPDATE "
                         "SET state = excluded.state, updated_at = excluded.updated_at");
           RETURN_IF_ERROR(up.Bind(1, configuration_id)
                               .Bind(2, row_id)
                               .Bind(3, state_json)
                               .Bind(4, clock_.NowMs())
                               .Run());
           return true;
         })
      .status();
}

Result<std::string> SqliteCatalog::EnsureProjectKey(int64_t project_id,
                                                    const std::string& wrapped_if_absent) {
  std::lock_guard lock(mu_);
  return InTx<std::string>([&]() -> Result<std::string> {
    SqliteStmt ins(
        h(),
        "INSERT INTO project_keys (project_id, wrapped_key, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (project_id) DO NOTHING");
    RETURN_IF_ERROR(
        ins.Bind(1, project_id).Bind(2, wrapped_if_absent).Bind(3, clock_.NowMs()).Run());
    SqliteStmt q(h(), "SELECT wrapped_key FROM project_keys WHERE project_id = ?");
    q.Bind(1, project_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("project " + std::to_string(project_id) + " not found");
    return q.Text(0);
  });
}

}  // namespace swan::catalog
