// Tests for query/sql_worker and query/sql_wire: SQL in worker processes capped in memory
// (issue 8, 10f). The worker is the real `swan` binary (SWAN_BINARY __sql-worker); the runner is
// called directly, and once through a real server.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "client/api_client.h"
#include "common/limits.h"
#include "query/sql_runner.h"
#include "query/sql_wire.h"
#include "query/sql_worker.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using query::SqlRequest;
using query::SqlRunner;
using query::SqlRunnerOptions;
using Clock = std::chrono::steady_clock;

SqlRequest Request(const std::string& sql, int64_t timeout_ms = 30000) {
  SqlRequest r;
  r.sql = sql;
  r.timeout_ms = timeout_ms;
  return r;
}

SqlRunnerOptions WorkerOptions(const std::string& data_dir, const std::string& memory = "256MB") {
  SqlRunnerOptions o;
  o.data_dir = data_dir;
  o.memory_limit = memory;
  o.threads = 1;
  o.worker_exe = SWAN_BINARY;
  return o;
}

// Live (not zombie) child processes of this process.
std::set<pid_t> Children() {
  std::set<pid_t> out;
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos || close + 4 >= line.size()) continue;
    const char state = line[close + 2];
    const pid_t ppid = static_cast<pid_t>(std::atoi(line.c_str() + close + 4));
    if (ppid == getpid() && state != 'Z') out.insert(pid);
  }
  closedir(proc);
  return out;
}

