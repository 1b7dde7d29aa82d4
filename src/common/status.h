// Errors as values: every fallible call across a module boundary returns Status or Result<T>.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace swan {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kConflict,
  kPayloadTooLarge,
  kUnavailable,
  kInternal,
  kCancelled,
};

// The one mapping of codes to the outside world: wire names ("invalid_argument", ...), HTTP
// statuses (API) and process exit codes (CLI).
//
// Exit codes: 1 = the caller's input or rights are at fault and the same request would fail again
// (invalid_argument, unauthorized, forbidden, not_found, conflict, payload_too_large); 2 = the
// server or the engine could not do it, so a retry later may succeed (unavailable, internal,
// cancelled). A full disk, an engine out of memory or a lost connection is never exit 1.
//
// cancelled (HTTP 499, exit 2): the work was stopped from outside before it finished (an
// interrupted engine query: a shutdown, a client that went away). 499 is the code nginx and gRPC's
// HTTP mapping use for a cancelled request; 408 was not taken because clients (browsers, several
// HTTP libraries) silently resend a request answered 408. A query stopped by its own time limit is
// not `cancelled` but `invalid_argument` with field timeout_ms: the caller's limit decided it.
//
// unavailable (503) may carry the detail kRetryAfterSecondsDetail; the API sends it as the
// Retry-After header.
const char* StatusCodeName(StatusCode code);
StatusCode StatusCodeFromName(const std::string& name, StatusCode fallback);
int HttpStatusFor(StatusCode code);
StatusCode StatusCodeFromHttp(long http_status);
int ExitCodeFor(StatusCode code);

// Detail of an `unavailable` Status: whole seconds after which a retry is worth it.
inline constexpr const char* kRetryAfterSecondsDetail = "retry_after_seconds";

// A Status is OK (no allocation) or a code + message + optional string details
// (file, line, column, field ...). Cheap to move, copyable. [[nodiscard]]: every error is handled
// or explicitly dropped with (void) and a reason.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Unauthorized(std::string m) { return {StatusCode::kUnauthorized, std::move(m)}; }
  static Status Forbidden(std::string m) { return {StatusCode::kForbidden, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status PayloadTooLarge(std::string m) {
    return {StatusCode::kPayloadTooLarge, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& message() const;
  const std::map<std::string, std::string>& details() const;

  // A copy with a detail added (e.g. "line" -> "12"). OK stays OK.
  [[nodiscard]] Status WithDetail(const std::string& key, std::string value) const;
  // A copy whose message is prefixed with context ("importing orders.csv: ...").
  [[nodiscard]] Status Prefix(const std::string& context) const;

  std::string ToString() const;

 private:
  struct State {
    StatusCode code;
    std::string message;
    std::map<std::string, std::string> details;
  };
  std::shared_ptr<State> state_;
};

// Result<T>: a value or a non-OK Status (GCC 12 has no std::expected).
//
// A Result built from an OK Status is a programming error. In every build type it becomes an
// `internal` error ("Result constructed from OK status") rather than an abort: the invariant
// "!ok() means a non-OK status()" holds, so ASSIGN_OR_RETURN can never return OK without a value,
// and one faulty request path answers 500 instead of taking down every tenant's server.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status)                      // NOLINT: implicit by design
      : v_(status.ok() ? Status::Internal("Result constructed from OK status")
                       : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace swan

#define SWAN_CONCAT_INNER(a, b) a##b
#define SWAN_CONCAT(a, b) SWAN_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)            \
  do {                                   \
    ::swan::Status _swan_st = (expr);    \
    if (!_swan_st.ok()) return _swan_st; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SWAN_CONCAT(_swan_r_, __LINE__), lhs, expr)
