// End-to-end tests of the pipelines subsystem (docs/api.md, configs and jobs): a real `swan server`
// child runs real component processes (small Python scripts this file writes into the data
// directory's components folder) in the bubblewrap sandbox. Every failing job is checked for its
// status, error_kind and message, and for storage left as it was (tables at their versions, no
// bucket the job made). Without bwrap these tests fail: the project's setup installs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jobs/sandboxed_process.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

std::string RandomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kHex[rng() % 16];
  return out;
}

// "2026-11-25T12:00:00.123Z" -> ms since the epoch (-1 when null or unreadable).
int64_t IsoMs(const json& v) {
  if (!v.is_string()) return -1;
  std::tm tm{};
  int ms = 0;
  const std::string s = v.get<std::string>();
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// Command lines (NULs as spaces) of the processes whose command line holds `marker`.
std::vector<std::string> ProcessesWith(const std::string& marker) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stol(name) == ::getpid()) continue;
    std::string cmd = ReadFile(e.path().string() + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(marker) != std::string::npos) out.push_back(name + ": " + cmd);
  }
  return out;
}

// Waits up to `seconds` for the processes holding `marker` to be gone; returns those left.
std::vector<std::string> WaitProcessesGone(const std::string& marker, int seconds = 5) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::string> left = ProcessesWith(marker);
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = ProcessesWith(marker);
  }
  return left;
}

// Every regular file under `dir` (relative names).
// The files below `dir`. The server removes a job's folder just after the job's end is visible:
// entries that vanish during the walk are skipped, not thrown.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!stdfs::exists(dir, ec)) return out;
  stdfs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) out.push_back(stdfs::relative(it->path(), dir).string());
  }
  return out;
}

// FilesUnder once the server has had up to 5 s to remove what a finished job left.
std::vector<std::string> FilesLeftUnder(const std::string& dir) {
  std::vector<std::string> files = FilesUnder(dir);
  for (int i = 0; i < 100 && !files.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    files = FilesUnder(dir);
  }
  return files;
}

// What every component script starts with.
constexpr const char* kPrelude = R"PY(import json, os, sys, time
D = os.environ["KBC_DATADIR"]
def write_table(name, text, manifest=None):
    with open(D + "out/tables/" + name, "w") as f:
        f.write(text)
    if manifest is not None:
        with open(D + "out/tables/" + name + ".manifest", "w") as f:
            f.write(manifest if isinstance(manifest, str) else json.dumps(manifest))
)PY";

// A server shared by the suite: per-project limit 1 (cases 4 and 9 need it; every other test
// uses its own project and runs one job at a time), four workers.
class JobsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("SWAN_JOBS_PER_PROJECT", "1", 1);
    ::setenv("SWAN_JOB_WORKERS", "4", 1);
    server_ = new ServerProcess();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->error();
    ASSERT_TRUE(jobs::SandboxedProcess::SandboxAvailable())
        << "bubblewrap (" << jobs::kBwrapPath
        << ") cannot build a sandbox here: install it (scripts/setup.sh)";
  }

  static inline ServerProcess* server_ = nullptr;
  static ServerProcess& Server() { return *server_; }

  struct Project {
    std::string name;
    std::string token;
    int64_t token_id = 0;
    ServerProcess* server = nullptr;
  };

  static std::string Describe(const HttpResponse& r) {
    return "HTTP " + std::to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")") +
           ": " + r.body.substr(0, 1500);
  }

  static HttpResponse Call(ServerProcess& s, const std::string& method, const std::string& path,
                           const std::string& token, const std::string& body = std::string(),
                           const std::string& content_type = "application/json") {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    if (!body.empty() || method == "POST") headers.push_back("Content-Type: " + content_type);
    return HttpCall(method, s.url() + path, headers, body, 120);
  }
  static HttpResponse Call(const Project& p, const std::string& method, const std::string& path,
                           const json& body = nullptr) {
    return Call(*p.server, method, path, p.token, body.is_null() ? std::string() : body.dump());
  }

  // A call that must answer 2xx (or `status`); the parsed answer.
  static json Ok(const Project& p, const std::string& method, const std::string& path,
                 const json& body = nullptr, long status = 0) {
    HttpResponse r = Call(p, method, path, body);
    if (status != 0) {
      EXPECT_EQ(r.status, status) << method << " " << path << ": " << Describe(r);
    } else {
      EXPECT_TRUE(r.status >= 200 && r.status < 300)
          << method << " " << path << ": " << Describe(r);
    }
    if (r.body.empty()) return json::object();
    json parsed = json::parse(r.body, nullptr, false);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  static Project CreateProject(const std::string& name, ServerProcess& s = Server()) {
    HttpResponse r = Call(s, "POST", "/v1/projects", s.admin_token(),
                          json{{"name", name}, {"description", "jobs test"}}.dump());
    EXPECT_EQ(r.status, 201) << Describe(r);
    json answer = json::parse(r.body, nullptr, false);
    Project p;
    p.name = name;
    p.server = &s;
    if (answer.is_object() && answer.contains("token")) {
      p.token = answer["token"].value("secret", "");
      p.token_id = answer["token"].value("id", 0);
    }
    return p;
  }

  static std::string P(const Project& p) { return "/v1/projects/" + p.name; }

  static void Import(const Project& p, const std::string& table, const std::string& csv) {
    HttpResponse r =
        Call(*p.server, "POST", P(p) + "/tables/" + table + "/import", p.token, csv, "text/csv");
    EXPECT_EQ(r.status, 200) << "import " << table << ": " << Describe(r);
  }

  // Buckets and tables with their versions and row counts: what "storage unchanged" compares.
  static json Storage(const Project& p) {
    json buckets = json::array();
    for (const auto& b : Ok(p, "GET", P(p) + "/buckets").value("buckets", json::array()))
      buckets.push_back(b["id"]);
    json tables = json::object();
    for (const auto& t : Ok(p, "GET", P(p) + "/tables").value("tables", json::array()))
      tables[t["id"].get<std::string>()] = {{"version", t["version"]},
                                            {"row_count", t["row_count"]}};
    return {{"buckets", buckets}, {"tables", tables}};
  }

  // The table's rows with every value as text ("1", not 1): the tests compare content, not the
  // types the import inferred.
  static json Rows(const Project& p, const std::string& table) {
    json rows = Ok(p, "GET", P(p) + "/tables/" + table + "/preview").value("rows", json::array());
    for (auto& row : rows)
      for (auto& v : row)
        if (!v.is_string() && !v.is_null()) v = v.dump();
    return rows;
  }

  // Registers component `id`: <data>/components/<id>.json, its code in <data>/components/<id>/.
  static std::string WriteComponent(ServerProcess& s, const std::string& id,
                                    const std::string& script, json extra = json::object()) {
    const std::string dir = s.data_dir() + "/components";
    stdfs::create_directories(dir + "/" + id);
    WriteFile(dir + "/" + id + "/main.py", std::string(kPrelude) + script);
    json spec = {{"id", id},
                 {"type", "extractor"},
                 {"command", {"/usr/bin/python3", "-u", "/code/main.py"}},
                 {"code", id}};
    for (auto& [k, v] : extra.items()) spec[k] = v;
    WriteFile(dir + "/" + id + ".json", spec.dump(2));
    return dir + "/" + id;
  }
  static std::string WriteComponent(const std::string& id, const std::string& script,
                                    json extra = json::object()) {
    return WriteComponent(Server(), id, script, std::move(extra));
  }

  static void CreateConfig(const Project& p, const std::string& id, const std::string& component,
                           const json& configuration) {
    Ok(p, "POST", P(p) + "/configs",
       {{"component_id", component}, {"id", id}, {"configuration", configuration}}, 201);
  }

  // Starts a run; returns the job (201 expected).
  static json Run(const Project& p, const std::string& config, const json& body = json::object()) {
    json answer = Ok(p, "POST", P(p) + "/configs/" + config + "/run", body, 201);
    return answer.value("job", json::object());
  }

  struct JobEnd {
    json job;
    json events = json::array();
    bool finished = false;
    std::string EventText() const {
      std::string out;
      for (const auto& e : events)
        out += e.value("source", "") + "/" + e.value("level", "") + ": " + e.value("message", "") +
               "\n";
      return out;
    }
    bool HasEvent(const std::string& text) const {
      for (const auto& e : events)
        if (e.value("message", "").find(text) != std::string::npos) return true;
      return false;
    }
  };

  // Follows the job's events with the long poll until it is final (or `seconds` passed).
  static JobEnd WaitJob(const Project& p, int64_t id, int seconds = 30) {
    JobEnd end;
    int64_t after = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      json page = Ok(
          p, "GET",
          P(p) + "/jobs/" + std::to_string(id) + "/events?wait=2&after=" + std::to_string(after));
      for (const auto& e : page.value("events", json::array())) {
        after = std::max<int64_t>(after, e.value("id", int64_t{0}));
        end.events.push_back(e);
      }
      if (page.value("finished", false)) {
        end.finished = true;
        break;
      }
      if (!page.contains("events")) break;  // the call failed (reported by Ok)
    }
    // Events written after the final status (none expected, but read them all).
    json rest = Ok(p, "GET",
                   P(p) + "/jobs/" + std::to_string(id) + "/events?after=" + std::to_string(after));
    for (const auto& e : rest.value("events", json::array())) end.events.push_back(e);
    end.job = Ok(p, "GET", P(p) + "/jobs/" + std::to_string(id)).value("job", json::object());
    EXPECT_TRUE(end.finished) << "job " << id << " did not end within " << seconds
                              << " s: " << end.job.dump() << "\n"
                              << end.EventText();
    return end;
  }

  // Follows the job's events until one holds `text`; false when the job ended first or after
  // `seconds`.
  static bool WaitEvent(const Project& p, int64_t id, const std::string& text, int seconds = 20) {
    int64_t after = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      json page = Ok(
          p, "GET",
          P(p) + "/jobs/" + std::to_string(id) + "/events?wait=2&after=" + std::to_string(after));
      for (const auto& e : page.value("events", json::array())) {
        after = std::max<int64_t>(after, e.value("id", int64_t{0}));
        if (e.value("message", "").find(text) != std::string::npos) return true;
      }
      if (page.value("finished", true)) break;
    }
    ADD_FAILURE() << "job " << id << ": no event with '" << text
                  << "': " << Ok(p, "GET", P(p) + "/jobs/" + std::to_string(id)).dump() << "\n"
                  << Ok(p, "GET", P(p) + "/jobs/" + std::to_string(id) + "/events").dump(1);
    return false;
  }

  static void ExpectEnd(const JobEnd& end, const std::string& status, const json& error_kind) {
    EXPECT_EQ(end.job.value("status", ""), status) << end.job.dump(1) << "\n" << end.EventText();
    EXPECT_EQ(end.job.value("error_kind", json()), error_kind) << end.job.dump(1) << "\n"
                                                               << end.EventText();
  }

  static std::string Message(const JobEnd& end) { return end.job.value("message", ""); }
};

