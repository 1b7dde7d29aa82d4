// HTTP for connectors: HTTP(S) only, one libcurl easy handle (keep-alive), gzip/deflate,
// redirects (5), connect and whole-request timeouts, a response size cap, and retries with
// backoff: on the configured HTTP statuses (default 500 502 503 504 408 420 429) and curl errors
// (timeouts, DNS, connect, TLS, empty reply, receive errors), honouring a Retry-After header
// (seconds, a Unix time or an HTTP date), else exponential (1 s, 2 s, 4 s ...). Sleep and clock
// are injectable. Not thread-safe: one fetcher per extraction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/extractor_log.h"

namespace swan::connectors {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url{};
  HeaderList headers{};
  std::string body{};
};

struct HttpResponse {
  long status = 0;
  HeaderList headers{};
  std::string body{};
  // The value of a header (case-insensitive name), "" when absent.
  std::string Header(const std::string& name) const;
  bool HasHeader(const std::string& name) const;
};

struct RetryPolicy {
  int max_retries = 10;
  std::vector<long> http_codes{500, 502, 503, 504, 408, 420, 429};
  // CURLE_OPERATION_TIMEDOUT, COULDNT_RESOLVE_HOST, COULDNT_CONNECT, SSL_CONNECT_ERROR,
  // GOT_NOTHING, RECV_ERROR (Keboola's defaults).
  std::vector<long> curl_codes{28, 6, 7, 35, 52, 56};
  std::string retry_header = "Retry-After";
  int64_t max_delay_ms = 10 * 60 * 1000;  // no single wait longer than this
};

struct HttpFetcherOptions {
  int64_t connect_timeout_ms = 30 * 1000;
  int64_t request_timeout_ms = 5 * 60 * 1000;
  int64_t max_response_bytes = int64_t{1} << 30;
  RetryPolicy retry{};
  std::string proxy{};                      // e.g. "http://127.0.0.1:3128"; empty: none
  std::string ca_certificate{};             // PEM bundle replacing the system CAs; empty: system
  std::string client_certificate{};         // PEM certificate + key; empty: none
  std::function<void(int64_t ms)> sleep{};  // empty: std::this_thread::sleep_for
  std::function<int64_t()> now_seconds{};   // empty: the system clock
  // Polled during a transfer (about once a second, and on every chunk received) and during
  // retry waits; true aborts the request at once (the job was cancelled or ran out of time).
  std::function<bool()> should_stop{};
  LogFn log{};
};

// The outcome of one Send: a response, or a transport error after the retries.
struct HttpResult {
  bool ok = false;
  HttpResponse response{};
  long curl_code = 0;
  bool stopped = false;  // options.should_stop ended it; no retry follows
  std::string error{};   // "CURL error 28: Operation timed out after 1000 milliseconds ..."
};

class HttpFetcher {
 public:
  explicit HttpFetcher(HttpFetcherOptions options);
  ~HttpFetcher();
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // Sends `request`, retrying as the policy says; the last response is returned whatever its
  // status (a 404 is a response, not an error).
  HttpResult Send(const HttpRequest& request);
  const HttpFetcherOptions& options() const { return options_; }

  // Milliseconds to wait before retry number `retry` (1-based) after `response` (may be null).
  int64_t RetryDelayMs(int retry, const HttpResponse* response) const;

 private:
  HttpResult SendOnce(const HttpRequest& request);

  HttpFetcherOptions options_;
  void* curl_ = nullptr;
};

}  // namespace swan::connectors
