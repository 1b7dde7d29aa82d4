#include "client/api_client.h"

#include "client/sendfile_request.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

namespace swan::client {
namespace {

using nlohmann::json;

// Limits. Connecting must be quick (a local or LAN server); transfers themselves are unbounded in
// time because imports and exports may be many GB.
constexpr long kConnectTimeoutSeconds = 10;
constexpr long kUploadBufferBytes = 2L << 20;
// Answers held in memory (JSON, CSV text of /sql). The server caps SQL results by rows; this is
// the backstop against a misbehaving server.
constexpr size_t kResponseBytesMax = size_t{1} << 30;
// The error body of a streamed download is kept in memory; errors are small.
constexpr size_t kErrorBodyBytesMax = size_t{1} << 20;
constexpr size_t kErrorSnippetChars = 200;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// Where the body of an answer goes: memory (JSON and text answers, and the error body of any
// answer), or a file for the 2xx body of a download.
struct BodySink {
  CURL* curl = nullptr;
  FILE* file = nullptr;  // set for downloads
  const ProgressFn* progress = nullptr;

  std::string memory;
  bool status_checked = false;
  bool to_file = false;
  uint64_t written = 0;
  uint64_t total = 0;
  bool overflow = false;
  bool write_failed = false;
  int write_errno = 0;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t len = size * count;
  if (sink->file != nullptr && !sink->status_checked) {
    // The write callback only sees the final answer's body, so its status is known here.
    long code = 0;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &code);
    sink->to_file = code >= 200 && code < 300;
    curl_off_t length = -1;
    curl_easy_getinfo(sink->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    sink->total = length > 0 ? static_cast<uint64_t>(length) : 0;
    sink->status_checked = true;
  }
  if (sink->to_file) {
    if (std::fwrite(data, 1, len, sink->file) != len) {
      sink->write_failed = true;
      sink->write_errno = errno;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    sink->written += len;
    if (sink->progress != nullptr && *sink->progress) (*sink->progress)(sink->written, sink->total);
    return len;
  }
  const size_t limit = sink->file != nullptr ? kErrorBodyBytesMax : kResponseBytesMax;
  if (sink->memory.size() + len > limit) {
    sink->overflow = true;
    return 0;
  }
  sink->memory.append(data, len);
  return len;
}

// The request body of an upload, read from disk as curl asks for it.
struct UploadSource {
  FILE* file = nullptr;
  uint64_t size = 0;
  uint64_t sent = 0;
  const ProgressFn* progress = nullptr;
  bool read_failed = false;
  int read_errno = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* source = static_cast<UploadSource*>(user);
  const size_t got = std::fread(buffer, 1, size * count, source->file);
  if (got == 0 && std::ferror(source->file)) {
    source->read_failed = true;
    source->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  source->sent += got;
  if (source->progress != nullptr && *source->progress) {
    (*source->progress)(source->sent, source->size);
  }
  return got;
}

int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* source = static_cast<UploadSource*>(user);
  if (fseeko(source->file, static_cast<off_t>(offset), origin) != 0) return CURL_SEEKFUNC_FAIL;
  source->sent = static_cast<uint64_t>(ftello(source->file));
  return CURL_SEEKFUNC_OK;
}

// Turns a non-2xx answer into a Status: the documented error shape when present, otherwise the
// HTTP status and the start of the body.
Status ErrorFromAnswer(long http_status, const std::string& body) {
  const StatusCode by_http = StatusCodeFromHttp(http_status);
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
    const json& error = parsed["error"];
    StatusCode code = by_http;
    if (error.contains("code") && error["code"].is_string()) {
      code = StatusCodeFromName(error["code"].get<std::string>(), by_http);
    }
    std::string message = error.contains("message") && error["message"].is_string()
                              ? error["message"].get<std::string>()
                              : "HTTP " + std::to_string(http_status);
    Status status(code, std::move(message));
    if (error.contains("details") && error["details"].is_object()) {
      for (const auto& [key, value] : error["details"].items()) {
        status =
            status.WithDetail(key, value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    return status;
  }
  std::string snippet = body.substr(0, kErrorSnippetChars);
  for (char& c : snippet) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::string message = "HTTP " + std::to_string(http_status);
  if (!snippet.empty()) message += ": " + snippet;
  return Status(by_http, std::move(message));
}

Status ErrorFromCurl(CURLcode code, const char* error_buffer, const std::string& base_url) {
  const std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
      return Status::Unavailable("cannot reach Swan at " + base_url + ": " + reason);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument("invalid Swan URL " + base_url + ": " + reason);
    default:
      return Status::Unavailable("request to Swan at " + base_url + " failed: " + reason);
  }
}

// One HTTP exchange. Exactly one of json_body / upload may be set (or neither).
struct Exchange {
  const char* method = "GET";
  std::string url;
  const std::string* json_body = nullptr;
  UploadSource* upload = nullptr;
  BodySink* sink = nullptr;
};

// Performs the exchange; on success returns the HTTP status (any value, 2xx or not). Transport
// failures and failures of our own callbacks become a Status.
Result<long> Perform(const Exchange& exchange, const std::string& base_url,
                     const std::string& token) {
  GlobalInitOnce();
  CurlPtr curl(curl_easy_init());
  if (!curl) return Status::Internal("cannot initialise libcurl");
  CURL* c = curl.get();
  exchange.sink->curl = c;

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_URL, exchange.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "swan-cli/" SWAN_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, exchange.sink);

  curl_slist* raw_headers = nullptr;
  std::string auth;
  if (!token.empty()) {
    auth = "Authorization: Bearer " + token;
    raw_headers = curl_slist_append(raw_headers, auth.c_str());
  }
  raw_headers = curl_slist_append(raw_headers, "Accept: application/json, */*");

  const std::string method = exchange.method;
  if (exchange.json_body != nullptr) {
    raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, exchange.json_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(exchange.json_body->size()));
  } else if (exchange.upload != nullptr) {
    raw_headers = curl_slist_append(raw_headers, "Content-Type: application/octet-stream");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadBody);
    // curl's largest upload buffer: 8x fewer read/send calls than the 64 KiB default.
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
    curl_easy_setopt(c, CURLOPT_READDATA, exchange.upload);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &SeekBody);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, exchange.upload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(exchange.upload->size));
  } else if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
  if (method == "DELETE") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  SlistPtr headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode rc = curl_easy_perform(c);
  long http_status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);

  if (exchange.upload != nullptr && exchange.upload->read_failed) {
    return Status::Internal(std::string("cannot read the file being uploaded: ") +
                            std::strerror(exchange.upload->read_errno));
  }
  if (exchange.sink->write_failed) {
    return Status::Internal(std::string("cannot write the downloaded file: ") +
                            std::strerror(exchange.sink->write_errno));
  }
  if (exchange.sink->overflow) {
    return Status::Internal(
        "the answer of " + exchange.url + " exceeds the client limit of " +
        std::to_string(exchange.sink->file ? kErrorBodyBytesMax : kResponseBytesMax) + " bytes");
  }
  if (rc != CURLE_OK) {
    // A server may answer an upload early (401, 413 ...) and close the connection while the body
    // is still being sent; its answer is more useful than the transport error.
    if (http_status >= 400 && !exchange.sink->memory.empty()) return http_status;
    return ErrorFromCurl(rc, error_buffer, base_url);
  }
  return http_status;
}

