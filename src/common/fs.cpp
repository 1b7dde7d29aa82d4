#include "common/fs.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace swan::fs {

Status SyncFileAndDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::Internal("open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::Internal("fsync " + path + ": " + std::strerror(errno));
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd < 0) return Status::Internal("open dir " + dir + ": " + std::strerror(errno));
  rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return Status::Internal("fsync dir " + dir + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<int64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::Internal("stat " + path + ": " + std::strerror(errno));
  return static_cast<int64_t>(st.st_size);
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::Internal("cannot create directory " + path + ": " + ec.message());
  return Status::Ok();
}

std::string RandomHex(size_t bytes) {
  static const bool init = sodium_init() >= 0;
  (void)init;
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), bytes);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string IsoTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Result<std::string> ReadFileText(const std::string& path, int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::NotFound("cannot read " + path);
  const auto size = static_cast<int64_t>(in.tellg());
  if (size > max_bytes) {
    return Status::InvalidArgument(path + " is " + std::to_string(size) + " bytes, more than the " +
                                   std::to_string(max_bytes) + " this file may have");
  }
  in.seekg(0);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Internal("cannot read " + path);
  return ss.str();
}

Result<int64_t> ParseTimeMs(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    if (text.size() > 12)  // past year 33658: not a time anyone means
      return Status::InvalidArgument("cannot parse time '" + text + "': too far in the future");
    return static_cast<int64_t>(std::stoll(text)) * 1000;
  }
  struct tm tm = {};
  int y, mo, d, h = 0, mi = 0, s = 0, frac_ms = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d", &y, &mo, &d);
  if (n != 3)
    return Status::InvalidArgument("cannot parse time '" + text +
                                   "' (use ISO-8601 or Unix seconds)");
  if (text.size() > 10) {
    if (std::sscanf(text.c_str() + 11, "%2d:%2d:%2d", &h, &mi, &s) != 3) {
      return Status::InvalidArgument("cannot parse time '" + text +
                                     "' (use ISO-8601 or Unix seconds)");
    }
    if (text.size() > 19 && text[19] == '.') {
      std::string frac = text.substr(20, 3);
      while (frac.size() < 3) frac += '0';
      frac_ms = std::atoi(frac.c_str());
    }
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + frac_ms;
}

}  // namespace swan::fs

namespace swan::fs {

struct EarlyWriteback::State {
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};

EarlyWriteback::EarlyWriteback(std::string path) : state_(std::make_unique<State>()) {
  state_->path = std::move(path);
  State* s = state_.get();
  s->thread = std::thread([s] {
    int fd = -1;
    std::unique_lock lock(s->mu);
    while (!s->cv.wait_for(lock, std::chrono::milliseconds(50), [s] { return s->stop; })) {
      if (fd < 0) fd = ::open(s->path.c_str(), O_RDONLY);
      if (fd >= 0) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    if (fd >= 0) ::close(fd);
  });
}

EarlyWriteback::~EarlyWriteback() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  state_->thread.join();
}

}  // namespace swan::fs
