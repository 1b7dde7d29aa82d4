// The MySQL / MariaDB extractor (keboola.ex-db-mysql) at the connector level, against a real
// MariaDB server: exact CSV and manifests for its types, incremental fetching with state, refused
// logins, a server that kills the session mid-stream, cancel and timeout.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/mysql_extractor.h"
#include "mysql_server.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using connectors::ExtractorIo;
using connectors::RunMysqlExtractor;
using nlohmann::json;

struct Extraction {
  Status status;
  json state;
  std::string csv;
  json manifest;
  std::string log;
};

class MysqlExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MysqlServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->error(); }

  static json Db(const std::string& password = MysqlServer::kPassword) {
    return {{"host", "127.0.0.1"},
            {"port", server_->port()},
            {"database", MysqlServer::kDatabase},
            {"user", MysqlServer::kUser},
            {"#password", password}};
  }

  // Runs the extractor into a fresh folder; reads back <outputTable>.csv and its manifest.
  Extraction Extract(const json& parameters, const json& state = json::object(),
                     std::shared_ptr<std::atomic<bool>> cancel = nullptr, int64_t timeout_ms = 0,
                     const std::string& out_dir = "") {
    TempDir own;
    const std::string dir = out_dir.empty() ? own.path() : out_dir;
    std::filesystem::create_directories(dir + "/tables");
    Extraction run;
    ExtractorIo io;
    io.out_dir = dir;
    io.input_state = state;
    io.output_state = &run.state;
    io.log = [&](connectors::LogLevel, const std::string& line) { run.log += line + "\n"; };
    io.cancel = cancel;
    io.timeout_ms = timeout_ms;
    run.status = RunMysqlExtractor({{"parameters", parameters}}, io);
    const std::string csv = dir + "/tables/" + parameters.value("outputTable", "") + ".csv";
    if (std::filesystem::exists(csv)) run.csv = ReadFile(csv);
    if (std::filesystem::exists(csv + ".manifest"))
      run.manifest = json::parse(ReadFile(csv + ".manifest"));
    return run;
  }

  static json Type(const std::string& base, const std::string& length = "") {
    json entries = json::array({{{"key", "KBC.datatype.basetype"}, {"value", base}}});
    if (!length.empty()) entries.push_back({{"key", "KBC.datatype.length"}, {"value", length}});
    return entries;
  }

  static MysqlServer* server_;
};
MysqlServer* MysqlExtractorTest::server_ = nullptr;

TEST_F(MysqlExtractorTest, ATableWithItsTypes) {
  ASSERT_EQ(server_->Sql(R"SQL(
DROP TABLE IF EXISTS typed;
CREATE TABLE typed (id int PRIMARY KEY, big bigint, ubig bigint unsigned, price decimal(10,2),
  ratio double, flag tinyint(1), born date, seen datetime, stamp timestamp NULL, doc json,
  name varchar(100)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
SET time_zone = '+02:00';
INSERT INTO typed VALUES
  (1, 9223372036854775807, 18446744073709551615, 12.50, 0.25, 1, '2024-02-29',
   '2024-06-01 12:00:00', '2024-06-01 12:00:00', '{"k": [1, 2]}', 'plain'),
  (2, -1, 0, -0.10, -1e10, 0, '1999-12-31', '2000-01-01 00:30:00', '2024-01-01 00:30:00',
   'null', 'quote " and, comma\nand a new line: žluťoučký kůň'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '');
)SQL"),
            "");
  Extraction run = Extract({{"db", Db()},
                            {"table", {{"schema", MysqlServer::kDatabase}, {"tableName", "typed"}}},
                            {"outputTable", "in.c-mysql.typed"},
                            {"primaryKey", {"id"}}});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.csv,
            "id,big,ubig,price,ratio,flag,born,seen,stamp,doc,name\n"
            "1,9223372036854775807,18446744073709551615,12.50,0.25,1,2024-02-29,"
            "2024-06-01 12:00:00,2024-06-01 10:00:00,\"{\"\"k\"\": [1, 2]}\",plain\n"
            "2,-1,0,-0.10,-10000000000,0,1999-12-31,2000-01-01 00:30:00,2023-12-31 22:30:00,"
            "null,\"quote \"\" and, comma\nand a new line: žluťoučký kůň\"\n"
            "3,,,,,,,,,,\"\"\n");
  const json expected = {{"destination", "in.c-mysql.typed"},
                         {"incremental", false},
                         {"primary_key", {"id"}},
                         {"column_metadata",
                          {{"id", Type("INTEGER")},
                           {"big", Type("INTEGER")},
                           {"ubig", Type("NUMERIC", "20,0")},
                           {"price", Type("NUMERIC", "10,2")},
                           {"ratio", Type("FLOAT")},
                           {"flag", Type("INTEGER")},
                           {"born", Type("DATE")},
                           {"seen", Type("TIMESTAMP")},
                           {"stamp", Type("TIMESTAMP")},
                           {"doc", Type("STRING")},
                           {"name", Type("STRING")}}}};
  EXPECT_EQ(run.manifest, expected) << run.manifest.dump(2);
  EXPECT_EQ(run.state, json::object());
  EXPECT_NE(run.log.find("3 rows from in.c-mysql.typed"), std::string::npos) << run.log;

  // A subset of the columns, in the configuration's order, names matched as MySQL does.
  Extraction some = Extract({{"db", Db()},
                             {"table", {{"tableName", "typed"}}},
                             {"columns", {"NAME", "id"}},
                             {"outputTable", "in.c-mysql.some"}});
  ASSERT_TRUE(some.status.ok()) << some.status.ToString();
  EXPECT_EQ(some.csv,
            "name,id\nplain,1\n\"quote \"\" and, comma\nand a new line: žluťoučký kůň\",2\n"
            "\"\",3\n");
}

