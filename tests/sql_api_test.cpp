// End-to-end tests over HTTP of the limits on SQL and previews (issue 8.7, 8.10f, 8.10g): the
// sandbox bound answered 503 with Retry-After, the SQL text bound, the time limit counted from
// the request's arrival, the preview limit at both edges, and errors without server paths.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class SqlApiTest : public SharedServerTest {
 protected:
  static HttpResponse Call(const std::string& method, const std::string& path,
                           const std::string& token, const std::string& body = std::string(),
                           const std::string& content_type = "application/json") {
    std::vector<std::string> headers = {"Authorization: Bearer " + token};
    if (!body.empty() || method == "POST") headers.push_back("Content-Type: " + content_type);
    return HttpCall(method, server_->url() + path, headers, body, 120);
  }

  static std::string Describe(const HttpResponse& r) {
    return "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 2000) + r.error;
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  static void ExpectError(const HttpResponse& r, long status, const std::string& code,
                          const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << Describe(r);
    json body = Body(r);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << what << ": " << Describe(r);
    EXPECT_EQ(body["error"].value("code", ""), code) << what << ": " << Describe(r);
  }

  // Creates a project; returns its master token.
  static std::string CreateProject(const std::string& name) {
    HttpResponse r =
        Call("POST", "/v1/projects", server_->admin_token(), json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << Describe(r);
    return Body(r)["token"].value("secret", "");
  }

  static std::string P(const std::string& project) { return "/v1/projects/" + project; }

  static HttpResponse Sql(const std::string& project, const std::string& token, const json& body) {
    return Call("POST", P(project) + "/sql", token, body.dump());
  }

  static std::string Csv(int rows) {
    std::string csv = "id,name\n";
    for (int i = 0; i < rows; ++i) csv += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    return csv;
  }
};

TEST_F(SqlApiTest, PreviewLimitAtBothEdges) {
  const std::string token = CreateProject("preview-edges");
  const std::string t = P("preview-edges") + "/tables/";
  for (int rows :
       {static_cast<int>(limits::kPreviewRowsMax), static_cast<int>(limits::kPreviewRowsMax) + 1}) {
    const std::string table = "in.p.t" + std::to_string(rows);
    HttpResponse imported = Call("POST", t + table + "/import", token, Csv(rows), "text/csv");
    ASSERT_EQ(imported.status, 200) << Describe(imported);
    // The documented maximum works, and says whether more rows exist.
    HttpResponse max =
        Call("GET", t + table + "/preview?limit=" + std::to_string(limits::kPreviewRowsMax), token);
    ASSERT_EQ(max.status, 200) << Describe(max);
    json body = Body(max);
    EXPECT_EQ(body["rows"].size(), static_cast<size_t>(limits::kPreviewRowsMax));
    EXPECT_EQ(body.value("truncated", false), rows > limits::kPreviewRowsMax) << rows;
  }
  const std::string table = t + "in.p.t" + std::to_string(limits::kPreviewRowsMax + 1);
  HttpResponse one = Call("GET", table + "/preview?limit=1", token);
  ASSERT_EQ(one.status, 200) << Describe(one);
  EXPECT_EQ(Body(one)["rows"].size(), 1u);
  EXPECT_TRUE(Body(one).value("truncated", false));
  for (const std::string& bad :
       {std::to_string(limits::kPreviewRowsMax + 1), std::string("0"), std::string("-1")}) {
    HttpResponse r = Call("GET", table + "/preview?limit=" + bad, token);
    ExpectError(r, 400, "invalid_argument", "preview limit " + bad);
    EXPECT_EQ(Body(r)["error"]["details"].value("field", ""), "limit") << Describe(r);
  }
}

TEST_F(SqlApiTest, SqlTextLargerThanTheLimitIs413) {
  const std::string token = CreateProject("sql-text");
  std::string sql = "SELECT 1 AS one -- ";
  sql.resize(limits::kSqlTextBytesMax, 'x');
  HttpResponse at_limit = Sql("sql-text", token, {{"sql", sql}});
  EXPECT_EQ(at_limit.status, 200) << Describe(at_limit);
  HttpResponse over = Sql("sql-text", token, {{"sql", sql + "x"}});
  ExpectError(over, 413, "payload_too_large", "SQL text one byte over the limit");
  EXPECT_EQ(Body(over)["error"]["details"].value("field", ""), "sql") << Describe(over);
}

// The sandbox bound over HTTP: past it, 503 `unavailable` with a Retry-After header.
TEST_F(SqlApiTest, BusySandboxesAnswer503WithRetryAfter) {
  const std::string token = CreateProject("sql-busy");
  std::vector<std::future<HttpResponse>> long_ones;
  for (int i = 0; i < limits::kSqlSandboxesMax; ++i) {
    long_ones.push_back(std::async(std::launch::async, [&] {
      return Sql("sql-busy", token,
                 {{"sql", "SELECT count(*) FROM range(10000000000000)"}, {"timeout_ms", 5000}});
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // all of them admitted
  // Sandboxes are bounded server-wide; another project's token meets the bound (the first
  // token would meet its own heavy-request bound first, a 429).
  const std::string other = CreateProject("sql-busy-other");
  HttpResponse busy = Sql("sql-busy-other", other, {{"sql", "SELECT 1"}});
  ExpectError(busy, 503, "unavailable", "one query past the sandbox bound");
  EXPECT_EQ(busy.headers["retry-after"], std::to_string(limits::kRetryAfterSecondsDefault))
      << Describe(busy);
  for (auto& f : long_ones) {
    HttpResponse r = f.get();
    ExpectError(r, 400, "invalid_argument", "a bounded query running to its time limit");
  }
  HttpResponse after = Sql("sql-busy", token, {{"sql", "SELECT 1"}});
  EXPECT_EQ(after.status, 200) << Describe(after);
}

// No server path in an error message: a broken upload and a query reaching for the data dir.
TEST_F(SqlApiTest, ErrorsDoNotShowServerPaths) {
  const std::string token = CreateProject("no-paths");
  const std::string data = server_->data_dir();
  HttpResponse bad_parquet =
      Call("POST", P("no-paths") + "/tables/in.x.t/import?format=parquet", token,
           "this is not a parquet file at all", "application/octet-stream");
  ExpectError(bad_parquet, 400, "invalid_argument", "a broken Parquet upload");
  EXPECT_EQ(bad_parquet.body.find(data), std::string::npos) << Describe(bad_parquet);
  EXPECT_EQ(bad_parquet.body.find(".upload"), std::string::npos) << Describe(bad_parquet);
  HttpResponse reach =
      Sql("no-paths", token, {{"sql", "SELECT * FROM read_parquet('" + data + "/segments/*/*')"}});
  ExpectError(reach, 400, "invalid_argument", "SQL reaching into the data directory");
  EXPECT_EQ(reach.body.find(data), std::string::npos) << Describe(reach);
}

// Parsing and planning count: a 1 MB IN list takes seconds to plan, and its 1 s limit holds.
// Last in this file: the abandoned sandbox keeps its slot for those seconds, which would skew
// the sandbox-bound test when the suite runs in one process.
TEST_F(SqlApiTest, TimeLimitCountsFromTheRequestsArrival) {
  const std::string token = CreateProject("sql-deadline");
  std::string sql = "SELECT count(*) FROM range(10) WHERE range IN (";
  for (int i = 0; sql.size() < limits::kSqlTextBytesMax - 16; ++i)
    sql += (i ? "," : "") + std::to_string(i);
  sql += ")";
  const auto start = Clock::now();
  HttpResponse r = Sql("sql-deadline", token, {{"sql", sql}, {"timeout_ms", 1000}});
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ExpectError(r, 400, "invalid_argument", "1 MB IN list with a 1 s limit");
  EXPECT_NE(Body(r)["error"].value("message", "").find("time limit"), std::string::npos)
      << Describe(r);
  EXPECT_LT(seconds, 2.0) << "answered after " << seconds << " s";
}

}  // namespace
}  // namespace swan::testing
