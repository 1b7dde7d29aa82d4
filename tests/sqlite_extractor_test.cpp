// The SQLite extractor (swan.ex-db-sqlite) at the connector level, on real database files: exact
// CSV and manifests from declared types, values that do not fit their type, incremental fetching
// with state, queries, one read transaction, files that are not databases, only reading, cancel,
// timeout and a writer's lock. (As a job, with the import folder: sqlite_extractor_job_test.)
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/sqlite_extractor.h"
#include "test_util.h"

// Under AddressSanitizer, freed blocks wait in a quarantine (256 MiB by default) before reuse,
// which the memory test below would read as growth: a small one keeps its measure meaningful.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=1"; }
#endif

namespace swan::testing {
namespace {

using connectors::ExtractorIo;
using connectors::RunSqliteExtractor;
using nlohmann::json;
namespace stdfs = std::filesystem;

// Runs `sql` on the database file `path` (created when missing); "" or SQLite's error.
std::string Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string error;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
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

struct Extraction {
  Status status;
  json state;
  std::string csv;
  json manifest;
  std::string log;
};

json Type(const std::string& base, const std::string& length = "") {
  json entries = json::array({{{"key", "KBC.datatype.basetype"}, {"value", base}}});
  if (!length.empty()) entries.push_back({{"key", "KBC.datatype.length"}, {"value", length}});
  return entries;
}

bool Has(const Status& s, const std::string& part) {
  return s.message().find(part) != std::string::npos;
}

// How Extract runs the extractor.
struct Options {
  json state = json::object();
  std::shared_ptr<std::atomic<bool>> cancel = nullptr;
  int64_t timeout_ms = 0;
  std::string out_dir = "";
  std::string file = "";  // default: db_
  std::function<void(const std::string&)> on_log = nullptr;
};

class SqliteExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = dir_.path() + "/shop.sqlite"; }

  // Runs the extractor into a fresh folder; reads back <outputTable>.csv and its manifest.
  Extraction Extract(json parameters, const Options& o = {}) {
    TempDir own;
    const std::string dir = o.out_dir.empty() ? own.path() : o.out_dir;
    stdfs::create_directories(dir + "/tables");
    Extraction run;
    ExtractorIo io;
    io.out_dir = dir;
    io.input_state = o.state;
    io.output_state = &run.state;
    io.log = [&](connectors::LogLevel, const std::string& line) {
      run.log += line + "\n";
      if (o.on_log) o.on_log(line);
    };
    io.cancel = o.cancel;
    io.timeout_ms = o.timeout_ms;
    if (!parameters.contains("db")) parameters["db"] = {{"path", "shop.sqlite"}};
    run.status =
        RunSqliteExtractor({{"parameters", parameters}}, o.file.empty() ? db_ : o.file, io);
    const std::string csv = dir + "/tables/" + parameters.value("outputTable", "") + ".csv";
    if (stdfs::exists(csv)) run.csv = ReadFile(csv);
    if (stdfs::exists(csv + ".manifest")) run.manifest = json::parse(ReadFile(csv + ".manifest"));
    return run;
  }

  TempDir dir_;
  std::string db_;
};

