// Who asks: the authenticated token and where the request came from. Every service call takes
// one, checks its rights and records it in the audit event of what it changes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace swan::service {

struct Caller {
  catalog::Token token;
  std::string client_address;
};

// The audit event of a mutation by `caller`: written by the service in the same catalog
// transaction as the change (Catalog::Transact), so that there is never a change without its
// event, nor an event of a change that did not happen.
catalog::Event AuditEvent(const Caller& caller, std::optional<int64_t> project_id,
                          const std::string& action, const std::string& object,
                          const nlohmann::json& details = nlohmann::json::object());

}  // namespace swan::service
