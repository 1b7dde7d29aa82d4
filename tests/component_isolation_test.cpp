// Isolation of components: a Python transformation (keboola.python-transformation-v2) and a
// registry component with small limits run tests/components/isolation/escape_attempts.py, which
// tries to get out of the sandbox (the server's files, other tenants' data and jobs, writes
// outside its folder, the server's process and environment, privileges, limits) and records each
// attempt in an output table; every attempt must fail, and the script must show that the sandbox
// works at all (its own input, /tmp, loopback network). Further jobs try to make the server read
// or write host files through links they leave in their data folder.
//
// Not asserted, because the kernel does not enforce it here (see src/jobs/sandboxed_process.h):
// the process limit (RLIMIT_NPROC is not enforced for a server running as root); the attempt is
// still made, bounded, and its outcome printed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

constexpr const char* kPythonTransformation = "keboola.python-transformation-v2";
constexpr const char* kLimitedComponent = "swan-test.limited-python";
// Set on the server process only: a component must not see them.
constexpr const char* kMarkerVariable = "SWAN_ISOLATION_MARKER";
constexpr const char* kMarkerValue = "marker-7f3a91";
// The attempt the kernel does not enforce for a root server (see the header comment).
constexpr const char* kProcessLimitAttempt = "fork past the process limit";

std::string RepoDir() {
  const std::string file = __FILE__;
  return file.substr(0, file.rfind("/tests/"));
}

std::string EscapeScript() {
  return ReadFile(RepoDir() + "/tests/components/isolation/escape_attempts.py");
}

// The first regular file in `dir` (a segment of a project), or "".
std::string FirstFile(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file()) return e.path().string();
  return "";
}

// Accepts connections on 127.0.0.1 (an ephemeral port) and greets each with one line, the way a
// source an extractor reads would answer.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return;
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackListener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      static const char kGreeting[] = "swan-loopback-ok\n";
      ssize_t sent = ::send(c, kGreeting, sizeof(kGreeting) - 1, MSG_NOSIGNAL);
      (void)sent;
      ::close(c);
      ++accepted_;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// One row of the attempts table.
struct Attempt {
  std::string escaped;
  std::string error;
};

class ComponentIsolationTest : public ::testing::Test {
 protected:
  // The server gets variables a component must not see: a marker and a SWAN_TOKEN (as an
  // operator's shell might hold).
  static void SetUpTestSuite() {
    ::setenv(kMarkerVariable, kMarkerValue, 1);
    ::setenv("SWAN_TOKEN", "swan_not-for-components", 1);
    server_ = new ServerProcess();
    ::unsetenv(kMarkerVariable);
    ::unsetenv("SWAN_TOKEN");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->error();
    ASSERT_FALSE(EscapeScript().empty()) << "tests/components/isolation/escape_attempts.py";
  }

  static const std::string& DataDir() { return server_->data_dir(); }

  // The probe input every escape job reads (proof that the sandbox lets it read its own input).
  static void ImportProbe(const ProjectApi& project) {
    project.ImportCsv("in.c-probe.probe", "value\ncanary-in-1\ncanary-in-2\n");
  }

  // A configuration running the escape script: as a Python transformation (its script in
  // parameters.blocks) or as a registry component (its main.py), reading the probe and writing
  // attempts.csv and checks.csv into `bucket`.
  static json EscapeConfiguration(const json& isolation, const std::string& bucket) {
    json params = {{"isolation", isolation}};
    params["isolation"]["input_values"] = {"canary-in-1", "canary-in-2"};
    params["blocks"] = {
        {{"name", "escape"}, {"codes", {{{"name", "attempts"}, {"script", {EscapeScript()}}}}}}};
    return {
        {"parameters", params},
        {"storage",
         {{"input", {{"tables", {{{"source", "in.c-probe.probe"}, {"destination", "probe.csv"}}}}}},
          {"output",
           {{"tables",
             {{{"source", "attempts.csv"}, {"destination", bucket + ".attempts"}},
              {{"source", "checks.csv"}, {"destination", bucket + ".checks"}}}}}}}}};
  }

  static std::map<std::string, Attempt> Attempts(const ProjectApi& project,
                                                 const std::string& table) {
    std::map<std::string, Attempt> out;
    for (const auto& row : project.SortedRows(table))
      if (row.size() == 3) out[row[0]] = {row[1], row[2]};
    return out;
  }

