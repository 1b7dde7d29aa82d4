// The REST client of the Generic Extractor (Keboola's juicer RestClient): turns a job-like
// request (endpoint, params, headers, method GET/POST/FORM) into an HTTP request against the
// base URL, applies the API's default request options and headers, lets the authentication
// sign it, sends it (retries: http_fetcher.h) and decodes the JSON answer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/extractor_log.h"
#include "connectors/http_fetcher.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

// A request as the job and the scrollers see it (juicer's RestRequest).
struct RestRequest {
  std::string endpoint{};
  Json params = Json::object();
  Json headers = Json::object();
  std::string method = "GET";  // GET, POST (JSON body) or FORM (urlencoded body)
};

class RestClient;

// json_decode's default depth limit.
inline constexpr int kMaxJsonDepth = 512;

// Authentication: signs each API request just before it is sent (query or headers); may send
// requests of its own through the client (a login).
class RestAuth {
 public:
  virtual ~RestAuth() = default;
  virtual void Sign(RestClient& client, HttpRequest& request) = 0;
};

struct RestClientOptions {
  std::string base_url{};
  Json default_headers = Json::object();          // api.http.headers + config.http.headers
  Json default_request_options = Json::object();  // api.http.defaultOptions
  std::vector<long> ignore_errors{};              // api.http.ignoreErrors
  HttpFetcherOptions http{};
  LogFn log{};
};

class RestClient {
 public:
  explicit RestClient(RestClientOptions options);

  void SetAuth(std::unique_ptr<RestAuth> auth) { auth_ = std::move(auth); }
  const std::string& base_url() const { return options_.base_url; }

  // A request from a job-like configuration; `apply_defaults`: merge the API's default request
  // options under it (array_replace_recursive). Throws ExtractorError on a bad field.
  RestRequest CreateRequest(const Json& config, bool apply_defaults = true) const;
  // The HTTP request (URL resolved against the base URL, query or body built, client headers).
  HttpRequest BuildHttpRequest(const RestRequest& request) const;
  // Signs, sends and decodes: Interpret(Fetch(request)).
  Json Download(const RestRequest& request);
  // An answer as it came: the request's method and URL, and the response.
  struct Fetched {
    std::string method, url;
    HttpResponse response;
    bool ignored = false;  // its status is in ignore_errors
  };
  // Signs and sends. Throws ExtractorError naming the URL on a transport error.
  Fetched Fetch(const RestRequest& request);
  // Decodes an answer. A status in ignore_errors answers the decoded body, or
  // {"errorData": body} when it is not JSON. Throws ExtractorError naming the URL for a status
  // >= 400 (not ignored) or a body that is not JSON.
  Json Interpret(const Fetched& fetched) const;
  // Sends without signing (a login request); throws on a transport error or status >= 400.
  HttpResponse SendUnsigned(const HttpRequest& request);
  // Decodes a JSON body (invalid UTF-8 dropped first, at most kMaxJsonDepth levels); throws
  // "Invalid JSON response from API (<url>): ...".
  static Json DecodeJson(const std::string& body, const std::string& url);

 private:
  RestClientOptions options_;
  HttpFetcher fetcher_;
  std::unique_ptr<RestAuth> auth_;
};

// Drops bytes that are not valid UTF-8 (iconv's //IGNORE).
std::string SanitizeUtf8(const std::string& s);

}  // namespace swan::connectors
