#include "connectors/rest_client.h"

#include <algorithm>
#include <cstring>

namespace swan::connectors {

namespace {

std::string Lower(std::string s) {
  s = AsciiLower(s);
  return s;
}

bool HasHeader(const HeaderList& headers, const std::string& name) {
  std::string want = Lower(name);
  for (const auto& h : headers) {
    if (Lower(h.first) == want) return true;
  }
  return false;
}

std::string ReasonPhrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: the configuration's URL is at fault.
bool IsUrlError(long curl_code) { return curl_code == 1 || curl_code == 3; }

std::string Excerpt(const std::string& body) {
  std::string s = SanitizeUtf8(body.substr(0, 300));
  if (body.size() > 300) s += " (truncated...)";
  return s;
}

}  // namespace

namespace {

// The length of the valid UTF-8 sequence at s[i] (1-4), or 0: overlong forms, surrogates,
// code points past U+10FFFF and truncated sequences are invalid.
size_t Utf8SequenceAt(const std::string& s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80             ? 1
             : (b & 0xE0) == 0xC0 ? 2
             : (b & 0xF0) == 0xE0 ? 3
             : (b & 0xF8) == 0xF0 ? 4
                                  : 0;
  if (n == 0 || i + n > s.size()) return 0;
  if (n == 1) return 1;
  uint32_t cp = b & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return n;
}

// The end of the run of valid UTF-8 from `i` (ASCII eight bytes at a time).
size_t ValidUtf8Until(const std::string& s, size_t i) {
  while (i < s.size()) {
    while (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    size_t n = Utf8SequenceAt(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

}  // namespace

std::string SanitizeUtf8(const std::string& s) {
  // Invalid bytes are dropped, valid runs copied whole.
  size_t end = ValidUtf8Until(s, 0);
  if (end == s.size()) return s;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    end = ValidUtf8Until(s, i);
    out.append(s, i, end - i);
    i = end + 1;  // the invalid byte (or past the end)
  }
  return out;
}

RestClient::RestClient(RestClientOptions options)
    : options_(std::move(options)), fetcher_(options_.http) {}

RestRequest RestClient::CreateRequest(const Json& config_in, bool apply_defaults) const {
  Json config = config_in;
  if (apply_defaults && !PhpEmpty(options_.default_request_options)) {
    config = ArrayReplaceRecursive(options_.default_request_options, config);
  }
  RestRequest r;
  if (!config.contains("endpoint") || !config["endpoint"].is_string()) {
    throw ExtractorError("The \"endpoint\" property must be specified in request as a string.");
  }
  r.endpoint = config["endpoint"].get<std::string>();
  if (config.contains("params") && !PhpEmpty(config["params"])) {
    if (!config["params"].is_object() && !config["params"].is_array()) {
      throw ExtractorError("The \"params\" property must be an array.");
    }
    r.params = config["params"];
  }
  if (config.contains("headers") && !PhpEmpty(config["headers"])) {
    if (!config["headers"].is_object()) {
      throw ExtractorError("The \"headers\" property must be an array.");
    }
    r.headers = config["headers"];
  }
  if (config.contains("method") && !PhpEmpty(config["method"])) {
    std::string m = config["method"].is_string() ? config["method"].get<std::string>() : "";
    m = AsciiUpper(m);
    if (m != "GET" && m != "POST" && m != "FORM") {
      throw ExtractorError("The \"method\" property must be on of \"GET\", \"POST\", \"FORM\".");
    }
    r.method = m;
  }
  return r;
}

HttpRequest RestClient::BuildHttpRequest(const RestRequest& request) const {
  HttpRequest http;
  for (auto it = request.headers.begin(); it != request.headers.end(); ++it) {
    http.headers.emplace_back(it.key(), PhpToString(*it));
  }
  std::string endpoint = request.endpoint;
  if (request.method == "GET") {
    http.method = "GET";
    endpoint = BuildUrlWithQuery(endpoint, request.params);
  } else if (request.method == "POST") {
    http.method = "POST";
    http.body = PhpJsonEncode(
        request.params.is_object() && request.params.empty() ? Json::array() : request.params);
    http.headers.emplace_back("Content-Type", "application/json");
  } else {
    http.method = "POST";
    http.body = HttpBuildQuery(request.params);
    http.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }
  http.url = ResolveUrl(options_.base_url, endpoint);
  for (auto it = options_.default_headers.begin(); it != options_.default_headers.end(); ++it) {
    if (!HasHeader(http.headers, it.key())) http.headers.emplace_back(it.key(), PhpToString(*it));
  }
  return http;
}

namespace {

// How deep arrays and objects nest in `text` (strings skipped; malformed text gives some
// number, and the parser reports the error).
int MaxNesting(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Json RestClient::DecodeJson(const std::string& body, const std::string& url) {
  // A valid body (every API's) is parsed as it is, not copied.
  std::string sanitized;
  const bool valid = ValidUtf8Until(body, 0) == body.size();
  if (!valid) sanitized = SanitizeUtf8(body);
  const std::string& clean = valid ? body : sanitized;
  // No parser event is deeper than the nesting: a shallow answer (every API's) is parsed
  // without the per-event depth callback, which costs a third of the parse.
  if (MaxNesting(clean) <= kMaxJsonDepth) {
    try {
      return Json::parse(clean);
    } catch (const Json::exception& e) {
      throw ExtractorError("Invalid JSON response from API (" + url + "): " + e.what() +
                           "; body: " + Excerpt(body));
    }
  }
  // PHP's json_decode refuses more than 512 levels; the flattener and the hashing recurse
  // over the value, so a deeper answer is refused here, before it can exhaust the stack.
  bool too_deep = false;
  auto depth_limit = [&too_deep](int depth, nlohmann::detail::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  try {
    Json value = Json::parse(clean, depth_limit);
    if (too_deep) {
      throw ExtractorError("Invalid JSON response from API (" + url +
                           "): Maximum stack depth exceeded (" + std::to_string(kMaxJsonDepth) +
                           " levels)");
    }
    return value;
  } catch (const Json::exception& e) {
    throw ExtractorError("Invalid JSON response from API (" + url + "): " + e.what() +
                         "; body: " + Excerpt(body));
  }
}

HttpResponse RestClient::SendUnsigned(const HttpRequest& request) {
  Log(options_.log, LogLevel::kDebug, request.method + " " + request.url);
  HttpResult r = fetcher_.Send(request);
  if (!r.ok) {
    throw ExtractorError(r.error + " (" + request.method + " " + request.url + ")",
                         IsUrlError(r.curl_code));
  }
  if (r.response.status >= 400) {
    throw ExtractorError(
        "The API request failed: [" + std::to_string(r.response.status) + "] " +
            (r.response.status < 500 ? "Client" : "Server") + " error: `" + request.method + " " +
            request.url + "` resulted in a `" + std::to_string(r.response.status) + " " +
            ReasonPhrase(r.response.status) + "` response: " + Excerpt(r.response.body),
        r.response.status < 500);
  }
  return r.response;
}

Json RestClient::Download(const RestRequest& request) { return Interpret(Fetch(request)); }

RestClient::Fetched RestClient::Fetch(const RestRequest& request) {
  HttpRequest http = BuildHttpRequest(request);
  // Logged before signing: the signature may carry credentials.
  Log(options_.log, LogLevel::kDebug, http.method + " " + http.url);
  if (auth_) auth_->Sign(*this, http);
  HttpResult r = fetcher_.Send(http);
  if (!r.ok) {
    throw ExtractorError(r.error + " (" + http.method + " " + http.url + ")",
                         IsUrlError(r.curl_code));
  }
  Fetched f{http.method, http.url, std::move(r.response), false};
  f.ignored = std::find(options_.ignore_errors.begin(), options_.ignore_errors.end(),
                        f.response.status) != options_.ignore_errors.end();
  return f;
}

Json RestClient::Interpret(const Fetched& f) const {
  const HttpResponse& resp = f.response;
  auto ignored_body = [&]() {
    try {
      return DecodeJson(resp.body, f.url);
    } catch (const ExtractorError& e) {
      Log(options_.log, LogLevel::kWarning, std::string("Failed to parse response ") + e.what());
      Json o = Json::object();
      o["errorData"] = SanitizeUtf8(resp.body);
      return o;
    }
  };
  if (resp.status >= 400) {
    if (f.ignored) {
      Log(options_.log, LogLevel::kWarning,
          "Failed to get response: `" + f.method + " " + f.url + "` resulted in a `" +
              std::to_string(resp.status) + "` response (ignored by http.ignoreErrors)");
      return ignored_body();
    }
    throw ExtractorError("The API request failed: [" + std::to_string(resp.status) + "] " +
                             (resp.status < 500 ? "Client" : "Server") + " error: `" + f.method +
                             " " + f.url + "` resulted in a `" + std::to_string(resp.status) + " " +
                             ReasonPhrase(resp.status) + "` response: " + Excerpt(resp.body),
                         resp.status < 500 && resp.status != 429);
  }
  if (f.ignored) {
    try {
      return DecodeJson(resp.body, f.url);
    } catch (const ExtractorError&) {
      return ignored_body();
    }
  }
  return DecodeJson(resp.body, f.url);
}

}  // namespace swan::connectors