// --- 1. exit codes, state ---------------------------------------------------------------------

TEST_F(JobsTest, ExitZeroWritesATableAndStoresStateHandedBackNextRun) {
  Project p = CreateProject("exit0");
  WriteComponent("t.exit0", R"PY(
state = json.load(open(D + "in/state.json"))
print("previous state:", json.dumps(state, sort_keys=True))
runs = state.get("runs", 0) + 1
write_table("result.csv", "run,previous\n%d,%s\n" % (runs, state.get("runs", "none")))
json.dump({"runs": runs}, open(D + "out/state.json", "w"))
)PY");
  CreateConfig(
      p, "c1", "t.exit0",
      {{"parameters", json::object()},
       {"storage",
        {{"output",
          {{"tables", {{{"source", "result.csv"}, {"destination", "out.c-x.result"}}}}}}}}});

  JobEnd first = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(first, "success", nullptr);
  EXPECT_TRUE(first.HasEvent("previous state: {}")) << first.EventText();
  ASSERT_EQ(first.job["outputs"].size(), 1u) << first.job.dump();
  EXPECT_EQ(first.job["outputs"][0]["table"], "out.c-x.result");
  EXPECT_EQ(first.job["outputs"][0]["rows"], 1);
  EXPECT_EQ(first.job["attempt"], 1);
  EXPECT_EQ(Ok(p, "GET", P(p) + "/configs/c1/state")["state"], json({{"runs", 1}}));

  JobEnd second = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(second, "success", nullptr);
  EXPECT_TRUE(second.HasEvent("previous state: {\"runs\": 1}")) << second.EventText();
  EXPECT_EQ(Rows(p, "out.c-x.result"), json::parse(R"([["2","1"]])"));
  EXPECT_EQ(Ok(p, "GET", P(p) + "/configs/c1/state")["state"], json({{"runs", 2}}));
  EXPECT_EQ(Storage(p)["tables"]["out.c-x.result"]["version"], 2);
  EXPECT_TRUE(FilesLeftUnder(Server().data_dir() + "/jobs").empty());
}

