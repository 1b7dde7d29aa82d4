#include "common/clock.h"

#include <chrono>

namespace swan {

namespace {
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};
}  // namespace

Clock& Clock::System() {
  static SystemClock* clock = new SystemClock();  // never destroyed: used by static objects too
  return *clock;
}

}  // namespace swan
