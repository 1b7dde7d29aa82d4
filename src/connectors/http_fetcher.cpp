#include "connectors/http_fetcher.h"

#include <strings.h>

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include "connectors/php_semantics.h"

namespace swan::connectors {

namespace {

std::string Lower(std::string s) {
  s = AsciiLower(s);
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

struct Transfer {
  HttpResponse* response = nullptr;
  int64_t max_bytes = 0;
  bool too_large = false;
  CURL* curl = nullptr;
  bool sized = false;  // the body's room was reserved from Content-Length
};

// libcurl's receive buffer. Its default of 16 KiB took a 200 KB page in 13 reads and as many
// rounds of libcurl's transfer loop; the curl tool reads with 100 KiB.
constexpr long kReceiveBufferBytes = 256 * 1024;

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (static_cast<int64_t>(t->response->body.size() + len) > t->max_bytes) {
    t->too_large = true;
    return 0;
  }
  if (!t->sized) {
    t->sized = true;
    curl_off_t length = -1;
    if (curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && length <= t->max_bytes) {
      t->response->body.reserve(static_cast<size_t>(length));
    }
  }
  t->response->body.append(data, len);
  return len;
}

// libcurl's progress callback: a non-zero return aborts the transfer.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* should_stop = static_cast<const std::function<bool()>*>(user);
  return (*should_stop)() ? 1 : 0;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (redirect, 100 Continue)
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    t->response->headers.emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  return len;
}

// Seconds since the epoch of an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if invalid.
int64_t ParseHttpDate(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return static_cast<int64_t>(timegm(&tm));
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return v;
  }
  return "";
}

bool HttpResponse::HasHeader(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return true;
  }
  return false;
}

HttpFetcher::HttpFetcher(HttpFetcherOptions options) : options_(std::move(options)) {
  static CurlGlobal global;
  curl_ = curl_easy_init();
}

HttpFetcher::~HttpFetcher() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

int64_t HttpFetcher::RetryDelayMs(int retry, const HttpResponse* response) const {
  int64_t delay = 0;
  if (response != nullptr && response->HasHeader(options_.retry.retry_header)) {
    std::string value = Trim(response->Header(options_.retry.retry_header));
    int64_t now =
        options_.now_seconds ? options_.now_seconds() : static_cast<int64_t>(std::time(nullptr));
    if (!value.empty() && PhpIsNumericString(value)) {
      int64_t v = static_cast<int64_t>(std::strtod(value.c_str(), nullptr));
      delay = v < now - 86400 ? v * 1000 : (v - now) * 1000;
    } else {
      int64_t at = ParseHttpDate(value);
      if (at >= 0) delay = (at - now) * 1000;
    }
  }
  if (delay <= 0) {
    // Keboola: a missing, unparsable or zero Retry-After falls back to exponential backoff.
    delay = int64_t{1000} << std::min(retry - 1, 20);
  }
  return std::min(delay, options_.retry.max_delay_ms);
}

HttpResult HttpFetcher::SendOnce(const HttpRequest& request) {
  HttpResult result;
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    result.error = "CURL error: could not initialise libcurl";
    return result;
  }
  curl_easy_reset(curl);
  Transfer transfer{&result.response, options_.max_response_bytes, false, curl};
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  // HTTP(S) only, redirects included: libcurl would otherwise read file:// (the server's own
  // files, another tenant's data) or speak ftp/gopher/dict on a tenant's behalf.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "Swan-GenericExtractor/1.0");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (options_.should_stop) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &options_.should_stop);
  }
  if (!options_.proxy.empty()) curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxy.c_str());
  curl_blob ca{};
  if (!options_.ca_certificate.empty()) {
    ca.data = const_cast<char*>(options_.ca_certificate.data());
    ca.len = options_.ca_certificate.size();
    ca.flags = CURL_BLOB_COPY;
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  }
  curl_blob cert{};
  if (!options_.client_certificate.empty()) {
    cert.data = const_cast<char*>(options_.client_certificate.data());
    cert.len = options_.client_certificate.size();
    cert.flags = CURL_BLOB_COPY;
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &cert);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  bool asks_encoding = false;
  for (const auto& [k, v] : request.headers) {
    std::string line = v.empty() ? k + ";" : k + ": " + v;
    headers = curl_slist_append(headers, line.c_str());
    asks_encoding = asks_encoding || strcasecmp(k.c_str(), "Accept-Encoding") == 0;
  }
  // As the Generic Extractor's Guzzle (decode_content): an answer the server compresses anyway
  // is decoded, but compression is asked for only by the configuration's own Accept-Encoding
  // header, which then goes out as given.
  if (!asks_encoding) headers = curl_slist_append(headers, "Accept-Encoding:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (rc == CURLE_ABORTED_BY_CALLBACK && options_.should_stop && options_.should_stop()) {
    result.curl_code = static_cast<long>(rc);
    result.stopped = true;
    result.error = "stopped (" + request.method + " " + request.url + ")";
    return result;
  }
  if (rc != CURLE_OK) {
    result.curl_code = static_cast<long>(rc);
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (transfer.too_large) {
      detail = "response larger than " + std::to_string(options_.max_response_bytes) + " bytes";
    }
    result.error = "CURL error " + std::to_string(static_cast<int>(rc)) + ": " + detail;
    return result;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
  result.ok = true;
  return result;
}

HttpResult HttpFetcher::Send(const HttpRequest& request) {
  int retries = 0;
  while (true) {
    HttpResult result = SendOnce(request);
    if (result.stopped) return result;
    bool retry = false;
    if (retries < options_.retry.max_retries) {
      if (result.ok) {
        const auto& codes = options_.retry.http_codes;
        retry = std::find(codes.begin(), codes.end(), result.response.status) != codes.end();
      } else {
        const auto& codes = options_.retry.curl_codes;
        retry = std::find(codes.begin(), codes.end(), result.curl_code) != codes.end();
      }
    }
    if (!retry) return result;
    ++retries;
    int64_t delay = RetryDelayMs(retries, result.ok ? &result.response : nullptr);
    Log(options_.log, LogLevel::kInfo,
        "Http request failed (" +
            (result.ok ? "HTTP " + std::to_string(result.response.status) : result.error) +
            "), retrying in " + std::to_string(delay / 1000) + "." +
            std::to_string((delay % 1000) / 100) + " seconds [" + std::to_string(retries) + "x].");
    if (options_.sleep) {
      options_.sleep(delay);
    } else {
      // In slices, so that a cancel does not wait for a long Retry-After.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
      while (std::chrono::steady_clock::now() < until) {
        if (options_.should_stop && options_.should_stop()) break;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            until - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
      }
    }
    if (options_.should_stop && options_.should_stop()) {
      HttpResult stopped;
      stopped.stopped = true;
      stopped.error = "stopped while waiting to retry (" + request.method + " " + request.url + ")";
      return stopped;
    }
  }
}

}  // namespace swan::connectors