TEST_F(JobsTest, ExitOneIsAUserErrorWithTheLastStderrLine) {
  Project p = CreateProject("exit1");
  Import(p, "in.c-keep.t", "a,b\n1,2\n");
  const json before = Storage(p);
  WriteComponent("t.exit1", R"PY(
write_table("t.csv", "a,b\n9,9\n", {"destination": "in.c-keep.t"})
write_table("n.csv", "a\n1\n", {"destination": "out.c-new-exit1.n"})
print("some progress")
print("reading the input", file=sys.stderr)
print("bad parameter: `limit` is missing", file=sys.stderr)
sys.exit(1)
)PY");
  CreateConfig(p, "c1", "t.exit1", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  const std::string m = Message(end);
  EXPECT_TRUE(m.ends_with("bad parameter: `limit` is missing")) << m;
  EXPECT_EQ(m.find("some progress"), std::string::npos) << m;
  EXPECT_EQ(Storage(p), before);
  EXPECT_EQ(end.job["outputs"], json::array());
}

TEST_F(JobsTest, ExitTwoIsAnApplicationError) {
  Project p = CreateProject("exit2");
  Import(p, "in.c-keep.t", "a,b\n1,2\n");
  const json before = Storage(p);
  WriteComponent("t.exit2", R"PY(
write_table("t.csv", "a,b\n9,9\n", {"destination": "in.c-keep.t"})
write_table("n.csv", "a\n1\n", {"destination": "out.c-new-exit2.n"})
print("connector crashed: socket closed", file=sys.stderr)
sys.exit(2)
)PY");
  CreateConfig(p, "c1", "t.exit2", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "application");
  EXPECT_NE(Message(end).find("exit code 2"), std::string::npos) << Message(end);
  EXPECT_NE(Message(end).find("connector crashed: socket closed"), std::string::npos)
      << Message(end);
  EXPECT_EQ(Storage(p), before);
}

// --- 2. killed ----------------------------------------------------------------------------------

TEST_F(JobsTest, AKilledComponentIsAnApplicationError) {
  Project p = CreateProject("killed");
  Import(p, "in.c-keep.t", "a,b\n1,2\n");
  const json before = Storage(p);
  // The command is pid 1 of its namespace, which ignores signals it sends itself (as a Docker
  // entrypoint does): a shell runs the program that is killed, as an OOM kill of it would.
  WriteComponent("t.killed", R"PY(
write_table("t.csv", "a,b\n9,9\n", {"destination": "in.c-keep.t"})
print("about to die", flush=True)
os.kill(os.getpid(), 9)
time.sleep(5)
)PY",
                 {{"command", {"/bin/sh", "-c", "/usr/bin/python3 -u /code/main.py; exit $?"}}});
  CreateConfig(p, "c1", "t.killed", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "application");
  EXPECT_NE(Message(end).find("signal 9"), std::string::npos) << Message(end);
  EXPECT_EQ(Storage(p), before);
}

// --- 3. timeout ---------------------------------------------------------------------------------

TEST_F(JobsTest, ATimeoutKillsTheWholeProcessTree) {
  Project p = CreateProject("timeout");
  const std::string marker = "swanmark" + RandomHex(12);
  WriteComponent("t.hang", R"PY(
import subprocess
write_table("n.csv", "a\n1\n", {"destination": "out.c-new-timeout.n"})
subprocess.Popen(["/bin/sh", "-c", "sleep 300; echo " + sys.argv[1]])
print("started", flush=True)
time.sleep(300)
)PY",
                 {{"command", {"/usr/bin/python3", "-u", "/code/main.py", marker}}});
  CreateConfig(p, "c1", "t.hang", {{"parameters", json::object()}});
  const json before = Storage(p);
  const int64_t id = Run(p, "c1", {{"timeout", 2}})["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(p, id, "started"));
  // bwrap, python and the shell child at least.
  EXPECT_GE(ProcessesWith(marker).size(), 3u);
  JobEnd end = WaitJob(p, id);
  ExpectEnd(end, "error", "timeout");
  EXPECT_NE(Message(end).find("timeout of 2 s"), std::string::npos) << Message(end);
  EXPECT_EQ(WaitProcessesGone(marker), std::vector<std::string>());
  EXPECT_EQ(Storage(p), before);
  const int64_t ran = IsoMs(end.job["finished_at"]) - IsoMs(end.job["started_at"]);
  EXPECT_GE(ran, 1900);
  EXPECT_LT(ran, 10000);
}

// --- 4. cancel ----------------------------------------------------------------------------------

TEST_F(JobsTest, CancelOfARunningJobKillsItsProcesses) {
  Project p = CreateProject("cancelrun");
  const std::string marker = "swanmark" + RandomHex(12);
  WriteComponent("t.cancelrun", R"PY(
import subprocess
write_table("n.csv", "a\n1\n", {"destination": "out.c-new-cancel.n"})
subprocess.Popen(["/bin/sh", "-c", "sleep 300; echo " + sys.argv[1]])
print("started", flush=True)
time.sleep(300)
)PY",
                 {{"command", {"/usr/bin/python3", "-u", "/code/main.py", marker}}});
  CreateConfig(p, "c1", "t.cancelrun", {{"parameters", json::object()}});
  const json before = Storage(p);
  const int64_t id = Run(p, "c1")["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(p, id, "started"));
  EXPECT_GE(ProcessesWith(marker).size(), 3u);
  json cancelled = Ok(p, "POST", P(p) + "/jobs/" + std::to_string(id) + "/cancel");
  EXPECT_EQ(cancelled["job"]["cancel_requested"], true) << cancelled.dump();
  JobEnd end = WaitJob(p, id, 10);
  ExpectEnd(end, "cancelled", "cancelled");
  EXPECT_NE(Message(end).find("cancelled"), std::string::npos) << Message(end);
  EXPECT_EQ(WaitProcessesGone(marker), std::vector<std::string>());
  EXPECT_EQ(Storage(p), before);
  // Within a few seconds, not at the 300 s sleep's end.
  EXPECT_LT(IsoMs(end.job["finished_at"]) - IsoMs(end.job["started_at"]), 10000);
}

TEST_F(JobsTest, CancelOfAWaitingJobEndsItAtOnce) {
  Project p = CreateProject("cancelwait");
  const std::string marker = "swanmark" + RandomHex(12);
  WriteComponent("t.blocker", R"PY(
print("started", flush=True)
time.sleep(300)
)PY",
                 {{"command", {"/usr/bin/python3", "-u", "/code/main.py", marker}}});
  CreateConfig(p, "c1", "t.blocker", {{"parameters", json::object()}});
  const int64_t blocker = Run(p, "c1")["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(p, blocker, "started"));
  // The project's one slot is taken: the second job waits.
  const int64_t waiting = Run(p, "c1")["id"].get<int64_t>();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json job = Ok(p, "GET", P(p) + "/jobs/" + std::to_string(waiting))["job"];
  ASSERT_EQ(job["status"], "waiting") << job.dump();
  json answer = Ok(p, "POST", P(p) + "/jobs/" + std::to_string(waiting) + "/cancel")["job"];
  EXPECT_EQ(answer["status"], "cancelled") << answer.dump();
  EXPECT_EQ(answer["error_kind"], "cancelled") << answer.dump();
  EXPECT_NE(answer.value("message", "").find("cancelled"), std::string::npos) << answer.dump();
  EXPECT_TRUE(answer["started_at"].is_null()) << answer.dump();
  // The blocker still runs; cancelled too, its slot frees.
  EXPECT_EQ(Ok(p, "GET", P(p) + "/jobs/" + std::to_string(blocker))["job"]["status"], "processing");
  Ok(p, "POST", P(p) + "/jobs/" + std::to_string(blocker) + "/cancel");
  ExpectEnd(WaitJob(p, blocker, 10), "cancelled", "cancelled");
  EXPECT_EQ(WaitProcessesGone(marker), std::vector<std::string>());
  // The cancelled waiting job never ran.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  JobEnd end = WaitJob(p, waiting, 5);
  ExpectEnd(end, "cancelled", "cancelled");
  EXPECT_TRUE(end.job["started_at"].is_null()) << end.job.dump();
  EXPECT_FALSE(end.HasEvent("starting")) << end.EventText();
}

