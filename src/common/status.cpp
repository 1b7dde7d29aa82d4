#include "common/status.h"

namespace swan {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kUnauthorized:
      return "unauthorized";
    case StatusCode::kForbidden:
      return "forbidden";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kPayloadTooLarge:
      return "payload_too_large";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kInternal:
      return "internal";
    case StatusCode::kCancelled:
      return "cancelled";
  }
  return "internal";
}

StatusCode StatusCodeFromName(const std::string& name, StatusCode fallback) {
  static constexpr StatusCode kCodes[] = {
      StatusCode::kInvalidArgument, StatusCode::kUnauthorized, StatusCode::kForbidden,
      StatusCode::kNotFound,        StatusCode::kConflict,     StatusCode::kPayloadTooLarge,
      StatusCode::kUnavailable,     StatusCode::kInternal,     StatusCode::kCancelled,
  };
  for (StatusCode code : kCodes) {
    if (name == StatusCodeName(code)) return code;
  }
  return fallback;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthorized:
      return 401;
    case StatusCode::kForbidden:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kCancelled:
      return 499;  // nginx's "client closed request", gRPC's CANCELLED (status.h says why)
  }
  return 500;
}

StatusCode StatusCodeFromHttp(long http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthorized;
    case 403:
      return StatusCode::kForbidden;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kConflict;
    case 413:
      return StatusCode::kPayloadTooLarge;
    case 499:
      return StatusCode::kCancelled;
    case 429:  // too many heavy requests of one token at once: busy, worth a retry
    case 502:
    case 503:
    case 504:
      return StatusCode::kUnavailable;
    default:
      return http_status >= 400 && http_status < 500 ? StatusCode::kInvalidArgument
                                                     : StatusCode::kInternal;
  }
}

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kUnavailable:
    case StatusCode::kInternal:
    case StatusCode::kCancelled:
      return 2;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnauthorized:
    case StatusCode::kForbidden:
    case StatusCode::kNotFound:
    case StatusCode::kConflict:
    case StatusCode::kPayloadTooLarge:
      return 1;
  }
  return 2;
}

Status::Status(StatusCode code, std::string message) {
  if (code == StatusCode::kOk) return;
  state_ = std::make_shared<State>(State{code, std::move(message), {}});
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

const std::map<std::string, std::string>& Status::details() const {
  static const std::map<std::string, std::string> kEmpty;
  return state_ ? state_->details : kEmpty;
}

Status Status::WithDetail(const std::string& key, std::string value) const {
  Status out = *this;
  if (out.state_) {
    out.state_ = std::make_shared<State>(*state_);
    out.state_->details[key] = std::move(value);
  }
  return out;
}

Status Status::Prefix(const std::string& context) const {
  Status out = *this;
  if (out.state_) {
    out.state_ = std::make_shared<State>(*state_);
    out.state_->message = context + ": " + state_->message;
  }
  return out;
}

std::string Status::ToString() const {
  if (!state_) return "ok";
  return std::string(StatusCodeName(state_->code)) + ": " + state_->message;
}

}  // namespace swan
