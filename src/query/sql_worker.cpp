#include "query/sql_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/limits.h"

extern char** environ;

namespace swan::query {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kChannelFd = 3;
#ifdef __SANITIZE_ADDRESS__
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
// What a worker holds besides DuckDB's buffers and the answer: the executable, DuckDB's own
// structures, thread stacks (each reserves 8 MiB of address space, counted by RLIMIT_DATA).
constexpr uint64_t kWorkerBaseBytes = uint64_t{256} << 20;
constexpr uint64_t kThreadStackBytes = uint64_t{8} << 20;
// A worker that has not said it is ready by then is taken as broken.
constexpr auto kStartTimeout = std::chrono::seconds(20);
// After the request's deadline the worker's own time-limit answer is awaited this long.
constexpr auto kDeadlineGrace = std::chrono::milliseconds(250);

// Where a worker's sandboxes spill: below the runner's spill root, one folder per worker, removed
// when the pool reaps the worker (a killed worker cannot clean up itself).
std::string WorkerSpillRoot(const std::string& data_dir, pid_t pid) {
  return data_dir + "/sql-spill/worker-" + std::to_string(pid);
}

std::string ArgValue(int argc, char** argv, const std::string& name) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return "";
}

}  // namespace

std::optional<uint64_t> ParseMemoryBytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t digits = i;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == i) return std::nullopt;
  double value = 0;
  try {
    value = std::stod(text.substr(i, digits - i));
  } catch (...) {
    return std::nullopt;
  }
  std::string unit;
  for (size_t j = digits; j < text.size(); ++j) {
    if (!std::isspace(static_cast<unsigned char>(text[j])))
      unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[j]))));
  }
  // DuckDB: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024.
  static const std::pair<const char*, double> kUnits[] = {{"", 1},
                                                          {"b", 1},
                                                          {"bytes", 1},
                                                          {"k", 1e3},
                                                          {"kb", 1e3},
                                                          {"m", 1e6},
                                                          {"mb", 1e6},
                                                          {"g", 1e9},
                                                          {"gb", 1e9},
                                                          {"t", 1e12},
                                                          {"tb", 1e12},
                                                          {"kib", 1024.0},
                                                          {"mib", 1048576.0},
                                                          {"gib", 1073741824.0},
                                                          {"tib", 1099511627776.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      const double bytes = value * factor;
      if (!(bytes >= 0 && bytes < 9.0e18)) return std::nullopt;  // also NaN
      return static_cast<uint64_t>(bytes);
    }
  }
  return std::nullopt;
}

// ---- the worker ----

int SqlWorkerMain(int argc, char** argv) {
  // Dies with the server's spawning thread; a worker whose server is already gone leaves.
  const std::string parent = ArgValue(argc, argv, "--parent");
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The server ends its workers (SIGKILL, or by closing the channel); these are for the server.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  if (parent.empty() || std::to_string(::getppid()) != parent) return 3;
  // Under AddressSanitizer the shadow memory (terabytes of address space) already counts against
  // RLIMIT_DATA: the cap is ASan's soft RSS limit instead, set by the server in ASAN_OPTIONS.
  if (const std::string cap = ArgValue(argc, argv, "--data-bytes-max");
      !kAddressSanitizer && !cap.empty()) {
    const rlim_t bytes = std::stoull(cap);
    if (bytes > 0) {
      rlimit r{bytes, bytes};
      if (::setrlimit(RLIMIT_DATA, &r) != 0) {
        std::fprintf(stderr, "swan sql worker: setrlimit: %s\n", std::strerror(errno));
        return 2;
      }
    }
  }
  SqlRunnerOptions options;
  options.data_dir = ArgValue(argc, argv, "--data");
  options.memory_limit = ArgValue(argc, argv, "--memory-limit");
  const std::string threads = ArgValue(argc, argv, "--threads");
  options.threads = threads.empty() ? 0 : std::stoi(threads);
  options.spill_root = WorkerSpillRoot(options.data_dir, ::getpid());
  options.spare_sandboxes = 1;
  options.refill_threads = 1;
  options.sandboxes_max = 1;
  SqlRunner runner(options);
  if (!wire::WriteFrame(kChannelFd, "").ok()) return 0;  // ready
  while (true) {
    auto frame = wire::ReadFrame(kChannelFd, Clock::time_point::max());
    if (!frame.ok()) return 0;  // the server closed the channel
    wire::Answer answer;
    auto request = wire::DecodeRequest(*frame);
    if (!request.ok()) {
      answer.status = request.status();
    } else {
      SqlRequest r;
      r.sql = std::move(request->sql);
      r.row_limit = request->row_limit;
      r.timeout_ms = request->timeout_ms;
      r.answer_bytes_max = request->answer_bytes_max;
      if (request->kind == wire::Kind::kQuery) {
        auto result = runner.Run(request->tables, r);
        if (result.ok()) {
          answer.result = std::move(*result);
        } else {
          answer.status = result.status();
        }
      } else {
        auto rows = runner.RunToParquet(request->tables, r, request->out_path);
        if (rows.ok()) {
          answer.parquet_rows = *rows;
        } else {
          answer.status = rows.status();
        }
      }
    }
    std::string encoded = wire::Encode(answer);
    answer = wire::Answer();
    if (!wire::WriteFrame(kChannelFd, encoded).ok()) return 0;
    const bool large = encoded.size() > (size_t{4} << 20);
    encoded = std::string();
    runner.WaitUntilRetiredClosed();  // the last query's instance is gone before the next
    if (large) ::malloc_trim(0);      // a large answer's pages go back before the next query
  }
}