// --- 5. malformed manifests ----------------------------------------------------------------------

TEST_F(JobsTest, AMalformedManifestIsAUserErrorNamingFileAndField) {
  Project p = CreateProject("manifest");
  Import(p, "in.c-keep.t", "a,b\n1,2\n");
  const json before = Storage(p);
  WriteComponent("t.badjson", R"PY(
write_table("data.csv", "a,b\n3,4\n", '{"destination": "in.c-keep.t",')
)PY");
  WriteComponent("t.badtype", R"PY(
write_table("data.csv", "a,b\n3,4\n", {"destination": "in.c-keep.t", "incremental": "yes"})
)PY");
  CreateConfig(p, "json", "t.badjson", {{"parameters", json::object()}});
  CreateConfig(p, "type", "t.badtype", {{"parameters", json::object()}});

  JobEnd bad_json = WaitJob(p, Run(p, "json")["id"].get<int64_t>());
  ExpectEnd(bad_json, "error", "user");
  EXPECT_NE(Message(bad_json).find("out/tables/data.csv.manifest"), std::string::npos)
      << Message(bad_json);
  EXPECT_NE(Message(bad_json).find("malformed JSON"), std::string::npos) << Message(bad_json);

  JobEnd bad_type = WaitJob(p, Run(p, "type")["id"].get<int64_t>());
  ExpectEnd(bad_type, "error", "user");
  EXPECT_NE(Message(bad_type).find("out/tables/data.csv.manifest"), std::string::npos)
      << Message(bad_type);
  EXPECT_NE(Message(bad_type).find("incremental"), std::string::npos) << Message(bad_type);
  EXPECT_EQ(Storage(p), before);
  // No server path in a message.
  EXPECT_EQ(Message(bad_type).find(Server().data_dir()), std::string::npos) << Message(bad_type);
}

// --- 6. CSV against its manifest -----------------------------------------------------------------

