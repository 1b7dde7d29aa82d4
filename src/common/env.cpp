#include "common/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace swan {

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

namespace {

// fsync(2) of `path` (a file, or a directory with O_DIRECTORY).
Status Fsync(const std::string& what, const std::string& path, int flags) {
  int fd = ::open(path.c_str(), O_RDONLY | flags);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(what + " " + path, err);
  return Status::Ok();
}

// Every failure maps its errno through ErrnoStatus: a full disk or quota is `unavailable`
// whichever call meets it (fsync reports it on NFS, thin provisioning and quotas; mkdir too).
class PosixEnv final : public Env {
 public:
  Status SyncFileAndDir(const std::string& path) override {
    RETURN_IF_ERROR(Fsync("fsync", path, 0));
    std::string dir = std::filesystem::path(path).parent_path().string();
    return Fsync("fsync dir", dir.empty() ? "." : dir, O_DIRECTORY);
  }
  Result<int64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    return static_cast<int64_t>(st.st_size);
  }
  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  Status MakeDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus("cannot create directory " + path, ec.value());
    return Status::Ok();
  }
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
