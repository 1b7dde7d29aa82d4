// The file system, behind an interface (LevelDB's Env is the model). Storage code reaches files
// only through an Env, so tests inject faults: an fsync that fails, a disk that is full, a crash
// between a write and its commit. DuckDB writes segment files itself; what happens to them after
// it returns (sync, size, rename, unlink, sweeping) goes through here.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace swan {

struct DirEntry {
  std::string path;  // full path
  bool is_directory = false;
  int64_t modified_ms = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Flushes a file's contents, then its directory entry, to stable storage.
  virtual Status SyncFileAndDir(const std::string& path) = 0;
  virtual Result<int64_t> FileSize(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Status MakeDirs(const std::string& path) = 0;
  // Atomic within one file system (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file; a missing file is not an error.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Removes a directory and everything in it; a missing one is not an error.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Entries of a directory (not recursive); a missing directory lists as empty.
  virtual Result<std::vector<DirEntry>> List(const std::string& dir) = 0;
  // Bytes available to unprivileged writers on the file system holding `path`.
  virtual Result<int64_t> FreeBytes(const std::string& path) = 0;

  // The real file system (never destroyed).
  static Env& Posix();
};

// Forwards every call to a base Env: tests derive from it and override the calls they break.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& base) : base_(base) {}
  Status SyncFileAndDir(const std::string& p) override { return base_.SyncFileAndDir(p); }
  Result<int64_t> FileSize(const std::string& p) override { return base_.FileSize(p); }
  bool FileExists(const std::string& p) override { return base_.FileExists(p); }
  Status MakeDirs(const std::string& p) override { return base_.MakeDirs(p); }
  Status Rename(const std::string& f, const std::string& t) override { return base_.Rename(f, t); }
  Status RemoveFile(const std::string& p) override { return base_.RemoveFile(p); }
  Status RemoveAll(const std::string& p) override { return base_.RemoveAll(p); }
  Result<std::vector<DirEntry>> List(const std::string& d) override { return base_.List(d); }
  Result<int64_t> FreeBytes(const std::string& p) override { return base_.FreeBytes(p); }

 protected:
  Env& base_;
};

}  // namespace swan
