#include "api/buffered_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace swan::api {

namespace {

// Bytes per receive when a body streams in: a bulk upload is a few hundred recv() calls per
// 100 MB instead of tens of thousands.
constexpr size_t kReceiveBufferBytes = 1 << 20;

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

// The receive buffer of the calling worker thread, allocated on first use and never zeroed: pages
// the kernel never wrote into cost no memory (64 workers would otherwise hold 64 MiB).
struct ReceiveBuffer {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

ReceiveBuffer& WorkerBuffer(size_t at_least) {
  thread_local ReceiveBuffer buffer;
  if (buffer.size < at_least) {
    buffer.data.reset(new char[at_least]);
    buffer.size = at_least;
  }
  return buffer;
}

// A blocking socket with kernel-side timeouts and a user-space receive buffer that starts with
// the bytes the poller already received. Reads smaller than the buffer are served from it;
// larger reads go straight to the caller's memory.
class BufferedSocketStream final : public httplib::Stream, public RequestBody {
 public:
  BufferedSocketStream(int sock, const std::string& preloaded, int read_timeout_ms,
                       int write_timeout_ms)
      : sock_(sock),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms),
        buffer_(WorkerBuffer(std::max(kReceiveBufferBytes, preloaded.size()))) {
    std::memcpy(buffer_.data.get(), preloaded.data(), preloaded.size());
    end_ = preloaded.size();
  }

  bool has_buffered() const { return begin_ < end_; }
  // The bytes received and not consumed (the start of the next request, if any).
  std::string TakeBuffered() {
    std::string rest(buffer_.data.get() + begin_, end_ - begin_);
    begin_ = end_ = 0;
    return rest;
  }

  bool is_readable() const override {
    return has_buffered() || PollFor(sock_, POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override { return PollFor(sock_, POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (!has_buffered()) {
      if (size >= buffer_.size) return Receive(ptr, size);
      ssize_t n = Receive(buffer_.data.get(), buffer_.size);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data.get() + begin_, n);
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
  // httplib's server uses this only to refuse sockets at or above FD_SETSIZE with a 500 (it
  // would select() on them; this stream never does). Under many connections the descriptors
  // go past 1024, so answer with a descriptor httplib accepts.
  socket_t socket() const override { return sock_ < FD_SETSIZE ? sock_ : INVALID_SOCKET; }

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
  ReceiveBuffer& buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool close_after_answer_ = false;
};

thread_local RequestBody* current_body = nullptr;

// httplib's accept loop hands every accepted socket to a TaskQueue. This one passes it straight
// to the poller on the accepting thread (process_and_close_socket only registers it).
class AdoptingQueue final : public httplib::TaskQueue {
 public:
  explicit AdoptingQueue(ConnectionPoller& poller) : poller_(poller) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { poller_.Stop(); }

 private:
  ConnectionPoller& poller_;
};

// Raises the soft limit on open files to the hard one: each connection is a descriptor.
size_t OpenFilesLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace

RequestBody* RequestBody::Current() { return current_body; }

BufferedHttpServer::BufferedHttpServer() {
  set_keep_alive_max_count(kRequestsPerConnectionMax);
  new_task_queue = [this]() -> httplib::TaskQueue* {
    StartConnections();
    return new AdoptingQueue(*poller_);
  };
}

BufferedHttpServer::~BufferedHttpServer() {
  if (poller_) poller_->Stop();
}

void BufferedHttpServer::StartConnections() {
  ::listen(svr_sock_, kListenBacklog);  // again, with a longer queue than httplib's
  ConnectionPoller::Options options;
  options.workers = kWorkerThreads;
  const size_t files = OpenFilesLimit();
  options.connections_max =
      std::min(kConnectionsMax, files > 2 * kFilesReserved ? files - kFilesReserved : files / 2);
  options.keep_alive_ms = static_cast<int>(keep_alive_timeout_sec_ * 1000);
  options.body_bytes_max = body_bytes_max_;
  poller_ = std::make_unique<ConnectionPoller>(options,
                                               [this](Connection& conn) { return ServeOne(conn); });
  poller_->Start();
}

bool BufferedHttpServer::process_and_close_socket(socket_t sock) {
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  poller_->Adopt(sock);
  return true;
}

AfterRequest BufferedHttpServer::ServeOne(Connection& conn) {
  BufferedSocketStream stream(conn.fd, conn.pending, ToMs(read_timeout_sec_, read_timeout_usec_),
                              ToMs(write_timeout_sec_, write_timeout_usec_));
  conn.pending.clear();
  const bool last = ++conn.requests >= kRequestsPerConnectionMax;
  bool connection_closed = false;
  current_body = &stream;
  const bool ok = process_request(stream, last, connection_closed, [](httplib::Request& req) {
    // Range is ignored (RFC 9110 allows it): httplib would cut a streamed export to the range but
    // still answer 200 without Content-Range, and no Swan client asks for parts.
    req.ranges.clear();
    req.headers.erase("Range");
  });
  current_body = nullptr;
  // A request that could not be parsed, or a body the handler left unread: the client may still
  // be sending, so close after a lingering read.
  if (!ok || stream.close_after_answer()) {
    ::shutdown(conn.fd, SHUT_WR);
    return AfterRequest::kLinger;
  }
  if (connection_closed || last || svr_sock_ == INVALID_SOCKET) {
    ::shutdown(conn.fd, SHUT_WR);
    // Requests pipelined behind the last one get the connection closed (the last answer said
    // "Connection: close"), read out first so that the answers are not reset away.
    return stream.has_buffered() || PollFor(conn.fd, POLLIN, 0) ? AfterRequest::kLinger
                                                                : AfterRequest::kClose;
  }
  conn.pending = stream.TakeBuffered();
  return AfterRequest::kKeep;
}

}  // namespace swan::api
