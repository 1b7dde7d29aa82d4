// Notification subscriptions (orchestration/notification_rules.h): Keboola's event names, which
// end fires which rule, long-run rules firing once at their threshold, field-named errors.
#include <gtest/gtest.h>

#include "orchestration/notification_rules.h"

namespace swan::orchestration {
namespace {

using nlohmann::json;

json Rule(const std::string& event, const std::string& url = "https://hooks.example/x") {
  return {{"event", event}, {"recipient", {{"channel", "webhook"}, {"address", url}}}};
}

std::string Error(const json& config) {
  auto rules = ParseNotificationRules(config);
  return rules.ok() ? "parsed" : rules.status().message();
}

TEST(NotificationRulesTest, EachEndFiresItsRules) {
  json long_run = Rule("job-processing-long");
  long_run["thresholdSeconds"] = 600;
  json failed = Rule("job-failed", "http://127.0.0.1:9/f");
  failed["#secret"] = "s";
  auto rules = ParseNotificationRules(
      {{"notifications",
        {failed, Rule("job-succeeded-with-warning"), Rule("job-succeeded"), long_run}}});
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[0].secret, "s");
  EXPECT_EQ((*rules)[3].threshold_ms, 600000);

  auto events = [&](const std::string& status) {
    std::vector<std::string> out;
    for (const auto& r : RulesForEnd(*rules, status)) out.push_back(NotificationEventName(r.event));
    return out;
  };
  EXPECT_EQ(events("error"), std::vector<std::string>{"job-failed"});
  EXPECT_EQ(events("terminated"), std::vector<std::string>{"job-failed"});
  EXPECT_EQ(events("warning"), std::vector<std::string>{"job-succeeded-with-warning"});
  EXPECT_EQ(events("success"), std::vector<std::string>{"job-succeeded"});
  EXPECT_TRUE(events("cancelled").empty());
}

// A long-run rule fires at its threshold (not a millisecond before), once per run.
TEST(NotificationRulesTest, ALongRunFiresOnceAtItsThreshold) {
  json a = Rule("job-processing-long"), b = Rule("job-processing-long");
  a["thresholdSeconds"] = 60;
  b["thresholdSeconds"] = 120;
  auto rules = ParseNotificationRules({{"notifications", {Rule("job-failed"), a, b}}});
  ASSERT_TRUE(rules.ok());
  EXPECT_TRUE(RulesForDuration(*rules, 59999, {}).empty());
  EXPECT_EQ(RulesForDuration(*rules, 60000, {}), std::vector<size_t>{1});
  EXPECT_TRUE(RulesForDuration(*rules, 90000, {1}).empty());
  EXPECT_EQ(RulesForDuration(*rules, 120000, {1}), std::vector<size_t>{2});
}

TEST(NotificationRulesTest, ErrorsNameTheField) {
  EXPECT_EQ(Error(json::object()), "parsed");
  EXPECT_EQ(Error({{"notifications", "x"}}), "notifications: must be a list");
  EXPECT_EQ(Error({{"notifications", {Rule("job-exploded")}}}),
            "notifications[0].event: must be job-failed, job-succeeded-with-warning, "
            "job-succeeded or job-processing-long, not \"job-exploded\"");
  json email = Rule("job-failed");
  email["recipient"]["channel"] = "email";
  EXPECT_EQ(Error({{"notifications", {email}}}),
            "notifications[0].recipient.channel: only \"webhook\" is delivered by Swan (not "
            "\"email\")");
  EXPECT_EQ(Error({{"notifications", {Rule("job-failed", "ftp://x")}}}),
            "notifications[0].recipient.address: must be an http:// or https:// URL");
  EXPECT_EQ(Error({{"notifications", {Rule("job-processing-long")}}}),
            "notifications[0].thresholdSeconds: job-processing-long needs a whole number of "
            "seconds, at least 1");
  json stray = Rule("job-failed");
  stray["thresholdSeconds"] = 5;
  EXPECT_EQ(Error({{"notifications", {Rule("job-succeeded"), stray}}}),
            "notifications[1].thresholdSeconds: applies to job-processing-long only");
}

}  // namespace
}  // namespace swan::orchestration
