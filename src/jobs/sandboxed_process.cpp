#include "jobs/sandboxed_process.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <system_error>

#include "jobs/process_tree.h"
#include "jobs/seccomp_filter.h"

namespace swan::jobs {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Owns one file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Moves `fd` to a number >= 3, so that the child's dup2 onto 0..2 can never overwrite a source fd
// (a server started with stdin closed hands out fd 0 to its first pipe).
Status LiftAbove2(UniqueFd& fd) {
  if (fd.get() > 2) return Status::Ok();
  int lifted = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (lifted < 0) return Status::Internal("fcntl(F_DUPFD_CLOEXEC): " + ErrnoText(errno));
  fd = UniqueFd(lifted);
  return Status::Ok();
}

// O_CLOEXEC: children that other threads fork at the same moment must not inherit our pipes.
Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    int err = errno;
    std::string what = "pipe2: " + ErrnoText(err);
    return err == EMFILE || err == ENFILE ? Status::Unavailable(what) : Status::Internal(what);
  }
  read_end = UniqueFd(fds[0]);
  write_end = UniqueFd(fds[1]);
  RETURN_IF_ERROR(LiftAbove2(read_end));
  return LiftAbove2(write_end);
}

// Splits a byte stream into lines of at most kLineBytesMax bytes.
class LineSplitter {
 public:
  template <typename Emit>
  void Feed(std::string_view data, const Emit& emit) {
    pending_.append(data);
    size_t start = 0;
    while (start < pending_.size()) {
      size_t newline = pending_.find('\n', start);
      if (newline != std::string::npos && newline - start <= kLineBytesMax) {
        emit(std::string_view(pending_).substr(start, newline - start));
        start = newline + 1;
      } else if (pending_.size() - start >= static_cast<size_t>(kLineBytesMax)) {
        emit(std::string_view(pending_).substr(start, kLineBytesMax));
        start += kLineBytesMax;
      } else {
        break;
      }
    }
    pending_.erase(0, start);
  }

  template <typename Emit>
  void Finish(const Emit& emit) {
    if (!pending_.empty()) emit(std::string_view(pending_));
    pending_.clear();
  }

 private:
  std::string pending_;
};

// What the child reports through the exec pipe when it cannot get to its program.
struct ChildFailure {
  int step = 0;  // index into kChildSteps
  int err = 0;   // errno
};
constexpr const char* kChildSteps[] = {"setsid", "prctl",   "setrlimit", "dup2",
                                       "chdir",  "seccomp", "execve"};
enum ChildStep { kSetsid, kPrctl, kSetrlimit, kDup2, kChdir, kSeccomp, kExecve };

// Read-only files and folders of /etc that ordinary programs (the dynamic loader, TLS, DNS, user
// lookups, Python) read. Not /etc/ssl as a whole: its private/ folder holds the host's keys.
constexpr const char* kEtcPaths[] = {
    "/etc/ld.so.cache",   "/etc/ld.so.conf", "/etc/ld.so.conf.d",    "/etc/localtime",
    "/etc/timezone",      "/etc/ssl/certs",  "/etc/ssl/openssl.cnf", "/etc/ca-certificates",
    "/etc/resolv.conf",   "/etc/hosts",      "/etc/host.conf",       "/etc/gai.conf",
    "/etc/nsswitch.conf", "/etc/passwd",     "/etc/group",           "/etc/alternatives",
    "/etc/mime.types",
};
// Top-level system folders: links into /usr on merged-/usr systems (recreated as links), real
// folders elsewhere (bound read-only).
constexpr const char* kSystemDirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void AddReadOnlyBind(std::vector<std::string>& args, const std::string& host,
                     const std::string& inside) {
  args.insert(args.end(), {"--ro-bind", host, inside});
}

void AddSystemMounts(std::vector<std::string>& args) {
  AddReadOnlyBind(args, "/usr", "/usr");
  for (const char* dir : kSystemDirs) {
    std::error_code ec;
    if (std::filesystem::is_symlink(dir, ec)) {
      std::string target = std::filesystem::read_symlink(dir, ec).string();
      if (!ec) args.insert(args.end(), {"--symlink", target, dir});
    } else if (PathExists(dir)) {
      AddReadOnlyBind(args, dir, dir);
    }
  }
  std::vector<std::string> etc(std::begin(kEtcPaths), std::end(kEtcPaths));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/etc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("python3")) etc.push_back("/etc/" + name);
  }
  // A link is bound as what it points to (resolv.conf often points into /run, which is not there).
  for (const std::string& path : etc) {
    if (PathExists(path)) AddReadOnlyBind(args, path, path);
  }
}