TEST_F(SqliteExtractorTest, ATableWithItsDeclaredTypes) {
  ASSERT_EQ(Sql(db_, R"SQL(
CREATE TABLE typed (id INTEGER PRIMARY KEY, big BIGINT, price DECIMAL(10,2), ratio REAL,
  flag BOOLEAN, born DATE, seen DATETIME, stamp TIMESTAMP, name TEXT, data BLOB, misc,
  num NUMERIC, wide DECIMAL(50,10), code VARCHAR(20), dbl DOUBLE PRECISION);
INSERT INTO typed VALUES
  (1, 9223372036854775807, 12.5, 0.25, TRUE, '2024-02-29', '2024-06-01 12:00:00',
   '2024-06-01T12:00:00.123456789Z', 'plain', x'00ff10', 12, 7, 1.5, 'a', 1.0 / 3),
  (2, -1, -0.1, -1e10, 0, '1999-12-31', '2000-01-01 00:30', '2024-01-01 00:30:00+02:00',
   'quote " and, comma' || char(10) || 'and a new line: žluťoučký kůň', x'', 1.5,
   'text in numeric', 'x', '', 2.5),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL);
)SQL"),
            "");
  Extraction run = Extract({{"table", {{"schema", "main"}, {"tableName", "typed"}}},
                            {"outputTable", "in.c-sqlite.typed"},
                            {"primaryKey", {"id"}}});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // NULL is an empty field, the empty string "" (text and blob alike); reals keep every digit
  // (SQLite's own text would cut 1/3 to 15); timestamps in UTC, blobs as hex.
  EXPECT_EQ(run.csv,
            "id,big,price,ratio,flag,born,seen,stamp,name,data,misc,num,wide,code,dbl\n"
            "1,9223372036854775807,12.5,0.25,true,2024-02-29,2024-06-01 12:00:00,"
            "2024-06-01 12:00:00.123456,plain,00ff10,12,7,1.5,a,0.3333333333333333\n"
            "2,-1,-0.1,-1e+10,false,1999-12-31,2000-01-01 00:30:00,2023-12-31 22:30:00,"
            "\"quote \"\" and, comma\nand a new line: žluťoučký kůň\",\"\",1.5,text in numeric,x,"
            "\"\",2.5\n"
            "3,,,,,,,,\"\",,,,,,\n");
  const json expected = {{"destination", "in.c-sqlite.typed"},
                         {"incremental", false},
                         {"primary_key", {"id"}},
                         {"column_metadata",
                          {{"id", Type("INTEGER")},
                           {"big", Type("INTEGER")},
                           {"price", Type("NUMERIC", "10,2")},
                           {"ratio", Type("FLOAT")},
                           {"flag", Type("BOOLEAN")},
                           {"born", Type("DATE")},
                           {"seen", Type("TIMESTAMP")},
                           {"stamp", Type("TIMESTAMP")},
                           {"name", Type("STRING")},
                           {"data", Type("STRING")},
                           {"misc", Type("STRING")},
                           {"num", Type("STRING")},
                           {"wide", Type("STRING")},
                           {"code", Type("STRING")},
                           {"dbl", Type("FLOAT")}}}};
  EXPECT_EQ(run.manifest, expected) << run.manifest.dump(2);
  EXPECT_EQ(run.state, json::object());
  EXPECT_NE(run.log.find("3 rows from in.c-sqlite.typed"), std::string::npos) << run.log;

  // A subset of the columns, in the configuration's order, names matched as SQLite does.
  Extraction some = Extract({{"table", {{"tableName", "TYPED"}}},
                             {"columns", {"NAME", "id"}},
                             {"outputTable", "in.c-sqlite.some"}});
  ASSERT_TRUE(some.status.ok()) << some.status.ToString();
  EXPECT_EQ(some.csv,
            "name,id\nplain,1\n\"quote \"\" and, comma\nand a new line: žluťoučký kůň\",2\n"
            "\"\",3\n");
}

// Affinity rules decide the type, in SQLite's order ("FLOATING POINT" holds "INT", as SQLite's
// own documentation warns); a DECIMAL keeps its
// precision up to 38 and is written without an exponent; booleans written as text are read.
TEST_F(SqliteExtractorTest, AffinityRulesAndNumbers) {
  ASSERT_EQ(Sql(db_, R"SQL(
CREATE TABLE odd (a POINT, b CHARINT, c NUMERIC(38, 0), d DECIMAL(39,2), e FLOATING POINT,
  f "bool", g CLOB, h DECIMAL(5), i TIMESTAMP WITH TIME ZONE);
INSERT INTO odd VALUES (1, 2, 1e20, 1, 2, 'T', 'x', 12345, '2024-02-29 23:30:00-01:30');
INSERT INTO odd VALUES (NULL, NULL, -123456789012345678, NULL, NULL, 'false', NULL, -99999, NULL);
)SQL"),
            "");
  Extraction run = Extract({{"table", {{"tableName", "odd"}}}, {"outputTable", "odd"}});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.csv,
            "a,b,c,d,e,f,g,h,i\n"
            "1,2,100000000000000000000,1,2,true,x,12345,2024-03-01 01:00:00\n"
            ",,-123456789012345678,,,false,,-99999,\n");
  EXPECT_EQ(run.manifest["column_metadata"], json({{"a", Type("INTEGER")},
                                                   {"b", Type("INTEGER")},
                                                   {"c", Type("NUMERIC", "38,0")},
                                                   {"d", Type("STRING")},
                                                   {"e", Type("INTEGER")},
                                                   {"f", Type("BOOLEAN")},
                                                   {"g", Type("STRING")},
                                                   {"h", Type("NUMERIC", "5,0")},
                                                   {"i", Type("TIMESTAMP")}}))
      << run.manifest.dump(2);
}

