// httplib::Server with Swan's own connection handling and socket stream.
//
// httplib keeps its parsing, routing and responses. Swan replaces two things:
//   - Who holds a connection. httplib gives each connection a pool thread that blocks on it until
//     it closes, so idle or trickling clients held every worker (issue 8, 10b). Here the
//     connections between requests belong to one epoll thread (api/connection_poller.*), which
//     hands a connection to a worker only once a whole request head (and a small body) is in.
//   - How bytes are read. Debian's cpp-httplib (0.11.4, a compiled .so) reads request bodies 4 KiB
//     at a time and polls the socket before every read and every write: a 522 MB upload costs
//     ~255k syscalls, 1.4 s on loopback against 0.27 s for plain 1 MiB recv() calls. The stream
//     here receives in 1 MiB reads and relies on socket timeouts (SO_RCVTIMEO, SO_SNDTIMEO).
// See docs/architecture.md, "HTTP transport: connections and limits".
#pragma once

#include <httplib.h>

#include <cstdint>
#include <memory>

#include "api/connection_poller.h"

namespace swan::api {

// Worker threads that run requests. Heavy requests (SQL, imports) are bounded well below this
// (api/request_limits.h), so light ones always find a free worker.
constexpr size_t kWorkerThreads = 64;
// The kernel's queue of connections not yet accepted (httplib asks for 5; bursts of clients
// then wait for SYN retransmits, a second or more).
constexpr int kListenBacklog = 4096;

// The body of the request being handled on the calling thread, for handlers that receive a large
// body straight into their own memory in large pieces instead of through httplib's ContentReader
// (which hands it over 4 KiB at a time, through two copies). Only inside a handler run by a
// BufferedHttpServer, and only if the ContentReader has not been used: the caller reads exactly
// the Content-Length bytes, so that the connection stays in step for the next request.
class RequestBody {
 public:
  // The body of this thread's current request; null outside a BufferedHttpServer handler.
  static RequestBody* Current();
  // Reads 1..size bytes; 0 when the peer closed the connection, -1 on error or timeout.
  virtual ssize_t ReadSome(char* dst, size_t size) = 0;
  // The handler answered without reading the whole body (an early 401, 404 or 413): the rest of
  // the body would be parsed as the next request, so after the answer the connection is drained
  // for a moment (so that the client can read the answer) and closed.
  virtual void CloseAfterAnswer() = 0;

 protected:
  ~RequestBody() = default;
};

class BufferedHttpServer final : public httplib::Server {
 public:
  BufferedHttpServer();
  ~BufferedHttpServer() override;

  // The largest request body accepted: a larger Content-Length is answered 413 before any
  // handler runs. Call before listening.
  void set_body_bytes_max(uint64_t bytes) { body_bytes_max_ = bytes; }

 private:
  // Starts the poller and workers (from httplib's listen loop, through new_task_queue).
  void StartConnections();
  // Called by httplib's accept loop (a virtual of httplib::Server) for every accepted connection:
  // hands it to the poller and returns at once.
  bool process_and_close_socket(socket_t sock) override;
  // Runs one request of `conn` on a worker thread.
  AfterRequest ServeOne(Connection& conn);

  uint64_t body_bytes_max_ = UINT64_MAX;
  std::unique_ptr<ConnectionPoller> poller_;
};

}  // namespace swan::api
