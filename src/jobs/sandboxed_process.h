// SandboxedProcess: runs one component (someone's executable, e.g. `python3 /code/main.py`) on the
// server, the way Keboola's "common interface" expects, and reports how it ended.
//
// With ProcessSpec::sandbox (the default) the program runs under bubblewrap (/usr/bin/bwrap):
//   - new user, pid, ipc, uts, cgroup (and unless `network`, net) namespaces; uid/gid 65534 inside,
//     no capabilities, no further user namespaces;
//   - the file system is a read-only root holding /usr (with the /bin, /lib... links or binds), a
//     few read-only files of /etc that programs need (ld.so.cache, ssl/certs, resolv.conf, hosts,
//     passwd, group, python3*, alternatives...), a fresh /proc and /dev, a fresh tmpfs at /tmp,
//     `data_dir` read-write at /data (the working directory) and `ro_binds` read-only;
//   - the environment is `env` plus HOME=/tmp and PATH=/usr/local/bin:/usr/bin:/bin unless `env`
//     sets them, and PWD=/data (bwrap sets it);
//   - the program is pid 1 of its pid namespace, as a Docker entrypoint is (Keboola runs
//     components so): signals from inside the namespace without a handler are ignored by it (even
//     a SIGKILL it sends itself), and orphans it does not reap stay zombies until it exits. When it
//     exits, the kernel kills everything else in the namespace.
// Without it the program runs directly on the host with cwd = data_dir (trusted built-in commands,
// machines without bwrap), environment `env` plus the default PATH. Both ways it gets /dev/null as
// stdin, pipes as stdout and stderr, the rlimits in `limits`, and its own session and process
// group.
//
// The component's user. A root server (the usual case in a container) runs bwrap as real root,
// without a user namespace, and the component as a *job uid* of its own: bwrap builds the mounts,
// then /usr/bin/setpriv (util-linux) inside the sandbox drops to uid = gid = a number from
// kJobUidBase up, free on this host at that moment (leased through an abstract unix socket, so
// concurrent servers never share one), with no supplementary groups, no capabilities (bounding set
// empty), no_new_privs, and a seccomp filter that refuses new user namespaces. Outside the sandbox
// that uid owns nothing but the job's own folder: `data_dir` and `owned_paths` are handed to it
// (chowned) before the start, and the server (root) reads what it left there. A non-root server
// cannot switch users: bwrap then builds a user namespace where the component is uid 65534
// (nobody), which is the server's own uid outside, with --disable-userns.
//
// Ending: the process group is killed (SIGTERM, then SIGKILL after `kill_grace_ms`) on timeout,
// Cancel() or destruction. When the main process exits by itself, whatever it left running in its
// group is SIGKILLed too. In the sandbox the group is bwrap's: SIGTERM ends bwrap (it does not
// forward signals), whose death SIGKILLs the component (--die-with-parent) and with it the whole
// pid namespace, so a sandboxed component gets no grace period. If the server dies, the child gets
// SIGKILL (PR_SET_PDEATHSIG, armed against the monitor thread, which lives as long as the child):
// in the sandbox that ends the whole namespace; outside it only the direct child dies.
//
// Limits (ProcessLimits), as the kernel really enforces them:
//   - memory_bytes: RLIMIT_AS of each process (virtual address space, not RSS; a program that
//     reserves big ranges, like the JVM or Go, needs headroom). Allocations past it fail.
//   - cpu_seconds: RLIMIT_CPU of each process (a fork gets a fresh budget): SIGKILL at the limit.
//   - file_bytes: RLIMIT_FSIZE: a write past it fails with EFBIG, or SIGXFSZ kills the writer.
//   - open_files: RLIMIT_NOFILE of each process (bwrap itself needs a few fds; keep it >= 16).
//   - max_processes: RLIMIT_NPROC, counted per host uid: for a root server, the processes of the
//     job's own uid, i.e. of this component alone (bwrap, root, is exempt). For a non-root server
//     it counts every process of the server's user, so leave headroom for the server's own.
//   - tmp_bytes: size of the sandbox's /tmp tmpfs (it lives in RAM; 0 = the kernel's default, half
//     of RAM). Sandbox only.
//   Limits are applied to bwrap too, and never raised above the server's own hard limits. Memory
//   of the whole tree (RSS), disk use of /data and network are not limited here.
//
// Usage: cpu_ms is the whole tree's (reaped descendants included). peak_rss_bytes is the largest
// resident memory of the whole tree: sampled every kTreeSampleMs (/proc), and at least the largest
// single process's peak (ru_maxrss), which catches what lived shorter than a sample.
//
// Thread-safety: Start() and SandboxAvailable() may be called from any thread. On one object,
// Cancel() and Wait() may be called from any thread while it lives.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