  // Every check of the script's checks table passed, and each of `expected` is there.
  static void ExpectChecksPassed(const ProjectApi& project, const std::string& table,
                                 const std::set<std::string>& expected) {
    std::set<std::string> seen;
    for (const auto& row : project.SortedRows(table)) {
      ASSERT_EQ(row.size(), 3u);
      seen.insert(row[0]);
      EXPECT_EQ(row[1], "true") << "sandbox check " << row[0] << " failed: " << row[2];
    }
    EXPECT_EQ(seen, expected);
  }

  // Every attempt of `expected` was made and failed, except `unenforced` ones (printed).
  static void ExpectAllBlocked(const std::map<std::string, Attempt>& attempts,
                               const std::set<std::string>& expected) {
    for (const auto& name : expected) {
      auto it = attempts.find(name);
      EXPECT_NE(it, attempts.end()) << "attempt not made: " << name;
      if (it == attempts.end()) continue;
      EXPECT_EQ(it->second.escaped, "false") << "ESCAPED: " << name << ": " << it->second.error;
    }
    for (const auto& [name, a] : attempts)
      EXPECT_TRUE(expected.count(name)) << "unexpected attempt " << name << ": " << a.error;
  }

  static inline ServerProcess* server_ = nullptr;
};

TEST_F(ComponentIsolationTest, PythonTransformationCannotEscapeItsSandbox) {
  // Another tenant with its own table and a finished debug job, whose folder stays on disk.
  ProjectApi other(*server_, "tenant-b");
  ASSERT_TRUE(other.ok());
  other.ImportCsv("in.c-private.secrets", "secret\ntenant-b-secret\n");
  other.CreateConfig(
      "kept", kPythonTransformation,
      {{"parameters",
        {{"#password", "tenant-b-password"},
         {"blocks", {{{"codes", {{{"script", {"print('tenant b was here')"}}}}}}}}}}});
  json kept = other.RunJob("kept", {{"debug", true}});
  ASSERT_EQ(kept.value("status", ""), "success") << DescribeJob(other, kept);
  const std::string other_job = DataDir() + "/jobs/" + std::to_string(kept.value("id", 0));

  ProjectApi project(*server_, "tenant-a");
  ASSERT_TRUE(project.ok());
  ImportProbe(project);

  const std::map<std::string, std::string> read_files = {
      {"catalog.db", DataDir() + "/catalog.db"},
      {"master.key", DataDir() + "/master.key"},
      {"own project's segment",
       FirstFile(DataDir() + "/segments/p" + std::to_string(project.id()))},
      {"other project's segment",
       FirstFile(DataDir() + "/segments/p" + std::to_string(other.id()))},
      {"other job's config.json", other_job + "/data/config.json"},
  };
  for (const auto& [label, path] : read_files)
    ASSERT_TRUE(!path.empty() && std::filesystem::exists(path)) << label << " " << path;
  const std::map<std::string, std::string> list_dirs = {
      {"the server's data folder", DataDir()},
      {"the jobs folder", DataDir() + "/jobs"},
      {"other job's folder", other_job},
  };
  const std::string escape_file = "swan-escape-" + std::to_string(::getpid());
  const std::map<std::string, std::string> write_dirs = {
      {"/", "/"},
      {"/usr", "/usr"},
      {"/etc", "/etc"},
      {"/code", "/code"},
      {"/data/..", "/data/.."},
      {"the server's data folder", DataDir()},
      {"the segments folder", DataDir() + "/segments"},
      {"the jobs folder", DataDir() + "/jobs"},
  };
  json components = project.Ok("GET", std::string("/v1/components/") + kPythonTransformation);
  const int64_t memory_bytes = components["component"]["limits"].value("memory_mb", int64_t{0})
                               << 20;
  ASSERT_GT(memory_bytes, 0) << components.dump();

  LoopbackListener listener;
  ASSERT_GT(listener.port(), 0);
  json isolation = {
      {"read_files", read_files},     {"list_dirs", list_dirs},
      {"write_dirs", write_dirs},     {"escape_file", escape_file},
      {"server_pid", server_->pid()}, {"env_markers", {kMarkerVariable, "SWAN_TOKEN"}},
      {"api_url", server_->url()},    {"privileges", true},
      {"memory_bytes", memory_bytes}, {"loopback_port", listener.port()}};
  project.CreateConfig("escape", kPythonTransformation,
                       EscapeConfiguration(isolation, "out.c-iso"));
  json job = project.RunJob("escape");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);

  ExpectChecksPassed(project, "out.c-iso.checks",
                     {"read_own_input", "write_own_tmp", "loopback_network"});
  EXPECT_GE(listener.accepted(), 1) << "the component never reached the test's loopback port";

  std::set<std::string> expected = {"signal the server (kill 0)",
                                    "ptrace attach to the server",
                                    "see the server in /proc",
                                    "find the server among processes",
                                    "see the server's environment",
                                    "call Swan's API without a token",
                                    "read /etc/shadow",
                                    "list /root",
                                    "open /proc/sysrq-trigger for writing",
                                    "create a user namespace",
                                    "mount a tmpfs",
                                    "setuid(0)",
                                    "allocate past the memory limit"};
  for (const auto& [label, path] : read_files) expected.insert("read " + label);
  for (const auto& [label, path] : list_dirs) expected.insert("list " + label);
  for (const auto& [label, path] : write_dirs) expected.insert("write into " + label);
  ExpectAllBlocked(Attempts(project, "out.c-iso.attempts"), expected);

  // And from outside: nothing landed in the host folders it tried to write.
  for (const std::string& dir : std::vector<std::string>{
           "/", "/usr", "/etc", DataDir(), DataDir() + "/segments", DataDir() + "/jobs"}) {
    const std::string path = dir + "/" + escape_file;
    EXPECT_FALSE(std::filesystem::exists(path)) << "the component wrote " << path;
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  std::error_code ec;
  std::filesystem::remove_all(other_job, ec);
}

