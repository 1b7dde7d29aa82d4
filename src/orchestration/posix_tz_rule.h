// The POSIX TZ rule a TZif file ends with ("EST5EDT,M3.2.0,M11.1.0", "<+0530>-5:30"; RFC 8536
// section 3.3, with its extensions: hours of a transition time from -167 to 167): the offsets of
// a zone for the instants after the last transition its table lists. Slim TZif files list no
// transition past the last change of rules, so most of today's instants come from here.
//
// Thread-safety: an immutable value; const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "orchestration/zone_period.h"

namespace swan::orchestration {

class PosixTzRule {
 public:
  // invalid_argument naming what is wrong ("POSIX TZ rule 'EST5EDT,M3.2': ...").
  static Result<PosixTzRule> Parse(std::string_view text);

  // The period of this rule holding `utc_s`. A rule without daylight saving time has one period
  // for ever; with it, periods run from one transition to the next.
  ZonePeriod PeriodAt(int64_t utc_s) const;

  bool has_dst() const { return has_dst_; }
  int32_t std_offset_s() const { return std_offset_s_; }
  int32_t dst_offset_s() const { return has_dst_ ? dst_offset_s_ : std_offset_s_; }
  const std::string& text() const { return text_; }

 private:
  // Where in a year daylight saving time starts or ends: Jn (1-365, 29 February never counted),
  // n (0-365, counted), or Mm.w.d (day d of week w of month m, week 5 = the last).
  struct DateRule {
    enum class Kind { kJulianNoLeap, kZeroBased, kMonthWeekDay } kind = Kind::kMonthWeekDay;
    int day = 0;  // Jn, n
    int month = 0, week = 0, weekday = 0;
    int32_t time_s = 2 * 3600;  // local wall time of the change, default 02:00
  };
  // The local wall-clock time (seconds since 1970 of the civil calendar) of `rule` in `year`.
  static int64_t LocalTransition(int64_t year, const DateRule& rule);

  PosixTzRule() = default;
  friend class PosixTzParser;

  std::string text_;
  std::string std_name_;
  std::string dst_name_;
  int32_t std_offset_s_ = 0;
  int32_t dst_offset_s_ = 0;
  bool has_dst_ = false;
  DateRule start_;  // into daylight saving time, in standard local time
  DateRule end_;    // out of it, in daylight saving local time
};

}  // namespace swan::orchestration
