// Schedules and triggers as configurations, so that they are versioned, audited and part of the
// project as code like everything else.
//
// A schedule is a configuration of component keboola.scheduler in Keboola's format (users bring
// theirs unchanged):
//   {"schedule": {"cronTab": "0 6 * * *", "timezone": "Europe/Prague", "state": "enabled"},
//    "target": {"componentId": "keboola.orchestrator", "configurationId": "daily",
//               "configurationRowIds": [], "mode": "run"},
//    "catchUp": "skip"}                     (Swan: "skip" (default) or "run_once", schedule.h)
//
// A trigger is a configuration of component swan.trigger, with the fields of Keboola's Storage
// API triggers:
//   {"tableIds": ["in.sales.orders", "in.sales.customers"], "coolDownPeriodMinutes": 5,
//    "state": "enabled",
//    "target": {"componentId": "keboola.orchestrator", "configurationId": "daily"}}
// It runs its target when every table of tableIds has a version newer than the target's last run
// (or than the trigger itself), at most once per cool-down period, never while the target's last
// job is still waiting or running.
//
// Every error names its field ("schedule.cronTab").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/model.h"
#include "common/status.h"
#include "orchestration/cron_expression.h"
#include "orchestration/schedule.h"

namespace swan::orchestration {

inline constexpr const char* kScheduleComponentId = catalog::kScheduleComponentId;
inline constexpr const char* kTriggerComponentId = catalog::kTriggerComponentId;
// Tables one trigger may watch, and its cool-down bounds (minutes).
inline constexpr size_t kTriggerTablesMax = 100;
inline constexpr int64_t kTriggerCooldownMinutesDefault = 5;
inline constexpr int64_t kTriggerCooldownMinutesMax = 7 * 24 * 60;

// What a schedule or trigger runs: a configuration of the same project, or one of its rows.
struct RunTarget {
  std::string component_id;
  std::string config_id;
  std::string row_id;  // empty: the whole configuration
};

struct ScheduleConfig {
  CronExpression cron;
  std::string time_zone = "UTC";
  bool enabled = true;
  CatchUpPolicy catch_up = CatchUpPolicy::kSkip;
  RunTarget target{};
};

struct TriggerConfig {
  std::vector<std::string> table_ids;  // "in.sales.orders", distinct
  int64_t cooldown_ms = kTriggerCooldownMinutesDefault * 60 * 1000;
  bool enabled = true;
  RunTarget target{};
};

// invalid_argument naming the field. The time zone's name is checked for form here; whether the
// zone exists is the caller's (TimeZone::Load).
Result<ScheduleConfig> ParseScheduleConfig(const nlohmann::json& body);
Result<TriggerConfig> ParseTriggerConfig(const nlohmann::json& body);

// {"componentId", "configurationId"[, "configurationRowIds"]}: the target as configured.
nlohmann::json RunTargetJson(const RunTarget& target);

// `body` with its state set to enabled or disabled ("schedule.state" or "state").
nlohmann::json WithState(nlohmann::json body, const std::string& component_id, bool enabled);

}  // namespace swan::orchestration
