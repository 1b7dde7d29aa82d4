#include "api/request_head.h"

#include <algorithm>
#include <cctype>

namespace swan::api {

namespace {

// httplib's own limits (CPPHTTPLIB_REQUEST_URI_MAX_LENGTH, CPPHTTPLIB_HEADER_MAX_LENGTH).
constexpr size_t kRequestLineBytesMax = 8192;
constexpr size_t kHeaderLineBytesMax = 8192;
// 2^64 has 20 digits: 19 always fit in a uint64_t.
constexpr size_t kLengthDigitsMax = 19;

HeadScan Reject(int http_status, std::string message) {
  HeadScan out;
  out.state = HeadScan::kRejected;
  out.http_status = http_status;
  out.message = std::move(message);
  return out;
}

// RFC 9110 token characters (header names, methods).
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses the whole head (`head` ends with CRLF CRLF).
HeadScan ParseHead(std::string_view head, uint64_t body_bytes_max) {
  HeadScan out;
  out.state = HeadScan::kComplete;
  out.head.head_bytes = head.size();
  head.remove_suffix(2);  // the blank line; every line below ends with its own CRLF
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  if (request_line.size() > kRequestLineBytesMax)
    return Reject(414,
                  "request line longer than " + std::to_string(kRequestLineBytesMax) + " bytes");
  size_t method_end = request_line.find(' ');
  if (method_end == 0 || method_end == std::string_view::npos ||
      !std::all_of(request_line.begin(), request_line.begin() + method_end, IsTokenChar))
    return Reject(400, "malformed request line");
  out.head.method = std::string(request_line.substr(0, method_end));
  if (request_line.find_first_of("\r\n\t") != std::string_view::npos)
    return Reject(400, "malformed request line");

  int content_lengths = 0, transfer_encodings = 0;
  bool length_too_large = false;
  for (size_t begin = line_end + 2; begin < head.size();) {
    size_t end = head.find("\r\n", begin);
    std::string_view line = head.substr(begin, end - begin);
    begin = end + 2;
    if (line.size() > kHeaderLineBytesMax)
      return Reject(431,
                    "header line longer than " + std::to_string(kHeaderLineBytesMax) + " bytes");
    if (line.find('\r') != std::string_view::npos) return Reject(400, "header line with a bare CR");
    if (line.empty() || line[0] == ' ' || line[0] == '\t')
      return Reject(400, "folded header lines are not accepted");
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + colon, IsTokenChar))
      return Reject(400, "malformed header line");
    std::string_view name = line.substr(0, colon);
    std::string_view value = TrimSpaces(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      if (++content_lengths > 1)
        return Reject(400, "more than one Content-Length header (request smuggling)");
      if (value.empty() ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Reject(400, "Content-Length must be a non-negative decimal number");
      uint64_t length = 0;
      if (value.size() > kLengthDigitsMax) {
        length_too_large = true;
      } else {
        for (char c : value) length = length * 10 + static_cast<uint64_t>(c - '0');
        length_too_large = length > body_bytes_max;
      }
      out.head.content_length = length;
      out.head.framing = length > 0 ? BodyFraming::kLength : BodyFraming::kNone;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      if (++transfer_encodings > 1)
        return Reject(400, "more than one Transfer-Encoding header (request smuggling)");
      // httplib decodes exactly "chunked"; any other coding would be read until the connection
      // closes.
      if (!EqualsIgnoreCase(value, "chunked"))
        return Reject(400, "Transfer-Encoding must be chunked");
      out.head.framing = BodyFraming::kChunked;
    } else if (EqualsIgnoreCase(name, "Expect")) {
      out.head.expect_continue = EqualsIgnoreCase(value, "100-continue");
    }
  }
  if (content_lengths > 0 && transfer_encodings > 0)
    return Reject(400, "Content-Length together with Transfer-Encoding (request smuggling)");
  if (length_too_large)
    return Reject(413, "Content-Length larger than the limit of " + std::to_string(body_bytes_max) +
                           " bytes");
  // httplib reads bodies of POST, PUT, PATCH and DELETE only: any other body would be parsed as
  // the next request. Only POST routes stream large bodies (uploads); the others must fit in
  // what the transport reads ahead.
  const std::string& m = out.head.method;
  if (out.head.framing != BodyFraming::kNone && m != "POST") {
    if (m != "PUT" && m != "PATCH" && m != "DELETE")
      return Reject(400, "a " + m + " request has no body");
    if (out.head.framing == BodyFraming::kChunked)
      return Reject(400, "a " + m + " body needs a Content-Length");
    if (out.head.content_length > kPrereadBodyBytesMax)
      return Reject(
          413, "a " + m + " body is at most " + std::to_string(kPrereadBodyBytesMax) + " bytes");
  }
  return out;
}

}  // namespace

HeadScan ScanRequestHead(std::string_view bytes, uint64_t body_bytes_max, size_t* scanned) {
  // Find the blank line that ends the head. A line ending in a bare LF would be skipped by
  // httplib (it drops lines without CRLF) but read by other servers: refuse it as soon as seen.
  const size_t limit = std::min(bytes.size(), kRequestHeadBytesMax);
  for (size_t i = *scanned; i < limit; ++i) {
    if (bytes[i] != '\n') continue;
    if (i == 0 || bytes[i - 1] != '\r') return Reject(400, "header lines must end with CRLF");
    if (i >= 3 && bytes[i - 2] == '\n' && bytes[i - 3] == '\r')
      return ParseHead(bytes.substr(0, i + 1), body_bytes_max);
  }
  *scanned = limit;
  if (bytes.size() >= kRequestHeadBytesMax)
    return Reject(431,
                  "request head larger than " + std::to_string(kRequestHeadBytesMax) + " bytes");
  return HeadScan{};
}

}  // namespace swan::api
