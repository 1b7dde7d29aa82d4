// Tests for query/sql_runner: the SQL sandbox's private spill folder (issue 8.10a), the answer's
// byte cap (8.10f), the time limit counted from the request's arrival and the SQL text bound
// (8.10g), the bound on concurrent sandboxes (8.7) and scrubbed error messages. No server: the
// runner is called directly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/limits.h"
#include "query/sql_runner.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using query::SqlRequest;
using query::SqlRunner;
using query::SqlRunnerOptions;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

SqlRequest Request(const std::string& sql, int64_t timeout_ms = 30000) {
  SqlRequest r;
  r.sql = sql;
  r.timeout_ms = timeout_ms;
  return r;
}

SqlRunnerOptions Options(const std::string& data_dir, const std::string& memory, int threads) {
  SqlRunnerOptions o;
  o.data_dir = data_dir;
  o.memory_limit = memory;
  o.threads = threads;
  return o;
}

// Every regular file under `dir`, recursively (missing dir: none).
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  return out;
}

bool EmptyOrMissing(const std::string& dir) {
  std::error_code ec;
  return !std::filesystem::exists(dir, ec) || std::filesystem::is_empty(dir, ec);
}

// A query that cannot finish within a small memory limit without spilling (a window over 3M rows
// sorted by hash), whose answer is known.
constexpr const char* kSpillingQuery =
    "SELECT count(*) AS n, sum(r) AS total FROM (SELECT row_number() OVER (ORDER BY hash(range)) "
    "AS r FROM range(3000000))";

