// The examples of docs/connectors.md run as written: every connector in the document's table has
// an example (marked `<!-- example: <component id> -->` before its ```json block), and each runs
// as a job against a real peer — a local HTTP server (tests/servers/docs_api.py), PostgreSQL 15,
// MariaDB — with only hosts, ports and secrets swapped for the test's. An example that stops
// working, or a connector added without one, fails here.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "mysql_server.h"
#include "pg_server.h"
#include "python_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

const std::string kKey = "docs-key-7f3a";

std::string DocsFile() {
  const std::string file = __FILE__;
  return file.substr(0, file.rfind('/')) + "/../docs/connectors.md";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return "(cannot open " + path + ")";
  std::string out;
  char buf[4096];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// The component ids of the document's table (rows "| `id` | what |") and its examples.
struct Docs {
  std::vector<std::string> components;
  std::map<std::string, std::string> examples;  // component id -> the JSON text
};

Docs ReadDocs() {
  Docs docs;
  std::istringstream in(Slurp(DocsFile()));
  const std::regex row(R"(^\| `([a-z0-9.-]+)` \|)");
  const std::regex marker(R"(^<!-- example: ([a-z0-9.-]+) -->$)");
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) docs.components.push_back(m[1]);
    if (!std::regex_match(line, m, marker)) continue;
    const std::string id = m[1];
    std::string fence, text;
    std::getline(in, fence);
    EXPECT_EQ(fence, "```json") << "the example of " << id << " is not a ```json block";
    while (std::getline(in, line) && line != "```") text += line + "\n";
    EXPECT_EQ(docs.examples.count(id), 0u) << "two examples of " << id;
    docs.examples[id] = text;
  }
  return docs;
}

class ConnectorsDocsTest : public ::testing::Test {
 protected:
  // Each test starts only the peers it needs (ctest runs every test in a process of its own).
  static void SetUpTestSuite() { api_ = new PythonServer("docs_api.py", {kKey}); }
  static PgServer* Pg() { return pg_ != nullptr ? pg_ : (pg_ = new PgServer()); }
  static MysqlServer* Mysql() { return mysql_ != nullptr ? mysql_ : (mysql_ = new MysqlServer()); }
  static void TearDownTestSuite() {
    delete pg_;
    delete mysql_;
    delete api_;
    pg_ = nullptr;
    mysql_ = nullptr;
    api_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.error();
    docs_ = ReadDocs();
  }

  // The example of `component`, parsed (a failure when missing or not JSON).
  json Example(const std::string& component) {
    auto it = docs_.examples.find(component);
    if (it == docs_.examples.end()) {
      ADD_FAILURE() << "docs/connectors.md has no example of " << component;
      return json::object();
    }
    json parsed = json::parse(it->second, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << component << ": not JSON:\n" << it->second;
    return parsed.is_discarded() ? json::object() : parsed;
  }

  // Runs `configuration` as a job of `component` in project `p`; the job at its end. It is sent
  // as text in the document's key order (key order decides a Generic Extractor's columns).
  json Run(const ProjectApi& p, const std::string& component, const json& configuration) {
    nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(
        docs_.examples.count(component) ? docs_.examples[component] : "{}", nullptr, false);
    Overlay(ordered, configuration);
    const std::string body = R"({"id": "example", "component_id": ")" + component +
                             R"(", "configuration": )" + ordered.dump() + "}";
    HttpResponse r =
        HttpCall("POST", server_.url() + p.Path("/configs"),
                 {"Authorization: Bearer " + p.token(), "Content-Type: application/json"}, body);
    EXPECT_EQ(r.status, 201) << DescribeResponse(r);
    return p.RunJob("example");
  }

  // `target` (the example as written, in its order) takes every value of `values` (the example
  // with the test's hosts and secrets).
  static void Overlay(nlohmann::ordered_json& target, const json& values) {
    if (!values.is_object() || !target.is_object()) {
      target = nlohmann::ordered_json::parse(values.dump());
      return;
    }
    for (const auto& [k, v] : values.items()) {
      if (target.contains(k)) {
        Overlay(target[k], v);
      } else {
        target[k] = nlohmann::ordered_json::parse(v.dump());
      }
    }
  }

  static PgServer* pg_;
  static MysqlServer* mysql_;
  static PythonServer* api_;
  ServerProcess server_;
  Docs docs_;
};
PgServer* ConnectorsDocsTest::pg_ = nullptr;
MysqlServer* ConnectorsDocsTest::mysql_ = nullptr;
PythonServer* ConnectorsDocsTest::api_ = nullptr;

