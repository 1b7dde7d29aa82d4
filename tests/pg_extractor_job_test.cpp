// The PostgreSQL extractor (keboola.ex-db-pgsql) as a job against a real PostgreSQL 15 server:
// types, incremental fetching with state, a refused login, a server that goes away mid-stream,
// tables loaded slice by slice while they are read, and two projects that never meet.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "pg_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

class PgExtractorJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new PgServer(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(pg_->ok()) << pg_->error();
    ASSERT_TRUE(server_.ok()) << server_.error();
  }

  static json Db(const std::string& password = PgServer::kPassword) {
    return {{"host", "127.0.0.1"},
            {"port", pg_->port()},
            {"database", "postgres"},
            {"user", "postgres"},
            {"#password", password}};
  }

  static PgServer* pg_;
  ServerProcess server_;
};
PgServer* PgExtractorJobTest::pg_ = nullptr;

TEST_F(PgExtractorJobTest, ATableWithItsTypes) {
  ASSERT_EQ(pg_->Psql(R"SQL(
DROP TABLE IF EXISTS typed;
CREATE TABLE typed (id int PRIMARY KEY, name text, price numeric(10,2), ratio float8,
  active bool, born date, seen timestamptz, tags text[], doc jsonb);
SET TimeZone = 'Europe/Prague';
INSERT INTO typed VALUES
  (1, 'plain', 12.50, 0.25, true, '2024-02-29', '2024-06-01 12:00:00+02', '{a,b}', '{"k": [1, 2]}'),
  (2, 'quote " and, comma
and a new line', 0.10, -1e10, false, '1999-12-31', '2024-01-01 00:30:00+01', '{}', 'null'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
)SQL"),
            "");
  ProjectApi p(server_, "pg-types");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("typed", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", Db()},
                    {"table", {{"schema", "public"}, {"tableName", "typed"}}},
                    {"outputTable", "in.c-pg.typed"},
                    {"primaryKey", {"id"}}}}});
  json job = p.RunJob("typed");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  const json table = p.Table("in.c-pg.typed");
  std::map<std::string, std::string> types;
  for (const auto& c : table.value("columns", json::array()))
    types[c.value("name", "")] = c.value("type", "");
  EXPECT_EQ(types["id"], "BIGINT") << table.dump();
  EXPECT_EQ(types["price"], "DECIMAL(10,2)") << table.dump();
  EXPECT_EQ(types["ratio"], "DOUBLE") << table.dump();
  EXPECT_EQ(types["active"], "BOOLEAN") << table.dump();
  EXPECT_EQ(types["born"], "DATE") << table.dump();
  EXPECT_EQ(types["seen"], "TIMESTAMP") << table.dump();
  EXPECT_EQ(types["tags"], "VARCHAR") << table.dump();
  EXPECT_EQ(table.value("primary_key", json::array()), json({"id"})) << table.dump();
  const Rows rows = p.SortedRows("in.c-pg.typed");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"1", "plain", "12.5", "0.25", "true", "2024-02-29",
                                      "2024-06-01 10:00:00", "[\"a\",\"b\"]", "{\"k\": [1, 2]}"}));
  EXPECT_EQ(rows[1][1], "quote \" and, comma\nand a new line");
  EXPECT_EQ(rows[1][6], "2023-12-31 23:30:00");  // timestamps with zone arrive in UTC
  EXPECT_EQ(rows[1][7], "[]");
  EXPECT_EQ(rows[2][1], "null");
}

// A database in LATIN1: the connection asks for UTF-8, so the server converts and the table
// holds the same characters (read as LATIN1 bytes, they would be invalid UTF-8).
TEST_F(PgExtractorJobTest, ALatin1DatabaseArrivesAsUtf8) {
  ASSERT_EQ(pg_->CreateLatin1Database("latin_ex"), "");
  ASSERT_EQ(pg_->Psql("SET client_encoding = 'UTF8'; CREATE TABLE names (id int PRIMARY KEY, "
                      "name text); INSERT INTO names VALUES (1, 'Crème brûlée'), (2, 'Ærø "
                      "ñandú ß ©');",
                      "latin_ex"),
            "");
  ASSERT_EQ(pg_->Psql("SELECT octet_length(name) FROM names ORDER BY id", "latin_ex"), "12\n13")
      << "one byte a character: the database holds LATIN1";
  ProjectApi p(server_, "pg-latin1");
  ASSERT_TRUE(p.ok());
  json db = Db();
  db["database"] = "latin_ex";
  p.CreateConfig("names", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", db},
                    {"table", {{"tableName", "names"}}},
                    {"outputTable", "in.c-pg.names"},
                    {"primaryKey", {"id"}}}}});
  json job = p.RunJob("names");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(p.SortedRows("in.c-pg.names"), (Rows{{"1", "Crème brûlée"}, {"2", "Ærø ñandú ß ©"}}));
}

