// An exclusive lock on a data directory: one process at a time serves it. Two servers on one
// embedded catalog would each run the jobs the other is running, recover them as "terminated" at
// their start, and write the same table heads. flock(2) on `<dir>/swan.lock`: the kernel releases
// it when the holder exits, even by SIGKILL, so a crash never leaves a stale lock behind.
#pragma once

#include <string>

#include "common/status.h"

namespace swan::fs {

class DirLock {
 public:
  // Takes the lock of `dir` (which must exist) without waiting. unavailable, naming the holder's
  // pid, when another process holds it.
  static Result<DirLock> Acquire(const std::string& dir);

  DirLock() = default;
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();  // releases the lock

  bool held() const { return fd_ >= 0; }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// The lock file's name inside the directory.
inline constexpr const char* kDirLockFile = "swan.lock";

}  // namespace swan::fs