// `job_uid` >= 0: a root server; bwrap runs as real root with no user namespace, and setpriv drops
// the component to the job uid. Otherwise bwrap makes a user namespace with uid 65534 inside.
std::vector<std::string> BwrapCommand(const ProcessSpec& spec, const std::string& data_dir,
                                      int64_t job_uid) {
  std::vector<std::string> args = {kBwrapPath};
  if (job_uid >= 0) {
    args.insert(args.end(),
                {"--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"});
    if (!spec.network) args.push_back("--unshare-net");
  } else {
    const std::string id = std::to_string(kSandboxUid);
    args.insert(args.end(),
                {"--unshare-all", "--unshare-user", "--disable-userns", "--uid", id, "--gid", id});
    if (spec.network) args.push_back("--share-net");
  }
  args.insert(args.end(), {
                              // pid 1 of the namespace dies with bwrap, and everything with it
                              "--die-with-parent",
                              // no TIOCSTI into a terminal the server may have
                              "--new-session",
                              // The component itself is pid 1 (as a Docker entrypoint is). With
                              // bwrap's own init as pid 1 instead, bwrap exits without reaping that
                              // init, and the component's rusage is lost.
                              "--as-pid-1",
                          });
  AddSystemMounts(args);
  args.insert(args.end(), {"--proc", "/proc", "--dev", "/dev"});
  if (spec.limits.tmp_bytes > 0) {
    args.insert(args.end(), {"--size", std::to_string(spec.limits.tmp_bytes)});
  }
  // Sticky and writable by all: under a root server the tmpfs belongs to root, not the job uid.
  args.insert(args.end(), {"--perms", "1777", "--tmpfs", "/tmp", "--bind", data_dir, "/data"});
  for (const auto& [host, inside] : spec.ro_binds) AddReadOnlyBind(args, host, inside);
  // The root is a tmpfs bwrap builds; without the remount the component could write to / and
  // /etc. Not recursive, so /tmp and /data stay writable.
  args.insert(args.end(), {"--chdir", "/data", "--remount-ro", "/", "--"});
  if (job_uid >= 0) {
    // pid 1 is a root shell that waits for the component (pid 2) and exits with its status (128 +
    // N when signal N killed it). It cannot be a job-uid process: the death signal of
    // --die-with-parent comes from bwrap's monitor, root without capabilities, which may signal
    // root processes only. pid 1 dying ends the whole namespace; and the monitor reaps pid 1, so
    // the component's rusage reaches the server.
    const std::string id = std::to_string(job_uid);
    args.insert(args.end(), {"/bin/sh", "-c", "\"$@\"", "swan-sandbox-init", kSetprivPath,
                             "--reuid=" + id, "--regid=" + id, "--clear-groups", "--inh-caps=-all",
                             "--bounding-set=-all", "--no-new-privs", "--"});
  }
  args.insert(args.end(), spec.argv.begin(), spec.argv.end());
  return args;
}

// Leases a job uid for as long as the returned socket stays open. An abstract unix socket name is
// unique in the host's network namespace, shared by every server on the host, and the kernel frees
// it when its holder exits, even by SIGKILL: no lock files to clean up.
Result<std::pair<int, int64_t>> LeaseJobUid() {
  static std::atomic<uint32_t> next{0};
  const uint32_t first = next.fetch_add(1);
  for (int i = 0; i < kJobUidCount; ++i) {
    const int64_t uid = kJobUidBase + (first + static_cast<uint32_t>(i)) % kJobUidCount;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::Unavailable("leasing a job uid: socket: " + ErrnoText(errno));
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    const std::string name = "swan-job-uid-" + std::to_string(uid);
    std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), length) == 0)
      return std::pair{fd, uid};
    const int err = errno;
    ::close(fd);
    if (err != EADDRINUSE) return Status::Unavailable("leasing a job uid: bind: " + ErrnoText(err));
  }
  return Status::Unavailable("leasing a job uid: all " + std::to_string(kJobUidCount) +
                             " are in use");
}

