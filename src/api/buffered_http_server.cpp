#include "api/buffered_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace swan::api {

namespace {

// One receive buffer per connection; large enough that a bulk upload is a few hundred recv()
// calls per 100 MB instead of tens of thousands.
constexpr size_t kReceiveBufferBytes = 1 << 20;
// How often a connection waiting for its next keep-alive request checks that the server is still
// running (Server::stop() must not wait for idle clients).
constexpr int kIdleCheckMs = 100;
// Lingering close (as nginx does): before closing, read and discard what the client still sends,
// for at most this long and this much. Closing with unread bytes makes the kernel send a reset,
// which can destroy an answer the client has not read yet, such as a 401 sent before the body of
// a large upload was read.
constexpr int kLingerMs = 2000;
constexpr size_t kLingerBytesMax = 64 << 20;

timeval ToTimeval(time_t sec, time_t usec) {
  timeval tv{};
  tv.tv_sec = sec;
  tv.tv_usec = static_cast<suseconds_t>(usec);
  return tv;
}

int ToMs(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

bool PollFor(int sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

void AddressOf(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

// A blocking socket with kernel-side timeouts and a user-space receive buffer. Reads smaller than
// the buffer are served from it; larger reads go straight to the caller's memory.
class BufferedSocketStream final : public httplib::Stream, public RequestBody {
 public:
  BufferedSocketStream(int sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms),
        buffer_(new char[kReceiveBufferBytes]) {}

  bool has_buffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return has_buffered() || PollFor(sock_, POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override { return PollFor(sock_, POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (!has_buffered()) {
      if (size >= kReceiveBufferBytes) return Receive(ptr, size);
      ssize_t n = Receive(buffer_.get(), kReceiveBufferBytes);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.get() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    for (;;) {
      ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;  // a timeout (EAGAIN) or a reset is an error for httplib: -1
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      AddressOf(addr, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      AddressOf(addr, ip, port);
  }
  socket_t socket() const override { return sock_; }

  void CloseAfterAnswer() override { close_after_answer_ = true; }
  bool close_after_answer() const { return close_after_answer_; }

  ssize_t ReadSome(char* dst, size_t size) override {
    if (size == 0) return 0;
    if (!has_buffered()) return Receive(dst, size);
    return read(dst, size);
  }

 private:
  ssize_t Receive(char* ptr, size_t size) {
    for (;;) {
      ssize_t n = ::recv(sock_, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;  // 0 = peer closed, -1 = timeout or error
    }
  }

  int sock_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool close_after_answer_ = false;
};

thread_local RequestBody* current_body = nullptr;

}  // namespace

RequestBody* RequestBody::Current() { return current_body; }

bool BufferedHttpServer::process_and_close_socket(socket_t sock) {
  const timeval read_timeout = ToTimeval(read_timeout_sec_, read_timeout_usec_);
  const timeval write_timeout = ToTimeval(write_timeout_sec_, write_timeout_usec_);
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof(read_timeout));
  ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof(write_timeout));
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  BufferedSocketStream stream(sock, ToMs(read_timeout_sec_, read_timeout_usec_),
                              ToMs(write_timeout_sec_, write_timeout_usec_));
  const int keep_alive_ms = static_cast<int>(keep_alive_timeout_sec_ * 1000);
  bool ok = false;
  for (size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    // Wait for the next request (or the first), giving up after the keep-alive timeout or when
    // the server stops.
    bool ready = stream.has_buffered();
    for (int waited_ms = 0; !ready && waited_ms < keep_alive_ms && svr_sock_ != INVALID_SOCKET;
         waited_ms += kIdleCheckMs) {
      ready = PollFor(sock, POLLIN, std::min(kIdleCheckMs, keep_alive_ms - waited_ms));
    }
    if (!ready) break;
    bool connection_closed = false;
    current_body = &stream;
    ok = process_request(stream, left == 1, connection_closed, nullptr);
    current_body = nullptr;
    if (!ok || connection_closed || stream.close_after_answer()) break;
  }
  ::shutdown(sock, SHUT_WR);
  // Lingering close (see kLingerMs) when the client may still be sending: a request that could
  // not be parsed, or a body the handler left unread.
  const bool linger = !ok || stream.close_after_answer();
  size_t discarded = 0;
  const auto linger_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs);
  while (linger && discarded < kLingerBytesMax && svr_sock_ != INVALID_SOCKET &&
         std::chrono::steady_clock::now() < linger_until) {
    if (!PollFor(sock, POLLIN, kIdleCheckMs)) continue;
    char sink[64 * 1024];
    ssize_t n = ::recv(sock, sink, sizeof(sink), MSG_DONTWAIT);
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;  // the client closed
    if (n > 0) discarded += static_cast<size_t>(n);
  }
  ::close(sock);
  return ok;
}

}  // namespace swan::api
