// The PostgreSQL writer (keboola.wr-db-pgsql) as a job against a real PostgreSQL 15 server: full
// replace, incremental upsert, declared and mapped types, a failure that leaves the target as it
// was, and a project that cannot write another project's table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "connectors/pg_writer.h"
#include "pg_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

class PgWriterJobTest : public ::testing::Test {
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

  static json Config(const std::string& table_id, const std::string& target, bool incremental,
                     json items = json::array()) {
    return {
        {"storage",
         {{"input", {{"tables", {{{"source", table_id}, {"destination", table_id + ".csv"}}}}}}}},
        {"parameters",
         {{"db",
           {{"host", "127.0.0.1"},
            {"port", pg_->port()},
            {"database", "postgres"},
            {"user", "postgres"},
            {"#password", PgServer::kPassword}}},
          {"tableId", table_id},
          {"dbName", target},
          {"incremental", incremental},
          {"primaryKey", {"id"}},
          {"items", std::move(items)}}}};
  }

  static PgServer* pg_;
  ServerProcess server_;
};
PgServer* PgWriterJobTest::pg_ = nullptr;

TEST_F(PgWriterJobTest, FullReplaceThenIncrementalUpsert) {
  ProjectApi p(server_, "pgw");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.people",
              "id,name,score\n1,Ann,1.5\n2,Bob,\n3,\"Cy, \"\"the\"\" third\",3\n");
  const json items = {
      {{"name", "id"}, {"dbName", "id"}, {"type", "integer"}, {"nullable", false}},
      {{"name", "name"}, {"dbName", "full_name"}, {"type", "varchar"}, {"size", 50}},
      {{"name", "score"}, {"dbName", "score"}, {"type", "numeric"}, {"size", "6,2"}}};
  p.CreateConfig("full", "keboola.wr-db-pgsql", Config("in.c-src.people", "people", false, items));
  json job = p.RunJob("full");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(
      pg_->Psql("SELECT id, full_name, coalesce(score::text, 'NULL') FROM people ORDER BY id"),
      "1|Ann|1.50\n2|Bob|NULL\n3|Cy, \"the\" third|3.00");
  EXPECT_EQ(pg_->Psql("SELECT data_type FROM information_schema.columns WHERE table_name = "
                      "'people' ORDER BY ordinal_position"),
            "integer\ncharacter varying\nnumeric");

  // A full run replaces every row.
  p.ImportCsv("in.c-src.people", "id,name,score\n1,Ann,2\n");
  ASSERT_EQ(p.RunJob("full").value("status", ""), "success");
  EXPECT_EQ(pg_->Psql("SELECT id, full_name, score FROM people ORDER BY id"), "1|Ann|2.00");

  // An incremental run upserts by the primary key and leaves other rows.
  ASSERT_EQ(pg_->Psql("INSERT INTO people VALUES (7, 'kept', 7)"), "");
  p.ImportCsv("in.c-src.people", "id,name,score\n1,Ann B,5\n4,Dee,4\n");
  p.CreateConfig("inc", "keboola.wr-db-pgsql", Config("in.c-src.people", "people", true, items));
  json inc = p.RunJob("inc");
  ASSERT_EQ(inc.value("status", ""), "success") << DescribeJob(p, inc);
  EXPECT_EQ(pg_->Psql("SELECT id, full_name, score FROM people ORDER BY id"),
            "1|Ann B|5.00\n4|Dee|4.00\n7|kept|7.00");
}

// A target database in LATIN1: the connection says it sends UTF-8, so the server converts and
// stores one byte a character (taken as LATIN1, the UTF-8 bytes would be two characters each).
TEST_F(PgWriterJobTest, ALatin1TargetGetsTheSameCharacters) {
  ASSERT_EQ(pg_->CreateLatin1Database("latin_wr"), "");
  ProjectApi p(server_, "pgw-latin1");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.names", "id,name\n1,Crème brûlée\n2,Ærø ñandú ß ©\n");
  json config = Config("in.c-src.names", "names", false,
                       {{{"name", "id"}, {"dbName", "id"}, {"type", "integer"}},
                        {{"name", "name"}, {"dbName", "name"}, {"type", "text"}}});
  config["parameters"]["db"]["database"] = "latin_wr";
  p.CreateConfig("latin", "keboola.wr-db-pgsql", config);
  json job = p.RunJob("latin");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SET client_encoding = 'UTF8'; SELECT id, name, length(name), "
                      "octet_length(name) FROM names ORDER BY id",
                      "latin_wr"),
            "1|Crème brûlée|12|12\n2|Ærø ñandú ß ©|13|13");
}

// Without items, every column goes with a type mapped from Swan's.
TEST_F(PgWriterJobTest, TypesFollowSwansColumnsWithoutItems) {
  ProjectApi p(server_, "pgw-types");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.typed", "id,price,ok,day,note\n1,2.5,true,2024-02-29,x\n");
  p.CreateConfig("t", "keboola.wr-db-pgsql", Config("in.c-src.typed", "typed_out", false));
  json job = p.RunJob("t");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SELECT data_type FROM information_schema.columns WHERE table_name = "
                      "'typed_out' ORDER BY ordinal_position"),
            "bigint\ndouble precision\nboolean\ndate\ntext");
  EXPECT_EQ(pg_->Psql("SELECT * FROM typed_out"), "1|2.5|t|2024-02-29|x");
}