// A query's columns get the same treatment: bytes as hex, BIT as a number, zero dates as NULL,
// unsigned and wide decimals.
TEST_F(MysqlExtractorTest, AQueryWithBytesBitsAndZeroDates) {
  ASSERT_EQ(server_->Sql(R"SQL(
SET SESSION sql_mode = '';
DROP TABLE IF EXISTS odd;
CREATE TABLE odd (id int PRIMARY KEY, b varbinary(8), bits bit(10), d date, t datetime(3),
  u int unsigned, ud decimal(5,0) unsigned, wide decimal(50,10)) ENGINE=InnoDB;
INSERT INTO odd VALUES (1, x'00ff10', b'1000000001', '0000-00-00', '2024-00-10 01:02:03.456',
  4294967295, 99999, 1.5),
  (2, '', b'0', '2024-01-02', '2024-01-02 03:04:05.678', 0, 0, -2);
)SQL"),
            "");
  Extraction run =
      Extract({{"db", Db()},
               {"query", "SELECT id, b, bits, d, t, u, ud, wide FROM odd ORDER BY id;\n"},
               {"outputTable", "in.c-mysql.odd"}});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.csv,
            "id,b,bits,d,t,u,ud,wide\n"
            "1,00ff10,513,,,4294967295,99999,1.5000000000\n"
            "2,\"\",0,2024-01-02,2024-01-02 03:04:05.678,0,0,-2.0000000000\n");
  EXPECT_EQ(run.manifest["column_metadata"], json({{"id", Type("INTEGER")},
                                                   {"b", Type("STRING")},
                                                   {"bits", Type("INTEGER")},
                                                   {"d", Type("DATE")},
                                                   {"t", Type("TIMESTAMP")},
                                                   {"u", Type("INTEGER")},
                                                   {"ud", Type("NUMERIC", "5,0")},
                                                   {"wide", Type("STRING")}}))
      << run.manifest.dump(2);
  EXPECT_EQ(run.manifest["primary_key"], json::array());
}

