// A 5-field cron expression (minute hour day-of-month month day-of-week) with Vixie cron's
// syntax and meaning, parsed once into bit sets that answer "does this wall-clock minute match".
//
// Syntax (docs/orchestration.md): `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists
// `a,b,c` of any of these; month names JAN-DEC and day names SUN-SAT (any case, also as range
// ends); day-of-week 0-7 with both 0 and 7 meaning Sunday; and the shortcuts @yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly. Quartz's `?`, `L`, `W`, `#` and a seconds field
// are refused.
//
// Day rule (Vixie cron, cronie): when both day fields are restricted, a day matches if either
// matches; otherwise both must. A day field counts as unrestricted when it starts with `*`
// (so `*/2` is unrestricted), exactly as Vixie cron decides it.
//
// Thread-safety: an immutable value; const methods may be called from any thread.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace swan::orchestration {

// Longer expressions are refused: every valid one fits easily (a list of all 60 minutes is 170).
inline constexpr size_t kCronExpressionBytesMax = 1024;

class CronExpression {
 public:
  // invalid_argument naming the field and the token at fault, e.g.
  // "cron field 2 (hour): 25 is out of range 0-23"; also for an expression that can never fire
  // (`0 0 31 2 *`: no February has a 31st).
  static Result<CronExpression> Parse(std::string_view text);

  // The text as given (trimmed).
  const std::string& text() const { return text_; }

  bool MatchesMinute(int minute) const { return minutes_.test(minute); }
  bool MatchesHour(int hour) const { return hours_.test(hour); }
  bool MatchesMonth(int month) const { return months_.test(month); }
  // Day-of-month and day-of-week together, by the day rule above. weekday: 0 = Sunday.
  bool MatchesDay(int day_of_month, int weekday) const;

  // Vixie cron's "wildcard" job: the minute or the hour field starts with `*` (`* * * * *`,
  // `*/15 9-17 * * *`, `0 * * * *`, @hourly). Such a schedule follows the wall clock through DST
  // changes (no run in a skipped hour, runs in both passes of a repeated hour); any other is a
  // fixed-time schedule whose runs are moved or merged instead (schedule.h).
  bool wildcard() const { return wildcard_; }

 private:
  CronExpression() = default;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1-31
  std::bitset<13> months_;         // 1-12
  std::bitset<7> days_of_week_;    // 0-6, Sunday = 0
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
  bool wildcard_ = false;
};

}  // namespace swan::orchestration