// SQLite keeps any value in any column: one that does not fit its declared type fails the run,
// naming the table, the column, the row and the value, with the way out (a CAST in a query).
TEST_F(SqliteExtractorTest, AValueThatDoesNotFitItsTypeFailsTheRun) {
  struct Case {
    std::string declared, value, shown;
  };
  const std::vector<Case> cases = {
      {"INTEGER", "'abc'", "the text 'abc'"},
      {"INT", "1.5", "the real 1.5"},
      {"BIGINT", "x'01'", "a blob of 1 bytes"},
      {"INTEGER", "''", "the text ''"},
      {"REAL", "'n/a'", "the text 'n/a'"},
      {"DECIMAL(4,2)", "123.4", "the real 123.4"},
      {"DECIMAL(4,2)", "100", "the integer 100"},
      {"DECIMAL(4,2)", "'12,5'", "the text '12,5'"},
      {"BOOLEAN", "2", "the integer 2"},
      {"BOOLEAN", "'yes'", "the text 'yes'"},
      {"DATE", "1700000000", "the integer 1700000000"},
      {"DATE", "'2024-02-30'", "the text '2024-02-30'"},
      {"DATE", "'2024-02-01 10:00:00'", "the text '2024-02-01 10:00:00'"},
      {"DATETIME", "2460000.5", "the real 2460000.5"},
      {"TIMESTAMP", "'yesterday'", "the text 'yesterday'"},
      {"TIMESTAMP", "'2024-01-01 24:00:00'", "the text '2024-01-01 24:00:00'"},
      {"TEXT", "CAST(x'41ff' AS TEXT)", "text that is not valid UTF-8"},
      {"INTEGER", "'" + std::string(100, 'z') + "'", "the text '" + std::string(60, 'z') + "...'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.declared + " " + c.value);
    const std::string table = "t" + std::to_string(i);
    ASSERT_EQ(Sql(db_, "CREATE TABLE " + table + " (id INTEGER, v " + c.declared +
                           "); INSERT INTO " + table + " VALUES (1, NULL), (2, " + c.value + ");"),
              "");
    Extraction run = Extract({{"table", {{"tableName", table}}}, {"outputTable", "out"}});
    EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument) << run.status.ToString();
    EXPECT_TRUE(Has(run.status, "main." + table + ", column 'v', row 2: " + c.shown +
                                    " does not fit the column's declared type " + c.declared))
        << run.status.ToString();
    EXPECT_TRUE(Has(run.status, "CAST")) << run.status.ToString();
    EXPECT_TRUE(run.state.is_null()) << "no state after a failure";
  }
  // The way out: the query's expression has no declared type, so it is a STRING.
  Extraction cast = Extract(
      {{"query", "SELECT id, CAST(v AS TEXT) AS v FROM t0 ORDER BY id"}, {"outputTable", "out"}});
  ASSERT_TRUE(cast.status.ok()) << cast.status.ToString();
  EXPECT_EQ(cast.csv, "id,v\n1,\n2,abc\n");
  EXPECT_EQ(cast.manifest["column_metadata"]["v"], Type("STRING"));
  // In a query, a column read straight from a table keeps its declared type and its check.
  Extraction direct = Extract({{"query", "SELECT v FROM t0"}, {"outputTable", "out"}});
  EXPECT_EQ(direct.status.code(), StatusCode::kInvalidArgument) << direct.status.ToString();
  EXPECT_TRUE(Has(direct.status, "parameters.query, column 'v', row 2: the text 'abc'"))
      << direct.status.ToString();
}

