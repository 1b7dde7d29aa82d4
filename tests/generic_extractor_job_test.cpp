// The Generic Extractor as a job: a stored Keboola configuration runs in Swan's process against a
// real HTTP server on loopback (tests/servers/paged_api.py), its tables land through the output
// mapping, its state is kept, its secret never shows, and it cannot read files or reach another
// project's storage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "component_test_util.h"
#include "python_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

// tests/servers/paged_api.py: pages of items behind a bearer token; each request line logged.
class PagedApi : public PythonServer {
 public:
  PagedApi(const std::string& token, const std::string& log)
      : PythonServer("paged_api.py", {token, log}) {}
};

json ExtractorConfig(int port, const std::string& token, const std::string& bucket) {
  return {{"parameters",
           {{"api",
             {{"baseUrl", "http://127.0.0.1:" + std::to_string(port) + "/"},
              {"pagination",
               {{"method", "offset"},
                {"limit", 2},
                {"offsetParam", "offset"},
                {"limitParam", "limit"}}},
              {"http",
               {{"headers",
                 {{"Authorization",
                   {{"function", "concat"}, {"args", {"Bearer ", {{"attr", "#token"}}}}}}}}}}}},
            {"config",
             {{"#token", token},
              {"outputBucket", bucket},
              {"jobs", {{{"endpoint", "items"}, {"dataField", "items"}}}}}}}}};
}

class GenericExtractorJobTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  TempDir dir_;
  ServerProcess server_;
};

TEST_F(GenericExtractorJobTest, AKeboolaConfigurationRunsAsAJob) {
  const std::string token = "tok-" + fs::RandomHex(16);
  const std::string requests = dir_.path() + "/requests.log";
  PagedApi api(token, requests);
  ASSERT_GT(api.port(), 0);
  ProjectApi p(server_, "rest");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("items", "keboola.ex-generic-v2", ExtractorConfig(api.port(), token, "shop"));
  json job = p.RunJob("items");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);

  // Offset paging: pages of 2 until a short one.
  std::ifstream log(requests);
  std::stringstream seen;
  seen << log.rdbuf();
  EXPECT_EQ(seen.str(),
            "/items?limit=2&offset=0\n/items?limit=2&offset=2\n/items?limit=2&offset=4\n");

  const Rows items = p.SortedRows("in.c-shop.items");
  ASSERT_EQ(items.size(), 5u) << DescribeJob(p, job);
  const auto columns = p.Columns("in.c-shop.items");
  for (const char* c : {"id", "name", "price", "maker_country"})
    EXPECT_NE(std::find(columns.begin(), columns.end(), c), columns.end())
        << c << " missing among the columns";
  // The nested array became a child table (Keboola's naming: items_tags).
  const json tables = p.Ok("GET", p.Path("/tables"));
  bool child = false;
  for (const auto& t : tables.value("tables", json::array()))
    child = child || t.value("id", "") == "in.c-shop.items_tags";
  EXPECT_TRUE(child) << tables.dump();
  EXPECT_TRUE(p.State("items").contains("time")) << p.State("items").dump();

  // The token is a secret: sealed in the configuration, masked in what the job said.
  const std::string events = p.JobLog(job.value("id", int64_t{0}));
  EXPECT_EQ(events.find(token), std::string::npos) << events;
  EXPECT_EQ(job.dump().find(token), std::string::npos) << job.dump();
  EXPECT_EQ(p.Ok("GET", p.Path("/configs/items")).dump().find(token), std::string::npos);
}

