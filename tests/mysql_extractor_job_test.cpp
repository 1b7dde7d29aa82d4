// The MySQL/MariaDB extractor (keboola.ex-db-mysql) as a job against a real MariaDB server: a
// table lands with its types and key, incremental fetching keeps its state, the password never
// shows, and two projects never meet. (The connector's own cases: mysql_extractor_test.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "mysql_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

class MysqlExtractorJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { db_ = new MysqlServer(); }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(db_->ok()) << db_->error();
    ASSERT_TRUE(server_.ok()) << server_.error();
  }
  static json Config(const std::string& table, const std::string& output, json extra = {}) {
    json p = {{"db",
               {{"host", "127.0.0.1"},
                {"port", db_->port()},
                {"database", MysqlServer::kDatabase},
                {"user", MysqlServer::kUser},
                {"#password", MysqlServer::kPassword}}},
              {"table", {{"tableName", table}}},
              {"outputTable", output},
              {"primaryKey", {"id"}}};
    if (extra.is_object())
      for (auto& [k, v] : extra.items()) p[k] = v;
    return {{"parameters", p}};
  }
  static MysqlServer* db_;
  ServerProcess server_;
};
MysqlServer* MysqlExtractorJobTest::db_ = nullptr;

TEST_F(MysqlExtractorJobTest, ATableLandsAndIncrementalFetchingKeepsItsState) {
  ASSERT_EQ(db_->Sql("CREATE TABLE orders (id INT PRIMARY KEY, city VARCHAR(20), total "
                     "DECIMAL(10,2)); INSERT INTO orders VALUES (1, 'Brno', 10.50), (2, 'Praha', "
                     "20.00);"),
            "");
  ProjectApi p(server_, "my-orders");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("orders", "keboola.ex-db-mysql",
                 Config("orders", "in.c-my.orders", {{"incrementalFetchingColumn", "id"}}));
  json first = p.RunJob("orders");
  ASSERT_EQ(first.value("status", ""), "success") << DescribeJob(p, first);
  EXPECT_EQ(p.SortedRows("in.c-my.orders"), (Rows{{"1", "Brno", "10.5"}, {"2", "Praha", "20.0"}}));
  const json table = p.Table("in.c-my.orders");
  EXPECT_EQ(table.value("primary_key", json::array()), json({"id"})) << table.dump();
  EXPECT_EQ(p.State("orders").value("lastFetchedRow", ""), "2");
  const std::string log = DescribeJob(p, first);
  EXPECT_EQ(log.find(MysqlServer::kPassword), std::string::npos) << log;

  ASSERT_EQ(db_->Sql("INSERT INTO orders VALUES (3, 'Ostrava', 5);"), "");
  json second = p.RunJob("orders");
  ASSERT_EQ(second.value("status", ""), "success") << DescribeJob(p, second);
  EXPECT_EQ(p.SortedRows("in.c-my.orders").size(), 3u);
  EXPECT_EQ(p.State("orders").value("lastFetchedRow", ""), "3");
}

TEST_F(MysqlExtractorJobTest, AWrongPasswordIsAUserError) {
  ProjectApi p(server_, "my-login");
  ASSERT_TRUE(p.ok());
  json config = Config("orders", "in.c-my.bad");
  config["parameters"]["db"]["#password"] = "not-the-password";
  p.CreateConfig("bad", "keboola.ex-db-mysql", config);
  json job = p.RunJob("bad");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.value("error_kind", ""), "user") << DescribeJob(p, job);
  EXPECT_EQ(DescribeJob(p, job).find("not-the-password"), std::string::npos);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// Tenants never meet: two projects extract into their own storage only.
TEST_F(MysqlExtractorJobTest, EachProjectWritesOnlyItsOwnTables) {
  ASSERT_EQ(db_->Sql("CREATE TABLE shared (id INT PRIMARY KEY); INSERT INTO shared VALUES (7);"),
            "");
  ProjectApi a(server_, "my-a"), b(server_, "my-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.CreateConfig("s", "keboola.ex-db-mysql", Config("shared", "in.c-my.shared"));
  ASSERT_EQ(a.RunJob("s").value("status", ""), "success");
  const json before = a.Table("in.c-my.shared");
  b.CreateConfig("s", "keboola.ex-db-mysql", Config("shared", "in.c-my.shared"));
  ASSERT_EQ(b.RunJob("s").value("status", ""), "success");
  EXPECT_EQ(a.Table("in.c-my.shared"), before);
  HttpResponse cross = HttpCall("GET", server_.url() + a.Path("/tables/in.c-my.shared"),
                                {"Authorization: Bearer " + b.token()}, "");
  EXPECT_EQ(cross.status / 100, 4) << cross.body;
}

}  // namespace
}  // namespace swan::testing
