// Tests for query/sql_runner's reuse of an instance across scripts of one project: a script sees
// nothing an earlier one made, an instance is never handed to another project, reads stay
// inside the project's directories, and an instance a script left dirty or that failed is not
// kept. The instance is recognised by its private spill folder (DuckDB's temp_directory).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/duckdb.h"
#include "query/sql_runner.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using query::ScriptRequest;
using query::SqlRunner;
using query::SqlRunnerOptions;

class SqlReuseTest : public ::testing::Test {
 protected:
  SqlReuseTest() {
    SqlRunnerOptions o;
    o.data_dir = dir_.path();
    o.memory_limit = "256MB";
    o.threads = 1;
    runner_ = std::make_unique<SqlRunner>(o);
    for (int p : {1, 2}) {
      std::filesystem::create_directories(Segments(p));
      std::filesystem::create_directories(Outputs(p));
    }
  }

  std::string Segments(int project) const {
    return dir_.path() + "/segments/p" + std::to_string(project) + "/";
  }
  std::string Outputs(int project) const {
    return dir_.path() + "/tmp/sql-p" + std::to_string(project) + "/";
  }

  // Runs `sql` as project `project`'s script (reuse allowed); the status, and with `output`
  // the first value of that table's first row.
  Status Script(int project, const std::string& sql, const std::string& output = "",
                std::string* value = nullptr) {
    ScriptRequest r;
    r.statements = {{sql, "statement 1"}};
    const std::string out = Outputs(project) + "out-" + std::to_string(++outputs_) + ".parquet";
    if (!output.empty()) r.outputs = {{output, out}};
    r.timeout_ms = 30000;
    r.reuse_project = project;
    r.reuse_directories = {Segments(project), Outputs(project)};
    auto rows = runner_->RunScript({}, r);
    if (!rows.ok()) return rows.status();
    if (value != nullptr && !output.empty()) {
      auto db = engine::Database::Open({});
      if (!db.ok()) return db.status();
      auto conn = engine::Connection::Open(**db);
      if (!conn.ok()) return conn.status();
      auto read = (*conn)->Query("SELECT * FROM read_parquet('" + out + "')");
      if (!read.ok()) return read.status();
      *value = read->rows.empty() || !read->rows[0][0] ? "" : *read->rows[0][0];
    }
    return Status::Ok();
  }

  // The spill folder of the instance a script of `project` runs in.
  std::string Instance(int project) {
    std::string v;
    Status s =
        Script(project, "CREATE TABLE o AS SELECT current_setting('temp_directory') AS d", "o", &v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return v;
  }

  TempDir dir_;
  std::unique_ptr<SqlRunner> runner_;
  int outputs_ = 0;
};

TEST_F(SqlReuseTest, AScriptSeesNothingAnEarlierOneMade) {
  const std::string first = Instance(1);
  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(Script(1,
                     "CREATE TABLE leftover AS SELECT 42 AS v; CREATE VIEW seen AS SELECT 1 AS v; "
                     "CREATE MACRO twice(x) AS x * 2; CREATE SCHEMA extra; CREATE SEQUENCE seq; "
                     "CREATE TYPE mood AS ENUM ('ok'); CREATE TEMP TABLE t AS SELECT 1")
                  .ok());
  EXPECT_EQ(Instance(1), first);  // the same instance, kept
  for (const char* sql : {"SELECT * FROM leftover", "SELECT * FROM seen", "SELECT twice(1)",
                          "CREATE TABLE extra.x (a INT)", "SELECT nextval('seq')",
                          "SELECT 'ok'::mood", "SELECT * FROM t"}) {
    Status s = Script(1, std::string("CREATE TABLE o AS ") + sql);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << sql << ": " << s.ToString();
  }
  EXPECT_EQ(Instance(1), first);  // failing scripts of the user's SQL do not cost the instance
}

TEST_F(SqlReuseTest, AnInstanceNeverServesAnotherProject) {
  const std::string one = Instance(1);
  const std::string two = Instance(2);
  EXPECT_NE(one, two);
  EXPECT_EQ(Instance(1), one);
  EXPECT_EQ(Instance(2), two);
}

TEST_F(SqlReuseTest, ReadsAndWritesStayInsideTheProjectsDirectories) {
  // Project 2's segment, and a file beside the data directory's folders.
  std::string made;
  ASSERT_TRUE(Script(2, "CREATE TABLE s AS SELECT 'two' AS v", "s", &made).ok());
  const std::string theirs = Outputs(2) + "out-1.parquet";
  std::filesystem::copy_file(theirs, Segments(2) + "seg.parquet");
  for (const std::string& sql :
       {"SELECT * FROM read_parquet('" + Segments(2) + "seg.parquet')",
        "SELECT * FROM read_parquet('" + Segments(1) + "../p2/seg.parquet')",
        "SELECT * FROM glob('" + dir_.path() + "/segments/*/*')",
        "SELECT * FROM read_parquet('" + theirs + "')"}) {
    Status s = Script(1, "CREATE TABLE o AS " + sql);
    EXPECT_FALSE(s.ok()) << sql;
    EXPECT_NE(s.message().find("disabled by configuration"), std::string::npos) << s.ToString();
  }
  Status s = Script(1, "COPY (SELECT 1) TO '" + Segments(2) + "evil.parquet' (FORMAT parquet)");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(std::filesystem::exists(Segments(2) + "evil.parquet"));
  // Its own segments it reads.
  std::filesystem::copy_file(theirs, Segments(1) + "mine.parquet");
  std::string v;
  ASSERT_TRUE(
      Script(1, "CREATE TABLE o AS SELECT v FROM read_parquet('" + Segments(1) + "mine.parquet')",
             "o", &v)
          .ok());
  EXPECT_EQ(v, "two");
}

TEST_F(SqlReuseTest, AScriptThatNamesTheDefaultDatabaseOrFailsIsNotKept) {
  const std::string first = Instance(1);
  ASSERT_TRUE(Script(1, "CREATE TABLE memory.main.stays AS SELECT 1 AS v").ok());
  const std::string second = Instance(1);
  EXPECT_NE(second, first);  // closed, not kept
  Status gone = Script(1, "CREATE TABLE o AS SELECT * FROM memory.main.stays");
  EXPECT_EQ(gone.code(), StatusCode::kInvalidArgument) << gone.ToString();
  // A time limit: the instance is closed too.
  ScriptRequest slow;
  slow.statements = {{"CREATE TABLE big AS SELECT count(*) FROM range(100000000000)", "s"}};
  slow.timeout_ms = 200;
  slow.reuse_project = 1;
  slow.reuse_directories = {Segments(1), Outputs(1)};
  EXPECT_FALSE(runner_->RunScript({}, slow).ok());
  EXPECT_NE(Instance(1), second);
}

}  // namespace
}  // namespace swan::testing