// 10a: while one sandbox spills, another cannot read, list or glob the spill folder; the spilling
// query itself succeeds, and every spill folder is gone afterwards.
// `workers`: the runner sends queries to worker processes (the server's mode); each worker's
// sandboxes spill below <spill root>/worker-<pid>/.
void ExpectSpillFolderIsPrivate(bool workers) {
  TempDir data;
  const std::string spill_root = data.path() + "/sql-spill";
  // A previous process's leftovers are removed at start.
  std::filesystem::create_directories(spill_root + "/stale");
  WriteFile(spill_root + "/stale/duckdb_temp_storage_S32K-0.tmp", "old rows");
  {
    SqlRunnerOptions options;
    options.data_dir = data.path();
    options.memory_limit = "48MB";
    options.threads = 2;
    if (workers) options.worker_exe = SWAN_BINARY;
    SqlRunner runner(options);
    EXPECT_FALSE(std::filesystem::exists(spill_root + "/stale")) << "leftover spill kept";

    // The victim: a query that spills. The test watches the spill folder meanwhile.
    auto victim = std::async(std::launch::async,
                             [&] { return runner.Run({}, Request(kSpillingQuery, 60000)); });
    std::string spill_file;
    const auto start = Clock::now();
    while (spill_file.empty() && SecondsSince(start) < 60 &&
           victim.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      for (const auto& f : FilesUnder(spill_root)) {
        if (f.find("duckdb_temp") != std::string::npos) spill_file = f;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_FALSE(spill_file.empty()) << "the query did not spill: the test proves nothing";
    const std::string spill_dir = std::filesystem::path(spill_file).parent_path().string();
    const std::filesystem::path parent = std::filesystem::path(spill_dir).parent_path();
    if (workers) {
      EXPECT_EQ(parent.parent_path().string(), spill_root);
      EXPECT_EQ(parent.filename().string().rfind("worker-", 0), 0u) << spill_dir;
    } else {
      EXPECT_EQ(parent.string(), spill_root);
    }

    // The attacker, another sandbox, while the victim's rows are on disk.
    const std::vector<std::string> attempts = {
        "SELECT count(*) FROM read_blob('" + spill_file + "')",
        "SELECT count(*) FROM read_blob('" + spill_dir + "/*')",
        "SELECT count(*) FROM read_blob('" + spill_root + "/*/*')",
        "SELECT count(*) FROM read_csv('" + spill_file + "')",
        "SELECT count(*) FROM read_text('" + spill_file + "')",
        "SELECT count(*) FROM glob('" + spill_root + "/**')",
        "SELECT count(*) FROM glob('" + spill_dir + "/*')",
        "SELECT count(*) FROM read_blob('.tmp/*')",
        "SELECT count(*) FROM glob('.tmp/*')",
        "SELECT count(*) FROM read_blob('" + spill_root + "/../sql-spill/*/*')",
        "SELECT count(*) FROM glob('" + data.path() + "/**')",
    };
    for (const auto& sql : attempts) {
      auto r = runner.Run({}, Request(sql));
      EXPECT_FALSE(r.ok()) << "read another sandbox's spill folder: " << sql;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
        EXPECT_EQ(r.status().message().find(data.path()), std::string::npos)
            << "the error shows the data directory: " << r.status().message();
      }
    }
    // Nothing in a sandbox's settings names another's folder.
    auto setting =
        runner.Run({}, Request("SELECT current_setting('allowed_directories')::VARCHAR"));
    ASSERT_TRUE(setting.ok()) << setting.status().ToString();
    ASSERT_EQ(setting->rows.rows.size(), 1u);
    const std::string allowed = setting->rows.rows[0][0].value_or("");
    EXPECT_EQ(allowed.find(spill_dir), std::string::npos) << allowed;
    EXPECT_EQ(allowed.find(".tmp"), std::string::npos) << allowed;

    auto result = victim.get();
    ASSERT_TRUE(result.ok()) << "the spilling query failed: " << result.status().ToString();
    ASSERT_EQ(result->rows.rows.size(), 1u);
    EXPECT_EQ(result->rows.rows[0][0], "3000000");
    EXPECT_EQ(result->rows.rows[0][1], "4500001500000");
  }
  EXPECT_TRUE(EmptyOrMissing(spill_root)) << "spill folders left behind";
}

TEST(SqlSandboxTest, SpillFolderIsPrivateAndASpillingQuerySucceeds) {
  ExpectSpillFolderIsPrivate(/*workers=*/false);
}

TEST(SqlSandboxTest, SpillFolderIsPrivateInWorkerProcessesToo) {
  ExpectSpillFolderIsPrivate(/*workers=*/true);
}

// 10f: an answer stops at its rendered-byte cap while rows stream out of DuckDB, so the 1 GB
// answer of this query is never built; the process's peak memory stays far below it.
TEST(SqlSandboxTest, AnswerIsCappedInBytesAndMemoryStaysBounded) {
  TempDir data;
  SqlRunnerOptions options;
  options.data_dir = data.path();
  options.memory_limit = "512MB";
  options.threads = 2;
  SqlRunner runner(options);
  const long hwm_before_kib = ProcStatusKib(getpid(), "VmHWM");
  ASSERT_GT(hwm_before_kib, 0);
  auto r = runner.Run({}, Request("SELECT repeat('x', 1000000) AS s FROM range(1000)"));
  const long hwm_after_kib = ProcStatusKib(getpid(), "VmHWM");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->truncated);
  // 32 rows of 1 MB (+ quotes) fit in 32 MiB; row 33 does not.
  EXPECT_EQ(r->rows.rows.size(), limits::kSqlAnswerBytesMax / (1000000 + 8));
  const long growth_mib = (hwm_after_kib - hwm_before_kib) / 1024;
  std::printf("VmHWM before %ld MiB, after %ld MiB (growth %ld MiB)\n", hwm_before_kib / 1024,
              hwm_after_kib / 1024, growth_mib);
  // DuckDB computes a whole chunk (here all 1000 rows, 1 GB) before the first row can be read,
  // outside its memory limit; Swan adds at most the cap. Unbounded, the answer took 3.9 GB.
  EXPECT_LT(growth_mib, 1500) << "peak memory grew by " << growth_mib << " MiB";
}

