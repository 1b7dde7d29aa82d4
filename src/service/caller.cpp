#include "service/caller.h"

namespace swan::service {

catalog::Event AuditEvent(const Caller& caller, std::optional<int64_t> project_id,
                          const std::string& action, const std::string& object,
                          const nlohmann::json& details) {
  catalog::Event e;
  e.project_id = project_id ? project_id : caller.token.project_id;
  if (caller.token.id != 0) e.token_id = caller.token.id;
  e.action = action;
  e.object = object;
  nlohmann::json d = details.is_object() ? details : nlohmann::json::object();
  e.details_json = d.dump();
  e.client_address = caller.client_address;
  return e;
}

}  // namespace swan::service
