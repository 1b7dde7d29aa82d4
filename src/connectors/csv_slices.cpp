#include "connectors/csv_slices.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swan::connectors {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr int64_t kFirstSliceBytes = int64_t{64} << 20;

int64_t FirstSliceBytes(int64_t fallback) {
  const char* given = std::getenv("SWAN_EXTRACT_SLICE_BYTES");
  if (given == nullptr || *given == '\0') return fallback;
  char* end = nullptr;
  const long long bytes = std::strtoll(given, &end, 10);
  return end && *end == '\0' && bytes >= 4096 ? bytes : fallback;
}

Status WriteError(const std::string& path) {
  return Status::Internal("cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace

CsvSliceWriter::CsvSliceWriter(std::string folder, std::string source, SliceDone done,
                               int64_t first_slice_bytes)
    : folder_(std::move(folder)),
      source_(std::move(source)),
      done_(std::move(done)),
      first_slice_bytes_(
          FirstSliceBytes(first_slice_bytes > 0 ? first_slice_bytes : kFirstSliceBytes)) {}

CsvSliceWriter::~CsvSliceWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status CsvSliceWriter::Open() {
  if (::mkdir(folder_.c_str(), 0700) != 0 && errno != EEXIST) return WriteError(folder_);
  buffer_.reserve(kBufferBytes);
  return OpenSlice();
}

Status CsvSliceWriter::OpenSlice() {
  char name[32];
  std::snprintf(name, sizeof name, "/part-%05d.csv", index_++);
  path_ = folder_ + name;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) return WriteError(path_);
  slice_bytes_ = 0;
  return Status::Ok();
}

Status CsvSliceWriter::Flush() {
  size_t off = 0;
  while (off < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return WriteError(path_);
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::Ok();
}

Status CsvSliceWriter::CloseSlice() {
  RETURN_IF_ERROR(Flush());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return WriteError(path_);
  if (done_) done_(source_, path_);
  return Status::Ok();
}

Status CsvSliceWriter::Append(const char* data, size_t size) {
  if (buffer_.size() + size > kBufferBytes) RETURN_IF_ERROR(Flush());
  buffer_.append(data, size);
  slice_bytes_ += static_cast<int64_t>(size);
  written_ += static_cast<int64_t>(size);
  if (slice_bytes_ >= std::max(first_slice_bytes_, written_ / 8)) {
    RETURN_IF_ERROR(CloseSlice());
    return OpenSlice();
  }
  return Status::Ok();
}

Status CsvSliceWriter::Finish() {
  if (fd_ < 0) return Status::Ok();
  if (slice_bytes_ == 0 && index_ > 1) {
    // The last slice closed exactly at a boundary: no empty slice after it.
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
    return Status::Ok();
  }
  return CloseSlice();
}

}  // namespace swan::connectors