// A root server's component reads its read-only binds as "others": a bind it cannot enter would
// fail inside the sandbox with a bare "Permission denied". Only the bound folder itself is
// checked (its parents are not on the way inside); owned_paths are the job uid's own.
Status CheckReadableByOthers(const ProcessSpec& spec) {
  for (const auto& [host, inside] : spec.ro_binds) {
    if (std::find(spec.owned_paths.begin(), spec.owned_paths.end(), host) != spec.owned_paths.end())
      continue;
    struct stat st;
    if (::stat(host.c_str(), &st) != 0) continue;  // ValidateSpec reported it
    const mode_t need = S_ISDIR(st.st_mode) ? (S_IROTH | S_IXOTH) : S_IROTH;
    if ((st.st_mode & need) != need) {
      return Status::InvalidArgument("process spec: " + host + " (bound at " + inside +
                                     ") is not readable by the component's unprivileged user: "
                                     "`chmod -R a+rX " +
                                     host + "`")
          .WithDetail("field", "ro_binds");
    }
  }
  return Status::Ok();
}

// Makes `path` and everything below it belong to `uid` (links themselves, never their targets).
Status HandOver(const std::string& path, int64_t uid) {
  auto chown_one = [&](const std::string& p) -> Status {
    if (::lchown(p.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)) != 0)
      return Status::Internal("handing " + p + " to the job uid: " + ErrnoText(errno));
    return Status::Ok();
  };
  RETURN_IF_ERROR(chown_one(path));
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    RETURN_IF_ERROR(chown_one(it->path().string()));
  }
  if (ec) return Status::Internal("handing " + path + " to the job uid: " + ec.message());
  return Status::Ok();
}

Status ValidateSpec(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::InvalidArgument("process spec: argv is empty").WithDetail("field", "argv");
  }
  for (const std::string& arg : spec.argv) {
    if (arg.find('\0') != std::string::npos) {
      return Status::InvalidArgument("process spec: argv holds a NUL byte")
          .WithDetail("field", "argv");
    }
  }
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return Status::InvalidArgument("process spec: bad environment variable name or value: " + key)
          .WithDetail("field", "env");
    }
  }
  for (const auto& [host, inside] : spec.ro_binds) {
    if (!spec.sandbox) continue;
    if (!PathExists(host)) {
      return Status::InvalidArgument("process spec: bind source does not exist: " + host)
          .WithDetail("field", "ro_binds");
    }
    if (!inside.starts_with('/') || inside == "/") {
      return Status::InvalidArgument(
                 "process spec: bind target must be an absolute path below /: " + inside)
          .WithDetail("field", "ro_binds");
    }
  }
  const ProcessLimits& l = spec.limits;
  for (int64_t v : {l.memory_bytes, l.cpu_seconds, l.max_processes, l.file_bytes, l.open_files,
                    l.tmp_bytes, spec.timeout_ms, spec.kill_grace_ms, spec.output_bytes_max}) {
    if (v < 0) return Status::InvalidArgument("process spec: limits must not be negative");
  }
  return Status::Ok();
}

// The canonical path of the data folder (bwrap and chdir get no links or relative parts).
Result<std::string> CanonicalDataDir(const std::string& data_dir) {
  if (data_dir.empty()) {
    return Status::InvalidArgument("process spec: data_dir is empty")
        .WithDetail("field", "data_dir");
  }
  char resolved[PATH_MAX];
  struct stat st;
  if (::realpath(data_dir.c_str(), resolved) == nullptr || ::stat(resolved, &st) != 0 ||
      !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("process spec: data_dir is not a folder: " + data_dir)
        .WithDetail("field", "data_dir");
  }
  return std::string(resolved);
}

std::map<std::string, std::string> ChildEnvironment(const ProcessSpec& spec) {
  std::map<std::string, std::string> env = spec.env;
  env.emplace("PATH", kDefaultPath);
  // The sandbox's only writable places are /data (the component's output) and /tmp.
  if (spec.sandbox) env.emplace("HOME", "/tmp");
  return env;
}

// execvp's search, done before fork (execvp is not async-signal-safe, and a missing program is
// then an error of Start rather than of the child).
Result<std::string> ResolveProgram(const std::string& name, const std::string& path_list) {
  if (name.find('/') != std::string::npos) return name;
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = std::min(path_list.find(':', start), path_list.size());
    std::string dir = path_list.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return Status::InvalidArgument("process spec: program not found in PATH: " + name)
      .WithDetail("field", "argv");
}

struct ResourceLimit {
  int resource;
  struct rlimit value;
};

