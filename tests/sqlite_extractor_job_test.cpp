// The SQLite extractor (swan.ex-db-sqlite) as a job: a file of the project's import folder lands
// in Swan storage with its types, key and state; a path can never leave that folder (no `..`, no
// absolute path, no link out of it, not Swan's own files), and two projects each see only their
// own folder. (The connector's own cases: sqlite_extractor_test.)
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;
namespace stdfs = std::filesystem;

constexpr const char* kComponent = "swan.ex-db-sqlite";

// Runs `sql` on the database file `path` (created, with its folders, when missing); "" or
// SQLite's error.
std::string Sql(const std::string& path, const std::string& sql) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  sqlite3* db = nullptr;
  std::string error;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    error = db ? sqlite3_errmsg(db) : "cannot open";
  } else {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
      error = message ? message : "failed";
    sqlite3_free(message);
  }
  sqlite3_close(db);
  return error;
}

json Config(const std::string& path, const std::string& table, const std::string& output,
            json extra = json::object()) {
  json p = {{"db", {{"path", path}}}, {"table", {{"tableName", table}}}, {"outputTable", output}};
  for (auto& [k, v] : extra.items()) p[k] = v;
  return {{"parameters", p}};
}

// The job's error_kind, or "" (it is null on success).
std::string ErrorKind(const json& job) {
  return job.contains("error_kind") && job["error_kind"].is_string()
             ? job["error_kind"].get<std::string>()
             : "";
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    out.push_back(stdfs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

class SqliteExtractorJobTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  std::string Imports(const std::string& project) const {
    return server_.data_dir() + "/imports/" + project;
  }
  ServerProcess server_;
};

TEST_F(SqliteExtractorJobTest, ATableLandsAndIncrementalFetchingKeepsItsState) {
  const std::string file = Imports("sq-orders") + "/shop/orders.sqlite";
  ASSERT_EQ(Sql(file,
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, city TEXT, total DECIMAL(10,2), "
                "paid BOOLEAN, at DATETIME, data BLOB); INSERT INTO orders VALUES "
                "(1, 'Brno', 10.5, TRUE, '2024-01-01 10:00:00', x'00ff'), "
                "(2, 'Praha', 20, FALSE, '2024-01-02T11:00:00+01:00', NULL);"),
            "");
  const auto files_before = FilesUnder(Imports("sq-orders"));
  ProjectApi p(server_, "sq-orders");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("orders", kComponent,
                 Config("shop/orders.sqlite", "orders", "in.c-sq.orders",
                        {{"primaryKey", {"id"}}, {"incrementalFetchingColumn", "id"}}));
  json first = p.RunJob("orders");
  ASSERT_EQ(first.value("status", ""), "success") << DescribeJob(p, first);
  EXPECT_EQ(p.SortedRows("in.c-sq.orders"),
            (Rows{{"1", "Brno", "10.5", "true", "2024-01-01 10:00:00", "00ff"},
                  {"2", "Praha", "20.0", "false", "2024-01-02 10:00:00", "null"}}));
  const json table = p.Table("in.c-sq.orders");
  EXPECT_EQ(table.value("primary_key", json::array()), json({"id"})) << table.dump();
  std::vector<std::string> types;
  for (const auto& c : table.value("columns", json::array())) types.push_back(c.value("type", ""));
  EXPECT_EQ(types, (std::vector<std::string>{"BIGINT", "VARCHAR", "DECIMAL(10,2)", "BOOLEAN",
                                             "TIMESTAMP", "VARCHAR"}))
      << table.dump();
  EXPECT_EQ(p.State("orders").value("lastFetchedRow", ""), "2");

  ASSERT_EQ(Sql(file, "INSERT INTO orders VALUES (3, 'Ostrava', 5, 0, NULL, NULL);"), "");
  json second = p.RunJob("orders");
  ASSERT_EQ(second.value("status", ""), "success") << DescribeJob(p, second);
  EXPECT_EQ(p.SortedRows("in.c-sq.orders").size(), 3u);
  EXPECT_EQ(p.State("orders").value("lastFetchedRow", ""), "3");
  // Read-only: nothing was created beside the file.
  EXPECT_EQ(FilesUnder(Imports("sq-orders")), files_before);
}

// A value that does not fit its declared type is the user's to fix: the job says where.
TEST_F(SqliteExtractorJobTest, AValueThatDoesNotFitIsAUserError) {
  ASSERT_EQ(Sql(Imports("sq-misfit") + "/m.sqlite",
                "CREATE TABLE m (id INTEGER, n INTEGER); INSERT INTO m VALUES (1, 1), (2, 'two');"),
            "");
  ProjectApi p(server_, "sq-misfit");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("m", kComponent, Config("m.sqlite", "m", "in.c-sq.m"));
  json job = p.RunJob("m");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(ErrorKind(job), "user") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("column 'n', row 2: the text 'two'"), std::string::npos)
      << DescribeJob(p, job);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// Tenants never meet: a path that leaves the project's import folder, however it is spelled, is
// refused before anything is read, and nothing is written.
TEST_F(SqliteExtractorJobTest, PathsLeavingTheImportFolderAreRefused) {
  const std::string secret = Imports("sq-a") + "/secret.sqlite";
  ASSERT_EQ(Sql(secret, "CREATE TABLE secret (s TEXT); INSERT INTO secret VALUES ('hidden');"), "");
  ASSERT_EQ(Sql(Imports("sq-b") + "/own.sqlite",
                "CREATE TABLE secret (s TEXT); INSERT INTO secret VALUES ('own');"),
            "");
  const std::string b = Imports("sq-b");
  stdfs::create_symlink(secret, b + "/link.sqlite");  // a file of sq-a
  stdfs::create_symlink("../sq-a", b + "/folder");    // sq-a's folder
  stdfs::create_symlink(server_.data_dir() + "/catalog.db", b + "/catalog.sqlite");  // Swan's
  stdfs::create_directories(b + "/sub");
  stdfs::create_symlink("../../sq-a/secret.sqlite", b + "/sub/relative.sqlite");
  stdfs::create_symlink("own.sqlite", b + "/alias.sqlite");  // a link that stays inside: fine
  const std::string secret_before = ReadFile(secret);
  const std::string catalog_file = server_.data_dir() + "/catalog.db";
  ASSERT_TRUE(stdfs::exists(catalog_file));

  ProjectApi a(server_, "sq-a"), pb(server_, "sq-b");
  ASSERT_TRUE(a.ok() && pb.ok());
  const std::vector<std::string> refused = {
      "../sq-a/secret.sqlite",
      "sub/../../sq-a/secret.sqlite",
      "./../sq-a/secret.sqlite",
      secret,
      "link.sqlite",
      "folder/secret.sqlite",
      "catalog.sqlite",
      "sub/relative.sqlite",
      "..",
      "",
      "missing.sqlite",
      "sub",
  };
  for (size_t i = 0; i < refused.size(); ++i) {
    SCOPED_TRACE("parameters.db.path = " + refused[i]);
    const std::string id = "escape" + std::to_string(i);
    pb.CreateConfig(id, kComponent, Config(refused[i], "secret", "in.c-sq.stolen"));
    json job = pb.RunJob(id);
    EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(pb, job);
    EXPECT_EQ(ErrorKind(job), "user") << DescribeJob(pb, job);
    const std::string described = DescribeJob(pb, job);
    EXPECT_NE(job.value("message", "").find("parameters.db.path"), std::string::npos) << described;
    EXPECT_EQ(described.find("hidden"), std::string::npos) << described;
    EXPECT_EQ(described.find(server_.data_dir()), std::string::npos) << described;  // no paths
  }
  EXPECT_TRUE(pb.Ok("GET", pb.Path("/tables")).value("tables", json::array()).empty());
  EXPECT_EQ(ReadFile(secret), secret_before);
  EXPECT_EQ(FilesUnder(Imports("sq-a")), std::vector<std::string>{"secret.sqlite"});

  // A link that stays inside the folder is followed.
  pb.CreateConfig("alias", kComponent, Config("alias.sqlite", "secret", "in.c-sq.own"));
  json ok = pb.RunJob("alias");
  ASSERT_EQ(ok.value("status", ""), "success") << DescribeJob(pb, ok);
  EXPECT_EQ(pb.SortedRows("in.c-sq.own"), (Rows{{"own"}}));
}

// Two projects with the same configuration read each their own file; a project with no import
// folder reads nothing.
TEST_F(SqliteExtractorJobTest, EachProjectSeesOnlyItsOwnImportFolder) {
  for (const std::string name : {"sq-one", "sq-two"})
    ASSERT_EQ(Sql(Imports(name) + "/data.sqlite",
                  "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from " + name + "');"),
              "");
  ProjectApi one(server_, "sq-one"), two(server_, "sq-two"), three(server_, "sq-three");
  ASSERT_TRUE(one.ok() && two.ok() && three.ok());
  for (const ProjectApi* p : {&one, &two, &three}) {
    p->CreateConfig("t", kComponent, Config("data.sqlite", "t", "in.c-sq.t"));
    json job = p->RunJob("t");
    if (p == &three) {
      EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(*p, job);
      EXPECT_NE(job.value("message", "").find("parameters.db.path: the project has no import"),
                std::string::npos)
          << DescribeJob(*p, job);
      continue;
    }
    ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(*p, job);
    EXPECT_EQ(p->SortedRows("in.c-sq.t"), (Rows{{"from " + p->name()}}));
  }
  HttpResponse cross = HttpCall("GET", server_.url() + one.Path("/tables/in.c-sq.t"),
                                {"Authorization: Bearer " + two.token()}, "");
  EXPECT_EQ(cross.status / 100, 4) << cross.body;
}

// $SWAN_IMPORT_DIR moves the import root (<data>/imports is then not read); the component is
// listed as needing no network.
TEST_F(SqliteExtractorJobTest, TheImportRootComesFromSwanImportDir) {
  TempDir root;
  ASSERT_EQ(setenv("SWAN_IMPORT_DIR", root.path().c_str(), 1), 0);
  ServerProcess moved;
  unsetenv("SWAN_IMPORT_DIR");
  ASSERT_TRUE(moved.ok()) << moved.error();
  ASSERT_EQ(Sql(root.path() + "/sq-env/x.sqlite",
                "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('import root');"),
            "");
  ASSERT_EQ(Sql(moved.data_dir() + "/imports/sq-env/x.sqlite",
                "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('data dir');"),
            "");
  ProjectApi p(moved, "sq-env");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("x", kComponent, Config("x.sqlite", "t", "in.c-sq.x"));
  json job = p.RunJob("x");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.SortedRows("in.c-sq.x"), (Rows{{"import root"}}));

  json component = p.Ok("GET", "/v1/components/" + std::string(kComponent));
  const json c = component.value("component", component);
  EXPECT_EQ(c.value("network", true), false) << component.dump();
  EXPECT_EQ(c.value("type", ""), "extractor") << component.dump();
}

// The job's timeout stops a long statement: the job ends as timed out and nothing lands.
TEST_F(SqliteExtractorJobTest, TheJobTimeoutStopsALongQuery) {
  ASSERT_EQ(Sql(Imports("sq-slow") + "/s.sqlite", "CREATE TABLE t (id INTEGER);"), "");
  ProjectApi p(server_, "sq-slow");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("slow", kComponent,
                 {{"parameters",
                   {{"db", {{"path", "s.sqlite"}}},
                    {"query",
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT count(*) AS n FROM c"},
                    {"outputTable", "in.c-sq.slow"}}}});
  const auto start = std::chrono::steady_clock::now();
  json job = p.RunJob("slow", {{"timeout", 1}});
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(ErrorKind(job), "timeout") << DescribeJob(p, job);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

}  // namespace
}  // namespace swan::testing
