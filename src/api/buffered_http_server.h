// httplib::Server with Swan's own socket stream.
//
// Debian's cpp-httplib (0.11.4, a compiled .so) reads request bodies 4 KiB at a time and polls
// the socket before every read and every write: a 522 MB upload costs ~255k syscalls, 1.4 s on
// loopback against 0.27 s for plain 1 MiB recv() calls (docs/architecture.md, "HTTP transport").
// The buffer size is compiled into the .so, so it cannot be raised with a define. This class keeps
// everything else of httplib (parsing, routing, responses) and replaces only the transport: one
// stream per connection that receives in 1 MiB reads and relies on socket timeouts (SO_RCVTIMEO,
// SO_SNDTIMEO) instead of a poll before each call.
#pragma once

#include <httplib.h>

namespace swan::api {

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
 private:
  // Called by httplib's accept loop (a virtual of httplib::Server) on a pool thread for every
  // accepted connection; serves keep-alive requests on it, then closes it.
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace swan::api