// incrementalFetchingColumn: the first run reads all, the next reads rows >= the last value
// (Keboola's rule: rows sharing the last value are read again, the primary key upserts them).
TEST_F(SqliteExtractorTest, IncrementalFetchingKeepsItsState) {
  ASSERT_EQ(Sql(db_,
                "CREATE TABLE events (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO events "
                "VALUES (2, 'v2'), (1, 'v1'), (3, 'v3'), (10, 'v10');"),
            "");
  const json parameters = {{"table", {{"tableName", "events"}}},
                           {"outputTable", "in.c-sqlite.events"},
                           {"primaryKey", {"id"}},
                           {"incrementalFetchingColumn", "ID"}};
  Extraction first = Extract(parameters);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(first.csv, "id,v\n1,v1\n2,v2\n3,v3\n10,v10\n");
  EXPECT_EQ(first.state, json({{"lastFetchedRow", "10"}}));  // compared as a number, not text
  EXPECT_EQ(first.manifest["incremental"], true);

  ASSERT_EQ(Sql(db_,
                "UPDATE events SET v = 'changed' WHERE id = 10; INSERT INTO events VALUES "
                "(12, 'v12'), (11, 'v11'); UPDATE events SET v = 'not read' WHERE id = 1;"),
            "");
  Extraction second = Extract(parameters, {.state = first.state});
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.csv, "id,v\n10,changed\n11,v11\n12,v12\n");
  EXPECT_EQ(second.state, json({{"lastFetchedRow", "12"}}));
  EXPECT_NE(second.log.find("rows since the last run"), std::string::npos) << second.log;

  json limited = parameters;
  limited["incrementalFetchingLimit"] = 2;
  Extraction third = Extract(limited, {.state = first.state});
  ASSERT_TRUE(third.status.ok()) << third.status.ToString();
  EXPECT_EQ(third.csv, "id,v\n10,changed\n11,v11\n");
  EXPECT_EQ(third.state, json({{"lastFetchedRow", "11"}}));

  // No new rows: the state stays (and other keys of it too).
  ASSERT_EQ(Sql(db_, "DELETE FROM events WHERE id >= 12;"), "");
  json kept = second.state;
  kept["other"] = "kept";
  Extraction none = Extract(parameters, {.state = kept});
  ASSERT_TRUE(none.status.ok()) << none.status.ToString();
  EXPECT_EQ(none.csv, "id,v\n");
  EXPECT_EQ(none.state, kept);

  // A timestamp column written as text, and a query's expression (no affinity): the state is
  // the value as stored and compares as it did.
  ASSERT_EQ(Sql(db_,
                "CREATE TABLE stamps (id INTEGER, at DATETIME); INSERT INTO stamps VALUES "
                "(1, '2024-01-01 10:00:00'), (2, '2024-01-02 09:00:00');"),
            "");
  const json by_time = {{"table", {{"tableName", "stamps"}}},
                        {"outputTable", "stamps"},
                        {"incrementalFetchingColumn", "at"}};
  Extraction t1 = Extract(by_time);
  ASSERT_TRUE(t1.status.ok()) << t1.status.ToString();
  EXPECT_EQ(t1.state, json({{"lastFetchedRow", "2024-01-02 09:00:00"}}));
  ASSERT_EQ(Sql(db_, "INSERT INTO stamps VALUES (3, '2024-01-03 08:00:00');"), "");
  Extraction t2 = Extract(by_time, {.state = t1.state});
  ASSERT_TRUE(t2.status.ok()) << t2.status.ToString();
  EXPECT_EQ(t2.csv, "id,at\n2,2024-01-02 09:00:00\n3,2024-01-03 08:00:00\n");

  const json expression = {{"query", "SELECT id * 10 AS n, v FROM events"},
                           {"outputTable", "n"},
                           {"incrementalFetchingColumn", "n"}};
  Extraction e = Extract(expression, {.state = {{"lastFetchedRow", "100"}}});
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.csv, "n,v\n100,changed\n110,v11\n");
  EXPECT_EQ(e.state, json({{"lastFetchedRow", "110"}}));
}

