#include "service/tokens.h"

#include <algorithm>

#include "common/limits.h"
#include "common/names.h"

namespace swan::service {

Result<std::vector<catalog::Token>> ListTokens(Runtime& rt, const Caller& caller,
                                               const catalog::Project& project) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  return rt.catalog().ListTokens(project.id);
}

Result<IssuedToken> CreateToken(Runtime& rt, const Caller& caller, const catalog::Project& project,
                                const CreateTokenRequest& request) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  catalog::Token spec;
  spec.project_id = project.id;
  spec.kind = request.kind;
  if (spec.kind != "scoped" && spec.kind != "master")
    return Status::InvalidArgument("kind must be scoped or master").WithDetail("field", "kind");
  spec.description = request.description;
  for (const auto& scope : request.scopes) {
    std::string stage, name;
    RETURN_IF_ERROR(names::SplitBucketId(scope.bucket, &stage, &name));
    if (scope.access != "read" && scope.access != "write")
      return Status::InvalidArgument("scope access must be read or write")
          .WithDetail("field", "scopes");
    spec.scopes.push_back(scope);
  }
  if (spec.kind == "scoped" && spec.scopes.empty())
    return Status::InvalidArgument("a scoped token needs at least one scope")
        .WithDetail("field", "scopes");
  if (request.expires_in_seconds) {
    if (*request.expires_in_seconds <= 0)
      return Status::InvalidArgument("expires_in must be a positive number of seconds")
          .WithDetail("field", "expires_in");
    spec.expires_at = rt.clock().NowMs() + *request.expires_in_seconds * 1000;
  }
  IssuedToken issued;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(issued, IssueToken(tx, spec));
    return tx.AppendEvent(
        AuditEvent(caller, project.id, "token.create", "token:" + std::to_string(issued.token.id)));
  }));
  return issued;
}

Status RevokeToken(Runtime& rt, const Caller& caller, const catalog::Project& project,
                   int64_t token_id) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  auto token = rt.catalog().GetToken(token_id);
  if (!token.ok() || !token->project_id || *token->project_id != project.id) {
    if (!token.ok() && token.status().code() != StatusCode::kNotFound) return token.status();
    return Status::NotFound("token " + std::to_string(token_id) + " not found in project " +
                            project.name);
  }
  return rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    RETURN_IF_ERROR(tx.RevokeToken(token_id));
    return tx.AppendEvent(
        AuditEvent(caller, project.id, "token.revoke", "token:" + std::to_string(token_id)));
  });
}

Result<std::vector<catalog::Event>> ListEvents(Runtime& rt, const Caller& caller,
                                               const catalog::Project& project, int limit) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  return rt.catalog().ListEvents(project.id, std::clamp(limit, 1, limits::kEventsMax));
}

Result<std::vector<catalog::Event>> ListOrganizationEvents(Runtime& rt, const Caller& caller,
                                                           std::optional<int64_t> project_id,
                                                           int limit) {
  RETURN_IF_ERROR(RequireAdmin(caller.token));
  return rt.catalog().ListEvents(project_id, std::clamp(limit, 1, limits::kEventsMax));
}

Result<storage::GcResult> CollectGarbage(Runtime& rt, const Caller& caller,
                                         int64_t retention_seconds) {
  RETURN_IF_ERROR(RequireAdmin(caller.token));
  if (retention_seconds < 0)
    return Status::InvalidArgument("retention_seconds must be >= 0")
        .WithDetail("field", "retention_seconds");
  ASSIGN_OR_RETURN(auto result, rt.store().CollectGarbage(retention_seconds * 1000));
  nlohmann::json details = {{"result",
                             {{"deleted_versions", result.deleted_versions},
                              {"deleted_segments", result.deleted_segments},
                              {"deleted_orphan_files", result.deleted_orphan_files},
                              {"deleted_bytes", result.deleted_bytes}}}};
  RETURN_IF_ERROR(
      rt.catalog().AppendEvent(AuditEvent(caller, std::nullopt, "maintenance.gc", "gc", details)));
  return result;
}

}  // namespace swan::service