// A configuration keeps the key order it was sent in: Keboola's mappings give the columns in
// their order (nlohmann::json alone would sort them: id before name).
TEST_F(GenericExtractorJobTest, MappingColumnsKeepTheConfigurationsOrder) {
  const std::string token = "tok-" + fs::RandomHex(8);
  PagedApi api(token, dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi p(server_, "rest-order");
  ASSERT_TRUE(p.ok());
  json config = ExtractorConfig(api.port(), token, "shop");
  config["parameters"]["config"]["jobs"][0]["dataType"] = "items";
  const std::string mappings =
      R"({"items": {"name": {"type": "column", "mapping": {"destination": "name"}},)"
      R"( "id": {"type": "column", "mapping": {"destination": "id", "primaryKey": true}}}})";
  // Sent as text, so the key order is the one written here.
  std::string body = json{{"id", "ordered"}, {"component_id", "keboola.ex-generic-v2"}}.dump();
  std::string text = config.dump();
  text.insert(text.find("\"jobs\""), "\"mappings\": " + mappings + ", ");
  body.insert(body.size() - 1, ", \"configuration\": " + text);
  HttpResponse created =
      HttpCall("POST", server_.url() + p.Path("/configs"),
               {"Authorization: Bearer " + p.token(), "Content-Type: application/json"}, body);
  ASSERT_EQ(created.status, 201) << created.body;
  json job = p.RunJob("ordered");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.Columns("in.c-shop.items"), (std::vector<std::string>{"name", "id"}));
}

// A server whose extractors write small slices (4 KiB instead of 4 MiB): a test's tables have many.
class SmallSliceServer {
 public:
  SmallSliceServer() {
    ::setenv("SWAN_EXTRACT_SLICE_BYTES", "4096", 1);
    server_ = std::make_unique<ServerProcess>();
    ::unsetenv("SWAN_EXTRACT_SLICE_BYTES");
  }
  ServerProcess& server() { return *server_; }

 private:
  std::unique_ptr<ServerProcess> server_;
};

// 3,000 items in pages of 100 from /many (a JSON array per page); from id `change_at` on (0:
// never) the items have one more field.
json ManyItemsConfig(int port, const std::string& token, int change_at) {
  json config = ExtractorConfig(port, token, "many");
  config["parameters"]["api"]["pagination"]["limit"] = 100;
  json job = {{"endpoint", "many"}, {"params", {{"total", 3000}}}};
  if (change_at > 0) job["params"]["change_at"] = change_at;
  config["parameters"]["config"]["jobs"] = json::array({job});
  return config;
}

json Sql(const ProjectApi& p, const std::string& sql) {
  return p.Ok("POST", p.Path("/sql"), json{{"sql", sql}});
}

