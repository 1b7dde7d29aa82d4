// Tests for engine/duckdb: DuckDB's error types become Swan's codes (issue 8.5), and engine
// messages never show private paths or DuckDB stack traces.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include <sys/resource.h>

#include "common/thread_priority.h"
#include "engine/duckdb.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using engine::Connection;
using engine::Database;
using engine::DatabaseOptions;

struct Engine {
  std::unique_ptr<Database> db;
  std::unique_ptr<Connection> conn;
};

Engine OpenEngine(DatabaseOptions options = {}) {
  if (options.threads == 0) options.threads = 2;
  auto db = Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return {};
  auto conn = Connection::Open(**db);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return {};
  return {std::move(*db), std::move(*conn)};
}

void ExpectCode(const Status& st, StatusCode code, const std::string& what) {
  EXPECT_EQ(st.code(), code) << what << ": got " << st.ToString();
}

TEST(EngineErrorTest, TheUsersSqlAndDataAreInvalidArgument) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  ExpectCode(e.conn->Execute("SELEC 1"), StatusCode::kInvalidArgument, "parser");
  ExpectCode(e.conn->Execute("SELECT nosuch"), StatusCode::kInvalidArgument, "binder");
  ExpectCode(e.conn->Execute("SELECT * FROM nosuch"), StatusCode::kInvalidArgument, "catalog");
  ExpectCode(e.conn->Execute("SELECT 'abc'::INT"), StatusCode::kInvalidArgument, "conversion");
  ExpectCode(e.conn->Execute("SELECT 2147483647::INT + 1"), StatusCode::kInvalidArgument,
             "out of range");
  ASSERT_TRUE(e.conn->Execute("CREATE TABLE t (id INT PRIMARY KEY)").ok());
  ExpectCode(e.conn->Execute("INSERT INTO t VALUES (1), (1)"), StatusCode::kInvalidArgument,
             "constraint");
  // Through every entry point: QueryInt, Describe, Query (streaming, error in the prepare or
  // during the fetch), IsSingleSelect (parse only).
  ExpectCode(e.conn->QueryInt("SELECT 'x'::INT").status(), StatusCode::kInvalidArgument,
             "QueryInt");
  ExpectCode(e.conn->Describe("SELECT nosuch").status(), StatusCode::kInvalidArgument, "Describe");
  ExpectCode(e.conn
                 ->Query("SELECT CAST(CASE WHEN range = 5000 THEN 'x' ELSE '1' END AS INT) "
                         "FROM range(10000)")
                 .status(),
             StatusCode::kInvalidArgument, "conversion while streaming");
  ExpectCode(e.conn->IsSingleSelect("SELEC 1").status(), StatusCode::kInvalidArgument,
             "IsSingleSelect");
}

// Execute and QueryInt drive DuckDB's tasks themselves (engine/pending_query.h): an error raised
// while the statement runs keeps its type, read from DuckDB's message, and a text of several
// statements runs each of them once.
TEST(EngineErrorTest, ErrorsRaisedWhileRunningKeepTheirType) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  const std::string late_cast =
      "SELECT sum(CAST(CASE WHEN range = 150000 THEN 'x' ELSE '1' END AS INT)) FROM "
      "range(200000)";
  Status st = e.conn->Execute(late_cast);
  ExpectCode(st, StatusCode::kInvalidArgument, "conversion while running");
  EXPECT_NE(st.message().find("Conversion Error"), std::string::npos) << st.ToString();
  EXPECT_EQ(st.message().find("unsuccessful or closed pending"), std::string::npos)
      << st.ToString();
  ExpectCode(e.conn->QueryInt(late_cast).status(), StatusCode::kInvalidArgument, "QueryInt");
  st = e.conn->Execute("SELECT sum(range::INT * 100000) FROM range(200000)");
  ExpectCode(st, StatusCode::kInvalidArgument, "overflow while running");
  EXPECT_NE(st.message().find("Out of Range Error"), std::string::npos) << st.ToString();
  ExpectCode(e.conn->Execute("SELECT error('stop') FROM range(200000) WHERE range = 150000"),
             StatusCode::kInvalidArgument, "error() while running");

  ASSERT_TRUE(e.conn
                  ->Execute("CREATE TABLE m (x INT); INSERT INTO m VALUES (1); "
                            "INSERT INTO m SELECT x + 1 FROM m")
                  .ok());
  auto sum = e.conn->QueryInt("SELECT sum(x) FROM m");
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(*sum, 3);
  auto many = e.conn->QueryInt("SELECT count(*) FROM range(3000000) WHERE range % 7 = 0");
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  EXPECT_EQ(*many, 428572);
}

