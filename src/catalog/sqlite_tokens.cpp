// SqliteCatalog: tokens (stored as hashes only) and audit events.
#include "catalog/sqlite_catalog.h"

namespace swan::catalog {

using namespace sqlite_json;

Result<Token> SqliteCatalog::CreateToken(const Token& token, const std::string& secret_hash) {
  std::lock_guard lock(mu_);
  return InTx<Token>([&]() -> Result<Token> {
    SqliteStmt ins(h(),
                   "INSERT INTO tokens (id, organization_id, project_id, kind, description, "
                   "secret_hash, scopes, expires_at, created_at) VALUES (" +
                       NextIdSql("tokens") +
                       ", (SELECT min(id) FROM organizations), ?, ?, ?, ?, ?, ?, ?)");
    RETURN_IF_ERROR(ins.Bind(1, token.project_id)
                        .Bind(2, token.kind)
                        .Bind(3, token.description)
                        .Bind(4, secret_hash)
                        .Bind(5, ScopesToJson(token.scopes))
                        .Bind(6, token.expires_at)
                        .Bind(7, clock_.NowMs())
                        .Run());
    int64_t id = db_->LastInsertId();
    SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.id = ?");
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Internal("token vanished");
    return ReadToken(q);
  });
}

Result<Token> SqliteCatalog::FindTokenByHash(const std::string& secret_hash) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.secret_hash = ?");
  q.Bind(1, secret_hash);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("token not found");
  return ReadToken(q);
}

Result<Token> SqliteCatalog::GetToken(int64_t id) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(), std::string(kTokenSelect) + "WHERE t.id = ?");
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("token " + std::to_string(id) + " not found");
  return ReadToken(q);
}

Result<std::vector<Token>> SqliteCatalog::ListTokens(std::optional<int64_t> project_id) {
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

Status SqliteCatalog::RevokeToken(int64_t id) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt up(h(),
                         "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
           RETURN_IF_ERROR(up.Bind(1, clock_.NowMs()).Bind(2, id).Run());
           if (db_->Changes() == 0)
             return Status::NotFound("token " + std::to_string(id) + " not found or revoked");
           return true;
         })
      .status();
}

Status SqliteCatalog::AppendEvent(const Event& e) {
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
      .Bind(7, e.created_at ? e.created_at : clock_.NowMs())
      .Run();
}

Result<std::vector<Event>> SqliteCatalog::ListEvents(std::optional<int64_t> project_id, int limit) {
  std::lock_guard lock(mu_);
  SqliteStmt q(
      h(), std::string("SELECT id, project_id, token_id, action, object, details, client_address, "
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

}  // namespace swan::catalog
