#include "common/status.h"

namespace swan {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kUnauthorized: return "unauthorized";
    case StatusCode::kForbidden: return "forbidden";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kPayloadTooLarge: return "payload_too_large";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
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
