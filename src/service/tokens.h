// Services: a project's tokens and audit events, and maintenance (garbage collection).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "service/access.h"
#include "service/caller.h"
#include "service/runtime.h"
#include "storage/table_store.h"

namespace swan::service {

// The project's master token or the admin.
Result<std::vector<catalog::Token>> ListTokens(Runtime& rt, const Caller& caller,
                                               const catalog::Project& project);

struct CreateTokenRequest {
  std::string kind = "scoped";  // scoped | master
  std::string description;
  std::vector<catalog::TokenScope> scopes;
  std::optional<int64_t> expires_in_seconds;  // > 0 when given; counted from the runtime's clock
};
// The token and its audit event commit together; the secret is in the answer only.
Result<IssuedToken> CreateToken(Runtime& rt, const Caller& caller, const catalog::Project& project,
                                const CreateTokenRequest& request);
Status RevokeToken(Runtime& rt, const Caller& caller, const catalog::Project& project,
                   int64_t token_id);

// The project's audit events, newest first; limit between 1 and limits::kEventsMax.
Result<std::vector<catalog::Event>> ListEvents(Runtime& rt, const Caller& caller,
                                               const catalog::Project& project, int limit);
// Admin only: events of any project by id, including deleted projects (ids are never reused).
Result<std::vector<catalog::Event>> ListOrganizationEvents(Runtime& rt, const Caller& caller,
                                                           std::optional<int64_t> project_id,
                                                           int limit);

// Admin only: deletes versions and files older than the retention window (seconds >= 0).
Result<storage::GcResult> CollectGarbage(Runtime& rt, const Caller& caller,
                                         int64_t retention_seconds);

}  // namespace swan::service
