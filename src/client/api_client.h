// HTTP client of the Swan REST API (docs/api.md), over libcurl. Used by the `swan` CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace swan::client {

// Called with bytes transferred so far and the total (0 when the total is unknown). Called from
// the calling thread, possibly many times a second: keep it cheap.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Percent-encodes everything except RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~), so the
// result is safe both as a path segment and as a query value.
std::string UrlEncode(std::string_view value);

// One client per server + token. Each call opens its own connection (one CURL handle per call),
// so an ApiClient is cheap to copy and its const methods are safe to call from several threads.
//
// Paths are absolute API paths including the version prefix ("/v1/projects"); the caller
// URL-encodes path parts and query values (UrlEncode).
//
// Errors: a non-2xx answer becomes a Status whose code is the answer's `error.code` (the wire
// names of docs/api.md) and whose message is `error.message` (details become Status details); an
// answer without that shape is mapped from its HTTP status. A server that cannot be reached gives
// Unavailable("cannot reach Swan at <url>: <reason>").
class ApiClient {
 public:
  // `base_url` like "http://127.0.0.1:8080" (a trailing '/' is ignored). `token` may be empty
  // (then no Authorization header is sent).
  ApiClient(std::string base_url, std::string token);

  const std::string& base_url() const { return base_url_; }

  // GET, answer parsed as JSON (an empty body gives an empty object).
  Result<nlohmann::json> Get(const std::string& path) const;
  // POST of a JSON body, answer parsed as JSON.
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) const;
  // POST of a JSON body, answer returned as raw text (CSV results of /sql).
  Result<std::string> PostText(const std::string& path, const nlohmann::json& body) const;
  // DELETE; a 204 answer gives an empty JSON object.
  Result<nlohmann::json> Delete(const std::string& path) const;

  // POSTs the file at `file_path` as the raw request body, streamed from disk, never held in
  // memory (Content-Length is the file size): to a plain http:// server without a proxy with
  // sendfile(2) (sendfile_request.h), otherwise through libcurl with a read callback. `progress`
  // (may be empty) reports bytes sent. Answer parsed as JSON.
  Result<nlohmann::json> Upload(const std::string& path_with_query, const std::string& file_path,
                                const ProgressFn& progress) const;

  // GETs `path_with_query` and streams the body to `out_path`, or to stdout when it is "-".
  // A file is written to `<out_path>.part` and renamed over `out_path` only on success; on any
  // failure the part file is deleted and `out_path` is untouched. Returns the bytes written.
  Result<uint64_t> Download(const std::string& path_with_query, const std::string& out_path,
                            const ProgressFn& progress) const;

 private:
  std::string base_url_;
  std::string token_;
};

}  // namespace swan::client