// Soft = hard = the asked value, so the component cannot raise it back; capped at the server's own
// hard limit (raising that would fail for an unprivileged server). For RLIMIT_CPU, hard = soft
// means SIGKILL right at the limit: a SIGXCPU at the soft limit would be ignored by a component
// that is pid 1 of its namespace anyway.
std::vector<ResourceLimit> ResourceLimits(const ProcessLimits& limits) {
  std::vector<ResourceLimit> out;
  auto add = [&](int resource, int64_t value) {
    if (value <= 0) return;
    struct rlimit current;
    if (::getrlimit(resource, &current) != 0) return;
    rlim_t limit = std::min(static_cast<rlim_t>(value), current.rlim_max);
    out.push_back({resource, {limit, limit}});
  };
  add(RLIMIT_AS, limits.memory_bytes);
  add(RLIMIT_CPU, limits.cpu_seconds);
  add(RLIMIT_NPROC, limits.max_processes);
  add(RLIMIT_FSIZE, limits.file_bytes);
  add(RLIMIT_NOFILE, limits.open_files);
  return out;
}

std::vector<char*> CStringArray(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The child's fds before they become 0, 1 and 2; `exec_report` is the write end of the pipe that
// carries a ChildFailure (it is O_CLOEXEC, so a successful execve closes it: EOF = started).
struct ChildFds {
  int stdin_fd, stdout_fd, stderr_fd, exec_report;
};

[[noreturn]] void ChildFail(int exec_report, ChildStep step) {
  ChildFailure failure{step, errno};
  // Nothing to do if this write fails: the parent then sees EOF and the exit code 127.
  ssize_t ignored = ::write(exec_report, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

// Marks every fd from 3 up close-on-exec. close_range's flag form (Linux 5.11) keeps the exec
// report pipe usable until execve; the fallback walks the fd table.
void CloseOtherFdsOnExec(int max_fd) {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls run.
struct SandboxedProcess::ExecPlan {
  std::string program;  // path given to execve
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string cwd;
  std::vector<ResourceLimit> limits;
  const sock_fprog* seccomp = nullptr;  // installed just before execve
  int max_fd = 1024;                    // bound of the fd walk when close_range is missing
};

namespace {

// Runs in the forked child of a multi-threaded process: async-signal-safe calls only, no
// allocation, no locks.
[[noreturn]] void RunChild(const std::string& program, char* const* argv, char* const* envp,
                           const std::string& cwd, const std::vector<ResourceLimit>& limits,
                           const sock_fprog* seccomp, int max_fd, const ChildFds& fds,
                           pid_t parent) {
  // Ignored signals and the signal mask survive execve: a server that ignores SIGPIPE or blocks
  // SIGTERM for a signal thread would hand that to the component. All signals are blocked since
  // before the fork, so no server handler runs here: reset every disposition first, then unblock.
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Own session and process group (pgid = pid), so killing -pid reaches everything it spawns.
  if (::setsid() < 0) ChildFail(fds.exec_report, kSetsid);
  // Die with the monitor thread (the server crashing must not leave jobs running).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(fds.exec_report, kPrctl);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl

  for (const ResourceLimit& limit : limits) {
    if (::setrlimit(limit.resource, &limit.value) != 0) ChildFail(fds.exec_report, kSetrlimit);
  }
  if (::dup2(fds.stdin_fd, 0) < 0 || ::dup2(fds.stdout_fd, 1) < 0 || ::dup2(fds.stderr_fd, 2) < 0) {
    ChildFail(fds.exec_report, kDup2);
  }
  if (::chdir(cwd.c_str()) != 0) ChildFail(fds.exec_report, kChdir);
  if (seccomp != nullptr && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, seccomp) != 0)
    ChildFail(fds.exec_report, kSeccomp);
  CloseOtherFdsOnExec(max_fd);
  ::execve(program.c_str(), argv, envp);
  ChildFail(fds.exec_report, kExecve);
}

}  // namespace

SandboxedProcess::SandboxedProcess(const ProcessSpec& spec, LineCallback on_line)
    : on_line_(std::move(on_line)),
      timeout_ms_(spec.timeout_ms),
      kill_grace_ms_(spec.kill_grace_ms),
      output_bytes_max_(spec.output_bytes_max) {}

Result<std::unique_ptr<SandboxedProcess>> SandboxedProcess::Start(const ProcessSpec& spec,
                                                                  LineCallback on_line) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  ASSIGN_OR_RETURN(std::string data_dir, CanonicalDataDir(spec.data_dir));

  ExecPlan plan;
  plan.cwd = data_dir;
  std::map<std::string, std::string> env = ChildEnvironment(spec);
  for (const auto& [key, value] : env) plan.env.push_back(key + "=" + value);
  if (spec.sandbox) {
    if (::access(kBwrapPath, X_OK) != 0) {
      return Status::Unavailable(std::string("sandbox: ") + kBwrapPath + " is not installed");
    }
    plan.program = kBwrapPath;
  } else {
    // Relative names with a '/' resolve against data_dir, the child's cwd at execve.
    ASSIGN_OR_RETURN(plan.program, ResolveProgram(spec.argv[0], env["PATH"]));
    plan.args = spec.argv;
  }
  plan.limits = ResourceLimits(spec.limits);
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    plan.max_fd = static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, INT_MAX));
  }

  std::unique_ptr<SandboxedProcess> process(new SandboxedProcess(spec, std::move(on_line)));
  if (spec.sandbox) {
    int64_t job_uid = -1;
    if (::geteuid() == 0) {
      if (::access(kSetprivPath, X_OK) != 0) {
        return Status::Unavailable(std::string("sandbox: ") + kSetprivPath +
                                   " (util-linux) is not installed: a root server needs it to run "
                                   "components as an unprivileged user");
      }
      ASSIGN_OR_RETURN(auto lease, LeaseJobUid());
      process->uid_lease_fd_ = lease.first;  // released when the process object dies
      job_uid = lease.second;
      process->result_.host_uid = job_uid;
      RETURN_IF_ERROR(HandOver(data_dir, job_uid));
      for (const std::string& path : spec.owned_paths) RETURN_IF_ERROR(HandOver(path, job_uid));
      RETURN_IF_ERROR(CheckReadableByOthers(spec));
      plan.seccomp = NoUserNamespacesFilter();
    }
    // bwrap runs in data_dir: a relative bind source (a relative --data of the server) would
    // resolve there. Absolute from the server's own working directory.
    ProcessSpec absolute = spec;
    for (auto& [host, inside] : absolute.ro_binds) host = std::filesystem::absolute(host).string();
    plan.args = BwrapCommand(absolute, data_dir, job_uid);
  }
  RETURN_IF_ERROR(process->Launch(std::move(plan)));
  return process;
}