TEST(EngineErrorTest, IsSingleSelectParsesWithoutPlanning) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  for (const char* yes : {"SELECT 1", "FROM range(3)", "VALUES (1), (2)",
                          "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "SELECT 1 -- comment"}) {
    auto r = e.conn->IsSingleSelect(yes);
    ASSERT_TRUE(r.ok()) << yes << ": " << r.status().ToString();
    EXPECT_TRUE(*r) << yes;
  }
  for (const char* no : {"CREATE TABLE x AS SELECT 1", "SELECT 1; SELECT 2", "PRAGMA version",
                         "COPY (SELECT 1) TO 'x.csv'", "SET threads = 1", "EXPLAIN SELECT 1",
                         "ATTACH 'x.db'", "INSTALL httpfs", "DROP TABLE x"}) {
    auto r = e.conn->IsSingleSelect(no);
    EXPECT_TRUE(!r.ok() || !*r) << no;
  }
}

TEST(EngineErrorTest, TransactionConflictIsConflict) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  auto other = Connection::Open(*e.db);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(e.conn
                  ->Execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t "
                            "VALUES (1, 0)")
                  .ok());
  ASSERT_TRUE(e.conn->Execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1").ok());
  ExpectCode((*other)->Execute("UPDATE t SET v = 2 WHERE id = 1"), StatusCode::kConflict,
             "write-write conflict");
  ASSERT_TRUE(e.conn->Execute("COMMIT").ok());
}

TEST(EngineErrorTest, OutOfMemoryIsUnavailableNeverTheUsersInput) {
  DatabaseOptions options;
  options.memory_limit = "32MB";
  options.threads = 1;
  Engine e = OpenEngine(options);
  ASSERT_TRUE(e.conn);
  Status st = e.conn->Execute("SELECT string_agg(repeat('x', 1000)) FROM range(1000000)");
  ExpectCode(st, StatusCode::kUnavailable, "out of memory");
  EXPECT_NE(st.message().find("Out of Memory"), std::string::npos) << st.message();
}

TEST(EngineErrorTest, InterruptIsCancelled) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  std::atomic<bool> done{false};
  // An interrupt reaches only a running query: repeat it until the query has stopped.
  std::thread interrupter([&] {
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      e.conn->Interrupt();
    }
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = e.conn->QueryInt("SELECT count(*) FROM range(10000000000000)");
  done = true;
  interrupter.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectCode(r.status(), StatusCode::kCancelled, "interrupt");
  EXPECT_LT(seconds, 10.0);
  // The connection works afterwards.
  auto one = e.conn->QueryInt("SELECT 1");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, 1);
}

TEST(EngineErrorTest, IoErrorsAreTheServersUnlessTheInputIsUnreadable) {
  TempDir dir;
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  // A full disk: /dev/full fails every write with ENOSPC.
  Status full = e.conn->Execute(
      "COPY (SELECT range FROM range(100000)) TO '/dev/full' (FORMAT "
      "csv)");
  ExpectCode(full, StatusCode::kUnavailable, "disk full");
  // A file the server expected is gone (a segment lost to a bug or an operator).
  ExpectCode(e.conn->Execute("SELECT * FROM read_parquet('" + dir.path() + "/gone.parquet')"),
             StatusCode::kInternal, "missing server file");
  // Bytes that are not what they claim: the input's fault.
  WriteFile(dir.path() + "/bad.csv.gz", "this is not gzip at all, just text\n");
  ExpectCode(e.conn->Execute("SELECT * FROM read_csv('" + dir.path() + "/bad.csv.gz')"),
             StatusCode::kInvalidArgument, "not a gzip stream");
}

