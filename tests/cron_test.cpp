// Tests for the cron schedule engine (src/orchestration): the cron parser against a table of
// expressions and exact errors, run instants across both DST changes of 2026 in Europe/Prague and
// America/New_York (and zones with midnight and half-hour changes), the zone reader against known
// offsets and the C library, and the catch-up policies driven by a FakeClock.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "orchestration/civil_time.h"
#include "orchestration/cron_expression.h"
#include "orchestration/posix_tz_rule.h"
#include "orchestration/schedule.h"
#include "orchestration/time_zone.h"
#include "test_util.h"

namespace swan::orchestration {
namespace {

// "2026-03-29 01:00" (UTC) as Unix milliseconds.
int64_t Utc(const std::string& text) {
  CivilTime t;
  int year = 0;
  EXPECT_EQ(
      std::sscanf(text.c_str(), "%d-%d-%d %d:%d", &year, &t.month, &t.day, &t.hour, &t.minute), 5)
      << text;
  t.year = year;
  return SecondsFromCivil(t) * 1000;
}

// An instant as its local wall-clock time with the offset in force: "2026-03-29T03:00+02:00".
// The text names one instant whatever zone printed it, and shows the DST side it fell on.
std::string Local(const TimeZone& zone, int64_t ms) {
  const int64_t utc_s = FloorDiv(ms, 1000);
  const int32_t offset_s = zone.OffsetAt(utc_s);
  const CivilTime t = CivilFromSeconds(utc_s + offset_s);
  const int32_t abs_offset_s = offset_s < 0 ? -offset_s : offset_s;
  char out[64];
  std::snprintf(out, sizeof out, "%04lld-%02d-%02dT%02d:%02d%c%02d:%02d",
                static_cast<long long>(t.year), t.month, t.day, t.hour, t.minute,
                offset_s < 0 ? '-' : '+', abs_offset_s / 3600, abs_offset_s % 3600 / 60);
  return out;
}

TimeZone Zone(const std::string& name) {
  Result<TimeZone> zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << zone.status().ToString();
  return zone.ok() ? *zone : TimeZone::Utc();
}

CronExpression Cron(const std::string& text) {
  Result<CronExpression> expr = CronExpression::Parse(text);
  EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().ToString();
  return expr.ok() ? *expr : *CronExpression::Parse("* * * * *");
}

std::vector<std::string> Runs(const std::string& expr, const std::string& zone_name,
                              const std::string& after_utc, int n) {
  const TimeZone zone = Zone(zone_name);
  Result<std::vector<int64_t>> runs = NextRuns(Cron(expr), zone, Utc(after_utc), n);
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  std::vector<std::string> out;
  if (runs.ok())
    for (int64_t ms : *runs) out.push_back(Local(zone, ms));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The parser: expressions that parse, checked by their next three runs in UTC after
// Thursday 2026-01-01 00:00, and expressions that fail, with the exact message.

struct ParsedCase {
  const char* expr;
  std::vector<std::string> next_utc;
};

TEST(CronParseTest, ValidExpressionsMeanWhatVixieCronMeans) {
  const std::vector<ParsedCase> cases = {
      {"* * * * *", {"2026-01-01T00:01+00:00", "2026-01-01T00:02+00:00", "2026-01-01T00:03+00:00"}},
      {"*/20 * * * *",
       {"2026-01-01T00:20+00:00", "2026-01-01T00:40+00:00", "2026-01-01T01:00+00:00"}},
      {"5-10/2 * * * *",
       {"2026-01-01T00:05+00:00", "2026-01-01T00:07+00:00", "2026-01-01T00:09+00:00"}},
      {"0 9-17/4 * * *",
       {"2026-01-01T09:00+00:00", "2026-01-01T13:00+00:00", "2026-01-01T17:00+00:00"}},
      {"15,45 6 * * *",
       {"2026-01-01T06:15+00:00", "2026-01-01T06:45+00:00", "2026-01-02T06:15+00:00"}},
      {"0 0 1,15 * *",
       {"2026-01-15T00:00+00:00", "2026-02-01T00:00+00:00", "2026-02-15T00:00+00:00"}},
      {"0 0 1 jan,Jul *",
       {"2026-07-01T00:00+00:00", "2027-01-01T00:00+00:00", "2027-07-01T00:00+00:00"}},
      {"0 0 1 FEB-dec/5 *",
       {"2026-02-01T00:00+00:00", "2026-07-01T00:00+00:00", "2026-12-01T00:00+00:00"}},
      {"0 0 * * MON-FRI",
       {"2026-01-02T00:00+00:00", "2026-01-05T00:00+00:00", "2026-01-06T00:00+00:00"}},
      {"0 0 * * 7", {"2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00", "2026-01-18T00:00+00:00"}},
      {"0 0 * * sun",
       {"2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00", "2026-01-18T00:00+00:00"}},
      {"0 0 * * FRI-SUN",
       {"2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00"}},
      {"0 0 * * 5-7",
       {"2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00"}},
      {"59 23 31 12 *",
       {"2026-12-31T23:59+00:00", "2027-12-31T23:59+00:00", "2028-12-31T23:59+00:00"}},
      {" \t0   12  *  * *  ",
       {"2026-01-01T12:00+00:00", "2026-01-02T12:00+00:00", "2026-01-03T12:00+00:00"}},
      {"@hourly", {"2026-01-01T01:00+00:00", "2026-01-01T02:00+00:00", "2026-01-01T03:00+00:00"}},
      {"@daily", {"2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00"}},
      {"@midnight", {"2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00"}},
      {"@weekly", {"2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00", "2026-01-18T00:00+00:00"}},
      {"@monthly", {"2026-02-01T00:00+00:00", "2026-03-01T00:00+00:00", "2026-04-01T00:00+00:00"}},
      {"@yearly", {"2027-01-01T00:00+00:00", "2028-01-01T00:00+00:00", "2029-01-01T00:00+00:00"}},
      {"@ANNUALLY", {"2027-01-01T00:00+00:00", "2028-01-01T00:00+00:00", "2029-01-01T00:00+00:00"}},
      // Both day fields restricted: either matches (the 13th, or any Friday; 13 March 2026 is
      // both and runs once).
      {"0 12 13 * FRI",
       {"2026-01-02T12:00+00:00", "2026-01-09T12:00+00:00", "2026-01-13T12:00+00:00"}},
      // A day field starting with * counts as unrestricted (Vixie): both must match, so odd
      // days that are Fridays.
      {"0 12 */2 * FRI",
       {"2026-01-09T12:00+00:00", "2026-01-23T12:00+00:00", "2026-02-13T12:00+00:00"}},
      // With one field unrestricted (*), 31 February is refused but 31 in any other month works.
      {"0 0 31 2,3 *",
       {"2026-03-31T00:00+00:00", "2027-03-31T00:00+00:00", "2028-03-31T00:00+00:00"}},
      // 31 February with a restricted day-of-week: the Mondays of February still match.
      {"0 0 31 2 MON",
       {"2026-02-02T00:00+00:00", "2026-02-09T00:00+00:00", "2026-02-16T00:00+00:00"}},
  };
  for (const ParsedCase& c : cases) {
    SCOPED_TRACE(c.expr);
    EXPECT_EQ(Runs(c.expr, "UTC", "2026-01-01 00:00", 3), c.next_utc);
  }
}

struct ErrorCase {
  std::string expr;
  std::string error;
};

TEST(CronParseTest, InvalidExpressionsNameTheFieldAndTheToken) {
  const std::vector<ErrorCase> cases = {
      {"", "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 0"},
      {"* * * *",
       "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4: "
       "* * * *"},
      {"0 * * * * *",
       "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 6: "
       "0 * * * * *"},
      {"60 * * * *", "cron field 1 (minute): 60 is out of range 0-59"},
      {"99999 * * * *", "cron field 1 (minute): 99999 is out of range 0-59"},
      {"0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23"},
      {"0 0 0 * *", "cron field 3 (day-of-month): 0 is out of range 1-31"},
      {"0 0 32 * *", "cron field 3 (day-of-month): 32 is out of range 1-31"},
      {"0 0 * 13 *", "cron field 4 (month): 13 is out of range 1-12"},
      {"0 0 * 0 *", "cron field 4 (month): 0 is out of range 1-12"},
      {"0 0 * * 8", "cron field 5 (day-of-week): 8 is out of range 0-7"},
      {"0 0 * FOO *", "cron field 4 (month): FOO is not a number or a month name (JAN-DEC)"},
      {"0 0 * * MONDAY",
       "cron field 5 (day-of-week): MONDAY is not a number or a day name (SUN-SAT)"},
      {"0 0 * * JAN", "cron field 5 (day-of-week): JAN is not a number or a day name (SUN-SAT)"},
      {"x * * * *", "cron field 1 (minute): x is not a number"},
      {"0 MON * * *", "cron field 2 (hour): MON is not a number"},
      {"0 0 L * *", "cron field 3 (day-of-month): L is not a number"},
      {"0 0 ? * *",
       "cron field 3 (day-of-month): ? (Quartz) is not cron syntax: write * for \"any\""},
      {"*/0 * * * *", "cron field 1 (minute): step 0 in */0 must be at least 1"},
      {"*/61 * * * *",
       "cron field 1 (minute): step 61 in */61 is larger than the field's range 0-59"},
      {"*/x * * * *", "cron field 1 (minute): step x in */x is not a number"},
      {"5/15 * * * *",
       "cron field 1 (minute): 5/15: a step needs * or a range before it (write 5-59/15)"},
      {"10-5 * * * *", "cron field 1 (minute): range 10-5 starts after it ends"},
      {"0 0 * * SAT-MON", "cron field 5 (day-of-week): range SAT-MON starts after it ends"},
      {"1,,2 * * * *", "cron field 1 (minute): empty item in the list 1,,2"},
      {"1, * * * *", "cron field 1 (minute): empty item in the list 1,"},
      {"1- * * * *", "cron field 1 (minute): a value is missing"},
      {"-5 * * * *", "cron field 1 (minute): a value is missing"},
      {"@reboot",
       "unknown cron shortcut @reboot (use @yearly, @annually, @monthly, @weekly, @daily, "
       "@midnight or @hourly)"},
      {"@daily 5",
       "unknown cron shortcut @daily 5 (use @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      // Never fires: no February has a 31st or a 30th, no April a 31st.
      {"0 0 31 2 *",
       "cron expression never fires: no month of field 4 (2) has a day of field 3 (31)"},
      {"0 0 30,31 FEB *",
       "cron expression never fires: no month of field 4 (FEB) has a day of field 3 (30,31)"},
      {"0 0 31 4,6,9,11 *",
       "cron expression never fires: no month of field 4 (4,6,9,11) has a day of field 3 (31)"},
      {std::string(2000, '*'), "cron expression is 2000 bytes, more than the 1024 allowed"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.expr);
    Result<CronExpression> expr = CronExpression::Parse(c.expr);
    ASSERT_FALSE(expr.ok());
    EXPECT_EQ(expr.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(expr.status().message(), c.error);
  }
}

TEST(CronParseTest, WildcardIsVixiesStarInTheMinuteOrHourField) {
  for (const char* wild : {"* * * * *", "*/15 * * * *", "0 * * * *", "*/15 9 * * *", "@hourly"})
    EXPECT_TRUE(Cron(wild).wildcard()) << wild;
  for (const char* fixed :
       {"30 2 * * *", "0,30 1-3 * * *", "0-59 0-23 * * *", "@daily", "@weekly", "@yearly"})
    EXPECT_FALSE(Cron(fixed).wildcard()) << fixed;
}

// ---------------------------------------------------------------------------------------------
// Run instants across DST changes. 2026: Europe/Prague springs forward on 29 March (02:00 CET
// -> 03:00 CEST) and falls back on 25 October (03:00 CEST -> 02:00 CET); America/New_York on
// 8 March (02:00 EST -> 03:00 EDT) and 1 November (02:00 EDT -> 01:00 EST).

struct RunsCase {
  const char* note;
  const char* expr;
  const char* zone;
  const char* after_utc;
  std::vector<std::string> runs;
};

TEST(CronScheduleTest, RunsAcrossDstChanges) {
  const std::vector<RunsCase> cases = {
      // --- Europe/Prague, spring forward: 02:00-02:59 does not exist on 29 March.
      {"skipped fixed time runs at the end of the gap",
       "30 2 * * *",
       "Europe/Prague",
       "2026-03-28 12:00",
       {"2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00", "2026-03-31T02:30+02:00"}},
      {"two skipped times of one gap make one run",
       "0,30 2 * * *",
       "Europe/Prague",
       "2026-03-28 12:00",
       {"2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00", "2026-03-30T02:30+02:00"}},
      {"a moved run does not repeat a real 03:00 run... but 03:30 still runs",
       "30 2,3 * * *",
       "Europe/Prague",
       "2026-03-28 12:00",
       {"2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00", "2026-03-30T02:30+02:00"}},
      {"hourly skips the hour that does not exist",
       "0 * * * *",
       "Europe/Prague",
       "2026-03-28 23:30",
       {"2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00",
        "2026-03-29T05:00+02:00"}},
      {"every 15 minutes stays every 15 minutes in real time",
       "*/15 * * * *",
       "Europe/Prague",
       "2026-03-29 00:40",
       {"2026-03-29T01:45+01:00", "2026-03-29T03:00+02:00", "2026-03-29T03:15+02:00",
        "2026-03-29T03:30+02:00"}},
      {"daily at midnight",
       "@daily",
       "Europe/Prague",
       "2026-03-28 12:00",
       {"2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00"}},
      // --- Europe/Prague, fall back: 02:00-02:59 happens twice on 25 October.
      {"repeated fixed time runs once, the first time",
       "30 2 * * *",
       "Europe/Prague",
       "2026-10-24 12:00",
       {"2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"}},
      {"after the first pass, the second pass is not a run",
       "30 2 * * *",
       "Europe/Prague",
       "2026-10-25 00:45",
       {"2026-10-26T02:30+01:00"}},
      {"hourly runs in both passes: every real hour",
       "0 * * * *",
       "Europe/Prague",
       "2026-10-24 23:30",
       {"2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00",
        "2026-10-25T04:00+01:00"}},
      {"every 15 minutes through both passes",
       "*/15 * * * *",
       "Europe/Prague",
       "2026-10-25 00:40",
       {"2026-10-25T02:45+02:00", "2026-10-25T02:00+01:00", "2026-10-25T02:15+01:00",
        "2026-10-25T02:30+01:00", "2026-10-25T02:45+01:00", "2026-10-25T03:00+01:00"}},
      {"daily at midnight",
       "@daily",
       "Europe/Prague",
       "2026-10-24 12:00",
       {"2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00"}},
      // --- America/New_York, spring forward: 02:00-02:59 does not exist on 8 March.
      {"skipped fixed time runs at the end of the gap",
       "30 2 * * *",
       "America/New_York",
       "2026-03-07 12:00",
       {"2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"}},
      {"hourly skips the hour that does not exist",
       "0 * * * *",
       "America/New_York",
       "2026-03-08 05:30",
       {"2026-03-08T01:00-05:00", "2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00"}},
      {"every 15 minutes",
       "*/15 * * * *",
       "America/New_York",
       "2026-03-08 06:40",
       {"2026-03-08T01:45-05:00", "2026-03-08T03:00-04:00", "2026-03-08T03:15-04:00"}},
      {"daily at midnight",
       "@daily",
       "America/New_York",
       "2026-03-07 12:00",
       {"2026-03-08T00:00-05:00", "2026-03-09T00:00-04:00"}},
      // --- America/New_York, fall back: 01:00-01:59 happens twice on 1 November.
      {"02:30 is not repeated in New York",
       "30 2 * * *",
       "America/New_York",
       "2026-10-31 12:00",
       {"2026-11-01T02:30-05:00", "2026-11-02T02:30-05:00"}},
      {"repeated fixed time runs once, the first time",
       "30 1 * * *",
       "America/New_York",
       "2026-10-31 12:00",
       {"2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"}},
      {"hourly runs in both passes",
       "0 * * * *",
       "America/New_York",
       "2026-11-01 04:30",
       {"2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00",
        "2026-11-01T03:00-05:00"}},
      {"every 15 minutes through both passes",
       "*/15 * * * *",
       "America/New_York",
       "2026-11-01 05:40",
       {"2026-11-01T01:45-04:00", "2026-11-01T01:00-05:00", "2026-11-01T01:15-05:00"}},
      {"daily at midnight",
       "@daily",
       "America/New_York",
       "2026-10-31 12:00",
       {"2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00"}},
      // --- Changes at midnight and by half an hour.
      {"Havana skips midnight: @daily runs at 01:00",
       "@daily",
       "America/Havana",
       "2026-03-07 12:00",
       {"2026-03-08T01:00-04:00", "2026-03-09T00:00-04:00"}},
      {"Havana repeats 00:00-00:59 on 1 November: once",
       "@daily",
       "America/Havana",
       "2026-10-31 12:00",
       {"2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00"}},
      {"Lord Howe skips 02:00-02:29",
       "15 2 * * *",
       "Australia/Lord_Howe",
       "2026-10-03 00:00",
       {"2026-10-04T02:30+11:00", "2026-10-05T02:15+11:00"}},
      {"Lord Howe repeats 01:30-01:59: a fixed time once",
       "45 1 * * *",
       "Australia/Lord_Howe",
       "2026-04-04 00:00",
       {"2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30"}},
      {"Lord Howe repeats 01:30-01:59: a wildcard in both passes",
       "*/15 1 * * *",
       "Australia/Lord_Howe",
       "2026-04-04 00:00",
       {"2026-04-05T01:00+11:00", "2026-04-05T01:15+11:00", "2026-04-05T01:30+11:00",
        "2026-04-05T01:45+11:00", "2026-04-05T01:30+10:30", "2026-04-05T01:45+10:30",
        "2026-04-06T01:00+10:30"}},
      // --- Past the transition table (Debian's files list changes up to 2037): the footer rule.
      {"New York in 2045 springs forward on 12 March",
       "30 2 * * *",
       "America/New_York",
       "2045-03-11 12:00",
       {"2045-03-12T03:00-04:00", "2045-03-13T02:30-04:00"}},
      {"New York in 2045 falls back on 5 November",
       "0 * * * *",
       "America/New_York",
       "2045-11-05 04:30",
       {"2045-11-05T01:00-04:00", "2045-11-05T01:00-05:00", "2045-11-05T02:00-05:00"}},
      // --- Rare days.
      {"29 February from 2026 is 2028",
       "0 0 29 2 *",
       "UTC",
       "2026-01-01 00:00",
       {"2028-02-29T00:00+00:00", "2032-02-29T00:00+00:00", "2036-02-29T00:00+00:00"}},
      {"29 February on a Sunday: decades apart",
       "0 0 29 2 */7",
       "UTC",
       "2026-01-01 00:00",
       {"2032-02-29T00:00+00:00", "2060-02-29T00:00+00:00"}},
      {"the 13th or a Friday, 13 March once",
       "0 12 13 * FRI",
       "Europe/Prague",
       "2026-03-01 00:00",
       {"2026-03-06T12:00+01:00", "2026-03-13T12:00+01:00", "2026-03-20T12:00+01:00",
        "2026-03-27T12:00+01:00", "2026-04-03T12:00+02:00", "2026-04-10T12:00+02:00",
        "2026-04-13T12:00+02:00"}},
  };
  for (const RunsCase& c : cases) {
    SCOPED_TRACE(std::string(c.note) + ": " + c.expr + " in " + c.zone + " after " + c.after_utc);
    EXPECT_EQ(Runs(c.expr, c.zone, c.after_utc, static_cast<int>(c.runs.size())), c.runs);
  }
}

// The rule again, written the slow way: walk every UTC minute of two days around a change, read
// its wall clock, and decide from that alone. A wildcard schedule runs at each minute whose wall
// clock matches; a fixed-time one at the first minute showing a matching wall time, and at the
// first minute after the clocks jumped over a matching one.
struct WallClockMinute {
  int64_t utc_s;
  int64_t wall_s;
  bool shown_before;  // the same wall time showed at an earlier minute (the clocks went back)
};

std::vector<WallClockMinute> WallClockMinutes(const TimeZone& zone, int64_t from_s, int64_t to_s) {
  std::vector<WallClockMinute> minutes;
  std::set<int64_t> shown;
  for (int64_t u = from_s - kSecondsPerDay; u <= to_s; u += 60) {
    const int64_t w = u + zone.OffsetAt(u);
    minutes.push_back({u, w, !shown.insert(w).second});
  }
  return minutes;
}

std::vector<int64_t> BruteForceRuns(const CronExpression& expr,
                                    const std::vector<WallClockMinute>& minutes, int64_t from_s) {
  auto matches = [&](int64_t local_s) {
    const CivilTime t = CivilFromSeconds(local_s);
    return expr.MatchesMinute(t.minute) && expr.MatchesHour(t.hour) && expr.MatchesMonth(t.month) &&
           expr.MatchesDay(t.day, WeekdayFromDays(FloorDiv(local_s, kSecondsPerDay)));
  };
  std::vector<int64_t> runs;
  for (size_t i = 1; i < minutes.size(); ++i) {
    const WallClockMinute& m = minutes[i];
    if (m.utc_s <= from_s) continue;
    bool run = false;
    if (expr.wildcard()) {
      run = matches(m.wall_s);
    } else {
      run = matches(m.wall_s) && !m.shown_before;
      for (int64_t skipped = minutes[i - 1].wall_s + 60; skipped < m.wall_s && !run; skipped += 60)
        run = matches(skipped);
    }
    if (run) runs.push_back(m.utc_s * 1000);
  }
  return runs;
}

TEST(CronScheduleTest, AgreesWithAMinuteByMinuteWalkAroundEveryChange) {
  struct Change {
    const char* zone;
    const char* at_utc;
  };
  const std::vector<Change> changes = {
      {"Europe/Prague", "2026-03-29 01:00"},       {"Europe/Prague", "2026-10-25 01:00"},
      {"America/New_York", "2026-03-08 07:00"},    {"America/New_York", "2026-11-01 06:00"},
      {"America/Havana", "2026-03-08 05:00"},      {"America/Havana", "2026-11-01 05:00"},
      {"Australia/Lord_Howe", "2026-04-04 15:00"}, {"Australia/Lord_Howe", "2026-10-03 15:30"},
      {"America/New_York", "2045-11-05 06:00"},
  };
  const std::vector<const char*> exprs = {
      "30 2 * * *",       "0,30 2 * * *",     "*/15 * * * *",      "0 * * * *",  "*/7 1-3 * * *",
      "45 1 * * *",       "@daily",           "15 2 * * *",        "59 1 * * *", "0 3 * * *",
      "*/20 0-2 * * SUN", "10 0,1,2,3 * * *", "0-59/29 2 25 10 *", "30 0 * * *"};
  for (const Change& c : changes) {
    const TimeZone zone = Zone(c.zone);
    const int64_t from_s = Utc(c.at_utc) / 1000 - kSecondsPerDay;
    const int64_t to_s = from_s + 2 * kSecondsPerDay;
    const std::vector<WallClockMinute> minutes = WallClockMinutes(zone, from_s, to_s);
    for (const char* text : exprs) {
      SCOPED_TRACE(std::string(text) + " in " + c.zone + " around " + c.at_utc);
      const CronExpression expr = Cron(text);
      const std::vector<int64_t> expected = BruteForceRuns(expr, minutes, from_s);
      Result<std::vector<int64_t>> runs =
          NextRuns(expr, zone, from_s * 1000, static_cast<int>(expected.size()));
      ASSERT_TRUE(runs.ok());
      std::vector<std::string> got, want;
      for (int64_t ms : *runs) got.push_back(Local(zone, ms));
      for (int64_t ms : expected) want.push_back(Local(zone, ms));
      EXPECT_EQ(got, want);
    }
  }
}

TEST(CronScheduleTest, RunsAreStrictlyAfterTheInstantAndAscending) {
  const TimeZone prague = Zone("Europe/Prague");
  const CronExpression every_minute = Cron("* * * * *");
  // Exactly on a run: that run is not "after".
  Result<std::vector<int64_t>> runs = NextRuns(every_minute, prague, Utc("2026-05-01 10:00"), 2);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(*runs, (std::vector<int64_t>{Utc("2026-05-01 10:01"), Utc("2026-05-01 10:02")}));
  // One millisecond before it: it is.
  runs = NextRuns(every_minute, prague, Utc("2026-05-01 10:00") - 1, 1);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(*runs, std::vector<int64_t>{Utc("2026-05-01 10:00")});
  // A year of 15-minute runs through both changes: ascending, 15 minutes apart in real time.
  runs = NextRuns(Cron("*/15 * * * *"), prague, Utc("2026-01-01 00:00"), kNextRunsMax);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), static_cast<size_t>(kNextRunsMax));
  runs = NextRuns(Cron("*/15 * * * *"), prague, Utc("2026-10-24 12:00"), kNextRunsMax);
  ASSERT_TRUE(runs.ok());
  for (size_t i = 1; i < runs->size(); ++i)
    ASSERT_EQ((*runs)[i] - (*runs)[i - 1], 15 * 60 * 1000) << Local(prague, (*runs)[i]);
}

TEST(CronScheduleTest, LimitsAreCheckedAtTheirEdges) {
  const CronExpression daily = Cron("@daily");
  const TimeZone utc = TimeZone::Utc();
  EXPECT_TRUE(NextRuns(daily, utc, 0, 0).ok());
  EXPECT_TRUE(NextRuns(daily, utc, 0, 0)->empty());
  EXPECT_TRUE(NextRuns(daily, utc, 0, kNextRunsMax).ok());
  EXPECT_EQ(NextRuns(daily, utc, 0, kNextRunsMax + 1).status().message(),
            "n 1001 is outside 0..1000");
  EXPECT_EQ(NextRuns(daily, utc, 0, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NextRuns(daily, utc, -1, 1).status().message(),
            "after -1 is outside 1970-01-01..9999-12-31 (Unix milliseconds)");
  EXPECT_TRUE(NextRuns(daily, utc, kInstantMsMax, 1).ok());
  EXPECT_EQ(NextRuns(daily, utc, kInstantMsMax + 1, 1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CronScheduleTest, ASearchThatFindsNothingEndsAtTheHorizon) {
  // 29 February on a Sunday last came in 2032 before 2060: from 2033 a 20-year horizon would
  // find nothing; ours (kSearchYearsMax) finds 2060 and stops after it, never looping.
  Result<std::vector<int64_t>> runs =
      NextRuns(Cron("0 0 29 2 */7"), TimeZone::Utc(), Utc("2033-01-01 00:00"), 5);
  ASSERT_TRUE(runs.ok());
  ASSERT_FALSE(runs->empty());
  EXPECT_EQ(runs->front(), Utc("2060-02-29 00:00"));
  EXPECT_LT(runs->size(), 5u) << "the horizon of " << kSearchYearsMax << " years ends the search";
}

// ---------------------------------------------------------------------------------------------
// Time zones.

TEST(TimeZoneTest, KnownOffsets) {
  struct Case {
    const char* zone;
    const char* at_utc;
    int32_t offset_s;
    const char* abbreviation;
  };
  const std::vector<Case> cases = {
      {"UTC", "2026-06-01 00:00", 0, "UTC"},
      {"Asia/Kolkata", "2026-06-01 00:00", 5 * 3600 + 1800, "IST"},
      {"Asia/Kolkata", "2045-01-01 00:00", 5 * 3600 + 1800, "IST"},
      {"Europe/Prague", "2026-01-15 00:00", 3600, "CET"},
      {"Europe/Prague", "2026-07-15 00:00", 7200, "CEST"},
      {"Europe/Prague", "2026-03-29 00:59", 3600, "CET"},
      {"Europe/Prague", "2026-03-29 01:00", 7200, "CEST"},
      {"Europe/Prague", "2026-10-25 00:59", 7200, "CEST"},
      {"Europe/Prague", "2026-10-25 01:00", 3600, "CET"},
      {"Europe/Prague", "2050-07-01 00:00", 7200, "CEST"},
      {"America/New_York", "2026-03-08 06:59", -5 * 3600, "EST"},
      {"America/New_York", "2026-03-08 07:00", -4 * 3600, "EDT"},
      {"America/New_York", "2026-11-01 05:59", -4 * 3600, "EDT"},
      {"America/New_York", "2026-11-01 06:00", -5 * 3600, "EST"},
      // Past Debian's transition table (2037): from the footer rule EST5EDT,M3.2.0,M11.1.0.
      {"America/New_York", "2045-01-15 12:00", -5 * 3600, "EST"},
      {"America/New_York", "2045-07-01 12:00", -4 * 3600, "EDT"},
      {"America/New_York", "2045-03-12 06:59", -5 * 3600, "EST"},
      {"America/New_York", "2045-03-12 07:00", -4 * 3600, "EDT"},
      {"Australia/Lord_Howe", "2026-01-15 00:00", 11 * 3600, "+11"},
      {"Australia/Lord_Howe", "2026-07-15 00:00", 10 * 3600 + 1800, "+1030"},
      {"America/Sao_Paulo", "2026-01-15 00:00", -3 * 3600, "-03"},
      {"Pacific/Kiritimati", "2026-01-15 00:00", 14 * 3600, "+14"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.zone) + " at " + c.at_utc);
    const ZonePeriod p = Zone(c.zone).PeriodAt(Utc(c.at_utc) / 1000);
    EXPECT_EQ(p.utc_offset_s, c.offset_s);
    EXPECT_EQ(p.abbreviation, c.abbreviation);
    EXPECT_LE(p.begin_s, Utc(c.at_utc) / 1000);
    EXPECT_GT(p.end_s, Utc(c.at_utc) / 1000);
  }
}

// The C library reads the same files: our offsets agree with its localtime_r at every 5 days and
// a few hours from 1900 to 2100, across zones with all kinds of rules.
TEST(TimeZoneTest, AgreesWithTheCLibrary) {
  const char* saved = std::getenv("TZ");
  const std::string saved_tz = saved ? saved : "";
  for (const char* name : {"Europe/Prague", "America/New_York", "Asia/Kolkata",
                           "Australia/Lord_Howe", "America/Havana", "Pacific/Apia",
                           "America/Sao_Paulo", "Africa/Casablanca", "Europe/Dublin"}) {
    SCOPED_TRACE(name);
    const TimeZone zone = Zone(name);
    setenv("TZ", (std::string(":") + name).c_str(), 1);
    tzset();
    for (int64_t s = Utc("1900-01-01 00:00") / 1000; s < Utc("2100-01-01 00:00") / 1000;
         s += 5 * kSecondsPerDay + 3 * kSecondsPerHour + 17) {
      const time_t t = static_cast<time_t>(s);
      struct tm tm;
      ASSERT_NE(localtime_r(&t, &tm), nullptr);
      ASSERT_EQ(zone.OffsetAt(s), tm.tm_gmtoff) << "at " << s;
    }
  }
  if (saved) {
    setenv("TZ", saved_tz.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(TimeZoneTest, FromLocalNamesTheSkippedAndRepeatedTimes) {
  const TimeZone prague = Zone("Europe/Prague");
  auto local = [](const char* text) { return Utc(text) / 1000; };  // civil time, no zone
  LocalTimeInstants at = prague.FromLocal(local("2026-03-29 02:30"));
  EXPECT_EQ(at.kind, LocalTimeInstants::Kind::kSkipped);
  EXPECT_EQ(at.first_s, local("2026-03-29 01:00"));  // 03:00 CEST
  at = prague.FromLocal(local("2026-10-25 02:30"));
  EXPECT_EQ(at.kind, LocalTimeInstants::Kind::kRepeated);
  EXPECT_EQ(at.first_s, local("2026-10-25 00:30"));
  EXPECT_EQ(at.second_s, local("2026-10-25 01:30"));
  at = prague.FromLocal(local("2026-10-25 03:00"));
  EXPECT_EQ(at.kind, LocalTimeInstants::Kind::kUnique);
  EXPECT_EQ(at.first_s, local("2026-10-25 02:00"));
}

TEST(TimeZoneTest, NamesThatAreNotZonesAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "time zone name is empty"},
      {"Mars/Olympus_Mons",
       "unknown time zone 'Mars/Olympus_Mons': no such zone in "
       "/usr/share/zoneinfo"},
      {"/etc/passwd",
       "unknown time zone '/etc/passwd': an absolute path is not a zone name (write e.g. "
       "Europe/Prague)"},
      {"../../etc/passwd",
       "unknown time zone '../../etc/passwd': a zone name starts with a capital letter (e.g. "
       "Europe/Prague)"},
      {"Europe/../../../etc/passwd",
       "unknown time zone 'Europe/../../../etc/passwd': character '.' is not in any zone name"},
      {"Europe//Prague",
       "unknown time zone 'Europe//Prague': empty, '.' and '..' parts are not zone names"},
      {"Europe/", "unknown time zone 'Europe/': empty, '.' and '..' parts are not zone names"},
      {"Europe/Prague ",
       "unknown time zone 'Europe/Prague ': character ' ' is not in any zone name"},
      {"localtime",
       "unknown time zone 'localtime': a zone name starts with a capital letter (e.g. "
       "Europe/Prague)"},
      {"right/Europe/Prague",
       "unknown time zone 'right/Europe/Prague': a zone name starts with a capital letter (e.g. "
       "Europe/Prague)"},
      {"Europe", "unknown time zone 'Europe': no such zone in /usr/share/zoneinfo"},
      {std::string(200, 'A'), "time zone name is longer than 128 bytes"},
  };
  for (const auto& [name, error] : cases) {
    SCOPED_TRACE(name);
    Result<TimeZone> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok());
    EXPECT_EQ(zone.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(zone.status().message(), error);
  }
}

TEST(TimeZoneTest, UtcNeedsNoFiles) {
  Result<TimeZone> utc = TimeZone::Load("UTC", "/nonexistent");
  ASSERT_TRUE(utc.ok()) << utc.status().ToString();
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_EQ(utc->OffsetAt(Utc("2026-06-01 00:00") / 1000), 0);
  EXPECT_EQ(utc->FromLocal(1000).kind, LocalTimeInstants::Kind::kUnique);
  EXPECT_EQ(utc->FromLocal(1000).first_s, 1000);
}

// Builds a TZif file (version 2) with no transitions and one type: the shape of a slim file for
// a zone whose rules have not changed since its table began, all of whose instants come from the
// footer.
std::string SlimTzif(int32_t utoff, const std::string& abbreviation, const std::string& footer) {
  auto u32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  const std::string chars = abbreviation + '\0';
  auto header = [&] {
    return "TZif2" + std::string(15, '\0') + u32(0) + u32(0) + u32(0) + u32(0) + u32(1) +
           u32(static_cast<uint32_t>(chars.size()));
  };
  const std::string type = u32(static_cast<uint32_t>(utoff)) + '\0' + '\0';
  const std::string block = type + chars;
  return header() + block + header() + block + "\n" + footer + "\n";
}

TEST(TimeZoneTest, SlimFilesTakeEverythingFromTheFooter) {
  Result<TimeZone> slim =
      TimeZone::FromTzif("Test/Slim_New_York", SlimTzif(-18000, "EST", "EST5EDT,M3.2.0,M11.1.0"));
  ASSERT_TRUE(slim.ok()) << slim.status().ToString();
  const TimeZone ny = Zone("America/New_York");
  for (int64_t s = Utc("2008-01-01 00:00") / 1000; s < Utc("2060-01-01 00:00") / 1000;
       s += 3 * kSecondsPerDay + 7 * kSecondsPerHour)
    ASSERT_EQ(slim->OffsetAt(s), ny.OffsetAt(s)) << s;
  EXPECT_EQ(Local(*slim, *NextRuns(Cron("30 2 * * *"), *slim, Utc("2026-03-07 12:00"), 1)->begin()),
            "2026-03-08T03:00-04:00");
}

TEST(TimeZoneTest, BrokenFilesAreErrorsNeverCrashes) {
  Result<std::string> bytes = [] {
    std::ifstream in("/usr/share/zoneinfo/America/New_York", std::ios::binary);
    return Result<std::string>(std::string(std::istreambuf_iterator<char>(in), {}));
  }();
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 1000u);
  EXPECT_TRUE(TimeZone::FromTzif("ny", *bytes).ok());
  // Every prefix is refused cleanly (the footer's final newline is what completes a file).
  for (size_t n = 0; n + 1 < bytes->size(); ++n) {
    Result<TimeZone> zone = TimeZone::FromTzif("ny", std::string_view(*bytes).substr(0, n));
    ASSERT_FALSE(zone.ok()) << n;
    ASSERT_EQ(zone.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(TimeZone::FromTzif("x", "hello").status().message(),
            "not a TZif file of version 2 or later (no TZif header)");
  // A file that is not TZif under a zone-like name.
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/Fake");
  std::ofstream(dir.path() + "/Fake/Zone") << "# not a zone\n";
  EXPECT_EQ(
      TimeZone::Load("Fake/Zone", dir.path()).status().message(),
      "unknown time zone 'Fake/Zone': not a TZif file of version 2 or later (no TZif header)");
  // Leap-second files (the right/ zones) count seconds differently.
  Result<TimeZone> right = TimeZone::Load("Europe/Prague", "/usr/share/zoneinfo/right");
  if (std::filesystem::exists("/usr/share/zoneinfo/right/Europe/Prague")) {
    EXPECT_EQ(right.status().message(),
              "unknown time zone 'Europe/Prague': counts leap seconds (the right/ zones are not "
              "supported)");
  }
}

TEST(PosixTzRuleTest, ParsesEveryDateForm) {
  struct Case {
    const char* rule;
    const char* at_utc;
    int32_t offset_s;
  };
  const std::vector<Case> cases = {
      {"EST5EDT,M3.2.0,M11.1.0", "2026-03-08 06:59", -5 * 3600},
      {"EST5EDT,M3.2.0,M11.1.0", "2026-03-08 07:00", -4 * 3600},
      {"EST5EDT", "2026-07-01 00:00", -4 * 3600},  // no dates: the US rules
      {"<+0530>-5:30", "2026-07-01 00:00", 5 * 3600 + 1800},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25 00:59", 7200},
      {"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25 01:00", 3600},
      // Southern hemisphere: daylight saving time over the new year.
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-01-01 00:00", 11 * 3600},
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-07-01 00:00", 10 * 3600 + 1800},
      // Jn (29 February not counted) and n (counted, from 0): day 60 is 1 March either way in
      // 2026; in 2028 J60 is 1 March and 59 is 29 February.
      {"XXX3YYY,J60/0,J300/0", "2028-03-01 02:59", -3 * 3600},
      {"XXX3YYY,J60/0,J300/0", "2028-03-01 03:00", -2 * 3600},
      {"XXX3YYY,59/0,300/0", "2028-02-29 02:59", -3 * 3600},
      {"XXX3YYY,59/0,300/0", "2028-02-29 03:00", -2 * 3600},
      // Negative transition hours (RFC 8536): 22:00 on the Saturday before the last Sunday.
      {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2026-03-29 00:59", -3 * 3600},
      {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2026-03-29 01:00", -2 * 3600},
      // Daylight saving time all year (hour 25 of day 365 is the next year's start).
      {"EST5EDT,0/0,J365/25", "2026-01-01 04:00", -4 * 3600},
      {"EST5EDT,0/0,J365/25", "2026-07-01 00:00", -4 * 3600},
      {"EST5EDT,0/0,J365/25", "2026-12-31 23:59", -4 * 3600},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.rule) + " at " + c.at_utc);
    Result<PosixTzRule> rule = PosixTzRule::Parse(c.rule);
    ASSERT_TRUE(rule.ok()) << rule.status().ToString();
    EXPECT_EQ(rule->PeriodAt(Utc(c.at_utc) / 1000).utc_offset_s, c.offset_s);
  }
  for (const char* bad : {"", "E", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
                          "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,366,0", "EST25",
                          "<EST5", "EST5EDT,M3.2.0/168,M11.1.0", "EST5 "}) {
    EXPECT_EQ(PosixTzRule::Parse(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Random input: the parsers refuse or accept, never crash or hang (run under ASan/UBSan by
// scripts/test.sh), and whatever parses gives runs that are ascending, after the instant, and on
// a matching wall-clock time or at the end of a gap.

TEST(CronFuzzTest, RandomExpressionsParseOrFailCleanly) {
  std::mt19937 random(12);
  const std::string alphabet = "0123456789012345*/-,, ? @JANFEBMONSUNsatdec\tLW#";
  const TimeZone prague = Zone("Europe/Prague");
  const std::vector<std::string> seeds = {"*/15 2 * * *", "0 0 29 2 SUN", "5-50/5 1-3 * 3,10 *"};
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2 == 0) {  // a mutated valid expression
      text = seeds[random() % seeds.size()];
      for (int k = 0; k < 3; ++k)
        text[random() % text.size()] = alphabet[random() % alphabet.size()];
    } else {  // five random fields
      for (int f = 0; f < 5; ++f) {
        const size_t length = 1 + random() % 6;
        for (size_t k = 0; k < length; ++k) text += alphabet[random() % alphabet.size()];
        text += ' ';
      }
    }
    Result<CronExpression> expr = CronExpression::Parse(text);
    if (!expr.ok()) {
      ASSERT_EQ(expr.status().code(), StatusCode::kInvalidArgument) << text;
      continue;
    }
    ++parsed;
    const int64_t after_ms =
        Utc("2026-03-28 12:00") + static_cast<int64_t>(random() % 400) * 86400000;
    Result<std::vector<int64_t>> runs = NextRuns(*expr, prague, after_ms, 3);
    ASSERT_TRUE(runs.ok()) << text;
    int64_t previous_ms = after_ms;
    for (int64_t ms : *runs) {
      ASSERT_GT(ms, previous_ms) << text;
      previous_ms = ms;
      const int64_t u = ms / 1000;
      const CivilTime t = CivilFromSeconds(u + prague.OffsetAt(u));
      const bool on_match =
          expr->MatchesMinute(t.minute) && expr->MatchesHour(t.hour) && expr->MatchesMonth(t.month);
      const bool at_gap_end = prague.PeriodAt(u).begin_s == u;
      ASSERT_TRUE(on_match || (at_gap_end && !expr->wildcard()))
          << text << " " << Local(prague, ms);
    }
  }
  EXPECT_GT(parsed, 100) << "the generator should reach valid expressions too";
}

TEST(CronFuzzTest, DamagedTzifFilesAndRulesFailCleanly) {
  std::ifstream in("/usr/share/zoneinfo/Europe/Prague", std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(original.size(), 1000u);
  std::mt19937 random(7);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = original;
    for (int k = 0; k < 4; ++k) bytes[random() % bytes.size()] = static_cast<char>(random());
    Result<TimeZone> zone = TimeZone::FromTzif("damaged", bytes);
    if (!zone.ok()) continue;
    for (int64_t s : {int64_t{-5000000000}, int64_t{0}, int64_t{1790000000}, int64_t{4000000000}}) {
      (void)zone->OffsetAt(s);
      (void)zone->FromLocal(s);
    }
    ASSERT_TRUE(NextRuns(Cron("30 2 * * *"), *zone, Utc("2026-03-28 00:00"), 3).ok());
  }
  const std::string rule_alphabet = "ESTCDT<>+-0123456789:,./MJ";
  for (int i = 0; i < 20000; ++i) {
    std::string rule = "CET-1CEST,M3.5.0,M10.5.0/3";
    for (int k = 0; k < 2; ++k)
      rule[random() % rule.size()] = rule_alphabet[random() % rule_alphabet.size()];
    Result<PosixTzRule> parsed = PosixTzRule::Parse(rule);
    if (parsed.ok()) {
      const ZonePeriod p = parsed->PeriodAt(1790000000);
      ASSERT_LE(p.begin_s, 1790000000) << rule;
      ASSERT_GT(p.end_s, 1790000000) << rule;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Catch-up after downtime.

TEST(CatchUpTest, PoliciesParse) {
  EXPECT_EQ(*ParseCatchUpPolicy("skip"), CatchUpPolicy::kSkip);
  EXPECT_EQ(*ParseCatchUpPolicy("run_once"), CatchUpPolicy::kRunOnce);
  EXPECT_STREQ(CatchUpPolicyName(CatchUpPolicy::kRunOnce), "run_once");
  EXPECT_EQ(ParseCatchUpPolicy("RUN_ONCE").status().message(),
            "catch-up policy 'RUN_ONCE' is not one of skip, run_once");
  EXPECT_FALSE(ParseCatchUpPolicy("").ok());
  EXPECT_FALSE(ParseCatchUpPolicy("run_all").ok());
}

TEST(CatchUpTest, MissedRunsAreSkippedOrRunOnceNeverN) {
  const CronExpression hourly = Cron("0 * * * *");
  const TimeZone utc = TimeZone::Utc();
  const int64_t last = Utc("2026-01-01 00:00");
  const int64_t now = Utc("2026-01-03 05:20");  // down for 53 hours: 53 runs missed
  for (CatchUpPolicy policy : {CatchUpPolicy::kSkip, CatchUpPolicy::kRunOnce}) {
    SCOPED_TRACE(CatchUpPolicyName(policy));
    Result<DueRuns> due = PlanDueRuns(hourly, utc, last, now, policy);
    ASSERT_TRUE(due.ok()) << due.status().ToString();
    EXPECT_EQ(due->run_now, policy == CatchUpPolicy::kRunOnce);
    EXPECT_EQ(due->catch_up, policy == CatchUpPolicy::kRunOnce);
    EXPECT_EQ(due->first_missed_ms, Utc("2026-01-01 01:00"));
    EXPECT_EQ(due->next_run_ms, Utc("2026-01-03 06:00"));
  }
}

TEST(CatchUpTest, ARunDueWithinTheGraceIsNotMissed) {
  const CronExpression hourly = Cron("0 * * * *");
  const TimeZone utc = TimeZone::Utc();
  const int64_t last = Utc("2026-01-03 04:00");
  struct Case {
    int64_t now_ms;
    bool run_now_skip;
    bool run_now_once;
    bool missed;
  };
  const std::vector<Case> cases = {
      {Utc("2026-01-03 04:30"), false, false, false},      // nothing due yet
      {Utc("2026-01-03 05:00") - 1, false, false, false},  // a millisecond early
      {Utc("2026-01-03 05:00"), true, true, false},        // on the dot
      {Utc("2026-01-03 05:00") + 500, true, true, false},  // a scheduler a bit late
      {Utc("2026-01-03 05:01"), true, true, false},        // the grace's last instant
      {Utc("2026-01-03 05:01") + 1, false, true, true},    // past it: missed
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.now_ms - Utc("2026-01-03 05:00"));
    Result<DueRuns> skip = PlanDueRuns(hourly, utc, last, c.now_ms, CatchUpPolicy::kSkip);
    Result<DueRuns> once = PlanDueRuns(hourly, utc, last, c.now_ms, CatchUpPolicy::kRunOnce);
    ASSERT_TRUE(skip.ok() && once.ok());
    EXPECT_EQ(skip->run_now, c.run_now_skip);
    EXPECT_EQ(once->run_now, c.run_now_once);
    EXPECT_EQ(skip->first_missed_ms.has_value(), c.missed);
    EXPECT_EQ(skip->next_run_ms, c.now_ms < Utc("2026-01-03 05:00") ? Utc("2026-01-03 05:00")
                                                                    : Utc("2026-01-03 06:00"));
  }
  // Missed runs and one due on time: one run (the on-time one), under either policy.
  Result<DueRuns> both = PlanDueRuns(hourly, utc, Utc("2026-01-01 00:00"),
                                     Utc("2026-01-03 05:00") + 10, CatchUpPolicy::kSkip);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->run_now);
  EXPECT_FALSE(both->catch_up);
  EXPECT_EQ(both->first_missed_ms, Utc("2026-01-01 01:00"));
  // A zero grace: only an instant exactly now is on time.
  Result<DueRuns> strict =
      PlanDueRuns(hourly, utc, last, Utc("2026-01-03 05:00") + 1, CatchUpPolicy::kSkip, 0);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->run_now);
  EXPECT_EQ(PlanDueRuns(hourly, utc, last, last, CatchUpPolicy::kSkip, kOnTimeGraceMsMax + 1)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(CatchUpTest, AClockSetBackRunsNothingTwice) {
  const CronExpression hourly = Cron("0 * * * *");
  Result<DueRuns> due = PlanDueRuns(hourly, TimeZone::Utc(), Utc("2026-01-03 06:00"),
                                    Utc("2026-01-03 05:30"), CatchUpPolicy::kRunOnce);
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(due->run_now);
  EXPECT_FALSE(due->first_missed_ms);
  EXPECT_EQ(due->next_run_ms, Utc("2026-01-03 07:00"));
}

// A scheduler's loop on a FakeClock: a tick every 20 seconds for a day of `*/15 * * * *` in
// Prague, with the server down from 09:07 to 12:52. Runs on time every 15 minutes; the outage's
// 15 missed runs become none (skip) or exactly one at restart (run_once).
TEST(CatchUpTest, AFakeClockSchedulerRunsOnTimeAndCatchesUpOnce) {
  const CronExpression every_15 = Cron("*/15 * * * *");
  const TimeZone prague = Zone("Europe/Prague");
  for (CatchUpPolicy policy : {CatchUpPolicy::kSkip, CatchUpPolicy::kRunOnce}) {
    SCOPED_TRACE(CatchUpPolicyName(policy));
    FakeClock clock(Utc("2026-06-01 00:00"));  // 02:00 CEST
    const int64_t down_from = Utc("2026-06-01 07:07");
    const int64_t down_until = Utc("2026-06-01 10:52");
    int64_t last_run = clock.NowMs();
    int on_time = 0;
    int catch_up = 0;
    while (clock.NowMs() < Utc("2026-06-02 00:00")) {
      clock.AdvanceMs(20 * 1000);
      if (clock.NowMs() > down_from && clock.NowMs() < down_until) continue;  // no process
      Result<DueRuns> due = PlanDueRuns(every_15, prague, last_run, clock.NowMs(), policy);
      ASSERT_TRUE(due.ok()) << due.status().ToString();
      if (due->run_now) (due->catch_up ? catch_up : on_time)++;
      last_run = clock.NowMs();
    }
    // 24 h = 96 slots; 07:15 .. 10:45 (15 slots) fell in the outage.
    EXPECT_EQ(on_time, 96 - 15);
    EXPECT_EQ(catch_up, policy == CatchUpPolicy::kRunOnce ? 1 : 0);
  }
}

}  // namespace
}  // namespace swan::orchestration