// A registry component with small limits: memory, file size, CPU time and processes hold (the
// process limit too under a root server: the component runs as a job uid of its own).
TEST_F(ComponentIsolationTest, LimitsOfARegistryComponentHold) {
  const std::string components = DataDir() + "/components";
  std::filesystem::create_directories(components + "/limited_python");
  WriteFile(components + "/limited_python/main.py", EscapeScript());
  const json registry = {
      {"id", kLimitedComponent},
      {"type", "application"},
      {"command", {"/usr/bin/python3", "-u", "/code/main.py"}},
      {"code", "limited_python"},
      {"limits", {{"memory_mb", 256}, {"cpu_seconds", 2}, {"processes", 16}, {"output_mb", 1}}},
      {"timeout_seconds", 60}};
  WriteFile(components + "/limited_python.json", registry.dump(2));

  ProjectApi project(*server_, "limits");
  ASSERT_TRUE(project.ok());
  ImportProbe(project);
  LoopbackListener listener;
  ASSERT_GT(listener.port(), 0);
  json isolation = {{"memory_bytes", int64_t{256} << 20},
                    {"file_bytes", int64_t{1} << 20},
                    {"cpu_seconds", 2},
                    {"processes", 16},
                    {"loopback_port", listener.port()}};
  project.CreateConfig("limited", kLimitedComponent, EscapeConfiguration(isolation, "out.c-lim"));
  json job = project.RunJob("limited");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);

  ExpectChecksPassed(project, "out.c-lim.checks",
                     {"read_own_input", "write_own_tmp", "loopback_network"});
  auto attempts = Attempts(project, "out.c-lim.attempts");
  ExpectAllBlocked(attempts,
                   {"allocate past the memory limit", "write a file past the output limit",
                    "spin past the CPU limit", kProcessLimitAttempt});
  EXPECT_NE(attempts[kProcessLimitAttempt].error.find("Resource temporarily unavailable"),
            std::string::npos)
      << attempts[kProcessLimitAttempt].error;
  // The CPU limit is a SIGKILL from the kernel, not the job's timeout.
  EXPECT_NE(attempts["spin past the CPU limit"].error.find("killed by signal 9"), std::string::npos)
      << attempts["spin past the CPU limit"].error;
  EXPECT_NE(attempts["write a file past the output limit"].error.find("File too large"),
            std::string::npos)
      << attempts["write a file past the output limit"].error;
}