// A query, and the older tables[] list (disabled items skipped), in one run.
TEST_F(SqliteExtractorTest, AQueryAndTheTablesList) {
  ASSERT_EQ(Sql(db_,
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, city TEXT, total REAL); "
                "INSERT INTO orders VALUES (1, 'Brno', 10.5), (2, 'Praha', 20), "
                "(3, 'Brno', 1.25);"),
            "");
  Extraction q = Extract({{"query",
                           "SELECT city, count(*) AS orders, sum(total) AS total FROM orders -- "
                           "a comment\nGROUP BY city ORDER BY city;\n"},
                          {"outputTable", "in.c-sqlite.cities"},
                          {"primaryKey", {"city"}}});
  ASSERT_TRUE(q.status.ok()) << q.status.ToString();
  EXPECT_EQ(q.csv, "city,orders,total\nBrno,2,11.75\nPraha,1,20\n");
  EXPECT_EQ(
      q.manifest["column_metadata"],
      json({{"city", Type("STRING")}, {"orders", Type("STRING")}, {"total", Type("STRING")}}));
  EXPECT_EQ(q.manifest["primary_key"], json({"city"}));

  TempDir out;
  Extraction list =
      Extract({{"tables",
                {{{"table", {{"tableName", "orders"}}}, {"outputTable", "a"}},
                 {{"enabled", false}, {"query", "SELEC broken"}, {"outputTable", "b"}},
                 {{"query", "SELECT 1 AS one"}, {"outputTable", "c"}}}}},
              {.out_dir = out.path()});
  ASSERT_TRUE(list.status.ok()) << list.status.ToString();
  EXPECT_EQ(ReadFile(out.path() + "/tables/a.csv"),
            "id,city,total\n1,Brno,10.5\n2,Praha,20\n3,Brno,1.25\n");
  EXPECT_FALSE(stdfs::exists(out.path() + "/tables/b.csv"));
  EXPECT_EQ(ReadFile(out.path() + "/tables/c.csv"), "one\n1\n");
}

TEST_F(SqliteExtractorTest, ConfigurationMistakesNameTheirField) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE orders (id INTEGER PRIMARY KEY, city TEXT);"), "");
  struct Case {
    json parameters;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"table", {{"tableName", "missing"}}}, {"outputTable", "x"}}, "parameters.table"},
      {{{"table", {{"schema", "other"}, {"tableName", "orders"}}}, {"outputTable", "x"}},
       "parameters.table.schema"},
      {{{"table", {{"tableName", "orders"}}}, {"columns", {"nope"}}, {"outputTable", "x"}},
       "parameters.columns"},
      {{{"table", {{"tableName", "orders"}}}, {"primaryKey", {"nope"}}, {"outputTable", "x"}},
       "parameters.primaryKey"},
      {{{"table", {{"tableName", "orders"}}},
        {"incrementalFetchingColumn", "nope"},
        {"outputTable", "x"}},
       "parameters.incrementalFetchingColumn"},
      {{{"query", "SELECT id FROM orders WHERE"}, {"outputTable", "x"}}, "parameters.query"},
      {{{"query", "SELECT id FROM no_such_table"}, {"outputTable", "x"}}, "parameters.query"},
      {{{"table", {{"tableName", "orders"}}}}, "parameters.outputTable"},
  };
  for (const auto& c : cases) {
    Extraction run = Extract(c.parameters);
    EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument) << c.parameters.dump();
    EXPECT_TRUE(run.status.message().starts_with(c.field)) << run.status.ToString();
  }
  Extraction syntax = Extract({{"query", "SELECT id FROM orders WHERE"}, {"outputTable", "x"}});
  EXPECT_TRUE(Has(syntax.status, "syntax error")) << syntax.status.ToString();  // SQLite's words
}

// Only reading, only this file: no second statement, no ATTACH of another file, no writes, no
// huge values; the file is not changed by any of it.
TEST_F(SqliteExtractorTest, OnlyReadsTheOneFile) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE keep (id INTEGER); INSERT INTO keep VALUES (1);"), "");
  const std::string other = dir_.path() + "/other.sqlite";
  ASSERT_EQ(Sql(other, "CREATE TABLE secret (s TEXT); INSERT INTO secret VALUES ('hidden');"), "");
  const std::string before = ReadFile(db_);
  const std::vector<std::string> refused = {
      "SELECT 1; DELETE FROM keep",
      "SELECT 1) AS x; DELETE FROM keep; SELECT * FROM (SELECT 1",
      "ATTACH DATABASE '" + other + "' AS o",
      "DELETE FROM keep RETURNING *",
      "SELECT * FROM pragma_table_info('keep')",
      "SELECT load_extension('/nonexistent')",
      "VACUUM INTO '" + dir_.path() + "/copy.sqlite'",
  };
  for (const auto& query : refused) {
    Extraction run = Extract({{"query", query}, {"outputTable", "x"}});
    EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument)
        << query << ": " << run.status.ToString();
    EXPECT_EQ(run.csv.find("hidden"), std::string::npos) << query;
  }
  Extraction pragma =
      Extract({{"query", "SELECT * FROM pragma_table_info('keep')"}, {"outputTable", "x"}});
  EXPECT_TRUE(Has(pragma.status, "not allowed: the extractor only reads"))
      << pragma.status.ToString();
  EXPECT_EQ(ReadFile(db_), before);
  EXPECT_FALSE(stdfs::exists(dir_.path() + "/copy.sqlite"));
  // Nor can a query take the server's memory: a value is at most 16 MiB.
  Extraction big = Extract({{"query", "SELECT zeroblob(20000000) AS z"}, {"outputTable", "z"}});
  EXPECT_EQ(big.status.code(), StatusCode::kInvalidArgument) << big.status.ToString();
  EXPECT_TRUE(Has(big.status, "larger than 16 MiB")) << big.status.ToString();
  EXPECT_FALSE(stdfs::exists(db_ + "-journal"));
  Extraction kept = Extract({{"table", {{"tableName", "keep"}}}, {"outputTable", "k"}});
  ASSERT_TRUE(kept.status.ok()) << kept.status.ToString();
  EXPECT_EQ(kept.csv, "id\n1\n");
}