TEST_F(JobsTest, ACsvThatDoesNotMatchItsManifestIsAUserError) {
  Project p = CreateProject("csvshape");
  Import(p, "in.c-keep.t", "a,b\n1,2\n");
  const json before = Storage(p);
  WriteComponent("t.csvshape", R"PY(
write_table("data.csv", "1,2,3\n4,5,6\n", {"destination": "in.c-keep.t", "columns": ["a", "b"]})
)PY");
  CreateConfig(p, "c1", "t.csvshape", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  EXPECT_NE(Message(end).find("out/tables/data.csv"), std::string::npos) << Message(end);
  EXPECT_NE(Message(end).find("3 columns"), std::string::npos) << Message(end);
  EXPECT_EQ(Message(end).find(Server().data_dir()), std::string::npos) << Message(end);
  EXPECT_EQ(Storage(p), before);
  EXPECT_EQ(Rows(p, "in.c-keep.t"), json::parse(R"([["1","2"]])"));
}

// The job hands the import skip_lines=0 (Keboola: the header is line 1). Today the dialect
// detection then still starts at the first record of the most common field count, takes
// "9,9,9" for the header and replaces the table with an empty one of columns 9, 9_2, 9_3,
// reporting success (src/storage/csv_dialect.cpp, ShapeOf: a given skip_lines of 0 is treated as
// not given). The same happens with the import API's skip_lines=0.
TEST_F(JobsTest, ARowLongerThanItsHeaderIsAUserError) {
  Project p = CreateProject("csvheader");
  Import(p, "in.c-keep.t", "x,y\n1,2\n");
  const json before = Storage(p);
  WriteComponent("t.csvheader", R"PY(
write_table("data.csv", "x,y\n9,9,9\n", {"destination": "in.c-keep.t"})
)PY");
  CreateConfig(p, "c1", "t.csvheader", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  EXPECT_NE(Message(end).find("out/tables/data.csv"), std::string::npos) << Message(end);
  EXPECT_EQ(Storage(p), before);
  EXPECT_EQ(Rows(p, "in.c-keep.t"), json::parse(R"([["1","2"]])"));
}

// --- 7. all or nothing ---------------------------------------------------------------------------

TEST_F(JobsTest, AJobWritesAllItsTablesOrNone) {
  Project p = CreateProject("allornone");
  Import(p, "in.c-two.a", "x,y\n1,2\n");
  Import(p, "in.c-two.b", "x,y\n1,2\n");
  const json before = Storage(p);
  // a.csv into a bucket the job makes, b.csv good, c.csv (staged last) bad.
  WriteComponent("t.allornone", R"PY(
write_table("a.csv", "x,y\n7,7\n", {"destination": "out.c-fresh.a"})
write_table("b.csv", "x,y\n8,8\n", {"destination": "in.c-two.a"})
write_table("c.csv", "9,9,9\n", {"destination": "in.c-two.b", "columns": ["x", "y"]})
)PY");
  CreateConfig(p, "c1", "t.allornone", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  EXPECT_NE(Message(end).find("out/tables/c.csv"), std::string::npos) << Message(end);
  EXPECT_EQ(Storage(p), before);
  EXPECT_EQ(Rows(p, "in.c-two.a"), json::parse(R"([["1","2"]])"));
  EXPECT_EQ(Rows(p, "in.c-two.b"), json::parse(R"([["1","2"]])"));
}

// --- 8. retries ----------------------------------------------------------------------------------

TEST_F(JobsTest, AnApplicationErrorIsRetriedUpToMaxAttempts) {
  Project p = CreateProject("retry");
  // The first attempt decides to fail (no `second` file in its code folder), says so, and waits
  // until the test has made the file: the second attempt sees it and succeeds.
  const std::string code = WriteComponent("t.retry", R"PY(
second = os.path.exists("/code/second")
if not second:
    write_table("r.csv", "attempt\nfirst\n")
    print("first attempt", flush=True)
    for _ in range(200):
        if os.path.exists("/code/second"):
            break
        time.sleep(0.05)
    print("giving up", file=sys.stderr)
    sys.exit(2)
write_table("r.csv", "attempt\nsecond\n")
print("second attempt")
)PY");
  CreateConfig(
      p, "c1", "t.retry",
      {{"parameters", json::object()},
       {"storage",
        {{"output", {{"tables", {{{"source", "r.csv"}, {"destination", "out.c-retry.r"}}}}}}}}});
  const int64_t id = Run(p, "c1", {{"max_attempts", 2}})["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(p, id, "first attempt"));
  WriteFile(code + "/second", "");
  JobEnd end = WaitJob(p, id);
  ExpectEnd(end, "success", nullptr);
  EXPECT_EQ(end.job["attempt"], 2);
  EXPECT_EQ(end.job["max_attempts"], 2);
  EXPECT_TRUE(end.HasEvent("attempt 1 of 2 failed")) << end.EventText();
  EXPECT_TRUE(end.HasEvent("second attempt")) << end.EventText();
  EXPECT_EQ(Rows(p, "out.c-retry.r"), json::parse(R"([["second"]])"));
  EXPECT_EQ(Storage(p)["tables"]["out.c-retry.r"]["version"], 1);

  // A user error is not retried.
  WriteComponent("t.noretry", R"PY(
print("wrong setting", file=sys.stderr)
sys.exit(1)
)PY");
  CreateConfig(p, "c2", "t.noretry", {{"parameters", json::object()}});
  JobEnd user = WaitJob(p, Run(p, "c2", {{"max_attempts", 3}})["id"].get<int64_t>());
  ExpectEnd(user, "error", "user");
  EXPECT_EQ(user.job["attempt"], 1);
}

// --- 9. per-project parallel limit ---------------------------------------------------------------

TEST_F(JobsTest, OneProjectRunsOneJobAtATimeWhileAnotherRunsAlongside) {
  Project a = CreateProject("par-a");
  Project b = CreateProject("par-b");
  WriteComponent("t.sleeper", R"PY(
print("sleeping", flush=True)
time.sleep(1.2)
)PY");
  CreateConfig(a, "s", "t.sleeper", {{"parameters", json::object()}});
  CreateConfig(b, "s", "t.sleeper", {{"parameters", json::object()}});
  const int64_t a1 = Run(a, "s")["id"].get<int64_t>();
  const int64_t a2 = Run(a, "s")["id"].get<int64_t>();
  const int64_t b1 = Run(b, "s")["id"].get<int64_t>();
  JobEnd ea1 = WaitJob(a, a1), ea2 = WaitJob(a, a2), eb1 = WaitJob(b, b1);
  for (const JobEnd* e : {&ea1, &ea2, &eb1}) ExpectEnd(*e, "success", nullptr);
  auto interval = [](const JobEnd& e) {
    return std::pair{IsoMs(e.job["started_at"]), IsoMs(e.job["finished_at"])};
  };
  auto [s1, f1] = interval(ea1);
  auto [s2, f2] = interval(ea2);
  auto [sb, fb] = interval(eb1);
  ASSERT_GT(s1, 0);
  ASSERT_GT(s2, 0);
  ASSERT_GT(sb, 0);
  EXPECT_TRUE(f1 <= s2 || f2 <= s1)
      << "project a's jobs overlap: [" << s1 << ", " << f1 << "] and [" << s2 << ", " << f2 << "]";
  EXPECT_TRUE(sb < f1 && s1 < fb) << "project b's job did not run alongside a's first: [" << sb
                                  << ", " << fb << "] vs [" << s1 << ", " << f1 << "]";
}

// --- 10. secrets ---------------------------------------------------------------------------------

TEST_F(JobsTest, ASecretNeverShowsOnSwansSurfaces) {
  Project p = CreateProject("secrets");
  const std::string secret = "pw-" + RandomHex(32);
  // Prints the secret, writes it into a table and, under a `#` key, into its state. The second
  // run checks the state came back opened and fails with the secret on stderr.
  WriteComponent("t.leaky", R"PY(
cfg = json.load(open(D + "config.json"))
pw = cfg["parameters"]["#password"]
state = json.load(open(D + "in/state.json"))
print("stdout says", pw)
print("stderr says", pw, file=sys.stderr)
write_table("leak.csv", "id,value\n1,%s\n" % pw)
json.dump({"#password": pw, "runs": state.get("runs", 0) + 1}, open(D + "out/state.json", "w"))
if state:
    print("state handed back:", "opened" if state.get("#password") == pw else "NOT opened")
    print("failing with", pw, file=sys.stderr)
    sys.exit(1)
)PY");
  CreateConfig(
      p, "c1", "t.leaky",
      {{"parameters", {{"#password", secret}, {"user", "me"}}},
       {"storage",
        {{"output", {{"tables", {{{"source", "leak.csv"}, {"destination", "out.c-leak.t"}}}}}}}}});
  // A second version, so that there is a diff.
  Ok(p, "POST", P(p) + "/configs/c1", {{"description", "changed"}, {"message", "describe"}});

  JobEnd first = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(first, "success", nullptr);
  EXPECT_TRUE(first.HasEvent("stdout says [hidden]")) << first.EventText();
  EXPECT_TRUE(FilesLeftUnder(Server().data_dir() + "/jobs").empty())
      << "job folders left: " << FilesLeftUnder(Server().data_dir() + "/jobs").size();
  const json state = Ok(p, "GET", P(p) + "/configs/c1/state")["state"];
  EXPECT_EQ(state.value("runs", 0), 1) << state.dump();
  EXPECT_EQ(state.value("#password", "").rfind("KBC::ProjectSecure::", 0), 0u) << state.dump();

  const int64_t debug_id = Run(p, "c1", {{"debug", true}})["id"].get<int64_t>();
  JobEnd second = WaitJob(p, debug_id);
  ExpectEnd(second, "error", "user");
  EXPECT_TRUE(second.HasEvent("state handed back: opened")) << second.EventText();
  EXPECT_NE(Message(second).find("failing with [hidden]"), std::string::npos) << Message(second);

  std::map<std::string, std::string> surfaces;
  auto add = [&](const std::string& name, const std::string& path, const std::string& token) {
    HttpResponse r = Call(Server(), "GET", path, token);
    EXPECT_EQ(r.status, 200) << name << ": " << Describe(r);
    surfaces[name] = r.body;
  };
  for (int64_t id : {first.job["id"].get<int64_t>(), debug_id}) {
    const std::string j = P(p) + "/jobs/" + std::to_string(id);
    add("job " + std::to_string(id), j, p.token);
    add("job events " + std::to_string(id), j + "/events?limit=10000", p.token);
  }
  add("jobs", P(p) + "/jobs", p.token);
  add("config", P(p) + "/configs/c1", p.token);
  add("configs", P(p) + "/configs", p.token);
  add("versions", P(p) + "/configs/c1/versions", p.token);
  add("version 1", P(p) + "/configs/c1/versions/1", p.token);
  add("diff", P(p) + "/configs/c1/diff?from=1&to=2", p.token);
  add("state", P(p) + "/configs/c1/state", p.token);
  add("audit events", P(p) + "/events?limit=1000", p.token);
  add("all audit events", "/v1/events?limit=1000", Server().admin_token());
  surfaces["server log"] = Server().Log();
  for (const char* file : {"/catalog.db", "/catalog.db-wal"})
    surfaces[file] = ReadFile(Server().data_dir() + file);
  // The kept folder of the debug run: its config.json and both states sealed again; only the
  // component's own output tables (out/tables) may hold what it wrote.
  const std::string kept = Server().data_dir() + "/jobs/" + std::to_string(debug_id);
  const std::string kept_config = ReadFile(kept + "/data/config.json");
  ASSERT_FALSE(kept_config.empty()) << "debug run kept no config.json";
  EXPECT_EQ(json::parse(kept_config)["parameters"]["#password"].get<std::string>().rfind(
                "KBC::ProjectSecure::", 0),
            0u)
      << kept_config;
  for (const auto& f : FilesUnder(kept))
    if (!f.starts_with("data/out/tables/")) surfaces["kept " + f] = ReadFile(kept + "/" + f);
  const std::string kept_state = ReadFile(kept + "/data/out/state.json");
  ASSERT_FALSE(kept_state.empty()) << "debug run kept no out/state.json";
  EXPECT_EQ(
      json::parse(kept_state)["#password"].get<std::string>().rfind("KBC::ProjectSecure::", 0), 0u)
      << kept_state;

  for (const auto& [name, text] : surfaces)
    EXPECT_EQ(text.find(secret), std::string::npos) << "the secret shows in " << name;
  EXPECT_NE(surfaces["config"].find("KBC::ProjectSecure::"), std::string::npos)
      << surfaces["config"];
  stdfs::remove_all(kept);
}

// --- 11. configuration versions ------------------------------------------------------------------

TEST_F(JobsTest, ConfigVersionsDiffRollbackAndStaleEdits) {
  Project p = CreateProject("versions");
  WriteComponent("t.noop", "print('ok')\n");
  Ok(p, "POST", P(p) + "/configs",
     {{"component_id", "t.noop"},
      {"id", "v"},
      {"configuration", {{"parameters", {{"a", 1}, {"b", "x"}}}}},
      {"message", "first"}},
     201);
  json v2 = Ok(p, "POST", P(p) + "/configs/v",
               {{"configuration", {{"parameters", {{"a", 2}, {"b", "x"}}}}},
                {"message", "a to 2"},
                {"version", 1}})["config"];
  EXPECT_EQ(v2["version"], 2);
  json v3 = Ok(p, "POST", P(p) + "/configs/v",
               {{"configuration", {{"parameters", {{"a", 2}, {"c", true}}}}},
                {"message", "b out, c in"}})["config"];
  EXPECT_EQ(v3["version"], 3);

  json versions = Ok(p, "GET", P(p) + "/configs/v/versions")["versions"];
  ASSERT_EQ(versions.size(), 3u) << versions.dump();
  EXPECT_EQ(versions[0]["version"], 3);
  EXPECT_EQ(versions[2]["version"], 1);
  EXPECT_EQ(versions[0]["message"], "b out, c in");
  EXPECT_EQ(versions[1]["message"], "a to 2");
  EXPECT_EQ(versions[2]["message"], "first");
  for (const auto& v : versions) EXPECT_EQ(v["author"]["token_id"], p.token_id) << v.dump();

  json diff = Ok(p, "GET", P(p) + "/configs/v/diff?from=1&to=3");
  std::map<std::string, std::string> changes;
  for (const auto& c : diff["changes"]) changes[c["path"]] = c["change"];
  EXPECT_EQ(changes, (std::map<std::string, std::string>{{"configuration.parameters.a", "changed"},
                                                         {"configuration.parameters.b", "removed"},
                                                         {"configuration.parameters.c", "added"}}))
      << diff.dump();

  json v4 = Ok(p, "POST", P(p) + "/configs/v/rollback", {{"version", 1}})["config"];
  EXPECT_EQ(v4["version"], 4);
  json one = Ok(p, "GET", P(p) + "/configs/v/versions/1")["version"];
  EXPECT_EQ(v4["configuration"], one["configuration"]);
  EXPECT_EQ(Ok(p, "GET", P(p) + "/configs/v")["config"]["configuration"]["parameters"],
            json({{"a", 1}, {"b", "x"}}));
  EXPECT_EQ(Ok(p, "GET", P(p) + "/configs/v/diff?from=1&to=4")["changes"], json::array());

  HttpResponse stale = Call(p, "POST", P(p) + "/configs/v",
                            {{"configuration", {{"parameters", {{"a", 5}}}}}, {"version", 2}});
  EXPECT_EQ(stale.status, 409) << Describe(stale);
  EXPECT_EQ(json::parse(stale.body, nullptr, false)["error"]["code"], "conflict") << stale.body;
  EXPECT_EQ(Ok(p, "GET", P(p) + "/configs/v")["config"]["version"], 4);
}

// --- 12. tenants ---------------------------------------------------------------------------------

TEST_F(JobsTest, ProjectsNeverMeet) {
  Project a = CreateProject("tenant-a");
  Project b = CreateProject("tenant-b");
  Import(a, "in.c-private.t", "id,secret\n1,only-a\n");
  WriteComponent("t.reader", R"PY(
for name in os.listdir(D + "in/tables"):
    print(name, open(D + "in/tables/" + name).read())
)PY");
  const json reads = {
      {"parameters", json::object()},
      {"storage",
       {{"input", {{"tables", {{{"source", "in.c-private.t"}, {"destination", "t.csv"}}}}}}}}};
  CreateConfig(a, "ra", "t.reader", reads);
  JobEnd a_job = WaitJob(a, Run(a, "ra")["id"].get<int64_t>());
  ExpectEnd(a_job, "success", nullptr);
  const std::string a_id = std::to_string(a_job.job["id"].get<int64_t>());

  Project b_on_a = a;
  b_on_a.token = b.token;
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", P(a) + "/configs"},
           {"GET", P(a) + "/configs/ra"},
           {"GET", P(a) + "/configs/ra/versions"},
           {"GET", P(a) + "/configs/ra/state"},
           {"POST", P(a) + "/configs/ra/run"},
           {"POST", P(a) + "/configs/ra"},
           {"GET", P(a) + "/jobs"},
           {"GET", P(a) + "/jobs/" + a_id},
           {"GET", P(a) + "/jobs/" + a_id + "/events"},
           {"POST", P(a) + "/jobs/" + a_id + "/cancel"},
           {"GET", P(b) + "/jobs/" + a_id},
           {"GET", P(b) + "/jobs/" + a_id + "/events"},
           {"POST", P(b) + "/jobs/" + a_id + "/cancel"},
           {"GET", P(b) + "/configs/ra"},
           {"POST", P(b) + "/configs/ra/run"},
       }) {
    HttpResponse r = Call(b_on_a, method, path, method == "POST" ? json::object() : json());
    EXPECT_TRUE(r.status == 403 || r.status == 404) << method << " " << path << ": " << Describe(r);
    EXPECT_EQ(r.body.find("only-a"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Ok(b, "GET", P(b) + "/jobs")["jobs"], json::array());
  EXPECT_EQ(Ok(b, "GET", P(b) + "/configs")["configs"], json::array());

  // B's configuration naming A's table: not found, nothing of A read.
  const json before = Storage(b);
  CreateConfig(b, "rb", "t.reader", reads);
  JobEnd b_job = WaitJob(b, Run(b, "rb")["id"].get<int64_t>());
  ExpectEnd(b_job, "error", "user");
  EXPECT_NE(Message(b_job).find("storage.input.tables[0].source"), std::string::npos)
      << Message(b_job);
  EXPECT_NE(Message(b_job).find("not found"), std::string::npos) << Message(b_job);
  EXPECT_EQ(b_job.EventText().find("only-a"), std::string::npos) << b_job.EventText();
  EXPECT_EQ(b_job.job["inputs"], json::array());
  EXPECT_EQ(Storage(b), before);
  EXPECT_EQ(Ok(a, "GET", P(a) + "/jobs")["jobs"].size(), 1u);
}

// --- 13. the server killed during a job ----------------------------------------------------------

TEST_F(JobsTest, KillNineDuringAJobTerminatesItAndCommitsNothing) {
  ServerProcess first;
  ASSERT_TRUE(first.ok()) << first.error();
  Project p = CreateProject("crash", first);
  const std::string marker = "swanmark" + RandomHex(12);
  WriteComponent(first, "t.crash", R"PY(
write_table("one.csv", "a\n1\n", {"destination": "out.c-crash.one"})
write_table("two.csv", "a\n2\n", {"destination": "out.c-crash.two"})
print("outputs written", flush=True)
time.sleep(300)
)PY",
                 {{"command", {"/usr/bin/python3", "-u", "/code/main.py", marker}}});
  CreateConfig(p, "c1", "t.crash", {{"parameters", json::object()}});
  const json before = Storage(p);
  const int64_t id = Run(p, "c1")["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(p, id, "outputs written"));
  first.KillHard();
  // The component dies with the server (PR_SET_PDEATHSIG, then its pid namespace).
  EXPECT_EQ(WaitProcessesGone(marker), std::vector<std::string>());

  ServerProcess again(first.data_dir(), first.admin_token());
  ASSERT_TRUE(again.ok()) << again.error();
  p.server = &again;
  json job = Ok(p, "GET", P(p) + "/jobs/" + std::to_string(id))["job"];
  EXPECT_EQ(job["status"], "terminated") << job.dump();
  EXPECT_EQ(job["error_kind"], "terminated") << job.dump();
  EXPECT_NE(job.value("message", "").find("nothing of it was committed"), std::string::npos)
      << job.dump();
  EXPECT_FALSE(job["finished_at"].is_null()) << job.dump();
  EXPECT_EQ(Storage(p), before);
  EXPECT_TRUE(FilesLeftUnder(first.data_dir() + "/jobs").empty());
  json events = Ok(p, "GET", P(p) + "/jobs/" + std::to_string(id) + "/events");
  EXPECT_EQ(events["finished"], true);
  again.Kill();
}

// A job moves its output files into the file storage before its commit registers them; bytes a
// crash left in between are removed at the next start, registered files stay.
TEST_F(JobsTest, RestartRemovesFileBytesNoCommitRegistered) {
  ServerProcess first;
  ASSERT_TRUE(first.ok()) << first.error();
  Project p = CreateProject("sweep", first);
  WriteComponent(first, "t.files", "open(D + 'out/files/kept.txt', 'w').write('kept bytes')\n");
  CreateConfig(p, "c1", "t.files", {{"parameters", json::object()}});
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "success", nullptr);
  HttpResponse shown = Call(first, "GET", "/v1/projects/sweep", first.admin_token());
  ASSERT_EQ(shown.status, 200) << Describe(shown);
  const int64_t project_id = json::parse(shown.body)["project"].value("id", int64_t{0});
  const std::string dir = first.data_dir() + "/files/p" + std::to_string(project_id);
  first.KillHard();
  ASSERT_EQ(FilesUnder(dir).size(), 1u);
  WriteFile(dir + "/999_staged.txt", "never committed");
  stdfs::create_directories(first.data_dir() + "/files/p999999");
  WriteFile(first.data_dir() + "/files/p999999/1_x.txt", "a project that does not exist");

  ServerProcess again(first.data_dir(), first.admin_token());
  ASSERT_TRUE(again.ok()) << again.error();
  p.server = &again;
  EXPECT_FALSE(stdfs::exists(dir + "/999_staged.txt"));
  EXPECT_FALSE(stdfs::exists(first.data_dir() + "/files/p999999/1_x.txt"));
  ASSERT_EQ(FilesUnder(dir).size(), 1u);
  const json files = Ok(p, "GET", P(p) + "/files")["files"];
  ASSERT_EQ(files.size(), 1u) << files.dump();
  EXPECT_EQ(files[0].value("name", ""), "kept.txt");
  again.Kill();
}

// A graceful stop (SIGTERM) is not a cancel: the job ends as a kill -9 leaves it, terminated, or
// runs again after the restart when it has attempts left.
TEST_F(JobsTest, AServerStopDuringAJobTerminatesItOrRunsItAgain) {
  ServerProcess first;
  ASSERT_TRUE(first.ok()) << first.error();
  Project once = CreateProject("stop-once", first);
  Project twice = CreateProject("stop-twice", first);
  const std::string marker = "swanmark" + RandomHex(12);
  const std::string code =
      WriteComponent(first, "t.stop", R"PY(
if not os.path.exists("/code/second"):
    write_table("one.csv", "a\n1\n", {"destination": "out.c-stop.one"})
    print("first attempt", flush=True)
    time.sleep(300)
write_table("one.csv", "a\n2\n", {"destination": "out.c-stop.one"})
print("second attempt")
)PY",
                     {{"command", {"/usr/bin/python3", "-u", "/code/main.py", marker}}});
  CreateConfig(once, "c1", "t.stop", {{"parameters", json::object()}});
  CreateConfig(twice, "c1", "t.stop", {{"parameters", json::object()}});
  const json before = Storage(once);
  const int64_t once_id = Run(once, "c1")["id"].get<int64_t>();
  const int64_t twice_id = Run(twice, "c1", {{"max_attempts", 2}})["id"].get<int64_t>();
  ASSERT_TRUE(WaitEvent(once, once_id, "first attempt"));
  ASSERT_TRUE(WaitEvent(twice, twice_id, "first attempt"));
  first.Kill();
  EXPECT_EQ(WaitProcessesGone(marker), std::vector<std::string>());
  WriteFile(code + "/second", "");

  ServerProcess again(first.data_dir(), first.admin_token());
  ASSERT_TRUE(again.ok()) << again.error();
  once.server = &again;
  twice.server = &again;
  JobEnd ended = WaitJob(once, once_id);
  ExpectEnd(ended, "terminated", "terminated");
  EXPECT_NE(Message(ended).find("the server stopped"), std::string::npos) << Message(ended);
  EXPECT_EQ(Storage(once), before);
  JobEnd rerun = WaitJob(twice, twice_id);
  ExpectEnd(rerun, "success", nullptr);
  EXPECT_EQ(rerun.job["attempt"], 2);
  EXPECT_TRUE(rerun.HasEvent("second attempt")) << rerun.EventText();
  EXPECT_EQ(Rows(twice, "out.c-stop.one"), json::parse(R"([["2"]])"));
  again.Kill();
  EXPECT_TRUE(FilesLeftUnder(first.data_dir() + "/jobs").empty());
}

// --- 14. parameters against the component's schema -----------------------------------------------

// The registry's server paths (a component's file, a broken file's problem) reach the
// organization's admin only; a project's token sees the components and how many files are broken.
TEST_F(JobsTest, ComponentListShowsServerPathsToTheAdminOnly) {
  Project p = CreateProject("registry");
  WriteComponent("t.listed", "print('ok')\n");
  WriteFile(Server().data_dir() + "/components/broken.json", "{not json");
  const json seen = Ok(p, "GET", "/v1/components");
  EXPECT_EQ(seen.dump().find(Server().data_dir()), std::string::npos) << seen.dump();
  EXPECT_FALSE(seen.contains("problems")) << seen.dump();
  EXPECT_GE(seen.value("problems_count", 0), 1) << seen.dump();
  bool listed = false;
  for (const auto& c : seen["components"]) listed = listed || c.value("id", "") == "t.listed";
  EXPECT_TRUE(listed) << seen.dump();
  const json one = Ok(p, "GET", "/v1/components/t.listed");
  EXPECT_FALSE(one["component"].contains("source")) << one.dump();

  HttpResponse admin = Call(Server(), "GET", "/v1/components", Server().admin_token());
  ASSERT_EQ(admin.status, 200) << Describe(admin);
  EXPECT_NE(admin.body.find(Server().data_dir() + "/components/t.listed.json"), std::string::npos)
      << admin.body;
  EXPECT_NE(admin.body.find("broken.json"), std::string::npos) << admin.body;
  stdfs::remove(Server().data_dir() + "/components/broken.json");
}

TEST_F(JobsTest, ParametersAreCheckedAgainstTheComponentSchema) {
  Project p = CreateProject("schema");
  WriteComponent("t.schema", "print('component ran')\n",
                 {{"configuration_schema",
                   {{"type", "object"},
                    {"required", {"limit"}},
                    {"properties", {{"limit", {{"type", "integer"}, {"maximum", 100}}}}}}}});
  CreateConfig(p, "c1", "t.schema", {{"parameters", {{"limit", 1000}}}});
  const json before = Storage(p);
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  EXPECT_NE(Message(end).find("parameters.limit"), std::string::npos) << Message(end);
  EXPECT_NE(Message(end).find("100"), std::string::npos) << Message(end);
  EXPECT_FALSE(end.HasEvent("component ran")) << end.EventText();
  EXPECT_EQ(Storage(p), before);

  Ok(p, "POST", P(p) + "/configs/c1", {{"configuration", {{"parameters", {{"limit", 10}}}}}});
  JobEnd fixed = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(fixed, "success", nullptr);
  EXPECT_TRUE(fixed.HasEvent("component ran")) << fixed.EventText();
}

// --- 15. SQL transformation ----------------------------------------------------------------------

TEST_F(JobsTest, SqlTransformationErrorsNameTheStatementAndFilesAreOutOfReach) {
  Project p = CreateProject("sql");
  Import(p, "in.c-src.t", "id,v\n1,10\n2,20\n");
  auto sql_config = [](const json& script, const json& outputs) {
    return json{
        {"parameters",
         {{"blocks", {{{"name", "main"}, {"codes", {{{"name", "first"}, {"script", script}}}}}}}}},
        {"storage",
         {{"input", {{"tables", {{{"source", "in.c-src.t"}, {"destination", "src"}}}}}},
          {"output", {{"tables", outputs}}}}}};
  };
  const json out = {{{"source", "made"}, {"destination", "out.c-sql.made"}}};
  CreateConfig(
      p, "ok", "swan.sql-transformation",
      sql_config({"CREATE TABLE made AS SELECT id, v * 2 AS v2 FROM src ORDER BY id"}, out));
  CreateConfig(
      p, "failing", "swan.sql-transformation",
      sql_config({"CREATE TABLE made AS SELECT * FROM src", "SELECT * FROM no_such_table"}, out));
  CreateConfig(p, "missing", "swan.sql-transformation",
               sql_config({"CREATE TABLE made AS SELECT * FROM src"},
                          {{{"source", "not_made"}, {"destination", "out.c-sql.nm"}}}));
  CreateConfig(p, "files", "swan.sql-transformation",
               sql_config({"CREATE TABLE made AS SELECT * FROM read_csv('/etc/passwd')"}, out));

  JobEnd ok = WaitJob(p, Run(p, "ok")["id"].get<int64_t>());
  ExpectEnd(ok, "success", nullptr);
  EXPECT_EQ(Rows(p, "out.c-sql.made"), json::parse(R"([["1","20"],["2","40"]])"));
  const json before = Storage(p);

  JobEnd failing = WaitJob(p, Run(p, "failing")["id"].get<int64_t>());
  ExpectEnd(failing, "error", "user");
  EXPECT_NE(Message(failing).find("block 1 (main), code 1 (first), statement 2"), std::string::npos)
      << Message(failing);
  EXPECT_NE(Message(failing).find("no_such_table"), std::string::npos) << Message(failing);
  EXPECT_NE(Message(failing).find("does not exist"), std::string::npos) << Message(failing);

  JobEnd missing = WaitJob(p, Run(p, "missing")["id"].get<int64_t>());
  ExpectEnd(missing, "error", "user");
  EXPECT_NE(Message(missing).find("made no table 'not_made'"), std::string::npos)
      << Message(missing);

  JobEnd files = WaitJob(p, Run(p, "files")["id"].get<int64_t>());
  ExpectEnd(files, "error", "user");
  EXPECT_NE(Message(files).find("Cannot access file"), std::string::npos) << Message(files);
  EXPECT_EQ(Message(files).find("root:"), std::string::npos) << Message(files);
  EXPECT_EQ(files.EventText().find("root:"), std::string::npos) << files.EventText();
  EXPECT_EQ(Storage(p), before);
}

// --- 16. Python transformation -------------------------------------------------------------------

TEST_F(JobsTest, PythonTransformationExceptionIsAUserErrorWithItsTraceback) {
  Project p = CreateProject("python");
  CreateConfig(
      p, "c1", "keboola.python-transformation-v2",
      {{"parameters",
        {{"blocks",
          {{{"name", "b"},
            {"codes",
             {{{"name", "c"},
               {"script",
                {"print('before the error')",
                 "def step():\n    raise ValueError('boom-' + 'py123')", "step()"}}}}}}}}}}});
  const json before = Storage(p);
  JobEnd end = WaitJob(p, Run(p, "c1")["id"].get<int64_t>());
  ExpectEnd(end, "error", "user");
  EXPECT_NE(Message(end).find("ValueError: boom-py123"), std::string::npos) << Message(end);
  EXPECT_TRUE(end.HasEvent("Traceback (most recent call last):")) << end.EventText();
  EXPECT_TRUE(end.HasEvent("in step")) << end.EventText();
  EXPECT_TRUE(end.HasEvent("before the error")) << end.EventText();
  EXPECT_EQ(Storage(p), before);
}

}  // namespace
}  // namespace swan::testing
