#include "common/gzip_check.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace swan::gzip {

namespace {

constexpr size_t kOutputBytes = 256 << 10;  // inflate's output buffer
constexpr size_t kFileReadBytes = 1 << 20;  // CheckFile's reads

}  // namespace

struct Inflater::State {
  z_stream zs{};
  bool initialized = false;
  std::vector<char> out = std::vector<char>(kOutputBytes);
};

Inflater::Inflater(std::string name, Limits limits, Sink sink)
    : name_(std::move(name)),
      limits_(limits),
      sink_(std::move(sink)),
      state_(std::make_unique<State>()) {}

Inflater::~Inflater() {
  if (state_->initialized) inflateEnd(&state_->zs);
}

Result<std::unique_ptr<Inflater>> Inflater::Create(std::string name, Limits limits, Sink sink) {
  std::unique_ptr<Inflater> inflater(new Inflater(std::move(name), limits, std::move(sink)));
  // 16 + MAX_WBITS: gzip framing only (header, CRC-32 and length trailer checked by zlib).
  if (inflateInit2(&inflater->state_->zs, 16 + MAX_WBITS) != Z_OK)
    return Status::Internal("cannot initialise zlib");
  inflater->state_->initialized = true;
  return inflater;
}

Status Inflater::Update(const char* data, size_t size) {
  if (!failed_.ok()) return failed_;
  z_stream& zs = state_->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs.avail_in = static_cast<uInt>(size);
  auto at = [&] { return std::to_string(compressed_ + (size - zs.avail_in)); };
  // Until the input is used up and zlib holds no more output (a full output buffer may leave
  // some inside zlib).
  bool more = size > 0;
  while (more) {
    if (!in_member_) {
      // A member starts here: the first, or one after a complete member.
      if (members_ > 0 && inflateReset(&zs) != Z_OK)
        return failed_ = Status::Internal("cannot reset zlib");
      in_member_ = true;
      member_start_ = compressed_ + (size - zs.avail_in);
    }
    zs.next_out = reinterpret_cast<Bytef*>(state_->out.data());
    zs.avail_out = static_cast<uInt>(state_->out.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = state_->out.size() - zs.avail_out;
    expanded_ += produced;
    if (expanded_ > limits_.expanded_bytes_max) {
      return failed_ = Status::PayloadTooLarge(name_ + ": gzip data expands to more than " +
                                               std::to_string(limits_.expanded_bytes_max) +
                                               " bytes (the limit)");
    }
    const uint64_t consumed = compressed_ + (size - zs.avail_in);
    if (limits_.ratio_max > 0 && expanded_ > limits_.ratio_free_bytes &&
        expanded_ / limits_.ratio_max > consumed) {
      return failed_ = Status::PayloadTooLarge(
                 name_ + ": gzip data expands more than " + std::to_string(limits_.ratio_max) +
                 " times its compressed size (" + std::to_string(expanded_) + " bytes from " +
                 std::to_string(consumed) + "): refused as a decompression bomb");
    }
    if (produced > 0 && sink_ && !sink_(state_->out.data(), produced))
      return failed_ = Status::Internal(name_ + ": cannot store the expanded data");
    if (rc == Z_STREAM_END) {
      ++members_;
      in_member_ = false;
      more = zs.avail_in > 0;
      continue;
    }
    if (rc == Z_OK) {
      more = zs.avail_in > 0 || zs.avail_out == 0;
      continue;
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible without more input
    const std::string what = zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc);
    if (what == "incorrect data check")
      return failed_ = Status::InvalidArgument(
                 name_ + ": gzip CRC mismatch (member ending at byte " + at() + ")");
    if (what == "incorrect length check")
      return failed_ = Status::InvalidArgument(
                 name_ + ": gzip length mismatch (member ending at byte " + at() + ")");
    if (what == "incorrect header check" || what == "unknown compression method")
      return failed_ = Status::InvalidArgument(name_ + ": not gzip data at byte " +
                                               std::to_string(member_start_));
    return failed_ = Status::InvalidArgument(name_ + ": corrupt gzip data at byte " + at() + " (" +
                                             what + ")");
  }
  compressed_ += size;
  return Status::Ok();
}

Status Inflater::Finish() {
  if (!failed_.ok()) return failed_;
  if (compressed_ == 0) return failed_ = Status::InvalidArgument(name_ + ": empty gzip stream");
  if (in_member_) {
    return failed_ = Status::InvalidArgument(name_ + ": gzip stream truncated at byte " +
                                             std::to_string(compressed_));
  }
  return Status::Ok();
}

Status CheckFile(const std::string& path, const std::string& name, const Limits& limits,
                 const std::atomic<bool>* cancel) {
  ASSIGN_OR_RETURN(auto inflater, Inflater::Create(name, limits));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Internal(name + ": cannot open the upload: " + std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(kFileReadBytes);
  Status st;
  for (;;) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      st = Status::Unavailable(name + ": gzip check cancelled");
      break;
    }
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Status::Internal(name + ": cannot read the upload: " + std::strerror(errno));
      break;
    }
    if (n == 0) {
      st = inflater->Finish();
      break;
    }
    st = inflater->Update(buffer.data(), static_cast<size_t>(n));
    if (!st.ok()) break;
  }
  ::close(fd);
  return st;
}

Result<std::string> ReadDecodedPrefix(const std::string& path, size_t max_bytes) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads a plain file as it is
  if (f == nullptr) return Status::Internal("cannot open " + path);
  std::string out(max_bytes, '\0');
  int n = gzread(f, out.data(), static_cast<unsigned>(max_bytes));
  gzclose(f);
  if (n < 0) return Status::InvalidArgument("cannot read the start of the file (broken gzip?)");
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace swan::gzip