// A missing file is never created; a file that is not a database, a folder, a link or a
// relative path is refused, naming parameters.db.path.
TEST_F(SqliteExtractorTest, FilesThatAreNotDatabases) {
  const json parameters = {{"query", "SELECT 1 AS one"}, {"outputTable", "x"}};
  const std::string missing = dir_.path() + "/missing.sqlite";
  Extraction none = Extract(parameters, {.file = missing});
  EXPECT_EQ(none.status.code(), StatusCode::kInvalidArgument) << none.status.ToString();
  EXPECT_TRUE(none.status.message().starts_with("parameters.db.path")) << none.status.ToString();
  EXPECT_FALSE(stdfs::exists(missing));

  const std::string text = dir_.path() + "/notes.sqlite";
  WriteFile(text, std::string(4096, 'x'));
  Extraction not_db = Extract(parameters, {.file = text});
  EXPECT_EQ(not_db.status.code(), StatusCode::kInvalidArgument) << not_db.status.ToString();
  EXPECT_TRUE(Has(not_db.status, "parameters.db.path: not an SQLite database"))
      << not_db.status.ToString();

  Extraction folder = Extract(parameters, {.file = dir_.path()});
  EXPECT_EQ(folder.status.code(), StatusCode::kInvalidArgument) << folder.status.ToString();

  ASSERT_EQ(Sql(db_, "CREATE TABLE t (id INTEGER);"), "");
  const std::string link = dir_.path() + "/link.sqlite";
  stdfs::create_symlink(db_, link);
  Extraction linked = Extract(parameters, {.file = link});
  EXPECT_EQ(linked.status.code(), StatusCode::kInvalidArgument) << linked.status.ToString();
  EXPECT_TRUE(Has(linked.status, "symbolic link")) << linked.status.ToString();

  Extraction relative = Extract(parameters, {.file = "shop.sqlite"});
  EXPECT_FALSE(relative.status.ok());
  EXPECT_TRUE(relative.csv.empty());
}

// Every table is read in one read transaction: a row committed by another connection between
// two tables of the run is not seen by the second (WAL, where a writer may commit meanwhile).
TEST_F(SqliteExtractorTest, OneReadTransactionForTheWholeRun) {
  ASSERT_EQ(Sql(db_,
                "PRAGMA journal_mode = WAL; CREATE TABLE first (id INTEGER); CREATE TABLE "
                "second (id INTEGER); INSERT INTO first VALUES (1); INSERT INTO second "
                "VALUES (1);"),
            "");
  std::string wrote;
  TempDir out;
  Extraction run = Extract({{"tables",
                             {{{"table", {{"tableName", "first"}}}, {"outputTable", "first"}},
                              {{"table", {{"tableName", "second"}}}, {"outputTable", "second"}}}}},
                           {.out_dir = out.path(), .on_log = [&](const std::string& line) {
                              if (line.starts_with("extracting main.second"))
                                wrote = Sql(db_, "INSERT INTO second VALUES (2);") + "done";
                            }});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(wrote, "done");  // the writer was not blocked
  EXPECT_EQ(ReadFile(out.path() + "/tables/second.csv"), "id\n1\n");
  Extraction after = Extract({{"table", {{"tableName", "second"}}}, {"outputTable", "second"}});
  EXPECT_EQ(after.csv, "id\n1\n2\n");
}

