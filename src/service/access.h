// Tokens and rights: issuing (secret shown once, only its hash stored), authenticating a
// caller's bearer token, and the rights checks every service makes.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"

namespace swan::service {

struct IssuedToken {
  catalog::Token token;
  std::string secret;  // "swan_" + 48 hex characters; never stored
};

Result<IssuedToken> IssueToken(catalog::Catalog& catalog, const catalog::Token& spec);
// Resolves "Bearer <secret>"; Unauthorized when missing, unknown, revoked or expired (at `clock`'s
// now).
Result<catalog::Token> Authenticate(catalog::Catalog& catalog, const Clock& clock,
                                    const std::string& authorization_header);

bool IsAdmin(const catalog::Token& t);
// Admin, or any token of that project.
Status RequireProjectAccess(const catalog::Token& t, const catalog::Project& p);
// Admin or the project's master token.
Status RequireProjectManage(const catalog::Token& t, const catalog::Project& p);
Status RequireAdmin(const catalog::Token& t);
// Bucket rights (after RequireProjectAccess): master/admin always; scoped per scope.
bool CanRead(const catalog::Token& t, const std::string& bucket_full_id);
bool CanWrite(const catalog::Token& t, const std::string& bucket_full_id);
Status RequireRead(const catalog::Token& t, const std::string& bucket_full_id);
Status RequireWrite(const catalog::Token& t, const std::string& bucket_full_id);

}  // namespace swan::service
