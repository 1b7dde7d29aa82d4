#include "connectors/http_file_extractor.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "common/file_format.h"
#include "connectors/db_extractor_config.h"  // FieldError, Text

namespace swan::connectors {
namespace {

using nlohmann::json;

// The path of a URL, without query or fragment: what names the file's format.
std::string UrlPath(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : url.find('/', start + 3);
  if (start == std::string::npos) return "";
  const size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

struct Transfer {
  std::FILE* file = nullptr;
  int64_t bytes = 0;
  int64_t max_bytes = 0;
  bool too_large = false;
  const ExtractorIo* io = nullptr;
  bool cancelled = false;
  std::string retry_after;
  std::string content_encoding;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->io->cancel && t->io->cancel->load()) {
    t->cancelled = true;
    return 0;  // aborts the transfer
  }
  if (t->max_bytes > 0 && t->bytes + static_cast<int64_t>(n) > t->max_bytes) {
    t->too_large = true;
    return 0;
  }
  if (std::fwrite(data, 1, n, t->file) != n) return 0;
  t->bytes += static_cast<int64_t>(n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    if (name == "retry-after") t->retry_after = value;
    if (name == "content-encoding") t->content_encoding = value;
  }
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// The first bytes of an error answer, for the message (never more than a line's worth).
std::string Excerpt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(200, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return text;
}

}  // namespace

Result<DownloadedTable> RunHttpFileExtractor(const json& config, const ExtractorIo& io,
                                             const HttpFileOptions& options) {
  const json p = config.value("parameters", json::object());
  if (!p.is_object()) return FieldError("", "parameters must be an object");
  const std::string url = Text(p, "url");
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return FieldError("url", "must be an http:// or https:// URL");
  const std::string output_table = Text(p, "outputTable");
  if (output_table.empty()) return FieldError("outputTable", "is required");
  if (output_table.find('/') != std::string::npos || output_table.find("..") != std::string::npos)
    return FieldError("outputTable", "is a table id like in.c-http.data");

  DownloadedTable out;
  std::string format = Text(p, "format");
  const auto from_name = FormatFromFileName(UrlPath(url));
  if (format.empty()) format = from_name ? from_name->format : "csv";
  if (format == "tsv") {
    format = "csv";
    out.delimiter = "\t";
  } else if (format.empty() || format == "csv") {
    format = "csv";
    if (from_name && from_name->format == "csv") out.delimiter = from_name->delimiter;
  } else if (format == "ndjson") {
    format = "jsonl";
  } else if (format != "jsonl" && format != "json" && format != "parquet") {
    return FieldError("format", "must be csv, tsv, jsonl, json or parquet");
  }
  out.format = format;
  out.mapping = {{"source", output_table},
                 {"destination", output_table},
                 {"incremental", p.value("incremental", false)},
                 {"primary_key", p.value("primaryKey", json::array())}};
  const int64_t max_bytes = p.value("maxBytes", int64_t{0});
  const int retries = static_cast<int>(std::clamp<int64_t>(p.value("retries", int64_t{3}), 0, 10));

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  if (p.contains("headers")) {
    if (!p["headers"].is_object()) return FieldError("headers", "must be an object of strings");
    for (const auto& [name, value] : p["headers"].items()) {
      if (!value.is_string()) return FieldError("headers." + name, "must be a string");
      const std::string header = name.starts_with('#') ? name.substr(1) : name;
      if (header.empty() || header.find_first_of(":\r\n") != std::string::npos ||
          value.get<std::string>().find_first_of("\r\n") != std::string::npos)
        return FieldError("headers", "a header name or value is malformed: " + header);
      add_header(header + ": " + value.get<std::string>());
    }
  }
  std::string user, password;
  if (p.contains("auth")) {
    const json& auth = p["auth"];
    const std::string type = auth.is_object() ? Text(auth, "type") : "";
    if (type == "basic") {
      user = Text(auth, "user");
      password = Text(auth, "#password");
    } else if (type == "bearer") {
      if (Text(auth, "#token").empty()) return FieldError("auth.#token", "is required");
      add_header("Authorization: Bearer " + Text(auth, "#token"));
    } else {
      return FieldError("auth.type", "must be basic or bearer");
    }
  }
  // Ask for gzip: it is kept compressed and checked to its end by the load.
  add_header("Accept-Encoding: gzip");

  const std::string base = io.out_dir + "/tables/" + output_table;
  const std::string partial = base + ".download";
  for (int attempt = 0;; ++attempt) {
    Transfer t;
    t.io = &io;
    t.max_bytes = max_bytes;
    t.file = std::fopen(partial.c_str(), "wb");
    if (!t.file) return Status::Internal("cannot write " + partial);
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
      std::fclose(t.file);
      return Status::Internal("libcurl could not start");
    }
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30'000L);
    // A transfer that stalls (under 1 byte/s for 60 s) fails instead of holding the job.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, p.value("stallSeconds", 60L));
    if (io.timeout_ms > 0)
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(io.timeout_ms));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "Swan-HttpExtractor/1.0");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (!user.empty() || !password.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode code = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const bool closed = std::fclose(t.file) == 0;
    if (t.cancelled) return Status(StatusCode::kCancelled, "cancelled during the download");
    if (t.too_large) {
      return FieldError("maxBytes", "the body of " + url + " is larger than " +
                                        std::to_string(max_bytes) + " bytes");
    }
    const bool retryable = code == CURLE_OK && (status == 429 || status >= 500);
    if (code != CURLE_OK || retryable) {
      const std::string why = code != CURLE_OK
                                  ? std::string(errbuf[0] ? errbuf : curl_easy_strerror(code))
                                  : "HTTP " + std::to_string(status) + ": " + Excerpt(partial);
      const bool transient = retryable || code == CURLE_COULDNT_CONNECT ||
                             code == CURLE_OPERATION_TIMEDOUT || code == CURLE_RECV_ERROR ||
                             code == CURLE_PARTIAL_FILE || code == CURLE_GOT_NOTHING;
      if (transient && attempt < retries) {
        int64_t wait_ms = int64_t{1000} << attempt;
        if (!t.retry_after.empty() &&
            std::all_of(t.retry_after.begin(), t.retry_after.end(), ::isdigit))
          wait_ms = std::min<int64_t>(std::stoll(t.retry_after) * 1000, 60'000);
        Log(io.log, LogLevel::kWarning,
            "GET " + url + " failed (" + why + "); retrying in " + std::to_string(wait_ms) + " ms");
        if (options.sleep) {
          options.sleep(wait_ms);
        } else {
          for (int64_t waited = 0; waited < wait_ms; waited += 100) {
            if (io.cancel && io.cancel->load())
              return Status(StatusCode::kCancelled, "cancelled while waiting to retry");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }
        continue;
      }
      std::remove(partial.c_str());
      return Status::Unavailable("GET " + url + " failed: " + why);
    }
    if (status >= 400) {
      const std::string excerpt = Excerpt(partial);
      std::remove(partial.c_str());
      return Status::InvalidArgument("GET " + url + " answered HTTP " + std::to_string(status) +
                                     (excerpt.empty() ? "" : ": " + excerpt))
          .WithDetail("field", "parameters.url");
    }
    if (!closed) return Status::Internal("cannot write " + partial);
    out.bytes = t.bytes;
    // The load tells gzip by its magic bytes; the name keeps the format readable in messages.
    const bool gzip = t.content_encoding == "gzip" || (from_name && from_name->gzip);
    out.path =
        base + "." + (format == "jsonl" ? std::string("jsonl") : format) + (gzip ? ".gz" : "");
    if (std::rename(partial.c_str(), out.path.c_str()) != 0)
      return Status::Internal("cannot name the download " + out.path);
    Log(io.log, LogLevel::kInfo,
        "downloaded " + std::to_string(t.bytes) + " bytes (" + format + (gzip ? ", gzip" : "") +
            ") from " + url);
    return out;
  }
}

}  // namespace swan::connectors