// incrementalFetchingColumn: the first run reads all, the next reads rows >= the last value
// (Keboola's rule: rows sharing the last value are read again, the primary key upserts them).
TEST_F(MysqlExtractorTest, IncrementalFetchingKeepsItsState) {
  ASSERT_EQ(server_->Sql("DROP TABLE IF EXISTS events; CREATE TABLE events (id int PRIMARY KEY, "
                         "v varchar(20)); INSERT INTO events VALUES (2, 'v2'), (1, 'v1'), "
                         "(3, 'v3');"),
            "");
  const json parameters = {{"db", Db()},
                           {"table", {{"tableName", "events"}}},
                           {"outputTable", "in.c-mysql.events"},
                           {"primaryKey", {"id"}},
                           {"incrementalFetchingColumn", "id"}};
  Extraction first = Extract(parameters);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(first.csv, "id,v\n1,v1\n2,v2\n3,v3\n");
  EXPECT_EQ(first.state, json({{"lastFetchedRow", "3"}}));
  EXPECT_EQ(first.manifest["incremental"], true);

  ASSERT_EQ(server_->Sql("UPDATE events SET v = 'changed' WHERE id = 3; INSERT INTO events "
                         "VALUES (5, 'v5'), (4, 'v4'); UPDATE events SET v = 'not read' WHERE "
                         "id = 1;"),
            "");
  Extraction second = Extract(parameters, first.state);
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.csv, "id,v\n3,changed\n4,v4\n5,v5\n");
  EXPECT_EQ(second.state, json({{"lastFetchedRow", "5"}}));
  EXPECT_NE(second.log.find("rows since the last run"), std::string::npos) << second.log;

  json limited = parameters;
  limited["incrementalFetchingLimit"] = 2;
  Extraction third = Extract(limited, first.state);
  ASSERT_TRUE(third.status.ok()) << third.status.ToString();
  EXPECT_EQ(third.csv, "id,v\n3,changed\n4,v4\n");
  EXPECT_EQ(third.state, json({{"lastFetchedRow", "4"}}));

  // No new rows: the state stays.
  ASSERT_EQ(server_->Sql("DELETE FROM events WHERE id >= 5;"), "");
  Extraction none = Extract(parameters, second.state);
  ASSERT_TRUE(none.status.ok()) << none.status.ToString();
  EXPECT_EQ(none.csv, "id,v\n");
  EXPECT_EQ(none.state, json({{"lastFetchedRow", "5"}}));
}

