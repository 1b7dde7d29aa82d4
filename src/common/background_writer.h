// A file writer that does its write() calls on its own thread.
//
// Receiving an upload and writing it to the page cache are both kernel copies of every byte; done
// on one thread they add up (522 MB: ~0.85 s on loopback), done on two they overlap. The caller
// appends small pieces; full buffers go to a bounded queue that the writer thread drains, so
// memory stays at (kBuffersMax + 2) x kBufferBytes (queued, being written, being filled) however
// large the file.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

namespace swan::fs {

class BackgroundWriter {
 public:
  static constexpr size_t kBufferBytes = 1 << 20;
  static constexpr size_t kBuffersMax = 8;

  enum class Mode {
    kTruncate,   // the file starts empty
    kOverwrite,  // writes over the file's bytes from its start (reusing its page-cache pages) and
                 // cuts it to what was written at Close()
  };
  // Creates or opens `path` (mode 0600) and starts the writer thread.
  static Result<std::unique_ptr<BackgroundWriter>> Create(const std::string& path,
                                                          Mode mode = Mode::kTruncate);
  ~BackgroundWriter();  // abandons unflushed data; call Close() to keep it

  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // Appends bytes; blocks while the queue is full. Returns false once a write failed (the error
  // comes from Close()).
  bool Append(const char* data, size_t n);
  // Zero-copy filling, for readers that can receive straight into memory: Space() is the free
  // end of the current buffer (never empty); Commit(n) accounts for n <= its size bytes put there.
  // Commit returns false once a write failed, like Append.
  std::pair<char*, size_t> Space();
  bool Commit(size_t n);
  // Writes what is buffered, stops the thread, closes the file; the first write error if any.
  Status Close();

 private:
  BackgroundWriter(std::string path, int fd, Mode mode);
  void Run();
  void Push(bool last);

  struct Buffer {
    std::unique_ptr<char[]> data;
    size_t size = 0;
  };
  static Buffer NewBuffer();

  const std::string path_;
  int fd_;
  const Mode mode_;
  uint64_t written_ = 0;  // by the writer thread; read after it joined
  Buffer current_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Buffer> queue_;   // guarded by mu_
  std::vector<Buffer> spare_;  // guarded by mu_: written buffers for reuse
  bool done_ = false;          // guarded by mu_: no more buffers will come
  bool failed_ = false;        // guarded by mu_
  int error_ = 0;              // guarded by mu_
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace swan::fs
