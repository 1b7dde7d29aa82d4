// Services: component configurations of a project's branch, versioned. Every change (create,
// edit, rollback) is a new version with its author and message, committed with its audit event.
// Secrets (`#` keys) are sealed with the project's key before anything is stored, and answers
// carry them sealed: no API returns a secret in clear.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "service/caller.h"
#include "service/runtime.h"

namespace swan::service {

struct ConfigChange {
  std::string config_id;  // create: empty = a generated number
  std::string component_id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<nlohmann::json> configuration;  // {"parameters", "storage", ...}
  // `configuration` as the caller wrote it: its key order is kept in the stored version
  // (nlohmann::json sorts keys; Keboola's extractors take column order from it). May be empty.
  std::string configuration_text;
  std::optional<nlohmann::json> rows;       // [{id, name, description, is_disabled, configuration}]
  std::string message;                      // the change's description
  std::optional<int64_t> expected_version;  // edit: fail with conflict if it moved
};

// Any token of the project reads; changes need the master token or the admin.
Result<catalog::Configuration> CreateConfig(Runtime& rt, const Caller& caller,
                                            const catalog::Project& project, ConfigChange change);
Result<catalog::Configuration> EditConfig(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& config_id, ConfigChange change);
Result<catalog::Configuration> GetConfig(Runtime& rt, const Caller& caller,
                                         const catalog::Project& project,
                                         const std::string& config_id);
Result<std::vector<catalog::Configuration>> ListConfigs(Runtime& rt, const Caller& caller,
                                                        const catalog::Project& project);
Result<std::vector<catalog::ConfigVersion>> ListConfigVersions(Runtime& rt, const Caller& caller,
                                                               const catalog::Project& project,
                                                               const std::string& config_id);
Result<catalog::ConfigVersion> GetConfigVersion(Runtime& rt, const Caller& caller,
                                                const catalog::Project& project,
                                                const std::string& config_id, int64_t number);
// The changes from version `from` to version `to`: [{path, change: added|removed|changed,
// from, to}] over name, description, configuration and rows (secret values stay sealed).
Result<nlohmann::json> DiffConfigVersions(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& config_id, int64_t from, int64_t to);
// A new version whose content is that of version `number`.
Result<catalog::Configuration> RollbackConfig(Runtime& rt, const Caller& caller,
                                              const catalog::Project& project,
                                              const std::string& config_id, int64_t number,
                                              const std::string& message);
Status DeleteConfig(Runtime& rt, const Caller& caller, const catalog::Project& project,
                    const std::string& config_id);
// The stored state of the configuration (or of one row).
Result<nlohmann::json> GetConfigState(Runtime& rt, const Caller& caller,
                                      const catalog::Project& project, const std::string& config_id,
                                      const std::string& row_id);

nlohmann::json ConfigJson(const catalog::Configuration& c);
nlohmann::json ConfigVersionJson(const catalog::ConfigVersion& v);

}  // namespace swan::service
