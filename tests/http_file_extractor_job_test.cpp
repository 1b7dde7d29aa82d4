// The HTTP file extractor (swan.ex-http) as a job against a real HTTP server on loopback
// (tests/servers/files_api.py): formats from the name, gzip files and gzip encoding, auth and
// secret headers, retries on 500 and on 429 with Retry-After, a cut gzip and a stalled transfer
// that load nothing, and projects that never meet.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "python_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

const Rows kPeople = {{"1", "Ann"}, {"2", "Bob, Jr."}, {"3", "null"}};

class HttpFileExtractorJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.error();
    ASSERT_GT(files_.port(), 0);
  }
  json Config(const std::string& path, const std::string& table, json extra = json::object()) {
    json p = {{"url", files_.url(path)}, {"outputTable", table}};
    for (auto& [k, v] : extra.items()) p[k] = v;
    return {{"parameters", p}};
  }
  ServerProcess server_;
  PythonServer files_{"files_api.py"};
};

TEST_F(HttpFileExtractorJobTest, FormatsAndCompressionFromTheFileAndTheAnswer) {
  ProjectApi p(server_, "http-formats");
  ASSERT_TRUE(p.ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/people.csv", "in.c-http.csv"},
      {"/people.csv.gz", "in.c-http.gz"},
      {"/encoded.csv", "in.c-http.encoded"},
      {"/people.tsv", "in.c-http.tsv"}};
  for (const auto& [path, table] : cases) {
    const std::string id = table.substr(table.rfind('.') + 1);
    p.CreateConfig(id, "swan.ex-http", Config(path, table));
    json job = p.RunJob(id);
    ASSERT_EQ(job.value("status", ""), "success") << path << ": " << DescribeJob(p, job);
    if (path == "/people.tsv") {
      EXPECT_EQ(p.SortedRows(table), (Rows{{"1", "Ann"}, {"2", "Bob"}})) << path;
    } else {
      EXPECT_EQ(p.SortedRows(table), kPeople) << path;
    }
  }
  p.CreateConfig("jsonl", "swan.ex-http", Config("/events.jsonl", "in.c-http.events"));
  json job = p.RunJob("jsonl");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.Columns("in.c-http.events"), (std::vector<std::string>{"id", "kind"}));
  EXPECT_EQ(p.SortedRows("in.c-http.events"), (Rows{{"1", "click"}, {"2", "view"}}));
}

TEST_F(HttpFileExtractorJobTest, AuthAndSecretHeaders) {
  ProjectApi p(server_, "http-auth");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("basic", "swan.ex-http",
                 Config("/secure.csv", "in.c-http.basic",
                        {{"auth", {{"type", "basic"}, {"user", "user"}, {"#password", "pass"}}}}));
  json basic = p.RunJob("basic");
  ASSERT_EQ(basic.value("status", ""), "success") << DescribeJob(p, basic);
  EXPECT_EQ(p.SortedRows("in.c-http.basic"), kPeople);

  p.CreateConfig("bearer", "swan.ex-http",
                 Config("/bearer.csv", "in.c-http.bearer",
                        {{"auth", {{"type", "bearer"}, {"#token", "tok-123"}}},
                         {"headers", {{"#X-Api-Key", "key-456"}}}}));
  json bearer = p.RunJob("bearer");
  ASSERT_EQ(bearer.value("status", ""), "success") << DescribeJob(p, bearer);
  const std::string stored = p.Ok("GET", p.Path("/configs/bearer")).dump();
  EXPECT_EQ(stored.find("key-456"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("tok-123"), std::string::npos) << stored;

  p.CreateConfig("denied", "swan.ex-http",
                 Config("/secure.csv", "in.c-http.denied",
                        {{"auth", {{"type", "basic"}, {"user", "user"}, {"#password", "bad"}}}}));
  json denied = p.RunJob("denied");
  EXPECT_EQ(denied.value("status", ""), "error") << DescribeJob(p, denied);
  EXPECT_EQ(denied.value("error_kind", ""), "user") << DescribeJob(p, denied);
  EXPECT_NE(denied.value("message", "").find("HTTP 401"), std::string::npos)
      << DescribeJob(p, denied);
}

TEST_F(HttpFileExtractorJobTest, RetriesA500AndA429WithRetryAfter) {
  ProjectApi p(server_, "http-retry");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("flaky", "swan.ex-http", Config("/flaky.csv", "in.c-http.flaky"));
  json flaky = p.RunJob("flaky");
  ASSERT_EQ(flaky.value("status", ""), "success") << DescribeJob(p, flaky);
  EXPECT_EQ(p.SortedRows("in.c-http.flaky"), kPeople);
  EXPECT_NE(p.JobLog(flaky.value("id", int64_t{0})).find("HTTP 500"), std::string::npos);

  p.CreateConfig("limited", "swan.ex-http", Config("/limited.csv", "in.c-http.limited"));
  json limited = p.RunJob("limited");
  ASSERT_EQ(limited.value("status", ""), "success") << DescribeJob(p, limited);
  const std::string log = p.JobLog(limited.value("id", int64_t{0}));
  EXPECT_NE(log.find("HTTP 429"), std::string::npos) << log;
  EXPECT_NE(log.find("retrying in 1000 ms"), std::string::npos) << log;  // Retry-After: 1
}

// A gzip cut short never becomes data; a transfer that stalls fails instead of hanging. Storage
// stays as it was in both.
TEST_F(HttpFileExtractorJobTest, ACutGzipAndAStalledTransferLoadNothing) {
  ProjectApi p(server_, "http-broken");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("cut", "swan.ex-http", Config("/cut.csv.gz", "in.c-http.cut"));
  json cut = p.RunJob("cut");
  EXPECT_EQ(cut.value("status", ""), "error") << DescribeJob(p, cut);
  p.CreateConfig("stall", "swan.ex-http",
                 Config("/stall.csv", "in.c-http.stall", {{"stallSeconds", 2}, {"retries", 0}}));
  json stall = p.RunJob("stall");
  EXPECT_EQ(stall.value("status", ""), "error") << DescribeJob(p, stall);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// Only HTTP(S): a file:// URL is refused before anything is read.
TEST_F(HttpFileExtractorJobTest, OnlyHttpUrls) {
  ProjectApi p(server_, "http-file");
  ASSERT_TRUE(p.ok());
  json config = Config("/people.csv", "in.c-http.local");
  config["parameters"]["url"] = "file:///etc/passwd";
  p.CreateConfig("local", "swan.ex-http", config);
  json job = p.RunJob("local");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.dump().find("root:"), std::string::npos);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// Tenants never meet: each project's download lands in its own storage.
TEST_F(HttpFileExtractorJobTest, EachProjectGetsItsOwnTable) {
  ProjectApi a(server_, "http-a"), b(server_, "http-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.CreateConfig("c", "swan.ex-http", Config("/people.csv", "in.c-http.people"));
  ASSERT_EQ(a.RunJob("c").value("status", ""), "success");
  const json before = a.Table("in.c-http.people");
  b.CreateConfig("c", "swan.ex-http", Config("/people.tsv", "in.c-http.people"));
  ASSERT_EQ(b.RunJob("c").value("status", ""), "success");
  EXPECT_EQ(a.Table("in.c-http.people"), before);
  EXPECT_EQ(b.SortedRows("in.c-http.people"), (Rows{{"1", "Ann"}, {"2", "Bob"}}));
}

}  // namespace
}  // namespace swan::testing
