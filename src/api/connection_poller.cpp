#include "api/connection_poller.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>

#include "api/request_head.h"

namespace swan::api {

namespace {

// How often deadlines are checked; a deadline may pass by up to this much before it is acted on.
constexpr int kSweepMs = 100;
constexpr int kEventsPerWait = 256;
// Bytes asked of the kernel per read while a head arrives.
constexpr size_t kHeadReadBytes = 16 << 10;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

// The error codes of Swan's error body (docs/api.md, "Errors") for the transport's own answers.
const char* ErrorCodeName(int status) {
  switch (status) {
    case 408:
      return "unavailable";
    case 413:
      return "payload_too_large";
    default:
      return "invalid_argument";
  }
}

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out;
}

void Wake(int fd) {
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof(one));
  (void)n;  // a full counter still wakes the poller
}

}  // namespace

ConnectionPoller::ConnectionPoller(Options options, Serve serve)
    : options_(options), serve_(std::move(serve)) {}

ConnectionPoller::~ConnectionPoller() { Stop(); }

void ConnectionPoller::Start() {
  assert(!started_);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  started_ = true;
  poller_ = std::thread([this] { PollLoop(); });
  for (size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void ConnectionPoller::Adopt(int fd) {
  if (stopping_) {
    ::close(fd);
    return;
  }
  {
    std::lock_guard lock(inbox_mu_);
    inbox_adopted_.push_back(fd);
  }
  Wake(wake_fd_);
}

void ConnectionPoller::Return(std::unique_ptr<Connection> conn, AfterRequest after) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_returned_.emplace_back(std::move(conn), after);
  }
  Wake(wake_fd_);
}

void ConnectionPoller::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  Wake(wake_fd_);
  poller_.join();
  {
    // A worker between its check of `stopping_` and its wait would miss a notification sent
    // without the lock.
    std::lock_guard lock(ready_mu_);
  }
  ready_cv_.notify_all();
  for (auto& w : workers_) w.join();
  // Nothing runs any more: close what is left wherever it is.
  for (auto& conn : waiting_) ::close(conn->fd);
  waiting_.clear();
  for (int fd : inbox_adopted_) ::close(fd);
  inbox_adopted_.clear();
  for (auto& [conn, after] : inbox_returned_) ::close(conn->fd);
  inbox_returned_.clear();
  for (auto& conn : ready_) ::close(conn->fd);
  ready_.clear();
  open_ = 0;
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void ConnectionPoller::PollLoop() {
  epoll_event events[kEventsPerWait];
  int64_t next_sweep_ms = NowMs() + kSweepMs;
  while (!stopping_) {
    int64_t now_ms = NowMs();
    const int timeout_ms = static_cast<int>(std::max<int64_t>(0, next_sweep_ms - now_ms));
    int n = ::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    now_ms = NowMs();
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      auto* conn = static_cast<Connection*>(events[i].data.ptr);
      if (conn == nullptr) {
        uint64_t count;
        while (::read(wake_fd_, &count, sizeof(count)) > 0) {
        }
        woken = true;
      } else {
        OnReadable(conn, now_ms);
      }
    }
    // After the events: closing a connection here cannot leave a stale pointer in `events`.
    if (woken) TakeInbox(now_ms);
    if (now_ms >= next_sweep_ms) {
      Sweep(now_ms);
      next_sweep_ms = now_ms + kSweepMs;
    }
  }
}

void ConnectionPoller::TakeInbox(int64_t now_ms) {
  std::vector<int> adopted;
  std::vector<std::pair<std::unique_ptr<Connection>, AfterRequest>> returned;
  {
    std::lock_guard lock(inbox_mu_);
    adopted.swap(inbox_adopted_);
    returned.swap(inbox_returned_);
  }
  for (auto& [conn, after] : returned) {
    if (after == AfterRequest::kClose) {
      ::close(conn->fd);
      --open_;
      continue;
    }
    Connection* c = conn.get();
    if (!Enter(std::move(conn), now_ms)) continue;
    if (after == AfterRequest::kLinger) {
      StartLinger(c, now_ms);
    } else {
      Advance(c, now_ms);  // the next request may have arrived with the last one
    }
  }
  for (int fd : adopted) {
    // Past the bound, the connection that has waited longest for a request makes room.
    while (open_ >= options_.connections_max && !waiting_.empty()) Close(waiting_.front().get());
    if (open_ >= options_.connections_max) {
      ::close(fd);
      continue;
    }
    ++open_;
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Enter(std::move(conn), now_ms);
  }
}