TEST_F(ConnectorsDocsTest, EveryConnectorHasOneExample) {
  ASSERT_GE(docs_.components.size(), 6u) << "the components table was not found";
  std::set<std::string> listed(docs_.components.begin(), docs_.components.end());
  for (const auto& id : docs_.components) EXPECT_EQ(docs_.examples.count(id), 1u) << id;
  for (const auto& [id, text] : docs_.examples) EXPECT_EQ(listed.count(id), 1u) << id;
  // Each component of the table is tried by a test of this file.
  const std::set<std::string> tried = {
      "keboola.ex-generic-v2", "keboola.ex-db-pgsql", "keboola.ex-db-mysql", "swan.ex-db-sqlite",
      "keboola.wr-db-pgsql",   "swan.ex-http",        "swan.wr-file"};
  EXPECT_EQ(listed, tried);
}

TEST_F(ConnectorsDocsTest, GenericExtractor) {
  ASSERT_GT(api_->port(), 0);
  json config = Example("keboola.ex-generic-v2");
  config["parameters"]["api"]["baseUrl"] = api_->url("/v1/");
  config["parameters"]["config"]["#token"] = kKey;
  ProjectApi p(server_, "docs-rest");
  ASSERT_TRUE(p.ok());
  json job = Run(p, "keboola.ex-generic-v2", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.SortedRows("in.c-example.users").size(), 3u);
  const auto columns = p.Columns("in.c-example.users");
  EXPECT_NE(std::find(columns.begin(), columns.end(), "address_city"), columns.end())
      << "columns of in.c-example.users";
  EXPECT_EQ(p.SortedRows("in.c-example.users_tags").size(), 3u);
  // The recursion filter skips the deleted user's orders; the mapping names the columns.
  EXPECT_EQ(p.Columns("in.c-example.orders"), (std::vector<std::string>{"id", "total", "user_id"}));
  EXPECT_EQ(p.SortedRows("in.c-example.orders"),
            (Rows{{"10", "5.5", "1"}, {"11", "7", "1"}, {"30", "1.25", "3"}}));
  EXPECT_EQ(p.Table("in.c-example.orders").value("primary_key", json::array()), json({"id"}));
  EXPECT_TRUE(p.State("example")["time"].contains("previousStart")) << p.State("example").dump();
}

TEST_F(ConnectorsDocsTest, PostgresExtractor) {
  PgServer* pg_ = Pg();
  ASSERT_TRUE(pg_->ok()) << pg_->error();
  ASSERT_EQ(pg_->Psql("CREATE DATABASE shop"), "");
  ASSERT_EQ(pg_->Psql("CREATE TABLE public.orders (id int PRIMARY KEY, customer text, "
                      "total numeric(10,2), updated_at timestamptz, note text);"
                      "INSERT INTO orders VALUES (1, 'Ann', 10.50, '2026-12-01 10:00+01', 'x'),"
                      "(2, 'Bob', 3.00, '2026-12-02 08:30+00', 'y');",
                      "shop"),
            "");
  json config = Example("keboola.ex-db-pgsql");
  json& db = config["parameters"]["db"];
  db["host"] = "127.0.0.1";
  db["port"] = pg_->port();
  db["user"] = "postgres";
  db["#password"] = PgServer::kPassword;
  ProjectApi p(server_, "docs-pg");
  ASSERT_TRUE(p.ok());
  json job = Run(p, "keboola.ex-db-pgsql", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.Columns("in.c-shop.orders"),
            (std::vector<std::string>{"id", "customer", "total", "updated_at"}));
  EXPECT_EQ(p.SortedRows("in.c-shop.orders").size(), 2u);
  EXPECT_EQ(p.State("example").value("lastFetchedRow", ""), "2026-12-02 08:30:00+00")
      << p.State("example").dump();
}

TEST_F(ConnectorsDocsTest, MysqlExtractor) {
  MysqlServer* mysql_ = Mysql();
  ASSERT_TRUE(mysql_->ok()) << mysql_->error();
  ASSERT_EQ(mysql_->Sql("CREATE DATABASE shop; USE shop; CREATE TABLE customers (id INT PRIMARY "
                        "KEY, name VARCHAR(50), updated_at DATETIME); INSERT INTO customers VALUES "
                        "(1, 'Ann', '2026-12-01 10:00:00'), (2, 'Bob', '2026-12-02 11:00:00');"),
            "");
  json config = Example("keboola.ex-db-mysql");
  json& db = config["parameters"]["db"];
  db["host"] = "127.0.0.1";
  db["port"] = mysql_->port();
  db["user"] = MysqlServer::kUser;
  db["#password"] = MysqlServer::kPassword;
  ProjectApi p(server_, "docs-mysql");
  ASSERT_TRUE(p.ok());
  json job = Run(p, "keboola.ex-db-mysql", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.SortedRows("in.c-shop.customers"),
            (Rows{{"1", "Ann", "2026-12-01 10:00:00"}, {"2", "Bob", "2026-12-02 11:00:00"}}));
  EXPECT_EQ(p.State("example").value("lastFetchedRow", ""), "2026-12-02 11:00:00");
}