// A value the target cannot take fails the job, and the target keeps every row it had.
TEST_F(PgWriterJobTest, AFailureLeavesTheTargetAsItWas) {
  ASSERT_EQ(pg_->Psql("DROP TABLE IF EXISTS guarded; CREATE TABLE guarded (id integer PRIMARY "
                      "KEY, n integer); INSERT INTO guarded VALUES (1, 10), (2, 20);"),
            "");
  ProjectApi p(server_, "pgw-fail");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.bad", "id,n\n3,30\n4,not a number\n");
  const json items = {{{"name", "id"}, {"type", "integer"}}, {{"name", "n"}, {"type", "integer"}}};
  p.CreateConfig("bad", "keboola.wr-db-pgsql", Config("in.c-src.bad", "guarded", false, items));
  json job = p.RunJob("bad");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(p, job);
  EXPECT_EQ(job.value("error_kind", ""), "user") << DescribeJob(p, job);
  EXPECT_NE(job.value("message", "").find("not a number"), std::string::npos)
      << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SELECT id, n FROM guarded ORDER BY id"), "1|10\n2|20");
}

// A full load copies straight into the emptied target; a target other tables reference by
// foreign key cannot be truncated, and is emptied row by row instead, in the same transaction.
TEST_F(PgWriterJobTest, AFullLoadIntoAReferencedTable) {
  ASSERT_EQ(pg_->Psql("DROP TABLE IF EXISTS orders_fk, customers_fk; CREATE TABLE customers_fk "
                      "(id integer PRIMARY KEY, name text); CREATE TABLE orders_fk (id integer, "
                      "customer integer REFERENCES customers_fk (id)); INSERT INTO customers_fk "
                      "VALUES (9, 'old');"),
            "");
  ProjectApi p(server_, "pgw-fk");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.customers", "id,name\n1,Ann\n2,Bob\n");
  const json items = {{{"name", "id"}, {"type", "integer"}}, {{"name", "name"}, {"type", "text"}}};
  p.CreateConfig("fk", "keboola.wr-db-pgsql",
                 Config("in.c-src.customers", "customers_fk", false, items));
  json job = p.RunJob("fk");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  EXPECT_EQ(pg_->Psql("SELECT id, name FROM customers_fk ORDER BY id"), "1|Ann\n2|Bob");
  EXPECT_NE(p.JobLog(job.value("id", int64_t{0})).find("replaced with 2 rows"), std::string::npos)
      << DescribeJob(p, job);
}

// The input is streamed from its export while it is copied: rows from a producer that then
// fails (an export that broke midway) are never committed.
TEST_F(PgWriterJobTest, AnInputThatEndsBrokenIsNotCommitted) {
  ASSERT_EQ(pg_->Psql("DROP TABLE IF EXISTS kept; CREATE TABLE kept (id integer, n integer); "
                      "INSERT INTO kept VALUES (1, 10);"),
            "");
  class Broken final : public connectors::CsvSource {
   public:
    Result<size_t> Read(char* buffer, size_t size) override {
      const std::string rows = sent_ ? "" : "id,n\n2,20\n3,30\n";
      sent_ = true;
      rows.copy(buffer, std::min(size, rows.size()));
      return rows.size();
    }
    Status Finish() override { return Status::Unavailable("the export failed: disk full"); }

   private:
    bool sent_ = false;
  };
  connectors::WriterInput in;
  in.table_id = "in.c-src.kept";
  in.columns = {{"id", "BIGINT"}, {"n", "BIGINT"}};
  in.open = [] {
    return Result<std::unique_ptr<connectors::CsvSource>>(std::make_unique<Broken>());
  };
  json config = Config("in.c-src.kept", "kept", false);
  config["parameters"]["db"]["#password"] = PgServer::kPassword;
  Status ran = connectors::RunPostgresWriter(config, {in}, connectors::ExtractorIo{});
  EXPECT_FALSE(ran.ok());
  EXPECT_NE(ran.message().find("disk full"), std::string::npos) << ran.message();
  EXPECT_EQ(pg_->Psql("SELECT id, n FROM kept ORDER BY id"), "1|10");
}

// Tenants never meet: a project's writer cannot take another project's table as its input.
TEST_F(PgWriterJobTest, AnotherProjectsTableIsNotAnInput) {
  ProjectApi a(server_, "pgw-a"), b(server_, "pgw-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.ImportCsv("in.c-src.secret", "id\n42\n");
  b.CreateConfig("steal", "keboola.wr-db-pgsql", Config("in.c-src.secret", "stolen", false));
  json job = b.RunJob("steal");
  EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(b, job);
  EXPECT_EQ(pg_->Psql("SELECT count(*) FROM pg_tables WHERE tablename = 'stolen'"), "0");
}

}  // namespace
}  // namespace swan::testing