TEST(SqlSandboxTest, AnswerByteCapAtItsEdge) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "256MB", 1));
  // Each row renders as ["aaaa"] plus a comma: 2 + 4 + 3 + 1 = 10 bytes by RenderedBytes' count.
  SqlRequest request = Request("SELECT 'aaaa' AS s FROM range(10)");
  auto full = runner.Run({}, request);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  ASSERT_EQ(full->rows.rows.size(), 10u);
  EXPECT_FALSE(full->truncated);
  // The cap that just holds every row, and one byte less.
  const size_t frame = 64 + 32 + 1 + 7;  // the answer's frame and column "s" VARCHAR
  request.answer_bytes_max = frame + 10 * 10;
  auto exact = runner.Run({}, request);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->rows.rows.size(), 10u);
  EXPECT_FALSE(exact->truncated);
  request.answer_bytes_max = frame + 10 * 10 - 1;
  auto cut = runner.Run({}, request);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut->rows.rows.size(), 9u);
  EXPECT_TRUE(cut->truncated);
  // Escapes count: a quote renders as two bytes.
  request.sql = "SELECT '\"\"\"\"' AS s FROM range(10)";
  request.answer_bytes_max = frame + 10 * 10;
  auto escaped = runner.Run({}, request);
  ASSERT_TRUE(escaped.ok()) << escaped.status().ToString();
  EXPECT_EQ(escaped->rows.rows.size(), 7u);  // 14 bytes a row
  EXPECT_TRUE(escaped->truncated);
}

// An IN list of about `bytes` bytes of SQL text.
std::string InListQuery(size_t bytes) {
  std::string sql = "SELECT count(*) FROM range(10) WHERE range IN (";
  for (size_t i = 0; sql.size() < bytes - 16; ++i) sql += (i ? "," : "") + std::to_string(i);
  return sql + ")";
}

// 10g: the time limit covers parsing and planning, which no interrupt reaches: a 1 MB IN list
// (several seconds of planning) answers at its 1 s limit.
TEST(SqlSandboxTest, TimeLimitCoversParsingAndPlanning) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "512MB", 2));
  const std::string sql = InListQuery(limits::kSqlTextBytesMax);
  ASSERT_LE(sql.size(), limits::kSqlTextBytesMax);
  const auto start = Clock::now();
  auto r = runner.Run({}, Request(sql, 1000));
  const double seconds = SecondsSince(start);
  std::printf("1 MiB IN list, timeout_ms 1000: answered in %.2f s: %s\n", seconds,
              r.ok() ? "ok" : r.status().ToString().c_str());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("time limit"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().details().at("field"), "timeout_ms");
  EXPECT_LT(seconds, 1.5);
  // The abandoned sandbox stops on its own and frees its slot.
  const auto wait = Clock::now();
  while (runner.running_sandboxes() > 0 && SecondsSince(wait) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(runner.running_sandboxes(), 0);
  auto after = runner.Run({}, Request("SELECT 42"));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
}

TEST(SqlSandboxTest, TimeLimitCountsFromTheRequestsArrival) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "256MB", 1));
  // Arrived 900 ms ago with a 1000 ms limit: 100 ms are left for a query that would run long.
  SqlRequest request = Request("SELECT count(*) FROM range(10000000000000)", 1000);
  request.started = Clock::now() - std::chrono::milliseconds(900);
  auto start = Clock::now();
  auto r = runner.Run({}, request);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("time limit"), std::string::npos) << r.status().ToString();
  EXPECT_LT(SecondsSince(start), 0.6);
  // Already past its limit on arrival at the runner: refused at once.
  request.sql = "SELECT 1";
  request.started = Clock::now() - std::chrono::milliseconds(1001);
  start = Clock::now();
  r = runner.Run({}, request);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("time limit"), std::string::npos) << r.status().ToString();
  EXPECT_LT(SecondsSince(start), 0.1);
  // Elapsed time is counted from the arrival too.
  request.started = Clock::now() - std::chrono::milliseconds(300);
  request.timeout_ms = 30000;
  auto ok = runner.Run({}, request);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_GE(ok->elapsed_ms, 300);
}