constexpr const char* kEndless =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x, hex(x) AS h FROM c";
// One row only after an endless computation: only the progress handler can stop it.
constexpr const char* kEndlessBeforeTheFirstRow =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c";

bool WaitForBytes(const std::string& path, uintmax_t bytes) {
  for (int i = 0; i < 1200; ++i) {
    std::error_code ec;
    if (stdfs::file_size(path, ec) >= bytes && !ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_F(SqliteExtractorTest, TheCancelFlagStopsTheExtraction) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE t (id INTEGER);"), "");
  TempDir out;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([&] {
    WaitForBytes(out.path() + "/tables/endless.csv", 1 << 20);
    cancel->store(true);
  });
  Extraction streaming = Extract({{"query", kEndless}, {"outputTable", "endless"}},
                                 {.cancel = cancel, .out_dir = out.path()});
  canceller.join();
  EXPECT_EQ(streaming.status.code(), StatusCode::kCancelled) << streaming.status.ToString();
  EXPECT_TRUE(streaming.state.is_null());

  auto cancel2 = std::make_shared<std::atomic<bool>>(false);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel2->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  Extraction computing =
      Extract({{"query", kEndlessBeforeTheFirstRow}, {"outputTable", "n"}}, {.cancel = cancel2});
  later.join();
  EXPECT_EQ(computing.status.code(), StatusCode::kCancelled) << computing.status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// The job's timeout interrupts a statement (unavailable: the job layer reports it as a timeout).
TEST_F(SqliteExtractorTest, TheTimeoutStopsALongStatement) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE t (id INTEGER);"), "");
  const auto start = std::chrono::steady_clock::now();
  Extraction run =
      Extract({{"query", kEndlessBeforeTheFirstRow}, {"outputTable", "n"}}, {.timeout_ms = 500});
  EXPECT_EQ(run.status.code(), StatusCode::kUnavailable) << run.status.ToString();
  EXPECT_TRUE(Has(run.status, "timeout")) << run.status.ToString();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(450));
  EXPECT_LT(took, std::chrono::seconds(5));
}

// A writer holding the file: the read waits (unavailable after its limit), and a cancel ends the
// wait at once.
TEST_F(SqliteExtractorTest, AWritersLockIsWaitedForButNotPastACancel) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);"), "");
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  Extraction run =
      Extract({{"table", {{"tableName", "t"}}}, {"outputTable", "t"}}, {.cancel = cancel});
  later.join();
  EXPECT_EQ(run.status.code(), StatusCode::kCancelled) << run.status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  Extraction timed =
      Extract({{"table", {{"tableName", "t"}}}, {"outputTable", "t"}}, {.timeout_ms = 300});
  EXPECT_EQ(timed.status.code(), StatusCode::kUnavailable) << timed.status.ToString();

  ASSERT_EQ(sqlite3_exec(writer, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(writer);
  Extraction free = Extract({{"table", {{"tableName", "t"}}}, {"outputTable", "t"}});
  ASSERT_TRUE(free.status.ok()) << free.status.ToString();
  EXPECT_EQ(free.csv, "id\n1\n");
}

// Rows stream: 2,000,000 rows (~70 MB of CSV) leave the process's peak memory nearly where it
// was.
TEST_F(SqliteExtractorTest, MemoryStaysFlatForALargeResult) {
  ASSERT_EQ(Sql(db_, "CREATE TABLE t (id INTEGER);"), "");
  auto peak_kb = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<int64_t>(u.ru_maxrss);
  };
  TempDir out;
  stdfs::create_directories(out.path() + "/tables");
  ExtractorIo io;
  io.out_dir = out.path();
  const int64_t before = peak_kb();
  const Status s = RunSqliteExtractor(
      {{"parameters",
        {{"query",
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000) "
          "SELECT x AS id, hex(randomblob(12)) AS h FROM c"},
         {"outputTable", "large"}}}},
      db_, io);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const int64_t grown_kb = peak_kb() - before;
  EXPECT_GT(stdfs::file_size(out.path() + "/tables/large.csv"), 60u << 20);
  EXPECT_LT(grown_kb, 16 * 1024) << "peak memory grew by " << grown_kb << " KiB";
}

}  // namespace
}  // namespace swan::testing
