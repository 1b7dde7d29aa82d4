#include "orchestration/notification_rules.h"

#include <algorithm>

namespace swan::orchestration {
namespace {

using nlohmann::json;

Status FieldError(const std::string& field, const std::string& message) {
  return Status::InvalidArgument(field + ": " + message).WithDetail("field", field);
}

}  // namespace

const char* NotificationEventName(NotificationEvent e) {
  switch (e) {
    case NotificationEvent::kFailed:
      return "job-failed";
    case NotificationEvent::kWarning:
      return "job-succeeded-with-warning";
    case NotificationEvent::kSucceeded:
      return "job-succeeded";
    case NotificationEvent::kProcessingLong:
      return "job-processing-long";
  }
  return "?";
}

Result<std::vector<NotificationRule>> ParseNotificationRules(const json& configuration) {
  std::vector<NotificationRule> rules;
  if (!configuration.is_object() || !configuration.contains("notifications")) return rules;
  const json& list = configuration["notifications"];
  if (!list.is_array()) return FieldError("notifications", "must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = "notifications[" + std::to_string(i) + "]";
    const json& n = list[i];
    if (!n.is_object()) return FieldError(field, "must be an object");
    NotificationRule rule;
    const std::string event = n.value("event", std::string());
    bool known = false;
    for (auto e : {NotificationEvent::kFailed, NotificationEvent::kWarning,
                   NotificationEvent::kSucceeded, NotificationEvent::kProcessingLong}) {
      if (event == NotificationEventName(e)) {
        rule.event = e;
        known = true;
      }
    }
    if (!known) {
      return FieldError(field + ".event",
                        "must be job-failed, job-succeeded-with-warning, job-succeeded or "
                        "job-processing-long, not \"" +
                            event + "\"");
    }
    const json recipient = n.value("recipient", json::object());
    if (!recipient.is_object()) return FieldError(field + ".recipient", "must be an object");
    const std::string channel = recipient.value("channel", std::string("webhook"));
    if (channel != "webhook")
      return FieldError(field + ".recipient.channel",
                        "only \"webhook\" is delivered by Swan (not \"" + channel + "\")");
    rule.url = recipient.value("address", std::string());
    if (!(rule.url.starts_with("http://") || rule.url.starts_with("https://")))
      return FieldError(field + ".recipient.address", "must be an http:// or https:// URL");
    if (n.contains("#secret")) {
      if (!n["#secret"].is_string()) return FieldError(field + ".#secret", "must be a text");
      rule.secret = n["#secret"].get<std::string>();
    }
    if (rule.event == NotificationEvent::kProcessingLong) {
      if (!n.contains("thresholdSeconds") || !n["thresholdSeconds"].is_number_integer() ||
          n["thresholdSeconds"].get<int64_t>() < 1)
        return FieldError(field + ".thresholdSeconds",
                          "job-processing-long needs a whole number of seconds, at least 1");
      rule.threshold_ms = n["thresholdSeconds"].get<int64_t>() * 1000;
    } else if (n.contains("thresholdSeconds")) {
      return FieldError(field + ".thresholdSeconds", "applies to job-processing-long only");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::vector<NotificationRule> RulesForEnd(const std::vector<NotificationRule>& rules,
                                          const std::string& status) {
  std::vector<NotificationRule> out;
  for (const auto& r : rules) {
    const bool fires =
        (r.event == NotificationEvent::kFailed && (status == "error" || status == "terminated")) ||
        (r.event == NotificationEvent::kWarning && status == "warning") ||
        (r.event == NotificationEvent::kSucceeded && status == "success");
    if (fires) out.push_back(r);
  }
  return out;
}

std::vector<size_t> RulesForDuration(const std::vector<NotificationRule>& rules, int64_t running_ms,
                                     const std::vector<size_t>& fired) {
  std::vector<size_t> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].event != NotificationEvent::kProcessingLong) continue;
    if (running_ms < rules[i].threshold_ms) continue;
    if (std::find(fired.begin(), fired.end(), i) != fired.end()) continue;
    out.push_back(i);
  }
  return out;
}

}  // namespace swan::orchestration