// incrementalFetchingColumn: the first run reads all, the next reads rows >= the last value
// (Keboola's rule: rows sharing the last value are read again, the primary key upserts them).
TEST_F(PgExtractorJobTest, IncrementalFetchingKeepsItsState) {
  ASSERT_EQ(pg_->Psql("DROP TABLE IF EXISTS events; CREATE TABLE events (id int PRIMARY KEY, v "
                      "text); INSERT INTO events SELECT g, 'v' || g FROM generate_series(1, 3) g;"),
            "");
  ProjectApi p(server_, "pg-incremental");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("events", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", Db()},
                    {"table", {{"tableName", "events"}}},
                    {"outputTable", "in.c-pg.events"},
                    {"primaryKey", {"id"}},
                    {"incrementalFetchingColumn", "id"}}}});
  json first = p.RunJob("events");
  ASSERT_EQ(first.value("status", ""), "success") << DescribeJob(p, first);
  EXPECT_EQ(p.State("events").value("lastFetchedRow", ""), "3") << p.State("events").dump();
  ASSERT_EQ(pg_->Psql("UPDATE events SET v = 'changed' WHERE id = 3; INSERT INTO events VALUES "
                      "(4, 'v4'), (5, 'v5'); UPDATE events SET v = 'not read' WHERE id = 1;"),
            "");
  json second = p.RunJob("events");
  ASSERT_EQ(second.value("status", ""), "success") << DescribeJob(p, second);
  EXPECT_NE(p.JobLog(second.value("id", int64_t{0})).find("3 rows"), std::string::npos)
      << p.JobLog(second.value("id", int64_t{0}));
  EXPECT_EQ(p.SortedRows("in.c-pg.events"),
            (Rows{{"1", "v1"}, {"2", "v2"}, {"3", "changed"}, {"4", "v4"}, {"5", "v5"}}));
  EXPECT_EQ(p.State("events").value("lastFetchedRow", ""), "5");
}

TEST_F(PgExtractorJobTest, AWrongPasswordIsAUserErrorThatShowsNoPassword) {
  ProjectApi p(server_, "pg-login");
  ASSERT_TRUE(p.ok());
  const std::string wrong = "wrong-password-123";
  p.CreateConfig(
      "bad", "keboola.ex-db-pgsql",
      {{"parameters",
        {{"db", Db(wrong)}, {"table", {{"tableName", "typed"}}}, {"outputTable", "in.c-pg.bad"}}}});
  json job = p.RunJob("bad");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.value("error_kind", ""), "user") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("authentication failed"), std::string::npos)
      << DescribeJob(p, job);
  EXPECT_EQ(DescribeJob(p, job).find(wrong), std::string::npos) << DescribeJob(p, job);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// The server ends the session while rows stream: the job fails with the server's message and
// no table (or version) appears.
TEST_F(PgExtractorJobTest, AServerThatGoesAwayMidStreamLeavesStorageUnchanged) {
  ASSERT_EQ(pg_->Psql("CREATE OR REPLACE VIEW endless AS SELECT g AS id, md5(g::text) AS h FROM "
                      "generate_series(1, 200000000) g;"),
            "");
  ProjectApi p(server_, "pg-gone");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("endless", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", Db()},
                    {"table", {{"tableName", "endless"}}},
                    {"outputTable", "in.c-pg.endless"}}}});
  std::thread killer([&] {
    // Once the extractor's COPY runs, end its session from the server side.
    for (int i = 0; i < 300; ++i) {
      const std::string n = pg_->Psql(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name "
          "= 'swan' AND query LIKE 'COPY%'");
      if (n == "1") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  json job = p.RunJob("endless");
  killer.join();
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("terminat"), std::string::npos) << DescribeJob(p, job);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
}

// A server whose extractors close a slice every 64 KiB (then an eighth of what was written).
class SmallSlices {
 public:
  SmallSlices() {
    ::setenv("SWAN_EXTRACT_SLICE_BYTES", "65536", 1);
    server_ = std::make_unique<ServerProcess>();
    ::unsetenv("SWAN_EXTRACT_SLICE_BYTES");
  }
  ServerProcess& server() { return *server_; }

 private:
  std::unique_ptr<ServerProcess> server_;
};

json Sql(const ProjectApi& p, const std::string& sql) {
  return p.Ok("POST", p.Path("/sql"), json{{"sql", sql}});
}

int64_t SegmentFiles(const std::string& data_dir) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir + "/segments", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    n += it->path().extension() == ".parquet";
  return n;
}

