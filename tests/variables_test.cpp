// Job variables (jobs/variables.h): {{ name }} placeholders in a configuration's strings.
#include <gtest/gtest.h>

#include "jobs/variables.h"

namespace swan::jobs {
namespace {

using nlohmann::json;

TEST(VariablesTest, ReplacesPlaceholdersInEveryStringWithOrWithoutSpaces) {
  json body = {{"parameters",
                {{"query", "SELECT * FROM t WHERE d = '{{ date }}' AND c = '{{city}}'"},
                 {"list", {"{{ city }}", 3, "x{{  date  }}y"}},
                 {"nested", {{"k", "{{date}}{{date}}"}}}}}};
  ASSERT_TRUE(SubstituteVariables(body, {{"date", "2026-12-03"}, {"city", "Brno"}}).ok());
  EXPECT_EQ(body["parameters"]["query"], "SELECT * FROM t WHERE d = '2026-12-03' AND c = 'Brno'");
  EXPECT_EQ(body["parameters"]["list"], json({"Brno", 3, "x2026-12-03y"}));
  EXPECT_EQ(body["parameters"]["nested"]["k"], "2026-12-032026-12-03");
}

TEST(VariablesTest, WhatIsNotAPlaceholderStays) {
  json body = {{"a", "{{ not closed"}, {"b", "{{}}"}, {"c", "{ {x} }"}, {"d", "{{ a b }}"}};
  const json before = body;
  ASSERT_TRUE(SubstituteVariables(body, {{"x", "1"}, {"a", "2"}}).ok());
  EXPECT_EQ(body, before);
}

TEST(VariablesTest, AnUnknownVariableIsAnErrorNamingIt) {
  json body = {{"q", "{{ known }} {{ unknown }}"}};
  Status st = SubstituteVariables(body, {{"known", "1"}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'unknown'"), std::string::npos) << st.message();
}

TEST(VariablesTest, NoVariablesLeavesTheConfigurationAsItIs) {
  json body = {{"q", "{{ anything }}"}};
  ASSERT_TRUE(SubstituteVariables(body, {}).ok());
  EXPECT_EQ(body["q"], "{{ anything }}");
}

TEST(VariablesTest, ParseTakesTextNumbersAndBooleansAndRefusesTheRest) {
  auto v = ParseVariables(json{{"a", "x"}, {"n", 7}, {"b", true}});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, (Variables{{"a", "x"}, {"n", "7"}, {"b", "true"}}));
  EXPECT_TRUE(ParseVariables(json()).ok());
  EXPECT_FALSE(ParseVariables(json::array()).ok());
  EXPECT_FALSE(ParseVariables(json{{"a", json::object()}}).ok());
  EXPECT_FALSE(ParseVariables(json{{"bad name", "x"}}).ok());
  EXPECT_FALSE(ParseVariables(json{{"a", std::string(kVariableValueBytesMax + 1, 'x')}}).ok());
  EXPECT_TRUE(ParseVariables(json{{"a", std::string(kVariableValueBytesMax, 'x')}}).ok());
  json many = json::object();
  for (size_t i = 0; i <= kVariablesMax; ++i) many["v" + std::to_string(i)] = "x";
  EXPECT_FALSE(ParseVariables(many).ok());
  many.erase("v0");
  EXPECT_TRUE(ParseVariables(many).ok());
}

}  // namespace
}  // namespace swan::jobs