// The server reads a job's out/ folder after the component ended: links left there must not make
// it load host files into tables or state, and a FIFO must not block it. Such a job fails as the
// component's (user) error.
TEST_F(ComponentIsolationTest, LinksAndFifosInTheOutputFolderAreRefused) {
  TempDir host;
  const std::string secret = "host-secret-" + std::to_string(::getpid());
  WriteFile(host.path() + "/secret.csv", "secret\n" + secret + "\n");
  WriteFile(host.path() + "/secret.json", json({{"secret", secret}}).dump());
  std::filesystem::create_directories(host.path() + "/tables");
  WriteFile(host.path() + "/tables/leak.csv", "secret\n" + secret + "\n");

  ProjectApi project(*server_, "links");
  ASSERT_TRUE(project.ok());
  auto run = [&](const std::string& id, const std::string& script, const json& output_tables) {
    project.CreateConfig(id, kPythonTransformation,
                         {{"parameters", {{"blocks", {{{"codes", {{{"script", {script}}}}}}}}}},
                          {"storage", {{"output", {{"tables", output_tables}}}}}});
    return project.RunJob(id);
  };
  // Each job loads into a table of its own: out.c-leak.<configuration id>.
  auto leak_mapping = [](const std::string& id) {
    return json::array({{{"source", "leak.csv"}, {"destination", "out.c-leak." + id}}});
  };
  auto expect_no_leak = [&](const json& job) {
    EXPECT_EQ(job.value("status", ""), "error") << DescribeJob(project, job);
    EXPECT_EQ(job.value("error_kind", json()), "user") << DescribeJob(project, job);
    const std::string table_id = "out.c-leak." + job.value("config", "");
    HttpResponse table =
        HttpCall("GET", server_->url() + project.Path("/tables/" + table_id + "/preview"),
                 {"Authorization: Bearer " + project.token()});
    EXPECT_EQ(table.body.find(secret), std::string::npos)
        << "a host file was loaded into a table: " << table.body << "\n"
        << DescribeJob(project, job);
    json state = project.State(job.value("config", ""));
    EXPECT_EQ(state.dump().find(secret), std::string::npos)
        << "a host file became the state: " << state.dump() << "\n"
        << DescribeJob(project, job);
  };

  // A table file that links to a host file.
  json job = run("table-link",
                 "import os\nos.symlink(" + json(host.path() + "/secret.csv").dump() +
                     ", '/data/out/tables/leak.csv')",
                 leak_mapping("table-link"));
  expect_no_leak(job);
  // The state file links to a host file.
  job = run("state-link",
            "import os\nos.symlink(" + json(host.path() + "/secret.json").dump() +
                ", '/data/out/state.json')",
            json::array());
  expect_no_leak(job);
  // out/tables itself links to a host folder.
  job = run("folder-link",
            "import os, shutil\nshutil.rmtree('/data/out/tables')\nos.symlink(" +
                json(host.path() + "/tables").dump() + ", '/data/out/tables')",
            leak_mapping("folder-link"));
  expect_no_leak(job);
  // out/ itself links to a host folder holding tables/leak.csv.
  job = run("out-link",
            "import os, shutil\nshutil.rmtree('/data/out')\nos.symlink(" +
                json(host.path()).dump() + ", '/data/out')",
            leak_mapping("out-link"));
  expect_no_leak(job);
  // A sliced table whose slice links to a host file.
  job = run("slice-link",
            "import json, os\nos.mkdir('/data/out/tables/leak.csv')\nos.symlink(" +
                json(host.path() + "/secret.csv").dump() +
                ", '/data/out/tables/leak.csv/part1')\n"
                "with open('/data/out/tables/leak.csv.manifest', 'w') as f:\n"
                "    json.dump({'columns': ['secret']}, f)",
            leak_mapping("slice-link"));
  expect_no_leak(job);
  // FIFOs: reading one would block the server's worker until a writer comes (never).
  job = run("state-fifo", "import os\nos.mkfifo('/data/out/state.json')", json::array());
  expect_no_leak(job);
  job = run("table-fifo", "import os\nos.mkfifo('/data/out/tables/leak.csv')",
            leak_mapping("table-fifo"));
  expect_no_leak(job);
}

// A debug job keeps its folder and writes the configuration back sealed into data/config.json: a
// link the component put there must not make the server write a host file.
TEST_F(ComponentIsolationTest, DebugJobDoesNotWriteThroughALinkedConfigFile) {
  TempDir host;
  const std::string canary = host.path() + "/canary.txt";
  WriteFile(canary, "untouched\n");
  ProjectApi project(*server_, "debug-link");
  ASSERT_TRUE(project.ok());
  project.CreateConfig("config-link", kPythonTransformation,
                       {{"parameters",
                         {{"blocks",
                           {{{"codes",
                              {{{"script",
                                 {"import os\nos.unlink('/data/config.json')\nos.symlink(" +
                                  json(canary).dump() + ", '/data/config.json')"}}}}}}}}}}});
  json job = project.RunJob("config-link", {{"debug", true}});
  EXPECT_EQ(ReadFile(canary), "untouched\n") << "the server wrote through the component's link\n"
                                             << DescribeJob(project, job);
  // Such a folder is not kept (its secrets could not be sealed again in place). The folder goes
  // just after the job's end is committed: wait for it a little.
  const std::string job_dir = DataDir() + "/jobs/" + std::to_string(job.value("id", 0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::filesystem::exists(job_dir) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(std::filesystem::exists(job_dir)) << job_dir;
  std::error_code ec;
  std::filesystem::remove_all(job_dir, ec);
}

}  // namespace
}  // namespace swan::testing