// Waits until `pred` holds (up to 10 s).
template <typename Pred>
bool Eventually(Pred pred) {
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(SqlWorkerTest, MemoryLimitsAreReadAsDuckDbReadsThem) {
  EXPECT_EQ(query::ParseMemoryBytes("512MB"), 512000000u);
  EXPECT_EQ(query::ParseMemoryBytes("512 MiB"), 512u << 20);
  EXPECT_EQ(query::ParseMemoryBytes("2GB"), 2000000000u);
  EXPECT_EQ(query::ParseMemoryBytes("1.5GiB"), 1610612736u);
  EXPECT_EQ(query::ParseMemoryBytes("4096"), 4096u);
  EXPECT_EQ(query::ParseMemoryBytes("80%"), std::nullopt);
  EXPECT_EQ(query::ParseMemoryBytes("lots"), std::nullopt);
  EXPECT_EQ(query::ParseMemoryBytes(""), std::nullopt);
}

TEST(SqlWorkerTest, MessagesRoundTripAndMalformedFramesAreRefused) {
  query::wire::Request r;
  r.kind = query::wire::Kind::kToParquet;
  r.sql = "SELECT * FROM \"in.a.b\"";
  r.row_limit = 7;
  r.timeout_ms = 1234;
  r.answer_bytes_max = 99;
  r.out_path = "/x/y.parquet";
  r.tables = {{"in.a.b", "SELECT 1", {"/f1", "/f2"}}, {"in.a.c", "SELECT 2", {}}};
  auto back = query::wire::DecodeRequest(query::wire::Encode(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, r.kind);
  EXPECT_EQ(back->sql, r.sql);
  EXPECT_EQ(back->row_limit, 7);
  EXPECT_EQ(back->timeout_ms, 1234);
  EXPECT_EQ(back->answer_bytes_max, 99u);
  EXPECT_EQ(back->out_path, r.out_path);
  ASSERT_EQ(back->tables.size(), 2u);
  EXPECT_EQ(back->tables[0].files, (std::vector<std::string>{"/f1", "/f2"}));
  EXPECT_EQ(back->tables[1].select_sql, "SELECT 2");

  query::wire::Answer a;
  a.status = Status::InvalidArgument("bad").WithDetail("field", "sql");
  a.result.rows.columns = {{"a", "INTEGER"}, {"b", "VARCHAR"}};
  a.result.rows.rows = {{"1", std::nullopt}, {std::nullopt, std::string("x\0y", 3)}};
  a.result.truncated = true;
  a.parquet_rows = 5;
  auto answer = query::wire::DecodeAnswer(query::wire::Encode(a));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(answer->status.message(), "bad");
  EXPECT_EQ(answer->status.details().at("field"), "sql");
  EXPECT_EQ(answer->result.rows.rows, a.result.rows.rows);
  EXPECT_EQ(answer->result.rows.columns[1].type, "VARCHAR");
  EXPECT_TRUE(answer->result.truncated);
  EXPECT_EQ(answer->parquet_rows, 5);

  const std::string frame = query::wire::Encode(a);
  for (size_t cut : {size_t{0}, size_t{5}, frame.size() / 2, frame.size() - 1}) {
    EXPECT_EQ(query::wire::DecodeAnswer(frame.substr(0, cut)).status().code(),
              StatusCode::kInternal)
        << "cut at " << cut;
  }
  EXPECT_EQ(query::wire::DecodeRequest(frame + "x").status().code(), StatusCode::kInternal);
}

// The same answers as in-process, and the workers are reused: a run of queries starts no new
// process.
TEST(SqlWorkerTest, AnswersQueriesAndReusesItsWorkers) {
  TempDir data;
  SqlRunner runner(WorkerOptions(data.path()));
  auto first = runner.Run({}, Request("SELECT 42 AS x, NULL AS y, 'a\"b' AS z"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->rows.columns.size(), 3u);
  EXPECT_EQ(first->rows.columns[0].name, "x");
  EXPECT_EQ(first->rows.columns[0].type, "INTEGER");
  ASSERT_EQ(first->rows.rows.size(), 1u);
  EXPECT_EQ(first->rows.rows[0][0], "42");
  EXPECT_EQ(first->rows.rows[0][1], std::nullopt);
  EXPECT_EQ(first->rows.rows[0][2], "a\"b");
  EXPECT_FALSE(first->truncated);

  ASSERT_TRUE(Eventually([] { return Children().size() >= 2; })) << "idle workers not started";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(runner.Run({}, Request("SELECT 1")).ok());
  const std::set<pid_t> workers = Children();
  for (int i = 0; i < 20; ++i) {
    auto r = runner.Run({}, Request("SELECT " + std::to_string(i) + " + 1 AS n"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->rows.rows.at(0).at(0), std::to_string(i + 1));
  }
  // The user's bad SQL leaves the worker clean: it is reused too.
  auto bad = runner.Run({}, Request("SELEC 1"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto two = runner.Run({}, Request("SELECT 1; SELECT 2"));
  EXPECT_EQ(two.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Children(), workers) << "a worker was replaced";

  // Limits travel with the request.
  SqlRequest limited = Request("SELECT range AS n FROM range(10)");
  limited.row_limit = 3;
  auto cut = runner.Run({}, limited);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut->rows.rows.size(), 3u);
  EXPECT_TRUE(cut->truncated);
}

// 10f: DuckDB builds this query's 1 GB chunk of strings outside its memory limit. In a worker it
// fails against the worker's cap; this process's memory does not move, and the next query runs.
TEST(SqlWorkerTest, AHugeValueFailsInTheWorkerNotInTheServer) {
  TempDir data;
  SqlRunner runner(WorkerOptions(data.path(), "256MB"));
  ASSERT_TRUE(runner.Run({}, Request("SELECT 1")).ok());  // workers up
  const long hwm_before_kib = ProcStatusKib(getpid(), "VmHWM");
  auto r = runner.Run({}, Request("SELECT repeat('x', 1000000) AS s FROM range(1000)"));
  const long growth_mib = (ProcStatusKib(getpid(), "VmHWM") - hwm_before_kib) / 1024;
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("memory"), std::string::npos) << r.status().ToString();
  std::printf("this process's VmHWM grew by %ld MiB\n", growth_mib);
  EXPECT_LT(growth_mib, 64);
  auto after = runner.Run({}, Request("SELECT 7 AS n"));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows.rows.at(0).at(0), "7");
}

// The time limit holds however the worker is busy: its process is killed and replaced.
TEST(SqlWorkerTest, TimeLimitKillsTheWorker) {
  TempDir data;
  SqlRunner runner(WorkerOptions(data.path()));
  ASSERT_TRUE(runner.Run({}, Request("SELECT 1")).ok());
  ASSERT_TRUE(Eventually([] { return Children().size() >= 2; }));
  const std::set<pid_t> before = Children();
  const auto start = Clock::now();
  auto r = runner.Run({}, Request("SELECT count(*) FROM range(1000000000000)", 300));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(r.status().details().count("field") ? r.status().details().at("field") : "",
            "timeout_ms");
  EXPECT_LT(seconds, 3.0);
  // The worker that ran it is gone; the pool is back to its spares.
  ASSERT_TRUE(Eventually([&] {
    auto now = Children();
    size_t kept = 0;
    for (pid_t p : before) kept += now.count(p);
    return kept == before.size() - 1 && now.size() >= 2;
  })) << "the timed-out worker was not replaced";
  EXPECT_EQ(runner.running_sandboxes(), 0);
  // Its spill folder goes with it (a killed worker cannot remove it itself).
  const std::set<pid_t> now = Children();
  for (pid_t p : before) {
    if (now.count(p)) continue;
    const std::string folder = data.path() + "/sql-spill/worker-" + std::to_string(p);
    EXPECT_TRUE(Eventually([&] { return !std::filesystem::exists(folder); })) << folder;
  }
}

TEST(SqlWorkerTest, CancelAndShutdownEndARunningQuery) {
  TempDir data;
  std::optional<SqlRunner> runner(std::in_place, WorkerOptions(data.path()));
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  SqlRequest slow = Request("SELECT count(*) FROM range(1000000000000)", 60000);
  slow.cancel = cancel;
  std::thread flip([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel->store(true);
  });
  auto r = runner->Run({}, slow);
  flip.join();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();

  // The runner's destructor ends a query still running.
  slow.cancel = nullptr;
  Result<query::SqlResult> running = Status::Internal("not run");
  std::thread query([&] { running = runner->Run({}, slow); });
  ASSERT_TRUE(Eventually([&] { return runner->running_sandboxes() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = Clock::now();
  runner.reset();
  query.join();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 3.0);
  EXPECT_EQ(running.status().code(), StatusCode::kCancelled) << running.status().ToString();
  EXPECT_TRUE(Eventually([] { return Children().empty(); })) << "workers outlived the runner";
}

TEST(SqlWorkerTest, WritesParquetAndRemovesItOnFailure) {
  TempDir data;
  SqlRunner runner(WorkerOptions(data.path()));
  const std::string out = data.path() + "/out.parquet";
  auto n = runner.RunToParquet({}, Request("SELECT range AS n FROM range(1234)"), out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1234);
  EXPECT_GT(std::filesystem::file_size(out), 0u);
  const std::string failed = data.path() + "/failed.parquet";
  auto bad = runner.RunToParquet({}, Request("SELECT error('boom')"), failed);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(std::filesystem::exists(failed));
}

TEST(SqlWorkerTest, AWorkerThatCannotStartIsAClearError) {
  TempDir data;
  SqlRunnerOptions o = WorkerOptions(data.path());
  o.worker_exe = data.path() + "/no-such-swan";
  SqlRunner runner(o);
  auto r = runner.Run({}, Request("SELECT 1", 5000));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("SQL worker"), std::string::npos) << r.status().ToString();
}

// Through a real `swan server`: the huge value answers 503 and the server's peak memory stays
// where it was; another tenant's query answers meanwhile.
TEST(SqlWorkerTest, ServerMemoryStaysFlatUnderAHugeValue) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  client::ApiClient admin(server.url(), server.admin_token());
  auto project = admin.Post("/v1/projects", {{"name", "p"}});
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  client::ApiClient api(server.url(), (*project)["token"]["secret"].get<std::string>());
  ASSERT_TRUE(api.Post("/v1/projects/p/sql", {{"sql", "SELECT 1"}}).ok());
  const long hwm_before_kib = ProcStatusKib(server.pid(), "VmHWM");
  ASSERT_GT(hwm_before_kib, 0);
  HttpResponse r =
      HttpCall("POST", server.url() + "/v1/projects/p/sql",
               {"Authorization: Bearer " + (*project)["token"]["secret"].get<std::string>(),
                "Content-Type: application/json"},
               nlohmann::json{{"sql", "SELECT repeat('x', 1000000) AS s FROM range(1000)"}}.dump());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("memory"), std::string::npos) << r.body;
  const long growth_mib = (ProcStatusKib(server.pid(), "VmHWM") - hwm_before_kib) / 1024;
  std::printf("server VmHWM grew by %ld MiB\n", growth_mib);
  EXPECT_LT(growth_mib, 64) << server.Log();
  auto ok = api.Post("/v1/projects/p/sql", {{"sql", "SELECT 5 AS n"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["rows"][0][0].dump(), "5") << ok->dump();
}

}  // namespace
}  // namespace swan::testing
