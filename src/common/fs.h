// File-system helpers used by the storage layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace swan::fs {

// Flushes a file's contents, then its directory entry, to stable storage.
Status SyncFileAndDir(const std::string& path);
Result<int64_t> FileSize(const std::string& path);
Status MakeDirs(const std::string& path);
// A random hex string of `bytes` random bytes (libsodium).
std::string RandomHex(size_t bytes);
// SHA-256 of `data` as lowercase hex.
std::string Sha256Hex(const std::string& data);
// "2026-11-25T12:00:00.123Z" for Unix milliseconds.
std::string IsoTime(int64_t ms);
// Parses ISO-8601 ("2026-11-25", "2026-11-25T12:00:00Z", with optional fraction) or Unix seconds.
Result<int64_t> ParseTimeMs(const std::string& text);
// A whole (small) file: configuration, manifest, state. not_found when it cannot be opened,
// invalid_argument when it is larger than max_bytes.
Result<std::string> ReadFileText(const std::string& path, int64_t max_bytes = int64_t{64} << 20);

}  // namespace swan::fs

namespace swan::fs {

// While another component (DuckDB) writes a large file, starts its writeback to disk every
// 50 ms (sync_file_range), so that the final fsync does not wait for the whole file: the disk
// works while the CPU is still producing. Stops on destruction; does not replace the fsync.
class EarlyWriteback {
 public:
  explicit EarlyWriteback(std::string path);
  ~EarlyWriteback();
  EarlyWriteback(const EarlyWriteback&) = delete;
  EarlyWriteback& operator=(const EarlyWriteback&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace swan::fs