// ---- the pool ----

SqlWorkerPool::SqlWorkerPool(SqlWorkerOptions options)
    : options_(std::move(options)),
      env_(options_.env != nullptr ? *options_.env : Env::Posix()),
      data_bytes_max_([this] {
        auto bytes = ParseMemoryBytes(options_.memory_limit);
        if (!bytes) return uint64_t{0};
        // Every DuckDB thread's stack counts too: the open instance, a spare and one closing.
        const uint64_t threads = options_.threads > 0
                                     ? static_cast<uint64_t>(options_.threads)
                                     : std::max<uint64_t>(1, std::thread::hardware_concurrency());
        return *bytes + limits::kSqlAnswerBytesMax + kWorkerBaseBytes +
               3 * threads * kThreadStackBytes;
      }()) {
  spawner_ = std::thread([this] { SpawnerLoop(); });
}

SqlWorkerPool::~SqlWorkerPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  spawner_.join();
  for (const Worker& w : idle_) KillLocked(w);  // the spawner has stopped: no lock needed
  idle_.clear();
  for (pid_t pid : dead_) Reap(pid);
}

void SqlWorkerPool::Reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  // Its spill folder may hold a killed query's rows.
  if (!options_.data_dir.empty()) (void)env_.RemoveAll(WorkerSpillRoot(options_.data_dir, pid));
}

Result<SqlWorkerPool::Worker> SqlWorkerPool::Spawn() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::Unavailable(std::string("cannot start a SQL worker: socketpair: ") +
                               std::strerror(errno));
  }
  const std::string parent = std::to_string(::getpid());
  std::vector<std::string> args = {options_.exe,       kSqlWorkerCommand,
                                   "--parent",         parent,
                                   "--data",           options_.data_dir,
                                   "--memory-limit",   options_.memory_limit,
                                   "--threads",        std::to_string(options_.threads),
                                   "--data-bytes-max", std::to_string(data_bytes_max_)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], kChannelFd);  // clears close-on-exec
  posix_spawn_file_actions_addclosefrom_np(&actions, kChannelFd + 1);
  // The server may block signals on its threads (the demo does): the worker starts with none.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // A group of its own: Ctrl-C or a signal to the server's group must not kill the workers
  // under the server's graceful shutdown (it ends them itself).
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!kAddressSanitizer || std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env_strings.push_back(*e);
  }
  if (kAddressSanitizer && data_bytes_max_ > 0) {
    const char* given = std::getenv("ASAN_OPTIONS");
    env_strings.push_back(
        "ASAN_OPTIONS=" + std::string(given && *given ? given : "") + (given && *given ? ":" : "") +
        "allocator_may_return_null=1:quarantine_size_mb=16:" +
        // ASan's shadow and redzones add to the resident size: a quarter more.
        "soft_rss_limit_mb=" +
        std::to_string((data_bytes_max_ + data_bytes_max_ / 4 + (uint64_t{128} << 20)) >> 20));
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, options_.exe.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return Status::Unavailable("cannot start a SQL worker (" + options_.exe +
                               "): " + std::strerror(rc));
  }
  Worker w{pid, fds[0]};
  auto ready = wire::ReadFrame(w.fd, Clock::now() + kStartTimeout, [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  });
  if (!ready.ok()) {
    Kill(w);
    return Status::Unavailable("a SQL worker did not start: " + ready.status().message());
  }
  return w;
}