bool ConnectionPoller::Enter(std::unique_ptr<Connection> conn, int64_t now_ms) {
  Connection* c = conn.get();
  c->state = Connection::State::kWaiting;
  c->deadline_ms = now_ms + options_.keep_alive_ms;
  c->scanned = 0;
  c->request_bytes = 0;
  waiting_.push_back(std::move(conn));
  c->self = std::prev(waiting_.end());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) == 0) return true;
  Close(c);
  return false;
}

void ConnectionPoller::OnReadable(Connection* c, int64_t now_ms) {
  if (c->state == Connection::State::kLingering) {
    char sink[64 << 10];
    for (;;) {
      ssize_t n = ::recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
      if (n > 0) {
        c->lingered_bytes += static_cast<uint64_t>(n);
        if (c->lingered_bytes > kLingerBytesMax) return Close(c);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      return Close(c);  // the client closed its side, or the connection failed
    }
  }
  // Read no further than the request needs: the head's bound, or the head and pre-read body.
  const size_t cap = c->request_bytes > 0 ? c->request_bytes : kRequestHeadBytesMax;
  if (c->pending.size() >= cap) return Advance(c, now_ms);
  const size_t old_size = c->pending.size();
  const size_t want = std::min(cap - old_size, kHeadReadBytes);
  c->pending.resize(old_size + want);
  ssize_t n = ::recv(c->fd, c->pending.data() + old_size, want, MSG_DONTWAIT);
  c->pending.resize(old_size + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) return Close(c);  // closed between requests, or in the middle of one
  Advance(c, now_ms);
}

void ConnectionPoller::Advance(Connection* c, int64_t now_ms) {
  if (c->pending.empty()) return;
  if (c->state == Connection::State::kWaiting) {
    c->state = Connection::State::kReading;
    c->deadline_ms = now_ms + kRequestReadMs;
  }
  if (c->request_bytes == 0) {
    HeadScan scan = ScanRequestHead(c->pending, options_.body_bytes_max, &c->scanned);
    if (scan.state == HeadScan::kIncomplete) return;
    if (scan.state == HeadScan::kRejected) return Answer(c, scan.http_status, scan.message, now_ms);
    c->request_bytes = scan.head.head_bytes;
    if (scan.head.BodyIsPreread()) c->request_bytes += scan.head.content_length;
  }
  if (c->pending.size() >= c->request_bytes) HandOff(c);
}

void ConnectionPoller::Answer(Connection* c, int http_status, const std::string& message,
                              int64_t now_ms) {
  const std::string body = std::string("{\"error\":{\"code\":\"") + ErrorCodeName(http_status) +
                           "\",\"message\":\"" + JsonEscape(message) + "\",\"details\":{}}}";
  const std::string answer =
      "HTTP/1.1 " + std::to_string(http_status) + " " + ReasonPhrase(http_status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  // A fresh connection's send buffer holds this small answer; if it does not, the client gets
  // the connection closed, which is what it would get next anyway.
  ssize_t n = ::send(c->fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;
  StartLinger(c, now_ms);
}

void ConnectionPoller::StartLinger(Connection* c, int64_t now_ms) {
  ::shutdown(c->fd, SHUT_WR);
  c->state = Connection::State::kLingering;
  c->deadline_ms = now_ms + kLingerMs;
  c->pending.clear();
  c->pending.shrink_to_fit();
}

void ConnectionPoller::Close(Connection* c) {
  // Out of the epoll set first: close() removes it only when no other descriptor refers to the
  // socket, and a job's component forked at this moment holds one until its exec (or close_range)
  // — the set would then report events for a freed connection.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  --open_;
  waiting_.erase(c->self);  // destroys c
}

void ConnectionPoller::HandOff(Connection* c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  std::unique_ptr<Connection> conn = std::move(*c->self);
  waiting_.erase(c->self);
  {
    std::lock_guard lock(ready_mu_);
    ready_.push_back(std::move(conn));
  }
  ready_cv_.notify_one();
}

void ConnectionPoller::Sweep(int64_t now_ms) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Connection* c = it->get();
    ++it;  // `c` may be closed below
    if (c->deadline_ms > now_ms) continue;
    switch (c->state) {
      case Connection::State::kWaiting:
      case Connection::State::kLingering:
        Close(c);
        break;
      case Connection::State::kReading:
        Answer(c, 408,
               "request not received within " + std::to_string(kRequestReadMs) +
                   " ms of its first byte",
               now_ms);
        break;
    }
  }
}

void ConnectionPoller::WorkerLoop() {
  for (;;) {
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock lock(ready_mu_);
      ready_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;
      conn = std::move(ready_.front());
      ready_.pop_front();
    }
    const AfterRequest after = stopping_ ? AfterRequest::kClose : serve_(*conn);
    if (after == AfterRequest::kClose) {
      ::close(conn->fd);
      --open_;
    } else {
      Return(std::move(conn), after);
    }
  }
}

}  // namespace swan::api