TEST(EngineErrorTest, MessagesHidePrivatePaths) {
  TempDir dir;
  DatabaseOptions options;
  options.private_paths = {dir.path()};
  Engine e = OpenEngine(options);
  ASSERT_TRUE(e.conn);
  const std::string segment = dir.path() + "/segments/p1/0123456789abcdef.parquet";
  for (const std::string& sql :
       {"SELECT * FROM read_parquet('" + segment + "')",
        "COPY (SELECT 1) TO '" + dir.path() + "/no/such/dir/out.parquet' (FORMAT parquet)",
        "SELECT * FROM read_csv('" + dir.path() + "/tmp/0123.upload')"}) {
    Status st = e.conn->Execute(sql);
    ASSERT_FALSE(st.ok()) << sql;
    EXPECT_EQ(st.message().find(dir.path()), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(engine::kHiddenPath), std::string::npos) << st.message();
  }
  // The streaming path scrubs too.
  auto q = e.conn->Query("SELECT * FROM read_parquet('" + segment + "')");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message().find(dir.path()), std::string::npos) << q.status().message();
}

TEST(EngineErrorTest, ScrubDropsStackTracesAndEveryFormOfAPrivatePath) {
  const std::string cwd = std::filesystem::current_path().string();
  const std::vector<std::string> paths = {"swan-data", "/srv/swan/data/"};
  std::string msg = engine::ScrubEngineMessage(
      "INTERNAL Error: Attempted to access index 3 within vector of size 3\n\nStack Trace:\n\n"
      "0 duckdb::Exception::Exception() + 52\n1 /srv/swan/data/x\n",
      paths);
  EXPECT_EQ(msg, "INTERNAL Error: Attempted to access index 3 within vector of size 3");
  EXPECT_EQ(
      engine::ScrubEngineMessage("IO Error: Cannot open \"swan-data/tmp/ab12.upload\": x, also " +
                                     cwd + "/swan-data/segments/p2/cd.parquet and /srv/swan/data",
                                 paths),
      std::string("IO Error: Cannot open \"") + engine::kHiddenPath + "\": x, also " +
          engine::kHiddenPath + " and " + engine::kHiddenPath);
  // Not a path under them: a sibling folder, a word, a path that merely contains the name.
  const std::string untouched =
      "the swan-data is fine; /srv/swan/data2/x; /opt/swan-data-old/y; my-swan-data/z";
  EXPECT_EQ(engine::ScrubEngineMessage(untouched, paths), untouched);
}

TEST(EngineStreamTest, NextRowsConvertsOneRowAtATimeAndStopsWhenAsked) {
  Engine e = OpenEngine();
  ASSERT_TRUE(e.conn);
  auto stream = e.conn->Stream("SELECT range AS i, 'v' || range AS s FROM range(5000)");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  int seen = 0;
  auto more = (*stream)->NextRows([&](engine::Row& row) {
    EXPECT_EQ(row.size(), 2u);
    EXPECT_EQ(row[0], std::to_string(seen));
    return ++seen < 10;
  });
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_TRUE(*more);
  EXPECT_EQ(seen, 10);
}

std::set<std::string> ThreadIds() {
  std::set<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    ids.insert(e.path().filename().string());
  }
  return ids;
}

int NiceOf(const std::string& tid) {
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(tid)));
  return errno == 0 ? nice : -100;
}

// A database for jobs' loads runs its workers at the bulk priority; the thread that opened it and
// the one running a query keep theirs; a plain database's workers keep the base priority.
TEST(EngineThreadsTest, BulkWorkersRunAtTheBulkPriority) {
  const int base = ThisThreadNice();
  ASSERT_LT(base, 19);
  // The first thread to enter the bulk priority starts the process's base-priority spawner (one
  // more thread, at the base): before the count below.
  std::thread([] { EnterBulkPriority(); }).join();
  for (const bool bulk : {false, true}) {
    const std::set<std::string> before = ThreadIds();
    DatabaseOptions options;
    options.threads = 3;
    options.bulk_workers = bulk;
    Engine e = OpenEngine(options);
    ASSERT_TRUE(e.conn);
    auto n = e.conn->QueryInt("SELECT count(*) FROM range(3000000) WHERE range % 7 = 0");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 428572);
    std::vector<int> nices;
    for (const std::string& tid : ThreadIds()) {
      if (!before.count(tid)) nices.push_back(NiceOf(tid));
    }
    ASSERT_GE(nices.size(), 2u) << "DuckDB's workers (threads 3: two besides the caller)";
    for (int nice : nices) EXPECT_EQ(nice, bulk ? std::min(base + kBulkNice, 19) : base);
    EXPECT_EQ(ThisThreadNice(), base);
  }
}

}  // namespace
}  // namespace swan::testing
