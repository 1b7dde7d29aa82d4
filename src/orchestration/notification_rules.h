// Which notifications a finished (or long-running) job sends: subscriptions in the shape of
// Keboola's notification API, attached to a flow or a configuration.
//
//   notifications[] {event, recipient: {channel: "webhook", address: URL}, "#secret",
//                    thresholdSeconds}
//   event: "job-failed" | "job-succeeded-with-warning" | "job-succeeded" |
//          "job-processing-long" (fires once when a run passes thresholdSeconds, which it needs)
//
// "#secret" is a configuration secret (encrypted at rest like every "#" key); it signs the
// deliveries (orchestration/webhook.h). Errors name the field ("notifications[1].event").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace swan::orchestration {

enum class NotificationEvent { kFailed, kWarning, kSucceeded, kProcessingLong };

struct NotificationRule {
  NotificationEvent event = NotificationEvent::kFailed;
  std::string url;
  std::string secret;
  int64_t threshold_ms = 0;  // kProcessingLong only
};

// Keboola's event name ("job-failed", ...).
const char* NotificationEventName(NotificationEvent e);

// Parses `notifications` of a configuration (absent: none).
Result<std::vector<NotificationRule>> ParseNotificationRules(const nlohmann::json& configuration);

// The rules a job that ended with `status` ("success" | "warning" | "error" | "cancelled" |
// "terminated") fires. A cancelled job notifies no one: someone chose to stop it.
std::vector<NotificationRule> RulesForEnd(const std::vector<NotificationRule>& rules,
                                          const std::string& status);

// The long-run rules a job still running after `running_ms` fires now, given the ones that
// already fired (their indexes in `rules`; each fires once per run).
std::vector<size_t> RulesForDuration(const std::vector<NotificationRule>& rules, int64_t running_ms,
                                     const std::vector<size_t>& fired);

}  // namespace swan::orchestration