// The rows written as pages arrive go out as slices, each loaded while the next pages come: one
// version per table whose segments are the slices, every row once, the same rows as a load of
// the whole file.
TEST_F(GenericExtractorJobTest, TablesLoadSliceBySliceWhilePagesArrive) {
  SmallSliceServer small;
  ASSERT_TRUE(small.server().ok()) << small.server().error();
  const std::string token = "tok-" + fs::RandomHex(8);
  PagedApi api(token, dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi p(small.server(), "rest-slices");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("many", "keboola.ex-generic-v2", ManyItemsConfig(api.port(), token, 0));
  for (int run = 0; run < 2; ++run) {
    json job = p.RunJob("many");
    ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
    const json items = p.Table("in.c-many.many");
    EXPECT_EQ(items.value("row_count", int64_t{0}), 3000) << items.dump();
    EXPECT_GT(items.value("segments", 0), 4) << items.dump();  // one per slice
    // The child table's slices are staged beside the parent's (the stager's second thread),
    // the two first slices making the one new bucket in turn: none is declined.
    const json tags_table = p.Table("in.c-many.many_tags");
    EXPECT_GT(tags_table.value("segments", 0), 4) << tags_table.dump();
    const json sums =
        Sql(p,
            "SELECT count(*)::VARCHAR, count(DISTINCT id)::VARCHAR, "
            "sum(id::BIGINT)::VARCHAR, sum(price::DOUBLE)::VARCHAR, "
            "count(*) FILTER (maker_country = 'CZ')::VARCHAR FROM \"in.c-many.many\"");
    EXPECT_EQ(sums.value("rows", json::array()),
              json::array({json::array({"3000", "3000", "4501500", "1125375.0", "1500"})}))
        << sums.dump();
    // Tags: i % 3 + 1 per item, each row linked to its item's row.
    const json tags = Sql(p,
                          "SELECT count(*)::VARCHAR, count(DISTINCT t.JSON_parentId)::VARCHAR, "
                          "count(m.id)::VARCHAR FROM \"in.c-many.many_tags\" t LEFT JOIN "
                          "\"in.c-many.many\" m ON m.tags = t.JSON_parentId");
    EXPECT_EQ(tags.value("rows", json::array()),
              json::array({json::array({"6000", "3000", "6000"})}))
        << tags.dump();
  }
}

// A field that first appears after slices were loaded changes the table's columns: the slices
// are dropped and the table is loaded whole, with every row once and the new column filled from
// where it appears.
TEST_F(GenericExtractorJobTest, AStructureChangeAfterLoadedSlicesKeepsEveryRowOnce) {
  SmallSliceServer small;
  ASSERT_TRUE(small.server().ok()) << small.server().error();
  const std::string token = "tok-" + fs::RandomHex(8);
  PagedApi api(token, dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi p(small.server(), "rest-slices-change");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("many", "keboola.ex-generic-v2", ManyItemsConfig(api.port(), token, 2901));
  json job = p.RunJob("many");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  const json sums = Sql(p,
                        "SELECT count(*)::VARCHAR, count(DISTINCT id)::VARCHAR, "
                        "sum(id::BIGINT)::VARCHAR, count(late)::VARCHAR, "
                        "min(id::BIGINT) FILTER (late <> '')::VARCHAR FROM \"in.c-many.many\"");
  EXPECT_EQ(sums.value("rows", json::array()),
            json::array({json::array({"3000", "3000", "4501500", "100", "2901"})}))
      << sums.dump();
  const json tags = Sql(p, "SELECT count(*)::VARCHAR FROM \"in.c-many.many_tags\"");
  EXPECT_EQ(tags.value("rows", json::array()), json::array({json::array({"6000"})})) << tags.dump();
}

TEST_F(GenericExtractorJobTest, AWrongTokenIsAUserErrorAndWritesNothing) {
  PagedApi api("right", dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi p(server_, "rest-denied");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("items", "keboola.ex-generic-v2", ExtractorConfig(api.port(), "wrong", "shop"));
  json job = p.RunJob("items");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.value("error_kind", ""), "user") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("401"), std::string::npos) << DescribeJob(p, job);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// In Swan's process, so it must not read the server's files: file:// (and any protocol but
// HTTP(S)) is refused, and nothing of the file lands.
TEST_F(GenericExtractorJobTest, OnlyHttpIsSpokenNoFiles) {
  const std::string secret_file = dir_.path() + "/host-secret.json";
  std::ofstream(secret_file) << R"({"items": [{"id": 1, "secret": "host-only"}]})";
  ProjectApi p(server_, "rest-files");
  ASSERT_TRUE(p.ok());
  json config = ExtractorConfig(1, "x", "leak");
  config["parameters"]["api"].erase("pagination");
  // An absolute endpoint replaces the base URL (Keboola); a file:// one must not be read.
  config["parameters"]["config"]["jobs"][0]["endpoint"] = "file://" + secret_file;
  p.CreateConfig("files", "keboola.ex-generic-v2", config);
  json job = p.RunJob("files");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.dump().find("host-only"), std::string::npos) << job.dump();
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// Tenants never meet: the same configuration in two projects writes each project's own tables.
TEST_F(GenericExtractorJobTest, EachProjectGetsItsOwnTables) {
  const std::string token = "tok-" + fs::RandomHex(8);
  PagedApi api(token, dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi a(server_, "rest-a"), b(server_, "rest-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.CreateConfig("items", "keboola.ex-generic-v2", ExtractorConfig(api.port(), token, "shop"));
  ASSERT_EQ(a.RunJob("items").value("status", ""), "success");
  json before = a.Table("in.c-shop.items");
  b.CreateConfig("items", "keboola.ex-generic-v2", ExtractorConfig(api.port(), token, "shop"));
  json jb = b.RunJob("items");
  ASSERT_EQ(jb.value("status", ""), "success") << DescribeJob(b, jb);
  EXPECT_EQ(b.SortedRows("in.c-shop.items").size(), 5u);
  EXPECT_EQ(a.Table("in.c-shop.items"), before);  // A's table did not move
  HttpResponse cross = HttpCall("GET", server_.url() + a.Path("/tables/in.c-shop.items"),
                                {"Authorization: Bearer " + b.token()}, "");
  EXPECT_EQ(cross.status / 100, 4) << cross.body;
}

// The configuration's only job is `endpoint` (a path of tests/servers/paged_api.py).
json EndpointConfig(int port, const std::string& token, const std::string& endpoint) {
  json config = ExtractorConfig(port, token, "shop");
  config["parameters"]["config"]["jobs"] = json::array({{{"endpoint", endpoint}}});
  return config;
}

// Whether `needle` shows in the server's request log within 20 s.
bool WaitRequest(const std::string& log, const std::string& needle) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(log);
    std::stringstream text;
    text << f.rdbuf();
    if (text.str().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Starts the configuration, waits for its request to reach `endpoint`, cancels the job and
// returns it at its end with the milliseconds from the cancel to the end.
std::pair<json, int64_t> CancelDuring(const ProjectApi& p, const std::string& log,
                                      const std::string& endpoint) {
  json started = p.Ok("POST", p.Path("/configs/items/run"), json::object(), 201);
  const std::string id = std::to_string(started["job"].value("id", int64_t{0}));
  EXPECT_TRUE(WaitRequest(log, "/" + endpoint)) << "the request never reached the server";
  const auto cancelled_at = std::chrono::steady_clock::now();
  p.Ok("POST", p.Path("/jobs/" + id + "/cancel"));
  json job;
  while (std::chrono::steady_clock::now() - cancelled_at < kJobWaitMax) {
    job = p.Ok("GET", p.Path("/jobs/" + id)).value("job", json::object());
    const std::string status = job.value("status", "");
    if (status != "waiting" && status != "processing" && status != "created") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {job, std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - cancelled_at)
                   .count()};
}

// A cancel reaches a request in flight (the server never answers) and a retry wait (the server
// asks for 600 s): the job ends cancelled within seconds, and nothing lands.
TEST_F(GenericExtractorJobTest, CancelStopsARequestInFlightAndARetryWait) {
  const std::string token = "tok-" + fs::RandomHex(8);
  const std::string log = dir_.path() + "/requests.log";
  PagedApi api(token, log);
  ASSERT_GT(api.port(), 0);
  for (const std::string endpoint : {"hang", "busy"}) {
    ProjectApi p(server_, "rest-cancel-" + endpoint);
    ASSERT_TRUE(p.ok());
    p.CreateConfig("items", "keboola.ex-generic-v2", EndpointConfig(api.port(), token, endpoint));
    auto [job, ms] = CancelDuring(p, log, endpoint);
    EXPECT_EQ(job.value("status", ""), "cancelled") << endpoint << ": " << job.dump();
    EXPECT_LT(ms, 5000) << endpoint;
    EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
  }
}

// A server that accepts the request and never answers meets the job's timeout (not the
// configuration's 300 s request timeout): the job ends as timed out, soon, and nothing lands.
TEST_F(GenericExtractorJobTest, AHangingServerMeetsTheJobsTimeout) {
  const std::string token = "tok-" + fs::RandomHex(8);
  PagedApi api(token, dir_.path() + "/requests.log");
  ASSERT_GT(api.port(), 0);
  ProjectApi p(server_, "rest-hang");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("items", "keboola.ex-generic-v2", EndpointConfig(api.port(), token, "hang"));
  const auto start = std::chrono::steady_clock::now();
  json job = p.RunJob("items", {{"timeout", 2}});
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.value("error_kind", ""), "timeout") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("allowed time of 2 s"), std::string::npos)
      << DescribeJob(p, job);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

}  // namespace
}  // namespace swan::testing
