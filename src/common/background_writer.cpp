#include "common/background_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/env.h"

namespace swan::fs {

Result<std::unique_ptr<BackgroundWriter>> BackgroundWriter::Create(const std::string& path,
                                                                   Mode mode) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Mode::kTruncate ? O_TRUNC : 0);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return ErrnoStatus("cannot create " + path, errno);
  return std::unique_ptr<BackgroundWriter>(new BackgroundWriter(path, fd, mode));
}

BackgroundWriter::Buffer BackgroundWriter::NewBuffer() {
  return Buffer{std::unique_ptr<char[]>(new char[kBufferBytes]), 0};
}

BackgroundWriter::BackgroundWriter(std::string path, int fd, Mode mode)
    : path_(std::move(path)), fd_(fd), mode_(mode), current_(NewBuffer()) {
  thread_ = std::thread([this] { Run(); });
}

BackgroundWriter::~BackgroundWriter() {
  if (!closed_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.clear();
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
    ::close(fd_);
  }
}

bool BackgroundWriter::Append(const char* data, size_t n) {
  while (n > 0) {
    auto [space, room] = Space();
    size_t take = std::min(n, room);
    std::memcpy(space, data, take);
    data += take;
    n -= take;
    if (!Commit(take)) return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return !failed_;
}

std::pair<char*, size_t> BackgroundWriter::Space() {
  return {current_.data.get() + current_.size, kBufferBytes - current_.size};
}

bool BackgroundWriter::Commit(size_t n) {
  current_.size += n;
  if (current_.size == kBufferBytes) {
    Push(false);
    std::lock_guard<std::mutex> lock(mu_);
    return !failed_;
  }
  return true;
}

void BackgroundWriter::Push(bool last) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return queue_.size() < kBuffersMax || failed_; });
  if (current_.size > 0 && !failed_) {
    queue_.push_back(std::move(current_));
    if (!spare_.empty()) {
      current_ = std::move(spare_.back());
      spare_.pop_back();
    } else {
      current_ = NewBuffer();
    }
  }
  current_.size = 0;
  if (last) done_ = true;
  lock.unlock();
  changed_.notify_all();
}

void BackgroundWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return;  // done_ and drained
    Buffer buffer = std::move(queue_.front());
    queue_.pop_front();
    const bool skip = failed_;
    lock.unlock();
    changed_.notify_all();
    int error = 0;
    for (size_t off = 0; !skip && off < buffer.size;) {
      ssize_t w = ::write(fd_, buffer.data.get() + off, buffer.size - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = w < 0 ? errno : EIO;
        break;
      }
      off += static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
    lock.lock();
    if (error != 0 && !failed_) {
      failed_ = true;
      error_ = error;
    }
    buffer.size = 0;
    if (spare_.size() < kBuffersMax) spare_.push_back(std::move(buffer));
    changed_.notify_all();
  }
}

Status BackgroundWriter::Close() {
  if (closed_) return Status::Ok();
  Push(true);
  thread_.join();
  closed_ = true;
  int truncate_errno = 0;
  if (mode_ == Mode::kOverwrite && ::ftruncate(fd_, static_cast<off_t>(written_)) != 0)
    truncate_errno = errno;
  int close_rc = ::close(fd_);
  int close_errno = errno;
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return ErrnoStatus("cannot write " + path_, error_);
  if (truncate_errno != 0) return ErrnoStatus("cannot cut " + path_, truncate_errno);
  if (close_rc != 0) return ErrnoStatus("cannot close " + path_, close_errno);
  return Status::Ok();
}

}  // namespace swan::fs
