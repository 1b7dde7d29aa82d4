// One HTTP/1.1 request whose body is a file sent with sendfile(2), over a socket that is already
// connected. libcurl reads an upload into its own buffer and sends it from there: two copies of
// every byte in the client, ~0.3-0.5 s of CPU for 522 MB, which on a laptop-sized machine competes
// with the server loading the same file. sendfile hands the file's page-cache pages to the socket.
#pragma once

#include <cstdint>
#include <string>

#include "client/api_client.h"
#include "common/status.h"

namespace swan::client {

struct RawAnswer {
  long status = 0;   // HTTP status
  std::string body;  // de-chunked
};

// Writes `head` (request line and headers, ending with an empty line; it must ask for
// `Connection: close` and give `Content-Length: size`), then `size` bytes of `file_fd` from offset
// 0, then reads the answer until the server closes the connection. The socket may be
// non-blocking. An answer that arrives before the whole body was sent (an early 401 or 413 after
// which the server stops reading) is returned as the answer. `progress` (may be empty) sees the
// bytes sent. Answers larger than `answer_bytes_max` are an error.
Result<RawAnswer> SendFileRequest(int sock, const std::string& head, int file_fd, uint64_t size,
                                  const ProgressFn& progress, size_t answer_bytes_max);

// Parses a complete HTTP/1.1 answer (status line, headers, body by Content-Length, chunked, or up
// to the end). Exposed for tests.
Result<RawAnswer> ParseHttpAnswer(const std::string& bytes);

}  // namespace swan::client
