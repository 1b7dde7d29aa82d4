#include "common/env.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs.h"

namespace swan {

namespace {

// ENOSPC and EDQUOT are the machine's state, not the caller's input: unavailable.
Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

class PosixEnv final : public Env {
 public:
  Status SyncFileAndDir(const std::string& path) override { return fs::SyncFileAndDir(path); }
  Result<int64_t> FileSize(const std::string& path) override { return fs::FileSize(path); }
  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  Status MakeDirs(const std::string& path) override { return fs::MakeDirs(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    if (std::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename " + from, errno);
    return Status::Ok();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink " + path, errno);
    return Status::Ok();
  }
  Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Status::Internal("remove " + path + ": " + ec.message());
    return Status::Ok();
  }
  Result<std::vector<DirEntry>> List(const std::string& dir) override {
    std::vector<DirEntry> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) return out;
      return Status::Internal("list " + dir + ": " + ec.message());
    }
    for (const auto& e : it) {
      struct stat st;
      if (::lstat(e.path().c_str(), &st) != 0) continue;  // removed meanwhile
      out.push_back(
          {e.path().string(), S_ISDIR(st.st_mode),
           static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000});
    }
    return out;
  }
  Result<int64_t> FreeBytes(const std::string& path) override {
    struct statvfs vfs;
    if (::statvfs(path.c_str(), &vfs) != 0) return ErrnoStatus("statvfs " + path, errno);
    return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
  }
};

}  // namespace

Env& Env::Posix() {
  static PosixEnv* env = new PosixEnv();  // never destroyed
  return *env;
}

}  // namespace swan