TEST_F(MysqlExtractorTest, RefusedLoginsAndBadConfigurationsAreUserErrors) {
  const std::string wrong = "wrong-password-123";
  Extraction bad = Extract(
      {{"db", Db(wrong)}, {"table", {{"tableName", "typed"}}}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument) << bad.status.ToString();
  EXPECT_NE(bad.status.message().find("Access denied"), std::string::npos) << bad.status.ToString();
  EXPECT_EQ(bad.status.ToString().find(wrong), std::string::npos) << bad.status.ToString();
  EXPECT_EQ(bad.log.find(wrong), std::string::npos) << bad.log;

  json db = Db();
  db["database"] = "no_such_database";
  Extraction unknown =
      Extract({{"db", db}, {"table", {{"tableName", "typed"}}}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(unknown.status.code(), StatusCode::kInvalidArgument) << unknown.status.ToString();

  Extraction no_table = Extract(
      {{"db", Db()}, {"table", {{"tableName", "no_such_table"}}}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(no_table.status.code(), StatusCode::kInvalidArgument) << no_table.status.ToString();
  EXPECT_NE(no_table.status.message().find("parameters.table"), std::string::npos);

  Extraction bad_sql =
      Extract({{"db", Db()}, {"query", "SELEC nonsense"}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(bad_sql.status.code(), StatusCode::kInvalidArgument) << bad_sql.status.ToString();

  // A second statement cannot ride along: the query is one derived table. (Its own table: each
  // test may run alone, in its own process.)
  ASSERT_EQ(server_->Sql("DROP TABLE IF EXISTS survivor; CREATE TABLE survivor (id int); "
                         "INSERT INTO survivor VALUES (1);"),
            "");
  Extraction two = Extract(
      {{"db", Db()}, {"query", "SELECT 1; DROP TABLE survivor"}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(two.status.code(), StatusCode::kInvalidArgument) << two.status.ToString();
  EXPECT_EQ(server_->Sql("SELECT count(*) > 0 FROM survivor"), "1");

  // Nothing listens on this port: the network's fault, not the configuration's.
  json closed = Db();
  closed["port"] = 1;
  Extraction unreachable =
      Extract({{"db", closed}, {"table", {{"tableName", "x"}}}, {"outputTable", "in.c-mysql.x"}});
  EXPECT_EQ(unreachable.status.code(), StatusCode::kUnavailable) << unreachable.status.ToString();
}

constexpr const char* kEndless =
    "SELECT seq AS id, md5(seq) AS h FROM seq_1_to_200000000";  // MariaDB's Sequence engine

// Waits until the extractor has streamed `bytes` into its CSV (up to 60 s).
bool WaitForBytes(const std::string& path, uintmax_t bytes) {
  for (int i = 0; i < 1200; ++i) {
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) >= bytes && !ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Rows stream: 2,000,000 rows (~80 MB of CSV) leave the process's peak memory nearly where it
// was (a buffered result would hold them all).
TEST_F(MysqlExtractorTest, MemoryStaysFlatForALargeResult) {
  auto peak_kb = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<int64_t>(u.ru_maxrss);
  };
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/tables");
  ExtractorIo io;
  io.out_dir = dir.path();
  const int64_t before = peak_kb();
  const Status s =
      RunMysqlExtractor({{"parameters",
                          {{"db", Db()},
                           {"query", "SELECT seq AS id, md5(seq) AS h FROM seq_1_to_2000000"},
                           {"outputTable", "large"}}}},
                        io);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const int64_t grown_kb = peak_kb() - before;
  EXPECT_GT(std::filesystem::file_size(dir.path() + "/tables/large.csv"), 70u << 20);
  EXPECT_LT(grown_kb, 16 * 1024) << "peak memory grew by " << grown_kb << " KiB";
}

// The server ends the session while rows stream: an unavailable error, no crash, no hang.
TEST_F(MysqlExtractorTest, AServerThatKillsTheSessionMidStreamIsAnError) {
  TempDir dir;
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    if (!WaitForBytes(dir.path() + "/tables/in.c-mysql.endless.csv", 1 << 20)) return;
    for (int i = 0; i < 100 && !killed; ++i) {
      const std::string id = server_->Sql(
          "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'swan' AND COMMAND = "
          "'Query'");
      if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) {
        killed = server_->Sql("KILL " + id).empty();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Extraction run =
      Extract({{"db", Db()}, {"query", kEndless}, {"outputTable", "in.c-mysql.endless"}},
              json::object(), nullptr, 0, dir.path());
  killer.join();
  EXPECT_TRUE(killed);
  EXPECT_EQ(run.status.code(), StatusCode::kUnavailable) << run.status.ToString();
  EXPECT_NE(run.status.message().find("reading the rows"), std::string::npos)
      << run.status.ToString();
  EXPECT_TRUE(run.state.is_null() || run.state.empty());
}

// The cancel flag stops a stream between rows, and a read that blocks on the server too.
TEST_F(MysqlExtractorTest, TheCancelFlagStopsTheExtraction) {
  TempDir dir;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([&] {
    WaitForBytes(dir.path() + "/tables/in.c-mysql.endless.csv", 1 << 20);
    cancel->store(true);
  });
  Extraction run =
      Extract({{"db", Db()}, {"query", kEndless}, {"outputTable", "in.c-mysql.endless"}},
              json::object(), cancel, 0, dir.path());
  canceller.join();
  EXPECT_EQ(run.status.code(), StatusCode::kCancelled) << run.status.ToString();

  auto cancel2 = std::make_shared<std::atomic<bool>>(false);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel2->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  Extraction blocked = Extract(
      {{"db", Db()}, {"query", "SELECT SLEEP(30) AS s"}, {"outputTable", "in.c-mysql.sleep"}},
      json::object(), cancel2);
  later.join();
  EXPECT_EQ(blocked.status.code(), StatusCode::kCancelled) << blocked.status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// The job's timeout becomes the server's statement time limit.
TEST_F(MysqlExtractorTest, TheJobTimeoutStopsALongStatement) {
  const auto start = std::chrono::steady_clock::now();
  Extraction run =
      Extract({{"db", Db()}, {"query", kEndless}, {"outputTable", "in.c-mysql.endless"}},
              json::object(), nullptr, 1000);
  EXPECT_EQ(run.status.code(), StatusCode::kUnavailable) << run.status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace swan::testing