// A table of many slices loads slice by slice while it is read: one version whose segments are
// the slices, with every row once; the next full load replaces it.
TEST_F(PgExtractorJobTest, ATableOfManySlicesLoadsWhileItIsRead) {
  ASSERT_EQ(
      pg_->Psql("DROP TABLE IF EXISTS big; CREATE TABLE big AS SELECT g AS id, 'name ' || g "
                "AS name, (g % 97)::numeric(6,2) AS amount FROM generate_series(1, 40000) g;"),
      "");
  SmallSlices small;
  ASSERT_TRUE(small.server().ok()) << small.server().error();
  ProjectApi p(small.server(), "pg-slices");
  ASSERT_TRUE(p.ok());
  p.CreateConfig(
      "big", "keboola.ex-db-pgsql",
      {{"parameters",
        {{"db", Db()}, {"table", {{"tableName", "big"}}}, {"outputTable", "in.c-pg.big"}}}});
  for (int run = 0; run < 2; ++run) {
    json job = p.RunJob("big");
    ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
    const json table = p.Table("in.c-pg.big");
    EXPECT_EQ(table.value("row_count", int64_t{0}), 40000) << table.dump();
    EXPECT_GT(table.value("segments", 0), 4) << table.dump();  // one per slice
    const json sums =
        Sql(p,
            "SELECT count(*)::VARCHAR, count(DISTINCT id)::VARCHAR, sum(id)::VARCHAR, "
            "sum(amount)::VARCHAR FROM \"in.c-pg.big\"");
    EXPECT_EQ(sums.value("rows", json::array()),
              json::array({json::array({"40000", "40000", "800020000", "1918938.00"})}))
        << sums.dump();
    std::map<std::string, std::string> types;
    for (const auto& c : table.value("columns", json::array()))
      types[c.value("name", "")] = c.value("type", "");
    EXPECT_EQ(types["amount"], "DECIMAL(6,2)") << table.dump();
  }
}

// With a primary key, keys may repeat across slices: the table loads whole at the end, and the
// last row of a key wins as in any load.
TEST_F(PgExtractorJobTest, APrimaryKeyRepeatedAcrossSlicesKeepsItsLastRow) {
  SmallSlices small;
  ASSERT_TRUE(small.server().ok()) << small.server().error();
  ProjectApi p(small.server(), "pg-slices-key");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("q", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", Db()},
                    {"query",
                     "SELECT g % 1000 AS id, g AS seq, repeat('x', 20) AS pad FROM "
                     "generate_series(1, 30000) g ORDER BY g"},
                    {"outputTable", "in.c-pg.keyed"},
                    {"primaryKey", {"id"}}}}});
  json job = p.RunJob("q");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  const json sums = Sql(
      p, "SELECT count(*)::VARCHAR, min(seq)::VARCHAR, max(seq)::VARCHAR FROM \"in.c-pg.keyed\"");
  EXPECT_EQ(sums.value("rows", json::array()),
            json::array({json::array({"1000", "29001", "30000"})}))
      << sums.dump();
}

// Slices already loaded when the source fails are dropped: no table, no segment file left.
TEST_F(PgExtractorJobTest, SlicesLoadedBeforeAFailureLeaveNothingBehind) {
  SmallSlices small;
  ASSERT_TRUE(small.server().ok()) << small.server().error();
  ProjectApi p(small.server(), "pg-slices-fail");
  ASSERT_TRUE(p.ok());
  // Division by zero at row 30000: many slices are loaded by then.
  p.CreateConfig("q", "keboola.ex-db-pgsql",
                 {{"parameters",
                   {{"db", Db()},
                    {"query",
                     "SELECT g AS id, 1 / (30000 - g) AS boom, repeat('y', 30) AS pad FROM "
                     "generate_series(1, 40000) g"},
                    {"outputTable", "in.c-pg.broken"}}}});
  json job = p.RunJob("q");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("division by zero"), std::string::npos)
      << DescribeJob(p, job);
  EXPECT_TRUE(p.Ok("GET", p.Path("/tables")).value("tables", json::array()).empty());
  EXPECT_TRUE(p.Ok("GET", p.Path("/buckets")).value("buckets", json::array()).empty());
  EXPECT_EQ(SegmentFiles(small.server().data_dir()), 0);
}

// Tenants never meet: two projects extract into their own storage only.
TEST_F(PgExtractorJobTest, EachProjectWritesOnlyItsOwnTables) {
  ASSERT_EQ(pg_->Psql("DROP TABLE IF EXISTS shared; CREATE TABLE shared (id int); INSERT INTO "
                      "shared VALUES (1), (2);"),
            "");
  ProjectApi a(server_, "pg-a"), b(server_, "pg-b");
  ASSERT_TRUE(a.ok() && b.ok());
  const json config = {
      {"parameters",
       {{"db", Db()}, {"table", {{"tableName", "shared"}}}, {"outputTable", "in.c-pg.shared"}}}};
  a.CreateConfig("s", "keboola.ex-db-pgsql", config);
  ASSERT_EQ(a.RunJob("s").value("status", ""), "success");
  const json before = a.Table("in.c-pg.shared");
  b.CreateConfig("s", "keboola.ex-db-pgsql", config);
  ASSERT_EQ(b.RunJob("s").value("status", ""), "success");
  EXPECT_EQ(a.Table("in.c-pg.shared"), before);
  EXPECT_EQ(b.SortedRows("in.c-pg.shared"), (Rows{{"1"}, {"2"}}));
  HttpResponse cross = HttpCall("GET", server_.url() + a.Path("/tables/in.c-pg.shared"),
                                {"Authorization: Bearer " + b.token()}, "");
  EXPECT_EQ(cross.status / 100, 4) << cross.body;
}

}  // namespace
}  // namespace swan::testing
