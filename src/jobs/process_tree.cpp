#include "jobs/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace swan::jobs {
namespace {

// Reads a small /proc file into `buf` (NUL-terminated); false if the process is gone.
bool ReadSmall(const char* path, char* buf, size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::read(fd, buf, size - 1);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

// The parent pid from /proc/N/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')'.
pid_t ParentOf(pid_t pid) {
  char path[64];
  char buf[512];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (!ReadSmall(path, buf, sizeof buf)) return -1;
  const char* close = std::strrchr(buf, ')');
  if (close == nullptr || close[1] != ' ' || close[2] == '\0') return -1;
  return static_cast<pid_t>(std::strtol(close + 4, nullptr, 10));  // skip ") S "
}

int64_t ResidentBytes(pid_t pid) {
  char path[64];
  char buf[256];
  std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
  if (!ReadSmall(path, buf, sizeof buf)) return 0;
  char* end = nullptr;
  std::strtoll(buf, &end, 10);  // size
  const long long pages = std::strtoll(end, nullptr, 10);
  return static_cast<int64_t>(pages) * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

int64_t TreeResidentBytes(pid_t root) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  while (const dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const pid_t parent = ParentOf(static_cast<pid_t>(pid));
    if (parent > 0) children[parent].push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  int64_t total = 0;
  std::vector<pid_t> pending = {root};
  while (!pending.empty()) {
    const pid_t pid = pending.back();
    pending.pop_back();
    total += ResidentBytes(pid);
    auto it = children.find(pid);
    if (it != children.end()) pending.insert(pending.end(), it->second.begin(), it->second.end());
  }
  return total;
}

}  // namespace swan::jobs