// The file is made where the example's db.path points, in the project's import folder.
TEST_F(ConnectorsDocsTest, SqliteExtractor) {
  json config = Example("swan.ex-db-sqlite");
  const std::string file =
      server_.data_dir() + "/imports/docs-sqlite/" + config["parameters"]["db"].value("path", "");
  std::filesystem::create_directories(std::filesystem::path(file).parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db,
                              "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total "
                              "DECIMAL(10,2), updated_at DATETIME, note TEXT); INSERT INTO orders "
                              "VALUES (1, 'Ann', 10.5, '2026-12-01 10:00:00', 'x'), "
                              "(2, 'Bob', 3, '2026-12-02 08:30:00', 'y');",
                              nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
  ProjectApi p(server_, "docs-sqlite");
  ASSERT_TRUE(p.ok());
  json job = Run(p, "swan.ex-db-sqlite", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.Columns("in.c-shop.orders"),
            (std::vector<std::string>{"id", "customer", "total", "updated_at"}));
  EXPECT_EQ(p.SortedRows("in.c-shop.orders"), (Rows{{"1", "Ann", "10.5", "2026-12-01 10:00:00"},
                                                    {"2", "Bob", "3.0", "2026-12-02 08:30:00"}}));
  EXPECT_EQ(p.State("example").value("lastFetchedRow", ""), "2026-12-02 08:30:00");
}

TEST_F(ConnectorsDocsTest, PostgresWriter) {
  PgServer* pg_ = Pg();
  ASSERT_TRUE(pg_->ok()) << pg_->error();
  ASSERT_EQ(pg_->Psql("CREATE DATABASE bi"), "");
  ProjectApi p(server_, "docs-pgw");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("out.c-report.daily",
              "day,city,revenue\n2026-12-01,Prague,100.50\n2026-12-01,Brno,20\n");
  json config = Example("keboola.wr-db-pgsql");
  json& db = config["parameters"]["db"];
  db["host"] = "127.0.0.1";
  db["port"] = pg_->port();
  db["user"] = "postgres";
  db["#password"] = PgServer::kPassword;
  json job = Run(p, "keboola.wr-db-pgsql", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SELECT day, city, revenue FROM public.daily ORDER BY city", "bi"),
            "2026-12-01|Brno|20.00\n2026-12-01|Prague|100.50");
  // incremental with the primary key: a second run upserts instead of adding rows.
  p.ImportCsv("out.c-report.daily", "day,city,revenue\n2026-12-01,Brno,25\n");
  job = p.RunJob("example");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SELECT day, city, revenue FROM public.daily ORDER BY city", "bi"),
            "2026-12-01|Brno|25.00\n2026-12-01|Prague|100.50");
}

TEST_F(ConnectorsDocsTest, HttpFileExtractor) {
  ASSERT_GT(api_->port(), 0);
  json config = Example("swan.ex-http");
  const std::string url = config["parameters"].value("url", "");
  const size_t path = url.find("/exports/");
  ASSERT_NE(path, std::string::npos) << url;
  config["parameters"]["url"] = api_->url(url.substr(path));
  config["parameters"]["auth"]["#token"] = kKey;
  config["parameters"]["headers"]["#X-Api-Key"] = kKey;
  ProjectApi p(server_, "docs-http");
  ASSERT_TRUE(p.ok());
  json job = Run(p, "swan.ex-http", config);
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.SortedRows("in.c-rates.daily"), (Rows{{"2026-12-01", "EUR", "24.31"},
                                                    {"2026-12-01", "USD", "20.95"},
                                                    {"2026-12-02", "EUR", "24.28"}}));
  EXPECT_EQ(p.Table("in.c-rates.daily").value("primary_key", json::array()),
            json({"day", "currency"}));
}

TEST_F(ConnectorsDocsTest, FileWriter) {
  ProjectApi p(server_, "docs-files");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("out.c-report.daily", "day,city,revenue\n2026-12-01,Prague,100.5\n");
  json job = Run(p, "swan.wr-file", Example("swan.wr-file"));
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(Gunzip(server_.data_dir() + "/exports/docs-files/reports/daily/daily.csv.gz"),
            "day,city,revenue\n2026-12-01,Prague,100.5\n");
}

}  // namespace
}  // namespace swan::testing
