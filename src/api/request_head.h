// The head of an HTTP/1.1 request as the transport sees it before httplib parses it: whether it
// is complete, how its body is framed, and whether it must be refused at once.
//
// The transport (api/connection_poller.*) hands a connection to a worker only when a complete
// head has arrived, so it reads the head itself. It also refuses what httplib 0.11.4 would read
// differently from a proxy in front of Swan (request smuggling: two Content-Length headers,
// Content-Length with Transfer-Encoding, header lines ending in a bare LF, which httplib skips)
// and what would hold a worker for nothing (a Content-Length that no client will send).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace swan::api {

// Bounds on a request head (TigerBeetle: a limit on everything). httplib refuses request lines
// over 8 KiB (414) and header lines over 8 KiB (400) itself.
constexpr size_t kRequestHeadBytesMax = 32 << 10;
// Bodies up to this size (with a Content-Length) are read by the transport before a worker sees
// the request, so that a slow sender holds no worker. Larger bodies (uploads) and chunked ones
// are read by the handler after it has authenticated the caller; only POST may send them.
constexpr size_t kPrereadBodyBytesMax = 64 << 10;

enum class BodyFraming {
  kNone,     // no body
  kLength,   // Content-Length bytes
  kChunked,  // Transfer-Encoding: chunked
};

struct RequestHead {
  size_t head_bytes = 0;  // through the blank line that ends the head
  std::string method;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;   // for kLength
  bool expect_continue = false;  // "Expect: 100-continue": the client waits before its body

  // True when the transport reads the whole body before handing the request to a worker.
  bool BodyIsPreread() const {
    return framing == BodyFraming::kLength && content_length <= kPrereadBodyBytesMax &&
           !expect_continue;
  }
};

struct HeadScan {
  enum State { kIncomplete, kComplete, kRejected };
  State state = kIncomplete;
  RequestHead head;     // when kComplete
  int http_status = 0;  // when kRejected: 400, 413, 414 or 431
  std::string message;  // when kRejected: why, for the error body
};

// Scans the bytes received so far on a connection for a request head. `body_bytes_max` is the
// largest body the server accepts (a larger Content-Length is refused with 413 at once).
// `scanned` is a resume point: the caller keeps it between calls on the same, growing bytes, so
// that a head trickling in one byte at a time costs linear time.
// Thread-safe (pure).
HeadScan ScanRequestHead(std::string_view bytes, uint64_t body_bytes_max, size_t* scanned);

}  // namespace swan::api
