// When a cron schedule runs: its next run instants in a time zone, correct across daylight saving
// time changes, and what to do after downtime. Pure functions of the instants the caller passes:
// time comes from the runtime's Clock (common/clock.h, Clock::NowMs(): Unix milliseconds, UTC),
// so tests drive it with a FakeClock and nothing here sleeps or reads the time itself.
//
// DST rule (Vixie cron's, also cronie's; docs/orchestration.md):
// - a fixed-time schedule (minute and hour fields not starting with `*`: `30 2 * * *`, @daily)
//   runs each matching wall-clock time once: a time the clocks skip runs at the first instant
//   after the gap (02:30 on a spring-forward day runs at 03:00; several skipped times of one gap
//   make one run), a time the clocks pass twice runs at its first occurrence;
// - a wildcard schedule (`*/15 * * * *`, `0 * * * *`, @hourly) runs at every instant whose wall
//   clock matches: nothing in a skipped hour, both passes of a repeated hour (hourly stays
//   hourly in real time).
//
// Thread-safety: pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "orchestration/cron_expression.h"
#include "orchestration/time_zone.h"

namespace swan::orchestration {

// Run instants one NextRuns call returns at most (a preview of the next N).
inline constexpr int kNextRunsMax = 1000;
// Wall-clock years searched for runs after an instant. Parse refuses expressions that never fire
// (`0 0 31 2 *`); this bounds the rest (29 February on a Sunday comes every 28 years or so).
inline constexpr int kSearchYearsMax = 50;
// Instants accepted: 1970-01-01 through 9999-12-31 (Unix milliseconds).
inline constexpr int64_t kInstantMsMin = 0;
inline constexpr int64_t kInstantMsMax = int64_t{253402300799999};

// The first `n` run instants (Unix ms, ascending, whole minutes, no duplicates) strictly after
// `after_ms`, by the DST rule above. Fewer than n when the search reaches kSearchYearsMax.
// invalid_argument when n is outside 0..kNextRunsMax or after_ms outside the accepted instants.
Result<std::vector<int64_t>> NextRuns(const CronExpression& expr, const TimeZone& zone,
                                      int64_t after_ms, int n);

// After downtime (or a late wake-up), the runs that passed without being run: `skip` drops them
// (the next run is the next one in the future), `run_once` runs once now for all of them. Never
// one run per missed time.
enum class CatchUpPolicy { kSkip, kRunOnce };
// "skip" or "run_once"; invalid_argument otherwise.
Result<CatchUpPolicy> ParseCatchUpPolicy(std::string_view name);
const char* CatchUpPolicyName(CatchUpPolicy policy);

// A scheduled instant at most this late is not missed but due: it runs under either policy (a
// scheduler that wakes a second late must not skip it).
inline constexpr int64_t kOnTimeGraceMsDefault = 60 * 1000;
inline constexpr int64_t kOnTimeGraceMsMax = 3600 * 1000;

struct DueRuns {
  // Start one run now: a scheduled instant is due within the grace, or (run_once) some passed
  // more than the grace ago.
  bool run_now = false;
  // The run now makes up for missed runs only (run_once); false when one is due on time.
  bool catch_up = false;
  // The earliest scheduled instant in (last_run_ms, now_ms - grace_ms): passed, not run.
  std::optional<int64_t> first_missed_ms;
  // The first scheduled instant after both now_ms and last_run_ms (within kSearchYearsMax).
  std::optional<int64_t> next_run_ms;
};

// What a schedule should do at `now_ms` when everything up to `last_run_ms` is handled. The caller
// acts on it (starts the run, or records the skip) and passes now_ms as the next last_run_ms, so
// each scheduled instant is considered once. A now_ms before last_run_ms (the clock was set back)
// runs nothing until the clock passes last_run_ms again. invalid_argument for instants outside
// the accepted range or grace_ms outside 0..kOnTimeGraceMsMax.
Result<DueRuns> PlanDueRuns(const CronExpression& expr, const TimeZone& zone, int64_t last_run_ms,
                            int64_t now_ms, CatchUpPolicy policy,
                            int64_t grace_ms = kOnTimeGraceMsDefault);

}  // namespace swan::orchestration
