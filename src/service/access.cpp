#include "service/access.h"

#include "common/fs.h"

namespace swan::service {

Result<IssuedToken> IssueToken(catalog::Catalog& catalog, const catalog::Token& spec) {
  IssuedToken out;
  out.secret = "swan_" + fs::RandomHex(24);
  ASSIGN_OR_RETURN(out.token, catalog.CreateToken(spec, fs::Sha256Hex(out.secret)));
  return out;
}

Result<catalog::Token> Authenticate(catalog::Catalog& catalog, const Clock& clock,
                                    const std::string& header) {
  static const std::string kBearer = "Bearer ";
  if (header.empty()) return Status::Unauthorized("missing Authorization: Bearer <token> header");
  if (header.rfind(kBearer, 0) != 0)
    return Status::Unauthorized("Authorization header must be 'Bearer <token>'");
  std::string secret = header.substr(kBearer.size());
  auto token = catalog.FindTokenByHash(fs::Sha256Hex(secret));
  if (!token.ok()) {
    if (token.status().code() == StatusCode::kNotFound)
      return Status::Unauthorized("invalid token");
    return token.status();
  }
  if (token->revoked) return Status::Unauthorized("token has been revoked");
  if (token->expires_at && *token->expires_at <= clock.NowMs())
    return Status::Unauthorized("token has expired");
  return token;
}

bool IsAdmin(const catalog::Token& t) { return t.kind == "admin"; }

Status RequireAdmin(const catalog::Token& t) {
  if (IsAdmin(t)) return Status::Ok();
  return Status::Forbidden("this needs the organization admin token");
}

Status RequireProjectAccess(const catalog::Token& t, const catalog::Project& p) {
  if (IsAdmin(t) || (t.project_id && *t.project_id == p.id)) return Status::Ok();
  return Status::Forbidden("token has no access to project '" + p.name + "'");
}

Status RequireProjectManage(const catalog::Token& t, const catalog::Project& p) {
  RETURN_IF_ERROR(RequireProjectAccess(t, p));
  if (t.kind == "scoped")
    return Status::Forbidden("a scoped token cannot do this; use the project's master token");
  return Status::Ok();
}

bool CanRead(const catalog::Token& t, const std::string& bucket) {
  if (t.kind != "scoped") return true;
  for (const auto& s : t.scopes) {
    if (s.bucket == bucket) return true;  // write implies read
  }
  return false;
}

bool CanWrite(const catalog::Token& t, const std::string& bucket) {
  if (t.kind != "scoped") return true;
  for (const auto& s : t.scopes) {
    if (s.bucket == bucket && s.access == "write") return true;
  }
  return false;
}

Status RequireRead(const catalog::Token& t, const std::string& bucket) {
  if (CanRead(t, bucket)) return Status::Ok();
  return Status::Forbidden("token cannot read bucket " + bucket);
}

Status RequireWrite(const catalog::Token& t, const std::string& bucket) {
  if (CanWrite(t, bucket)) return Status::Ok();
  return Status::Forbidden("token cannot write bucket " + bucket);
}

}  // namespace swan::service
