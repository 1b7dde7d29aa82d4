// SandboxedProcess with real processes: on the host (sandbox = false) and under bwrap. The sandbox
// tests fail, not skip, without bwrap: the project's setup installs it.
#include "jobs/sandboxed_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

namespace swan::jobs {
namespace {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's; `python3` here may be a shim

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "swan-sp-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Outcome {
  Status status;
  ProcessResult result;
  std::vector<std::string> out, err;
  bool Has(const std::string& line) const {
    return std::find(out.begin(), out.end(), line) != out.end() ||
           std::find(err.begin(), err.end(), line) != err.end();
  }
  std::string Dump() const {
    std::string s = "status=" + status.ToString() + " exit=" + std::to_string(result.exit_code) +
                    " signal=" + std::to_string(result.term_signal) + "\nstdout:\n";
    for (const auto& l : out) s += "  " + l + "\n";
    s += "stderr:\n";
    for (const auto& l : err) s += "  " + l + "\n";
    return s;
  }
};

// Collects lines; the callback is never concurrent with itself, the mutex is for the reading test.
struct Lines {
  std::mutex mu;
  std::vector<std::string> out, err;
  SandboxedProcess::LineCallback Callback() {
    return [this](OutputStream stream, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      (stream == OutputStream::kStdout ? out : err).emplace_back(line);
    };
  }
};

Outcome RunToEnd(const ProcessSpec& spec) {
  Outcome run;
  Lines lines;
  auto process = SandboxedProcess::Start(spec, lines.Callback());
  run.status = process.status();
  if (!process.ok()) return run;
  run.result = (*process)->Wait();
  run.out = lines.out;
  run.err = lines.err;
  return run;
}

ProcessSpec Spec(bool sandbox, const std::string& dir, std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.sandbox = sandbox;
  spec.data_dir = dir;
  spec.argv = std::move(argv);
  spec.timeout_ms = 60'000;  // no test may hang
  return spec;
}

ProcessSpec Shell(bool sandbox, const std::string& dir, const std::string& script) {
  return Spec(sandbox, dir, {"/bin/sh", "-c", script});
}

ProcessSpec Python(bool sandbox, const std::string& dir, const std::string& code) {
  return Spec(sandbox, dir, {kPython, "-c", code});
}

// The processes whose command line is `sleep <marker>` (in any pid namespace).
std::vector<pid_t> SleepPids(const std::string& marker) {
  std::vector<pid_t> pids;
  const std::string args = std::string(1, '\0') + marker + std::string(1, '\0');
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (!std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    const std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    const size_t nul = cmdline.find('\0');
    if (nul != std::string::npos && cmdline.substr(0, nul).ends_with("sleep") &&
        cmdline.substr(nul) == args) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

bool SleepRunning(const std::string& marker) { return !SleepPids(marker).empty(); }

// Waits up to 3 s for a killed `sleep <marker>` to disappear.
bool SleepGone(const std::string& marker) {
  for (int i = 0; i < 300; ++i) {
    if (!SleepRunning(marker)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int OpenFdCount() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

// ---- Behaviour shared by both modes -------------------------------------------------------------

class BothModes : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    if (sandbox()) {
      ASSERT_TRUE(SandboxedProcess::SandboxAvailable())
          << kBwrapPath << " is missing or cannot build a sandbox here";
    }
  }
  bool sandbox() const { return GetParam(); }
  const std::string& dir() const { return dir_.path(); }
  // A distinct `sleep` argument per test and mode, to find stray processes in /proc.
  std::string Marker(int n) const { return std::to_string(987000 + n * 2 + (sandbox() ? 1 : 0)); }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(HostAndSandbox, BothModes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Sandbox" : "Host"; });

TEST_P(BothModes, ExitCodes) {
  for (int code : {0, 1, 2}) {
    Outcome run = RunToEnd(Shell(sandbox(), dir(), "exit " + std::to_string(code)));
    ASSERT_TRUE(run.status.ok()) << run.Dump();
    EXPECT_EQ(run.result.exit_code, code) << run.Dump();
    EXPECT_EQ(run.result.term_signal, 0);
    EXPECT_FALSE(run.result.timed_out);
    EXPECT_FALSE(run.result.cancelled);
  }
}

TEST_P(BothModes, StdoutAndStderrLinesInOrder) {
  Outcome run = RunToEnd(Shell(
      sandbox(), dir(), "echo one; echo err1 >&2; echo two; echo err2 >&2; echo; printf last"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, (std::vector<std::string>{"one", "two", "", "last"}));
  EXPECT_EQ(run.err, (std::vector<std::string>{"err1", "err2"}));
  EXPECT_EQ(run.result.exit_code, 0);
  EXPECT_FALSE(run.result.output_truncated);
}

TEST_P(BothModes, KilledBySignal) {
  Outcome run = RunToEnd(Python(sandbox(), dir(), "import ctypes; ctypes.string_at(0)"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  if (sandbox()) {
    EXPECT_EQ(run.result.exit_code, 128 + SIGSEGV);  // bwrap reports it as a shell would
  } else {
    EXPECT_EQ(run.result.exit_code, -1);
    EXPECT_EQ(run.result.term_signal, SIGSEGV);
  }
}

TEST_P(BothModes, TimeoutKillsProcessAndGrandchild) {
  const std::string marker = Marker(0);
  ProcessSpec spec = Shell(sandbox(), dir(), "sleep " + marker + " & echo started; wait");
  spec.timeout_ms = 500;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_TRUE(run.result.timed_out);
  EXPECT_FALSE(run.result.cancelled);
  EXPECT_EQ(run.out, std::vector<std::string>{"started"});
  EXPECT_GE(run.result.wall_ms, 500);
  EXPECT_LT(run.result.wall_ms, 2000);  // SIGTERM was enough, no grace period waited
  EXPECT_TRUE(SleepGone(marker));
}

TEST_P(BothModes, TimeoutWorksWhenOutputIsClosed) {
  const std::string marker = Marker(1);
  ProcessSpec spec = Shell(sandbox(), dir(), "exec >&- 2>&-; sleep " + marker);
  spec.timeout_ms = 300;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_TRUE(run.result.timed_out);
  EXPECT_LT(run.result.wall_ms, 2000);
  EXPECT_TRUE(SleepGone(marker));
}

TEST_P(BothModes, CancelFromAnotherThread) {
  const std::string marker = Marker(2);
  std::promise<void> ready;
  std::once_flag once;
  auto process =
      SandboxedProcess::Start(Shell(sandbox(), dir(), "sleep " + marker + " & echo ready; wait"),
                              [&](OutputStream, std::string_view line) {
                                if (line == "ready")
                                  std::call_once(once, [&] { ready.set_value(); });
                              });
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  std::thread canceller([&] {
    ready.get_future().wait();
    (*process)->Cancel();
  });
  ProcessResult result = (*process)->Wait();
  canceller.join();
  EXPECT_TRUE(result.cancelled);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.term_signal, SIGTERM);
  EXPECT_TRUE(SleepGone(marker));
}

TEST_P(BothModes, LeftoversAreKilledWhenTheMainProcessExits) {
  const std::string marker = Marker(3);
  Outcome run = RunToEnd(Shell(sandbox(), dir(), "sleep " + marker + " & exit 0"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0);
  EXPECT_LT(run.result.wall_ms, 2000);
  EXPECT_TRUE(SleepGone(marker));
}

TEST_P(BothModes, DestructorKillsARunningProcess) {
  const std::string marker = Marker(4);
  {
    auto process = SandboxedProcess::Start(Shell(sandbox(), dir(), "sleep " + marker), nullptr);
    ASSERT_TRUE(process.ok()) << process.status().ToString();
  }
  EXPECT_TRUE(SleepGone(marker));
}

// A server that dies without cleaning up (crash, SIGKILL) takes its job with it: the child gets
// SIGKILL when the monitor thread dies. Outside the sandbox only that direct child does, so the
// host variant execs the sleep; in the sandbox the whole pid namespace goes.
TEST_P(BothModes, ServerDeathKillsTheComponent) {
  const std::string marker = Marker(5);
  const std::string script =
      sandbox() ? "sleep " + marker + " & echo ready; wait" : "echo ready; exec sleep " + marker;
  const pid_t server = ::fork();
  ASSERT_GE(server, 0);
  if (server == 0) {  // the "server": start the job, wait until it runs, die abruptly
    std::promise<void> ready;
    std::once_flag once;
    auto process = SandboxedProcess::Start(Shell(sandbox(), dir(), script),
                                           [&](OutputStream, std::string_view line) {
                                             if (line == "ready")
                                               std::call_once(once, [&] { ready.set_value(); });
                                           });
    if (!process.ok()) ::_exit(1);
    ready.get_future().wait();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(server, &status, 0), server);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(SleepGone(marker));
}

TEST_P(BothModes, CpuTimeOfABusyLoop) {
  Outcome run = RunToEnd(Python(sandbox(), dir(),
                                "import time\n"
                                "t = time.process_time()\n"
                                "while time.process_time() - t < 0.3: pass\n"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_GE(run.result.cpu_ms, 280);
  EXPECT_GE(run.result.wall_ms, run.result.cpu_ms - 50);
}

TEST_P(BothModes, PeakRssOfA100MbAllocation) {
  Outcome run = RunToEnd(Python(sandbox(), dir(), "b = b'x' * (120 << 20); print(len(b))"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_GE(run.result.peak_rss_bytes, 100'000'000);
}

TEST_P(BothModes, MemoryLimitMakesABigAllocationFail) {
  ProcessSpec spec = Python(sandbox(), dir(),
                            "try:\n"
                            "  b = bytearray(1 << 30)\n"
                            "except MemoryError:\n"
                            "  print('memory-error'); raise SystemExit(3)\n");
  spec.limits.memory_bytes = int64_t{256} << 20;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 3) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"memory-error"});

  spec.limits.memory_bytes = 0;  // the same program succeeds without the limit
  EXPECT_EQ(RunToEnd(spec).result.exit_code, 0);
}

TEST_P(BothModes, CpuLimitKills) {
  ProcessSpec spec = Python(sandbox(), dir(), "while True: pass");
  spec.limits.cpu_seconds = 1;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  if (sandbox()) {
    EXPECT_EQ(run.result.exit_code, 128 + SIGKILL) << run.Dump();
  } else {
    EXPECT_EQ(run.result.term_signal, SIGKILL) << run.Dump();
  }
  EXPECT_GE(run.result.cpu_ms, 900);
  EXPECT_LT(run.result.cpu_ms, 1500);
}

TEST_P(BothModes, FileSizeLimit) {
  ProcessSpec spec = Python(sandbox(), dir(),
                            "import errno\n"
                            "try:\n"
                            "  with open('big', 'wb') as f: f.write(b'x' * 2_000_000)\n"
                            "except OSError as e:\n"
                            "  print('efbig' if e.errno == errno.EFBIG else e)\n");
  spec.limits.file_bytes = 1 << 20;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"efbig"}) << run.Dump();
  EXPECT_LE(std::filesystem::file_size(dir() + "/big"), uintmax_t{1} << 20);
}

TEST_P(BothModes, OpenFilesLimit) {
  ProcessSpec spec = Python(sandbox(), dir(),
                            "import errno\n"
                            "files = []\n"
                            "try:\n"
                            "  for i in range(100): files.append(open('/dev/null'))\n"
                            "except OSError as e:\n"
                            "  print('emfile' if e.errno == errno.EMFILE else e)\n");
  spec.limits.open_files = 32;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"emfile"}) << run.Dump();
}

TEST_P(BothModes, MaxProcessesIsSet) {
  ProcessSpec spec =
      Python(sandbox(), dir(), "import resource; print(resource.getrlimit(resource.RLIMIT_NPROC))");
  spec.limits.max_processes = 50;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"(50, 50)"}) << run.Dump();
}

// ru_maxrss is the largest single process; the tree's sum is what the component really held.
TEST_P(BothModes, PeakRssOfTheWholeProcessTree) {
  Outcome run = RunToEnd(Python(sandbox(), dir(),
                                "import os, time\n"
                                "kids = []\n"
                                "for i in range(3):\n"
                                "  pid = os.fork()\n"
                                "  if pid == 0:\n"
                                "    b = bytearray(80 << 20)\n"
                                "    for j in range(0, len(b), 4096): b[j] = 1\n"
                                "    time.sleep(0.6); os._exit(0)\n"
                                "  kids.append(pid)\n"
                                "for pid in kids: os.waitpid(pid, 0)\n"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_GE(run.result.peak_rss_bytes, 3 * 80'000'000) << run.Dump();
  EXPECT_LT(run.result.peak_rss_bytes, 3 * 80'000'000 + 200'000'000) << run.Dump();
}

TEST_P(BothModes, EnvironmentIsOnlyWhatTheSpecSays) {
  ::setenv("SWAN_TEST_MUST_NOT_LEAK", "1", 1);
  ProcessSpec spec = Spec(sandbox(), dir(), {"/usr/bin/env"});
  spec.env = {{"KBC_DATADIR", "/data/"}, {"WITH_SPACE", "a b"}};
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  std::vector<std::string> expected = {"KBC_DATADIR=/data/", std::string("PATH=") + kDefaultPath,
                                       "WITH_SPACE=a b"};
  if (sandbox()) {  // bwrap's --chdir sets PWD
    expected = {"HOME=/tmp", "KBC_DATADIR=/data/", std::string("PATH=") + kDefaultPath, "PWD=/data",
                "WITH_SPACE=a b"};
  }
  std::vector<std::string> got = run.out;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

TEST_P(BothModes, NoFdLeaksAndNoZombies) {
  auto run_once = [&] {
    Outcome run = RunToEnd(Shell(sandbox(), dir(), "echo hi; echo ho >&2"));
    ASSERT_TRUE(run.status.ok()) << run.Dump();
    ASSERT_EQ(run.out, std::vector<std::string>{"hi"});
  };
  run_once();  // warm up lazily opened fds (SandboxAvailable's probe, libraries)
  const int before = OpenFdCount();
  for (int i = 0; i < 20; ++i) run_once();
  EXPECT_EQ(OpenFdCount(), before);
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // no child left, reaped or not
  EXPECT_EQ(errno, ECHILD);
}

TEST_P(BothModes, ConcurrentStarts) {
  constexpr int kThreads = 6;
  std::vector<Outcome> runs(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      runs[i] = RunToEnd(
          Shell(sandbox(), dir(), "echo " + std::to_string(i) + "; exit " + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(runs[i].status.ok()) << runs[i].Dump();
    EXPECT_EQ(runs[i].result.exit_code, i);
    EXPECT_EQ(runs[i].out, std::vector<std::string>{std::to_string(i)});
  }
}

// ---- Output handling (mode-independent; run on the host) ----------------------------------------

TEST(SandboxedProcessOutput, LongLinesAreSplit) {
  TempDir dir;
  Outcome run =
      RunToEnd(Python(false, dir.path(),
                      "import sys\n"
                      "sys.stdout.write('a' * 70000 + '\\n' + 'b' * 65536 + '\\n' + 'c')\n"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  ASSERT_EQ(run.out.size(), 4u);
  EXPECT_EQ(run.out[0], std::string(kLineBytesMax, 'a'));
  EXPECT_EQ(run.out[1], std::string(70000 - kLineBytesMax, 'a'));
  EXPECT_EQ(run.out[2], std::string(kLineBytesMax, 'b'));
  EXPECT_EQ(run.out[3], "c");
}

TEST(SandboxedProcessOutput, CapDropsLinesPastIt) {
  TempDir dir;
  ProcessSpec spec = Python(false, dir.path(), "for i in range(1000): print('%099d' % i)");
  spec.output_bytes_max = 1000;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0);  // the rest was read and dropped: no blocked writer
  EXPECT_EQ(run.out.size(), 10u);
  EXPECT_TRUE(run.result.output_truncated);
}

TEST(SandboxedProcessOutput, ManyLinesAllArrive) {
  TempDir dir;
  Outcome run = RunToEnd(Python(false, dir.path(), "for i in range(100000): print(i)"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  ASSERT_EQ(run.out.size(), 100000u);
  EXPECT_EQ(run.out.back(), "99999");
  EXPECT_FALSE(run.result.output_truncated);
}

// ---- Host mode
// -----------------------------------------------------------------------------------

TEST(SandboxedProcessHost, RunsInDataDir) {
  TempDir dir;
  Outcome run = RunToEnd(Spec(false, dir.path(), {"pwd"}));  // found through the default PATH
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{std::filesystem::canonical(dir.path()).string()});
}

TEST(SandboxedProcessHost, BadSpecsAreRejected) {
  TempDir dir;
  EXPECT_EQ(RunToEnd(Spec(false, dir.path(), {})).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunToEnd(Spec(false, dir.path() + "/missing", {"true"})).status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunToEnd(Spec(false, dir.path(), {"no-such-program-swan"})).status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunToEnd(Spec(false, dir.path(), {"/no/such/program"})).status.code(),
            StatusCode::kInvalidArgument);
  WriteFile(dir.path() + "/not-executable", "#!/bin/sh\n");
  EXPECT_EQ(RunToEnd(Spec(false, dir.path(), {"./not-executable"})).status.code(),
            StatusCode::kInvalidArgument);
  ProcessSpec bad_env = Spec(false, dir.path(), {"true"});
  bad_env.env = {{"A=B", "c"}};
  EXPECT_EQ(RunToEnd(bad_env).status.code(), StatusCode::kInvalidArgument);
  ProcessSpec negative = Spec(false, dir.path(), {"true"});
  negative.timeout_ms = -1;
  EXPECT_EQ(RunToEnd(negative).status.code(), StatusCode::kInvalidArgument);
}

TEST(SandboxedProcessHost, SigtermIgnoredEscalatesToSigkill) {
  TempDir dir;
  ProcessSpec spec = Shell(false, dir.path(), "trap '' TERM; echo ready; while :; do :; done");
  spec.timeout_ms = 200;
  spec.kill_grace_ms = 300;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_TRUE(run.result.timed_out);
  EXPECT_EQ(run.result.term_signal, SIGKILL);
  EXPECT_GE(run.result.wall_ms, 500);
  EXPECT_LT(run.result.wall_ms, 3000);
}

// A descendant that leaves the process group (setsid) and keeps stdout open cannot hold Wait()
// longer than kDrainAfterExitMs. Only possible outside the sandbox.
TEST(SandboxedProcessHost, EscapedDescendantDoesNotBlockWait) {
  TempDir dir;
  const std::string marker = "987900";
  const auto started = std::chrono::steady_clock::now();
  Outcome run = RunToEnd(Shell(false, dir.path(), "setsid sleep " + marker + " & echo done"));
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"done"});
  EXPECT_LT(waited, std::chrono::milliseconds(kDrainAfterExitMs + 1500));
  for (pid_t pid : SleepPids(marker)) ::kill(pid, SIGKILL);  // clean up the escapee ourselves
  EXPECT_TRUE(SleepGone(marker));
}

// ---- Sandbox isolation
// ---------------------------------------------------------------------------

class SandboxIsolation : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(SandboxedProcess::SandboxAvailable())
        << kBwrapPath << " is missing or cannot build a sandbox here";
  }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// In the sandbox of a root server the component runs as its own job uid, so RLIMIT_NPROC counts its
// processes alone and the kernel enforces it (uid 0 would be exempt).
TEST_F(SandboxIsolation, MaxProcessesIsEnforced) {
  ProcessSpec spec = Python(true, dir(),
                            "import os, errno, time\n"
                            "ok = failed = 0\n"
                            "for i in range(40):\n"
                            "  try:\n"
                            "    if os.fork() == 0:\n"
                            "      time.sleep(3); os._exit(0)\n"
                            "    ok += 1\n"
                            "  except OSError as e:\n"
                            "    if e.errno == errno.EAGAIN: failed += 1\n"
                            "print(ok, failed, flush=True)\n"
                            "os._exit(0)\n");
  spec.limits.max_processes = 10;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  ASSERT_EQ(run.out.size(), 1u) << run.Dump();
  int ok = -1, failed = -1;
  std::istringstream(run.out[0]) >> ok >> failed;
  EXPECT_LT(ok, 10) << run.Dump();
  EXPECT_GT(failed, 0) << run.Dump();
  EXPECT_EQ(ok + failed, 40) << run.Dump();
}

TEST_F(SandboxIsolation, CannotReadOutsideData) {
  TempDir other;
  const std::string secret = other.path() + "/secret.txt";
  WriteFile(secret, "top-secret\n");
  Outcome run = RunToEnd(Shell(true, dir(),
                               "cat " + secret + "; for p in " + secret + " " + other.path() +
                                   " /root /work /home /etc/shadow /etc/ssl/private /var /opt; do"
                                   "  [ -e $p ] && echo visible $p; done; echo end"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"end"}) << run.Dump();
  EXPECT_FALSE(run.Has("top-secret"));
}

TEST_F(SandboxIsolation, WritesOnlyToDataAndTmp) {
  Outcome run =
      RunToEnd(Shell(true, dir(),
                     "for p in /x /etc/x /usr/x /bin/x /proc/x /data/x /tmp/x; do"
                     "  touch $p 2>/dev/null && echo wrote $p; done; echo out > result.txt"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, (std::vector<std::string>{"wrote /data/x", "wrote /tmp/x"})) << run.Dump();
  EXPECT_EQ(ReadFile(dir() + "/result.txt"), "out\n");
  EXPECT_TRUE(std::filesystem::exists(dir() + "/x"));
}

// Under a root server: a job uid of its own, which owns what it writes and is root nowhere; under
// a non-root server: nobody in a user namespace. No capabilities either way.
TEST_F(SandboxIsolation, RunsUnprivilegedWithoutCapabilities) {
  Outcome run = RunToEnd(
      Shell(true, dir(), "id -u; id -g; id -G; grep CapEff /proc/self/status; pwd; echo x > mine"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  if (::geteuid() == 0) {
    const int64_t uid = run.result.host_uid;
    ASSERT_GE(uid, kJobUidBase);
    ASSERT_LT(uid, kJobUidBase + kJobUidCount);
    const std::string id = std::to_string(uid);
    EXPECT_EQ(run.out,
              (std::vector<std::string>{id, id, id, "CapEff:\t0000000000000000", "/data"}));
    struct stat st;
    ASSERT_EQ(::stat((dir() + "/mine").c_str(), &st), 0);
    EXPECT_EQ(static_cast<int64_t>(st.st_uid), uid);  // its uid outside too, not root
  } else {
    EXPECT_EQ(run.result.host_uid, -1);
    EXPECT_EQ(run.out, (std::vector<std::string>{"65534", "65534", "65534",
                                                 "CapEff:\t0000000000000000", "/data"}));
  }
}

// Two components running at once never share a job uid (nor, so, a process budget); a finished
// one's uid is free again.
TEST_F(SandboxIsolation, ConcurrentComponentsGetDistinctUids) {
  TempDir other;
  auto a = SandboxedProcess::Start(Shell(true, dir(), "sleep 0.3"), nullptr);
  auto b = SandboxedProcess::Start(Shell(true, other.path(), "sleep 0.3"), nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  const ProcessResult ra = (*a)->Wait(), rb = (*b)->Wait();
  EXPECT_EQ(ra.exit_code, 0);
  EXPECT_EQ(rb.exit_code, 0);
  if (::geteuid() == 0) {
    EXPECT_NE(ra.host_uid, rb.host_uid);
    EXPECT_GE(ra.host_uid, kJobUidBase);
    EXPECT_GE(rb.host_uid, kJobUidBase);
  } else {  // a non-root server cannot switch users: both run as its own, in user namespaces
    EXPECT_EQ(ra.host_uid, -1);
    EXPECT_EQ(rb.host_uid, -1);
  }
}

// As the entrypoint of a Docker container: pid 1, which ignores signals it has no handler for
// when they come from inside its namespace (even SIGKILL sent to itself).
// Non-root server: the component is pid 1, as a Docker entrypoint is (it ignores signals it has no
// handler for when they come from inside its namespace, even a SIGKILL sent to itself). Root
// server: pid 1 is a root shell that waits for the component (pid 2); a signal that kills the
// component shows as 128 + N.
TEST_F(SandboxIsolation, ComponentRunsUnderTheNamespacesInit) {
  Outcome run = RunToEnd(Shell(true, dir(), "echo $$; kill -KILL $$; echo alive"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  if (::geteuid() == 0) {
    EXPECT_EQ(run.out, (std::vector<std::string>{"2"}));
    EXPECT_EQ(run.result.exit_code, 128 + SIGKILL);
  } else {
    EXPECT_EQ(run.out, (std::vector<std::string>{"1", "alive"}));
    EXPECT_EQ(run.result.exit_code, 0);
  }
}

TEST_F(SandboxIsolation, SeesOnlyItsOwnProcesses) {
  Outcome run = RunToEnd(Shell(true, dir(), "ls /proc | grep -c '^[0-9]'"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  ASSERT_EQ(run.out.size(), 1u);
  EXPECT_LE(std::stoi(run.out[0]), 5);  // (the root server's init,) sh, ls, grep
}

TEST_F(SandboxIsolation, PythonRuns) {
  ProcessSpec spec = Spec(true, dir(),
                          {"python3", "-c",
                           "import json, os, ssl, sys; print(sys.executable);"
                           " print(os.environ['HOME']); open('/data/out.json', 'w').write("
                           "json.dumps({'ok': True}))"});
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.out, (std::vector<std::string>{"/usr/bin/python3", "/tmp"}));
  EXPECT_EQ(ReadFile(dir() + "/out.json"), "{\"ok\": true}");
}

TEST_F(SandboxIsolation, ReadOnlyBindForCode) {
  TempDir code;
  ASSERT_EQ(::chmod(code.path().c_str(), 0755), 0);  // mkdtemp's 0700: see below
  WriteFile(code.path() + "/main.py",
            "import os\n"
            "print(open('/code/main.py').readline().strip())\n"
            "try:\n"
            "  open('/code/x', 'w')\n"
            "except OSError as e:\n"
            "  print('read-only')\n");
  ProcessSpec spec = Spec(true, dir(), {"python3", "/code/main.py"});
  spec.ro_binds = {{code.path(), "/code"}};
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, (std::vector<std::string>{"import os", "read-only"})) << run.Dump();

  spec.ro_binds = {{code.path() + "/missing", "/code"}};
  EXPECT_EQ(RunToEnd(spec).status.code(), StatusCode::kInvalidArgument);
  spec.ro_binds = {{code.path(), "code"}};
  EXPECT_EQ(RunToEnd(spec).status.code(), StatusCode::kInvalidArgument);

  // Under a root server the job uid reads the code as "others" do: a private folder is refused
  // with a message that says how to fix it, unless the spec hands it over (owned_paths).
  ASSERT_EQ(::chmod(code.path().c_str(), 0700), 0);
  spec.ro_binds = {{code.path(), "/code"}};
  Outcome refused = RunToEnd(spec);
  if (::geteuid() == 0) {
    EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status.message().find("chmod"), std::string::npos)
        << refused.status.ToString();
    spec.owned_paths = {code.path()};
    Outcome owned = RunToEnd(spec);
    ASSERT_TRUE(owned.status.ok()) << owned.Dump();
    EXPECT_EQ(owned.out, (std::vector<std::string>{"import os", "read-only"})) << owned.Dump();
  } else {
    EXPECT_TRUE(refused.status.ok()) << refused.Dump();
  }
}

// A relative bind source is the server's working directory's, not the sandbox's (`swan demo
// --data swan-data` gave bwrap "swan-data/jobs/2/code", which it resolved inside /data).
TEST_F(SandboxIsolation, RelativeBindSourceResolvesFromTheServersWorkingDirectory) {
  TempDir base;
  ASSERT_EQ(::mkdir((base.path() + "/code").c_str(), 0755), 0);
  WriteFile(base.path() + "/code/main.py", "print('relative ok')\n");
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(base.path());  // "code" exists here, not in the data folder
  ProcessSpec spec = Spec(true, dir(), {"python3", "/code/main.py"});
  spec.ro_binds = {{"code", "/code"}};
  Outcome run = RunToEnd(spec);
  std::filesystem::current_path(before);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"relative ok"}) << run.Dump();
}

TEST_F(SandboxIsolation, NetworkOffLeavesOnlyLoopback) {
  ProcessSpec spec = Shell(true, dir(), "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
  spec.network = false;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"lo"});
}

TEST_F(SandboxIsolation, CannotCreateUserNamespaces) {
  Outcome run =
      RunToEnd(Shell(true, dir(), "unshare -U true 2>/dev/null && echo nested || echo no"));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"no"});
}

// Reported on stderr by bwrap (exit 1), or by setpriv under a root server (exit 127, as a shell's
// "command not found").
TEST_F(SandboxIsolation, MissingProgramIsReportedOnStderr) {
  Outcome run = RunToEnd(Spec(true, dir(), {"no-such-program-swan"}));
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, ::geteuid() == 0 ? 127 : 1);
  ASSERT_FALSE(run.err.empty());
  EXPECT_NE(run.err[0].find("no-such-program-swan"), std::string::npos);
}

TEST_F(SandboxIsolation, TmpSizeLimit) {
  ProcessSpec spec = Shell(true, dir(), "head -c 3000000 /dev/zero > /tmp/f || echo full");
  spec.limits.tmp_bytes = 1 << 20;
  Outcome run = RunToEnd(spec);
  ASSERT_TRUE(run.status.ok()) << run.Dump();
  EXPECT_EQ(run.out, std::vector<std::string>{"full"}) << run.Dump();
}

}  // namespace
}  // namespace swan::jobs