// The fork happens on the monitor thread: PR_SET_PDEATHSIG fires when the forking *thread* ends,
// and the monitor lives exactly as long as the child.
Status SandboxedProcess::Launch(ExecPlan plan) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::Unavailable("eventfd: " + ErrnoText(errno));
  std::promise<Status> started;
  std::future<Status> started_future = started.get_future();
  try {
    monitor_ = std::thread([this, plan = std::move(plan), started = std::move(started)]() mutable {
      Status status = Spawn(plan);
      const bool ok = status.ok();
      started.set_value(std::move(status));
      if (ok) Monitor();
    });
  } catch (const std::system_error& e) {
    return Status::Unavailable(std::string("starting the monitor thread: ") + e.what());
  }
  Status status = started_future.get();
  if (!status.ok()) monitor_.join();
  return status;
}

Status SandboxedProcess::Spawn(ExecPlan& plan) {
  UniqueFd out_read, out_write, err_read, err_write, report_read, report_write;
  RETURN_IF_ERROR(MakePipe(out_read, out_write));
  RETURN_IF_ERROR(MakePipe(err_read, err_write));
  RETURN_IF_ERROR(MakePipe(report_read, report_write));
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (dev_null.get() < 0) return Status::Internal("open /dev/null: " + ErrnoText(errno));
  RETURN_IF_ERROR(LiftAbove2(dev_null));

  // Pointer arrays last: they point into plan's strings, which must not move any more.
  std::vector<char*> argv = CStringArray(plan.args);
  std::vector<char*> envp = CStringArray(plan.env);
  const ChildFds child_fds{dev_null.get(), out_write.get(), err_write.get(), report_write.get()};
  const pid_t parent = ::getpid();

  // No signal handler of the server may run in the child before it resets them.
  sigset_t all, previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  start_ms_ = NowMs();
  const pid_t pid = ::fork();
  if (pid == 0) {
    RunChild(plan.program, argv.data(), envp.data(), plan.cwd, plan.limits, plan.seccomp,
             plan.max_fd, child_fds, parent);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return Status::Unavailable("fork: " + ErrnoText(fork_errno));

  out_write.Reset();
  err_write.Reset();
  report_write.Reset();
  dev_null.Reset();

  // Blocks until execve (EOF) or a failure report; afterwards the child is surely its own process
  // group leader, so a kill of -pid cannot miss it.
  ChildFailure failure;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != 0) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof failure)) {
      return Status::Internal("starting " + plan.program + ": lost the child's start report");
    }
    if (failure.step < 0 || failure.step > kExecve) failure.step = kExecve;
    std::string what = std::string(kChildSteps[failure.step]) + ": " + ErrnoText(failure.err);
    if (failure.step == kExecve) {
      return Status::InvalidArgument("cannot execute " + plan.program + ": " + what)
          .WithDetail("field", "argv");
    }
    return Status::Internal("starting " + plan.program + ": " + what);
  }

  pid_ = pid;
  // The raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" and cannot be used from C++.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) {
    int err = errno;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Status::Internal("pidfd_open: " + ErrnoText(err));
  }
  out_fd_ = out_read.Release();
  err_fd_ = err_read.Release();
  return Status::Ok();
}