void SqlWorkerPool::SpawnerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!dead_.empty()) {
      auto dead = std::move(dead_);
      dead_.clear();
      lock.unlock();
      for (pid_t pid : dead) Reap(pid);
      lock.lock();
      continue;
    }
    const size_t wanted = options_.idle_workers + static_cast<size_t>(waiting_);
    if (idle_.size() >= wanted) {
      cv_.wait(lock);
      continue;
    }
    lock.unlock();
    auto worker = Spawn();
    lock.lock();
    if (!worker.ok()) {
      spawn_error_ = worker.status();
      ++spawn_failures_;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(1));  // and try again
      continue;
    }
    idle_.push_back(*worker);
    cv_.notify_all();
  }
}

Result<SqlWorkerPool::Worker> SqlWorkerPool::Acquire(TimePoint deadline,
                                                     const std::function<bool()>& stop) {
  std::unique_lock lock(mu_);
  const uint64_t failures_before = spawn_failures_;
  ++waiting_;
  cv_.notify_all();
  while (idle_.empty() && !stopping_ && spawn_failures_ == failures_before) {
    if (Clock::now() >= deadline) break;
    if (stop && stop()) break;
    cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  --waiting_;
  if (!idle_.empty() && !stopping_ && !(stop && stop())) {
    // The one idle longest: its next DuckDB instance has had the most time to open.
    Worker w = idle_.front();
    idle_.pop_front();
    cv_.notify_all();  // the spawner starts the next spare
    return w;
  }
  if (stopping_ || (stop && stop()))
    return Status::Cancelled("stopped").WithDetail("reason", "stop");
  if (spawn_failures_ != failures_before) return spawn_error_;
  return Status::Cancelled("deadline").WithDetail("reason", "deadline");
}

void SqlWorkerPool::Release(Worker worker, bool reusable) {
  std::lock_guard lock(mu_);
  // The spawner keeps idle_workers ready; up to twice that many are kept after use, so a steady
  // stream of queries reuses workers instead of trading one for a fresh one each time.
  if (reusable && !stopping_ &&
      idle_.size() < 2 * options_.idle_workers + static_cast<size_t>(waiting_)) {
    idle_.push_back(worker);
  } else {
    KillLocked(worker);
  }
  cv_.notify_all();
}

void SqlWorkerPool::KillLocked(Worker worker) {
  ::kill(worker.pid, SIGKILL);
  ::close(worker.fd);
  dead_.push_back(worker.pid);
}

void SqlWorkerPool::Kill(Worker worker) {
  std::lock_guard lock(mu_);
  KillLocked(worker);
  cv_.notify_all();
}

void SqlWorkerPool::KillAndReap(Worker worker) {
  ::kill(worker.pid, SIGKILL);
  ::close(worker.fd);
  Reap(worker.pid);
}

Result<wire::Answer> SqlWorkerPool::Execute(wire::Request request, TimePoint deadline,
                                            const std::function<bool()>& stop) {
  Worker w;
  // A worker that died while idle never saw the request: another one takes it, once.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(w, Acquire(deadline, stop));
    // What is left of the time limit once a worker is at hand.
    request.timeout_ms = std::max<int64_t>(
        1, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (wire::WriteFrame(w.fd, wire::Encode(request)).ok()) break;
    Kill(w);
    if (attempt == 1)
      return Status::Unavailable("the SQL worker process ended before the query was sent");
  }
  // Bounds on what a worker may send back (it runs the user's SQL: never trusted with the
  // server's memory): the encoded answer is at most a few times its rendered size.
  const uint64_t frame_max = 8 * request.answer_bytes_max + (uint64_t{1} << 20);
  auto frame = wire::ReadFrame(w.fd, deadline + kDeadlineGrace, stop, frame_max);
  if (!frame.ok()) {
    // A Parquet file may still be written by the killed process: gone before the caller
    // removes it.
    request.kind == wire::Kind::kToParquet ? KillAndReap(w) : Kill(w);
    if (frame.status().code() == StatusCode::kCancelled) return frame.status();
    if (frame.status().code() == StatusCode::kInternal) return frame.status();
    std::string cap = options_.memory_limit.empty() ? "" : " of " + options_.memory_limit;
    return Status::Unavailable(
        "the query's worker process ended without an answer; most likely the query needed more "
        "memory than the limit" +
        cap);
  }
  auto answer = wire::DecodeAnswer(*frame, static_cast<uint64_t>(request.row_limit) + 1);
  if (!answer.ok()) {
    Kill(w);
    return answer.status();
  }
  const Status& st = answer->status;
  // A worker is reused only after an answer that leaves it clean: success, or the user's SQL
  // refused. After a time limit its DuckDB may still be running; after an engine failure its
  // state is unknown.
  const auto field = st.details().find("field");
  const bool reusable = st.ok() || (st.code() == StatusCode::kInvalidArgument &&
                                    (field == st.details().end() || field->second != "timeout_ms"));
  Release(w, reusable);
  return answer;
}

}  // namespace swan::query
