#include "api/request_limits.h"

#include <utility>

namespace swan::api {

HeavyRequestLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), token_id_(other.token_id_) {}

HeavyRequestLimiter::Slot& HeavyRequestLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (limiter_) limiter_->Release(token_id_);
    limiter_ = std::exchange(other.limiter_, nullptr);
    token_id_ = other.token_id_;
  }
  return *this;
}

HeavyRequestLimiter::Slot::~Slot() {
  if (limiter_) limiter_->Release(token_id_);
}

HeavyRequestLimiter::Slot HeavyRequestLimiter::TryAcquire(int64_t token_id, Refusal* refusal) {
  std::lock_guard lock(mu_);
  int& mine = per_token_[token_id];
  if (mine >= kHeavyPerTokenMax) {
    *refusal = {429, "this token already runs " + std::to_string(mine) +
                         " SQL queries or uploads (at most " + std::to_string(kHeavyPerTokenMax) +
                         " at once): retry when one has finished"};
    return Slot();
  }
  if (total_ >= kHeavyMax) {
    if (mine == 0) per_token_.erase(token_id);
    *refusal = {503, "the server already runs " + std::to_string(total_) +
                         " SQL queries or uploads (at most " + std::to_string(kHeavyMax) +
                         " at once): retry shortly"};
    return Slot();
  }
  ++mine;
  ++total_;
  return Slot(this, token_id);
}

int HeavyRequestLimiter::in_use() const {
  std::lock_guard lock(mu_);
  return total_;
}

void HeavyRequestLimiter::Release(int64_t token_id) {
  std::lock_guard lock(mu_);
  auto it = per_token_.find(token_id);
  if (it != per_token_.end() && --it->second <= 0) per_token_.erase(it);
  --total_;
}

}  // namespace swan::api
