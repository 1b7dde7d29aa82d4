#include "client/sendfile_request.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace swan::client {
namespace {

// Bytes per sendfile call: progress is reported between calls.
constexpr size_t kSendfileChunkBytes = 8 << 20;

// Waits until the socket is writable (or readable: the server may answer early). Returns the
// poll revents, 0 on error.
short WaitFor(int sock, short events) {
  pollfd p{sock, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 ? p.revents : 0;
  }
}

bool EarlyAnswerWaiting(int sock) {
  pollfd p{sock, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

// Sends all of `data`; false when the connection failed (errno set) or an answer came first.
bool SendAll(int sock, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(sock, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      short ev = WaitFor(sock, POLLOUT | POLLIN);
      if ((ev & POLLIN) && !(ev & POLLOUT)) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<std::string> Dechunk(const std::string& bytes, size_t at) {
  std::string out;
  for (;;) {
    size_t eol = bytes.find("\r\n", at);
    if (eol == std::string::npos) return Status::Internal("truncated chunked answer from Swan");
    uint64_t len = 0;
    auto [end, ec] = std::from_chars(bytes.data() + at, bytes.data() + eol, len, 16);
    if (ec != std::errc() || end == bytes.data() + at)
      return Status::Internal("malformed chunked answer from Swan");
    at = eol + 2;
    if (len == 0) return out;
    if (len > bytes.size() || bytes.size() - at < len + 2)
      return Status::Internal("truncated chunked answer from Swan");
    out.append(bytes, at, len);
    at += len + 2;
  }
}

bool AnswerComplete(const std::string& bytes) {
  const size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const std::string head = Lower(bytes.substr(0, head_end));
  const bool framed = head.find("\r\ncontent-length:") != std::string::npos ||
                      head.find("\r\ntransfer-encoding:") != std::string::npos;
  return framed && ParseHttpAnswer(bytes).ok();
}

}  // namespace

Result<RawAnswer> ParseHttpAnswer(const std::string& bytes) {
  const size_t head_end = bytes.find("\r\n\r\n");
  if (bytes.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos)
    return Status::Unavailable("Swan closed the connection without a complete answer");
  RawAnswer answer;
  const size_t sp = bytes.find(' ');
  if (sp == std::string::npos || sp >= head_end)
    return Status::Internal("malformed status line from Swan: " + bytes.substr(0, 40));
  auto [end, ec] = std::from_chars(bytes.data() + sp + 1, bytes.data() + head_end, answer.status);
  if (ec != std::errc())
    return Status::Internal("malformed status line from Swan: " + bytes.substr(0, 40));
  bool chunked = false;
  int64_t content_length = -1;
  for (size_t line = bytes.find("\r\n") + 2; line < head_end;) {
    size_t eol = bytes.find("\r\n", line);
    std::string header = bytes.substr(line, eol - line);
    line = eol + 2;
    size_t colon = header.find(':');
    if (colon == std::string::npos) continue;
    std::string name = Lower(header.substr(0, colon));
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (name == "transfer-encoding" && Lower(value).find("chunked") != std::string::npos)
      chunked = true;
    if (name == "content-length")
      std::from_chars(value.data(), value.data() + value.size(), content_length);
  }
  const size_t body_at = head_end + 4;
  if (chunked) {
    ASSIGN_OR_RETURN(answer.body, Dechunk(bytes, body_at));
  } else if (content_length >= 0) {
    if (bytes.size() - body_at < static_cast<uint64_t>(content_length))
      return Status::Unavailable("Swan closed the connection in the middle of its answer");
    answer.body = bytes.substr(body_at, static_cast<size_t>(content_length));
  } else {
    answer.body = bytes.substr(body_at);
  }
  return answer;
}

Result<RawAnswer> SendFileRequest(int sock, const std::string& head, int file_fd, uint64_t size,
                                  const ProgressFn& progress, size_t answer_bytes_max) {
  bool sending = SendAll(sock, head.data(), head.size());
  int send_errno = sending ? 0 : errno;
  off_t offset = 0;
  while (sending && static_cast<uint64_t>(offset) < size) {
    if (EarlyAnswerWaiting(sock)) break;  // the server answered before reading the whole body
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kSendfileChunkBytes, size - offset));
    ssize_t n = ::sendfile(sock, file_fd, &offset, want);
    if (n > 0) {
      if (progress) progress(static_cast<uint64_t>(offset), size);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      WaitFor(sock, POLLOUT | POLLIN);
    } else if (n == 0) {
      return Status::InvalidArgument("the file being uploaded shrank while it was sent");
    } else {
      send_errno = errno;
      sending = false;
    }
  }

  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(sock, buffer, sizeof(buffer), 0);
    if (n > 0) {
      bytes.append(buffer, static_cast<size_t>(n));
      if (bytes.size() > answer_bytes_max)
        return Status::Internal("the answer exceeds the client limit of " +
                                std::to_string(answer_bytes_max) + " bytes");
      // Done once the answer is complete by its own framing: a proxy in between may keep the
      // connection open despite Connection: close.
      if (AnswerComplete(bytes)) break;
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitFor(sock, POLLIN);
    } else {
      if (bytes.empty()) send_errno = send_errno ? send_errno : errno;
      break;
    }
  }
  if (bytes.empty() && send_errno != 0)
    return Status::Unavailable(std::string("the connection to Swan failed during the upload: ") +
                               std::strerror(send_errno));
  return ParseHttpAnswer(bytes);
}

}  // namespace swan::client
