// Bounds on concurrent heavy requests: SQL queries, imports, and any request whose body streams
// in after the head (larger than what the transport pre-reads, or chunked).
//
// Heavy requests can take minutes (a query's timeout_ms goes up to an hour; an upload lasts as
// long as its sender makes it). Without a bound, one token with a few connections held every
// worker and stalled every other tenant (issue 8, 10b). A token may run kHeavyPerTokenMax heavy
// requests at once and the server kHeavyMax in all, well below the worker count
// (api/buffered_http_server.h: kWorkerThreads), so light requests always find a worker.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/limits.h"

namespace swan::api {

constexpr int kHeavyPerTokenMax = limits::kHeavyRequestsPerTokenMax;
constexpr int kHeavyMax = limits::kHeavyRequestsMax;
// What a refused client is told to wait (the Retry-After header), in seconds.
constexpr int kHeavyRetryAfterSeconds = limits::kRetryAfterSecondsDefault;

class HeavyRequestLimiter {
 public:
  // A held slot; released on destruction (or never taken: ok() false).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();
    bool ok() const { return limiter_ != nullptr; }

   private:
    friend class HeavyRequestLimiter;
    Slot(HeavyRequestLimiter* limiter, int64_t token_id) : limiter_(limiter), token_id_(token_id) {}
    HeavyRequestLimiter* limiter_ = nullptr;
    int64_t token_id_ = 0;
  };

  struct Refusal {
    int http_status = 0;  // 429: this token has too many; 503: the server has too many
    std::string message;
  };

  // A slot for one heavy request of `token_id`, or (slot not ok) why not in `refusal`.
  // Thread-safe.
  Slot TryAcquire(int64_t token_id, Refusal* refusal);

  int in_use() const;

 private:
  void Release(int64_t token_id);

  mutable std::mutex mu_;
  std::map<int64_t, int> per_token_;  // guarded by mu_; only tokens holding slots
  int total_ = 0;                     // guarded by mu_
};

}  // namespace swan::api
