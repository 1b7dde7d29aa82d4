// Proleptic Gregorian calendar arithmetic on civil (wall-clock) times, with no time zone: a civil
// time is counted in seconds since 1970-01-01 00:00 of the same calendar, so UTC instants and
// local wall-clock times share one representation and one set of conversions.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace swan::orchestration {

inline constexpr int64_t kSecondsPerMinute = 60;
inline constexpr int64_t kSecondsPerHour = 3600;
inline constexpr int64_t kSecondsPerDay = 86400;

struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1-12
  int day = 1;    // 1-31
};

struct CivilTime {
  int64_t year = 1970;
  int month = 1;   // 1-12
  int day = 1;     // 1-31
  int hour = 0;    // 0-23
  int minute = 0;  // 0-59
  int second = 0;  // 0-59
};

// Floor division and the matching non-negative remainder (b > 0).
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); }
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

bool IsLeapYear(int64_t year);
// 28-31. Requires 1 <= month <= 12.
int DaysInMonth(int64_t year, int month);
// Days since 1970-01-01 of a date; the day may overflow its month (it counts on).
int64_t DaysFromCivil(int64_t year, int month, int day);
CivilDate CivilFromDays(int64_t days);
// 0 = Sunday ... 6 = Saturday.
int WeekdayFromDays(int64_t days);

int64_t SecondsFromCivil(const CivilTime& t);
CivilTime CivilFromSeconds(int64_t seconds);

}  // namespace swan::orchestration