namespace swan::jobs {

inline constexpr const char* kBwrapPath = "/usr/bin/bwrap";
// PATH when `env` has none (inside the sandbox and out).
inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// The sandbox's user and group under a non-root server (nobody/nogroup, inside its user namespace).
inline constexpr int kSandboxUid = 65534;
// Under a root server, the component's host uid/gid: one of kJobUidCount numbers from kJobUidBase,
// far above the ids of real users and of container user ranges.
inline constexpr int64_t kJobUidBase = 1'900'000'000;
inline constexpr int kJobUidCount = 65536;
inline constexpr const char* kSetprivPath = "/usr/bin/setpriv";
// How often the memory of the component's process tree is sampled.
inline constexpr int64_t kTreeSampleMs = 100;
// Output lines longer than this are delivered in pieces of this size.
inline constexpr int64_t kLineBytesMax = 64 * 1024;
// After the main process exits, output still held open by escaped descendants (only possible
// outside the sandbox) is read for at most this long.
inline constexpr int64_t kDrainAfterExitMs = 1000;

struct ProcessLimits {
  int64_t memory_bytes = 0;   // RLIMIT_AS of each process; 0 = none
  int64_t cpu_seconds = 0;    // RLIMIT_CPU of each process; 0 = none
  int64_t max_processes = 0;  // RLIMIT_NPROC (see above); 0 = none
  int64_t file_bytes = 0;     // RLIMIT_FSIZE: largest file it may write; 0 = none
  int64_t open_files = 0;     // RLIMIT_NOFILE; 0 = none
  int64_t tmp_bytes = 0;      // size of the sandbox's /tmp; 0 = kernel default
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH (of `env`) if it has no '/'
  std::map<std::string, std::string> env;  // the complete environment (nothing is inherited)
  std::string data_dir;                    // existing host folder: read-write /data, the cwd
  // Extra read-only mounts: host path -> absolute sandbox path (e.g. component code at /code).
  std::vector<std::pair<std::string, std::string>> ro_binds;
  // Host paths besides data_dir that the component must own (e.g. code written for it into the job
  // folder): chowned, recursively, to its job uid under a root server. Nothing else is touched.
  std::vector<std::string> owned_paths;
  bool sandbox = true;  // false: run on the host with cwd = data_dir (ro_binds ignored)
  bool network = true;  // false: the sandbox gets its own network namespace with only loopback
  ProcessLimits limits;
  int64_t timeout_ms = 0;                        // 0 = none; past it the group is killed
  int64_t kill_grace_ms = 2000;                  // SIGTERM -> SIGKILL delay
  int64_t output_bytes_max = int64_t{64} << 20;  // line bytes delivered; the rest dropped; 0 = none
};

enum class OutputStream { kStdout, kStderr };

struct ProcessResult {
  // The exit status when the process exited normally, else -1. In the sandbox, a component killed
  // by signal N (a crash, the CPU limit) shows as exit_code 128 + N (bwrap reports it so), like a
  // shell would, and term_signal is bwrap's own (SIGTERM after a timeout or Cancel).
  int exit_code = -1;
  int term_signal = 0;            // the signal that killed the direct child (bwrap in the sandbox)
  bool timed_out = false;         // killed because timeout_ms passed
  bool cancelled = false;         // killed because of Cancel() or destruction
  bool output_truncated = false;  // lines past output_bytes_max were dropped
  int64_t wall_ms = 0;            // start to exit
  int64_t cpu_ms = 0;             // user + system of the child and its reaped descendants
  int64_t peak_rss_bytes = 0;     // largest resident memory of the whole tree (see above)
  int64_t host_uid = -1;          // the job uid it ran as (root server, sandbox), else -1
};

class SandboxedProcess {
 public:
  // Called with each line of output without its newline: long lines are split at kLineBytesMax,
  // and a last line without a newline is delivered too. Called from the monitor thread, never
  // concurrently with itself, in order within each stream. It should be quick (while it runs,
  // output is not read and timeouts are not checked) and must not throw.
  using LineCallback = std::function<void(OutputStream, std::string_view)>;

  // Starts the process. Fails with invalid_argument for a bad spec or a program that cannot be
  // executed (outside the sandbox; inside it, bwrap reports that on stderr and exits 1), with
  // unavailable when bwrap is missing or fork fails. `on_line` may be empty (output is dropped).
  static Result<std::unique_ptr<SandboxedProcess>> Start(const ProcessSpec& spec,
                                                         LineCallback on_line);

  // Kills the whole process group (SIGTERM, then SIGKILL after the grace). Returns at once;
  // Wait() tells how it ended. No effect once the process has exited.
  void Cancel();

  // Blocks until the process is reaped and its output read (see kDrainAfterExitMs); the callback
  // is not called after it returns. Later calls return the same result.
  ProcessResult Wait();

  // Kills (as Cancel) and reaps the process if it still runs.
  ~SandboxedProcess();

  SandboxedProcess(const SandboxedProcess&) = delete;
  SandboxedProcess& operator=(const SandboxedProcess&) = delete;

  // Whether bwrap is installed and can build a sandbox here: the first call runs `/bin/true` in
  // one (a few ms), later calls return the cached answer.
  static bool SandboxAvailable();

 private:
  struct ExecPlan;

  SandboxedProcess(const ProcessSpec& spec, LineCallback on_line);
  Status Launch(ExecPlan plan);
  Status Spawn(ExecPlan& plan);
  void Monitor();
  void Deliver(OutputStream stream, std::string_view line);
  void ReapChild();
  void SampleTree();

  const LineCallback on_line_;
  const int64_t timeout_ms_;
  const int64_t kill_grace_ms_;
  const int64_t output_bytes_max_;

  // Set by Spawn before Monitor runs; owned by the monitor thread from then on.
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int64_t start_ms_ = 0;
  int64_t output_bytes_ = 0;
  int uid_lease_fd_ = -1;  // holds the job uid (root server, sandbox) until the child is reaped
  ProcessResult result_;   // read by Wait() only after the monitor thread is joined

  int wake_fd_ = -1;  // eventfd: Cancel() wakes the monitor's poll
  std::atomic<bool> cancel_requested_{false};
  std::thread monitor_;
  std::mutex wait_mu_;  // serializes joining monitor_
};

}  // namespace swan::jobs