void SandboxedProcess::Deliver(OutputStream stream, std::string_view line) {
  if (result_.output_truncated) return;
  if (output_bytes_max_ > 0 &&
      output_bytes_ + static_cast<int64_t>(line.size()) > output_bytes_max_) {
    // Everything after the first line that does not fit is dropped, so no gap goes unnoticed.
    result_.output_truncated = true;
    return;
  }
  output_bytes_ += static_cast<int64_t>(line.size());
  if (on_line_) on_line_(stream, line);
}

// Until the wait4 below the child is not reaped, so its pid (= the group id) cannot be reused and
// killing the group cannot hit a stranger.
void SandboxedProcess::ReapChild() {
  ::kill(-pid_, SIGKILL);  // whatever the main process left running
  int status = 0;
  struct rusage usage = {};
  int reaped;
  do {
    reaped = ::wait4(pid_, &status, 0, &usage);
  } while (reaped < 0 && errno == EINTR);
  result_.wall_ms = NowMs() - start_ms_;
  // reaped < 0 (ECHILD) only if the server set SIGCHLD to SIG_IGN: the status is lost then.
  if (reaped > 0 && WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (reaped > 0 && WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
  auto to_ms = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  };
  result_.cpu_ms = to_ms(usage.ru_utime) + to_ms(usage.ru_stime);
  // ru_maxrss is in KiB; the largest single process, which a short-lived tree may only show here.
  result_.peak_rss_bytes =
      std::max(result_.peak_rss_bytes, static_cast<int64_t>(usage.ru_maxrss) * 1024);
  ::close(pidfd_);
  pidfd_ = -1;
  // The pid namespace is gone with its pid 1: nothing runs as the job uid any more.
  if (uid_lease_fd_ >= 0) ::close(uid_lease_fd_);
  uid_lease_fd_ = -1;
}

void SandboxedProcess::SampleTree() {
  result_.peak_rss_bytes = std::max(result_.peak_rss_bytes, TreeResidentBytes(pid_));
}

// The monitor thread: reads both pipes, enforces the timeout, reacts to Cancel, reaps the child.
void SandboxedProcess::Monitor() {
  const std::optional<int64_t> timeout_at =
      timeout_ms_ > 0 ? std::optional<int64_t>(start_ms_ + timeout_ms_) : std::nullopt;
  bool stopping = false;               // SIGTERM sent
  int64_t sigkill_at = -1;             // when to escalate; -1 once SIGKILL is sent (or before)
  std::optional<int64_t> drain_until;  // set when the child was reaped
  int64_t sample_at = start_ms_ + kTreeSampleMs / 5;  // the first sample early: short jobs
  LineSplitter splitters[2];
  int* const fds[2] = {&out_fd_, &err_fd_};
  const OutputStream streams[2] = {OutputStream::kStdout, OutputStream::kStderr};
  std::vector<char> buffer(kLineBytesMax);

  auto close_stream = [&](int i) {
    splitters[i].Finish([&](std::string_view line) { Deliver(streams[i], line); });
    ::close(*fds[i]);
    *fds[i] = -1;
  };

  while (true) {
    const int64_t now = NowMs();
    const bool exited = drain_until.has_value();
    if (!exited && !stopping) {
      const bool cancel = cancel_requested_.load();
      if (cancel || (timeout_at && now >= *timeout_at)) {
        result_.cancelled = cancel;
        result_.timed_out = !cancel;
        ::kill(-pid_, SIGTERM);
        stopping = true;
        sigkill_at = now + kill_grace_ms_;
      }
    }
    if (!exited && sigkill_at >= 0 && now >= sigkill_at) {
      ::kill(-pid_, SIGKILL);
      sigkill_at = -1;
    }
    if (exited && ((out_fd_ < 0 && err_fd_ < 0) || now >= *drain_until)) break;
    if (!exited && now >= sample_at) {
      SampleTree();
      sample_at = now + kTreeSampleMs;
    }

    // Sleep until the next fd event or the next deadline.
    std::optional<int64_t> wake_at = timeout_at;
    if (exited) {
      wake_at = drain_until;
    } else if (stopping) {
      wake_at = sigkill_at >= 0 ? std::optional<int64_t>(sigkill_at) : std::nullopt;
    }
    if (!exited) wake_at = wake_at ? std::min(*wake_at, sample_at) : sample_at;
    const int poll_ms =
        wake_at ? static_cast<int>(std::clamp<int64_t>(*wake_at - now, 0, INT_MAX)) : -1;
    pollfd pfds[4];
    int count = 0;
    int slot[4] = {-1, -1, -1, -1};  // 0, 1: output stream; 2: pidfd; 3: wake fd
    for (int i = 0; i < 2; ++i) {
      if (*fds[i] >= 0) {
        pfds[count] = {*fds[i], POLLIN, 0};
        slot[count++] = i;
      }
    }
    if (!exited) {
      pfds[count] = {pidfd_, POLLIN, 0};
      slot[count++] = 2;
    }
    pfds[count] = {wake_fd_, POLLIN, 0};
    slot[count++] = 3;
    if (::poll(pfds, count, poll_ms) < 0) {
      if (errno == EINTR) continue;
      // Cannot watch any more (ENOMEM): end the process rather than leave it unwatched.
      if (!exited) {
        ::kill(-pid_, SIGKILL);
        ReapChild();
      }
      break;
    }

    bool child_done = false;
    for (int k = 0; k < count; ++k) {
      if (pfds[k].revents == 0) continue;
      const int s = slot[k];
      if (s == 3) {
        uint64_t value;
        ssize_t ignored = ::read(wake_fd_, &value, sizeof value);  // reset; the flag is the news
        (void)ignored;
      } else if (s == 2) {
        child_done = true;
      } else {
        ssize_t n = ::read(*fds[s], buffer.data(), buffer.size());
        if (n > 0) {
          splitters[s].Feed(std::string_view(buffer.data(), static_cast<size_t>(n)),
                            [&](std::string_view line) { Deliver(streams[s], line); });
        } else if (n == 0 || errno != EINTR) {
          close_stream(s);
        }
      }
    }
    if (child_done) {
      ReapChild();
      drain_until = NowMs() + kDrainAfterExitMs;
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (*fds[i] >= 0) close_stream(i);
  }
}

void SandboxedProcess::Cancel() {
  cancel_requested_.store(true);
  const uint64_t one = 1;
  // EAGAIN (counter full) still leaves the fd readable, so the monitor wakes either way.
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

ProcessResult SandboxedProcess::Wait() {
  std::lock_guard<std::mutex> lock(wait_mu_);
  if (monitor_.joinable()) monitor_.join();
  return result_;
}

SandboxedProcess::~SandboxedProcess() {
  Cancel();  // no effect if it already ended
  (void)Wait();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (uid_lease_fd_ >= 0) ::close(uid_lease_fd_);
}

bool SandboxedProcess::SandboxAvailable() {
  static const bool available = [] {
    if (::access(kBwrapPath, X_OK) != 0) return false;
    std::error_code ec;
    std::string dir_template =
        (std::filesystem::temp_directory_path(ec) / "swan-bwrap-probe-XXXXXX").string();
    if (ec || ::mkdtemp(dir_template.data()) == nullptr) return false;
    ProcessSpec spec;
    spec.argv = {"/bin/true"};
    spec.data_dir = dir_template;
    spec.network = false;
    spec.timeout_ms = 10'000;
    auto process = Start(spec, nullptr);
    const bool ok = process.ok() && (*process)->Wait().exit_code == 0;
    std::filesystem::remove_all(dir_template, ec);
    return ok;
  }();
  return available;
}

}  // namespace swan::jobs