TEST(SqlSandboxTest, SqlTextSizeAtItsEdge) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "256MB", 1));
  std::string sql = "SELECT 1 AS one -- ";
  sql.resize(limits::kSqlTextBytesMax, 'x');
  auto at_limit = runner.Run({}, Request(sql));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->rows.rows.size(), 1u);
  sql += "x";
  auto over = runner.Run({}, Request(sql));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(over.status().details().at("field"), "sql");
}

// 7: kSqlSandboxesMax queries run at once; one more waits briefly, then is refused with
// `unavailable` and a retry hint; afterwards queries run again.
TEST(SqlSandboxTest, ConcurrentSandboxesAreBounded) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "128MB", 1));
  std::vector<std::future<Result<query::SqlResult>>> running;
  for (int i = 0; i < limits::kSqlSandboxesMax; ++i) {
    running.push_back(std::async(std::launch::async, [&] {
      return runner.Run({}, Request("SELECT count(*) FROM range(10000000000000)", 4000));
    }));
  }
  auto start = Clock::now();
  while (runner.running_sandboxes() < limits::kSqlSandboxesMax && SecondsSince(start) < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(runner.running_sandboxes(), limits::kSqlSandboxesMax) << "not every query got to run";
  start = Clock::now();
  auto refused = runner.Run({}, Request("SELECT 1"));
  const double waited = SecondsSince(start);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  EXPECT_EQ(refused.status().details().at(kRetryAfterSecondsDetail),
            std::to_string(limits::kRetryAfterSecondsDefault));
  EXPECT_GE(waited, limits::kSqlSandboxWaitMs / 1000.0 - 0.05);
  EXPECT_LT(waited, limits::kSqlSandboxWaitMs / 1000.0 + 1.0);
  // A query with less time left than the sandbox wait gives up at its own deadline.
  start = Clock::now();
  auto short_one = runner.Run({}, Request("SELECT 1", 200));
  EXPECT_EQ(short_one.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(SecondsSince(start), 0.6);
  // Each of the bounded ones ran until its own time limit: admitted, not refused.
  for (auto& f : running) {
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("time limit"), std::string::npos) << r.status().ToString();
  }
  auto after = runner.Run({}, Request("SELECT 1"));
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST(SqlSandboxTest, ShutdownCancelsRunningQueries) {
  TempDir data;
  auto runner = std::make_unique<SqlRunner>(Options(data.path(), "128MB", 1));
  auto running = std::async(std::launch::async, [&] {
    return runner->Run({}, Request("SELECT count(*) FROM range(10000000000000)", 60000));
  });
  const auto start = Clock::now();
  while (runner->running_sandboxes() < 1 && SecondsSince(start) < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // into the execution
  runner.reset();
  auto r = running.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_LT(SecondsSince(start), 10.0);
}

// 10g: no server path in an error: a table whose segment file is gone.
TEST(SqlSandboxTest, ErrorsDoNotShowServerPaths) {
  TempDir data;
  SqlRunner runner(Options(data.path(), "128MB", 1));
  const std::string segment = data.path() + "/segments/p1/0123456789abcdef.parquet";
  query::SqlTable table{"in.a.t", "SELECT * FROM read_parquet('" + segment + "')", {segment}};
  auto r = runner.Run({table}, Request("SELECT * FROM \"in.a.t\""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal) << r.status().ToString();
  EXPECT_EQ(r.status().message().find(data.path()), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("segments/"), std::string::npos) << r.status().message();
  // A path the user writes into the SQL is not the server's secret, but is refused all the same.
  auto own = runner.Run({}, Request("SELECT * FROM read_csv('" + data.path() + "/catalog.db')"));
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.status().message().find(data.path()), std::string::npos) << own.status().message();
}

}  // namespace
}  // namespace swan::testing