Result<json> ParseJsonAnswer(const std::string& body, const std::string& what) {
  if (body.empty()) return json::object();
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::Internal("the server answered " + what + " with invalid JSON");
  }
  return parsed;
}

bool IsSuccess(long http_status) { return http_status >= 200 && http_status < 300; }

// sendfile needs the socket to the server itself: plain http, no proxy in between. It can be
// turned off with SWAN_NO_SENDFILE=1 (uploads then go through libcurl's read callback).
bool SendfileUsable(const std::string& base_url) {
  if (base_url.rfind("http://", 0) != 0) return false;
  for (const char* name : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return false;
  }
  const char* off = std::getenv("SWAN_NO_SENDFILE");
  return off == nullptr || std::string(off) == "0" || *off == '\0';
}

// An upload to a plain-http server without a proxy: libcurl connects (same resolution, timeout
// and errors as every other call) and hands over the socket; the request goes out with sendfile.
Result<RawAnswer> SendfileUpload(const std::string& base_url, const std::string& path,
                                 const std::string& token, int file_fd, uint64_t size,
                                 const ProgressFn& progress) {
  GlobalInitOnce();
  CurlPtr curl(curl_easy_init());
  if (!curl) return Status::Internal("cannot initialise libcurl");
  CURL* c = curl.get();
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const std::string url = base_url + path;
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return ErrorFromCurl(rc, error_buffer, base_url);
  curl_socket_t sock = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)
    return Status::Internal("libcurl connected to " + base_url + " but gave no socket");

  const std::string authority_and_prefix = base_url.substr(std::strlen("http://"));
  const size_t slash = authority_and_prefix.find('/');
  std::string host = authority_and_prefix.substr(0, slash);
  if (const size_t at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
  const std::string prefix = slash == std::string::npos ? "" : authority_and_prefix.substr(slash);
  std::string head = "POST " + prefix + path + " HTTP/1.1\r\nHost: " + host +
                     "\r\nUser-Agent: swan-cli/" SWAN_VERSION
                     "\r\nAccept: application/json, */*\r\n";
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  head += "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(size) +
          "\r\nConnection: close\r\n\r\n";
  return SendFileRequest(static_cast<int>(sock), head, file_fd, size, progress, kResponseBytesMax);
}

}  // namespace

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

