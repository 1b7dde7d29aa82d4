// The clock, behind an interface (LevelDB's Env is the model): token expiry, retention, event
// times and (later) schedules read time only through a Clock, so tests drive time with a
// FakeClock instead of sleeping.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace swan {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: Unix epoch milliseconds (UTC).
  virtual int64_t NowMs() const = 0;
  // The process-wide real clock (never destroyed).
  static Clock& System();
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void AdvanceMs(int64_t ms) { now_ms_ += ms; }
  void SetMs(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace swan
