// Connections that hold no worker while they wait: one epoll thread owns every connection that is
// between requests, reads request heads (and small bodies) without blocking, and hands a
// connection to a worker thread only once a complete request has arrived.
//
// Why: with httplib's own model (a pool thread per connection, blocking reads), 16 idle
// connections delayed other clients by seconds and 2,000 by 48 s; 8 connections sending one
// header line every 5 s held all 8 workers (docs/architecture.md, "HTTP transport: connections
// and limits"). Here an idle or trickling connection costs a file descriptor and a few hundred
// bytes, and every bound below is named:
//   - a request head (and a pre-read body) must arrive within kRequestReadMs of its first byte;
//   - a connection waiting for its next request is closed after the keep-alive timeout;
//   - at most `connections_max` connections are open; past it the connection that has waited
//     longest for a request is closed (an attacker's idle connections go first, a client's
//     fresh one is served);
//   - a head is at most kRequestHeadBytesMax bytes (api/request_head.h);
//   - a connection answers at most kRequestsPerConnectionMax requests, the last with
//     "Connection: close".
//
// Thread-safety: Adopt() and Return() may be called from any thread; the rest is internal.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace swan::api {

// Time a client has, from the first byte of a request, to send its whole head (and a body the
// transport pre-reads). A head trickling in slower than this is answered 408 and closed.
constexpr int kRequestReadMs = 10'000;
constexpr size_t kRequestsPerConnectionMax = 1000;
// Open connections at most (lowered to what RLIMIT_NOFILE allows, keeping kFilesReserved for
// DuckDB, SQLite and uploads).
constexpr size_t kConnectionsMax = 10'000;
constexpr size_t kFilesReserved = 512;
// Lingering close (as nginx does): before closing a connection whose client may still be
// sending, read and discard for at most this long and this much. Closing with unread bytes
// makes the kernel send a reset, which can destroy an answer the client has not read yet.
constexpr int kLingerMs = 2000;
constexpr size_t kLingerBytesMax = 64 << 20;

// One client connection. Owned by exactly one party at a time: the poller, the queue of ready
// connections, or the worker serving it.
struct Connection {
  int fd = -1;
  std::string pending;  // bytes received and not yet consumed by a request
  size_t requests = 0;  // requests answered on this connection

  // Poller state (only the poller thread touches these).
  enum class State { kWaiting, kReading, kLingering };
  State state = State::kWaiting;
  int64_t deadline_ms = 0;
  size_t scanned = 0;        // resume point of the head scan over `pending`
  size_t request_bytes = 0;  // head + pre-read body, once the head is complete (0 before)
  uint64_t lingered_bytes = 0;
  std::list<std::unique_ptr<Connection>>::iterator self;
};

// What a worker did with a connection: keep it for the next request, close it at once, or close
// it after a lingering read (the client may still be sending).
enum class AfterRequest { kKeep, kClose, kLinger };

class ConnectionPoller {
 public:
  struct Options {
    size_t workers = 64;
    size_t connections_max = kConnectionsMax;
    int keep_alive_ms = 5000;
    uint64_t body_bytes_max = 0;  // a larger Content-Length is refused with 413 at once
  };
  // Runs one request of `conn` on a worker thread: `conn.pending` starts with a complete head
  // (and a pre-read body). The callback leaves unconsumed bytes in `conn.pending`.
  using Serve = std::function<AfterRequest(Connection& conn)>;

  ConnectionPoller(Options options, Serve serve);
  ~ConnectionPoller();  // Stop()
  ConnectionPoller(const ConnectionPoller&) = delete;
  ConnectionPoller& operator=(const ConnectionPoller&) = delete;

  // Starts the poller and worker threads.
  void Start();
  // Takes ownership of an accepted socket.
  void Adopt(int fd);
  // Stops accepting work, waits for the requests in progress, closes every connection.
  void Stop();

  size_t connections_max() const { return options_.connections_max; }

 private:
  void PollLoop();
  void WorkerLoop();
  void Return(std::unique_ptr<Connection> conn, AfterRequest after);
  // Poller thread only.
  void TakeInbox(int64_t now_ms);
  // Registers a connection between requests; false when it could not be (it is closed then).
  bool Enter(std::unique_ptr<Connection> conn, int64_t now_ms);
  void OnReadable(Connection* conn, int64_t now_ms);
  void Advance(Connection* conn, int64_t now_ms);
  void Answer(Connection* conn, int http_status, const std::string& message, int64_t now_ms);
  void StartLinger(Connection* conn, int64_t now_ms);
  void Close(Connection* conn);
  void HandOff(Connection* conn);
  void Sweep(int64_t now_ms);

  Options options_;
  Serve serve_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the inbox has work
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};  // connections open (all states)

  std::mutex inbox_mu_;
  std::vector<int> inbox_adopted_;  // guarded by inbox_mu_
  std::vector<std::pair<std::unique_ptr<Connection>, AfterRequest>> inbox_returned_;  // ditto

  // Poller thread only: connections between requests, oldest first.
  std::list<std::unique_ptr<Connection>> waiting_;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::deque<std::unique_ptr<Connection>> ready_;  // guarded by ready_mu_

  std::thread poller_;
  std::vector<std::thread> workers_;
  bool started_ = false;
};

}  // namespace swan::api