ApiClient::ApiClient(std::string base_url, std::string token)
    : base_url_(std::move(base_url)), token_(std::move(token)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<json> ApiClient::Get(const std::string& path) const {
  BodySink sink;
  ASSIGN_OR_RETURN(
      long http_status,
      Perform({.method = "GET", .url = base_url_ + path, .sink = &sink}, base_url_, token_));
  if (!IsSuccess(http_status)) return ErrorFromAnswer(http_status, sink.memory);
  return ParseJsonAnswer(sink.memory, "GET " + path);
}

Result<json> ApiClient::Post(const std::string& path, const json& body) const {
  const std::string text = body.dump();
  BodySink sink;
  ASSIGN_OR_RETURN(
      long http_status,
      Perform({.method = "POST", .url = base_url_ + path, .json_body = &text, .sink = &sink},
              base_url_, token_));
  if (!IsSuccess(http_status)) return ErrorFromAnswer(http_status, sink.memory);
  return ParseJsonAnswer(sink.memory, "POST " + path);
}

Result<std::string> ApiClient::PostText(const std::string& path, const json& body) const {
  const std::string text = body.dump();
  BodySink sink;
  ASSIGN_OR_RETURN(
      long http_status,
      Perform({.method = "POST", .url = base_url_ + path, .json_body = &text, .sink = &sink},
              base_url_, token_));
  if (!IsSuccess(http_status)) return ErrorFromAnswer(http_status, sink.memory);
  return std::move(sink.memory);
}

Result<json> ApiClient::Delete(const std::string& path) const {
  BodySink sink;
  ASSIGN_OR_RETURN(
      long http_status,
      Perform({.method = "DELETE", .url = base_url_ + path, .sink = &sink}, base_url_, token_));
  if (!IsSuccess(http_status)) return ErrorFromAnswer(http_status, sink.memory);
  if (http_status == 204) return json::object();
  return ParseJsonAnswer(sink.memory, "DELETE " + path);
}

Result<json> ApiClient::Upload(const std::string& path_with_query, const std::string& file_path,
                               const ProgressFn& progress) const {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file_path, ec)) {
    return Status::InvalidArgument("cannot upload " + file_path + ": not a regular file");
  }
  const uint64_t size = std::filesystem::file_size(file_path, ec);
  if (ec) return Status::InvalidArgument("cannot read " + file_path + ": " + ec.message());
  FilePtr file(std::fopen(file_path.c_str(), "rb"));
  if (!file) {
    return Status::InvalidArgument("cannot open " + file_path + ": " + std::strerror(errno));
  }
  if (SendfileUsable(base_url_)) {
    ASSIGN_OR_RETURN(RawAnswer answer, SendfileUpload(base_url_, path_with_query, token_,
                                                      fileno(file.get()), size, progress));
    if (!IsSuccess(answer.status)) return ErrorFromAnswer(answer.status, answer.body);
    return ParseJsonAnswer(answer.body, "the upload of " + file_path);
  }
  UploadSource source{.file = file.get(), .size = size, .progress = &progress};
  BodySink sink;
  ASSIGN_OR_RETURN(
      long http_status,
      Perform(
          {.method = "POST", .url = base_url_ + path_with_query, .upload = &source, .sink = &sink},
          base_url_, token_));
  if (!IsSuccess(http_status)) return ErrorFromAnswer(http_status, sink.memory);
  return ParseJsonAnswer(sink.memory, "the upload of " + file_path);
}

Result<uint64_t> ApiClient::Download(const std::string& path_with_query,
                                     const std::string& out_path,
                                     const ProgressFn& progress) const {
  const bool to_stdout = out_path == "-";
  const std::string part_path = out_path + ".part";
  FilePtr owned;
  FILE* out = stdout;
  if (!to_stdout) {
    owned.reset(std::fopen(part_path.c_str(), "wb"));
    if (!owned) {
      return Status::InvalidArgument("cannot create " + part_path + ": " + std::strerror(errno));
    }
    out = owned.get();
  }
  auto fail = [&](Status status) -> Status {
    if (!to_stdout) {
      owned.reset();
      std::remove(part_path.c_str());
    }
    return status;
  };

  BodySink sink;
  sink.file = out;
  sink.progress = &progress;
  Result<long> performed = Perform(
      {.method = "GET", .url = base_url_ + path_with_query, .sink = &sink}, base_url_, token_);
  if (!performed.ok()) return fail(performed.status());
  const long http_status = *performed;
  if (!IsSuccess(http_status)) return fail(ErrorFromAnswer(http_status, sink.memory));

  if (to_stdout) {
    if (std::fflush(stdout) != 0) {
      return Status::Internal(std::string("cannot write to stdout: ") + std::strerror(errno));
    }
    return sink.written;
  }
  FILE* raw = owned.release();
  if (std::fflush(raw) != 0 || std::ferror(raw)) {
    const int err = errno;
    std::fclose(raw);
    std::remove(part_path.c_str());
    return Status::Internal("cannot write " + part_path + ": " + std::strerror(err));
  }
  if (std::fclose(raw) != 0) {
    const int err = errno;
    std::remove(part_path.c_str());
    return Status::Internal("cannot write " + part_path + ": " + std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(part_path, out_path, ec);
  if (ec) {
    std::remove(part_path.c_str());
    return Status::Internal("cannot rename " + part_path + " to " + out_path + ": " + ec.message());
  }
  return sink.written;
}

}  // namespace swan::client
