#include "orchestration/schedule.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string>

#include "orchestration/civil_time.h"

namespace swan::orchestration {
namespace {

// The first local wall-clock minute at or after local_s that the expression matches, or nothing
// past horizon_s. Skips whole months, days and hours that cannot match.
std::optional<int64_t> NextMatchingLocal(const CronExpression& expr, int64_t local_s,
                                         int64_t horizon_s) {
  int64_t t = FloorDiv(local_s + kSecondsPerMinute - 1, kSecondsPerMinute) * kSecondsPerMinute;
  while (t <= horizon_s) {
    const CivilTime c = CivilFromSeconds(t);
    const int64_t days = FloorDiv(t, kSecondsPerDay);
    if (!expr.MatchesMonth(c.month)) {
      t = DaysFromCivil(c.year + (c.month == 12), c.month == 12 ? 1 : c.month + 1, 1) *
          kSecondsPerDay;
    } else if (!expr.MatchesDay(c.day, WeekdayFromDays(days))) {
      t = (days + 1) * kSecondsPerDay;
    } else if (!expr.MatchesHour(c.hour)) {
      t = (FloorDiv(t, kSecondsPerHour) + 1) * kSecondsPerHour;
    } else if (!expr.MatchesMinute(c.minute)) {
      t += kSecondsPerMinute;
    } else {
      return t;
    }
  }
  return std::nullopt;
}

Status CheckInstant(const char* what, int64_t ms) {
  if (ms >= kInstantMsMin && ms <= kInstantMsMax) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + " " + std::to_string(ms) +
                                 " is outside 1970-01-01..9999-12-31 (Unix milliseconds)");
}

Result<std::optional<int64_t>> NextRun(const CronExpression& expr, const TimeZone& zone,
                                       int64_t after_ms) {
  ASSIGN_OR_RETURN(std::vector<int64_t> runs, NextRuns(expr, zone, after_ms, 1));
  if (runs.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(runs.front());
}

}  // namespace

Result<std::vector<int64_t>> NextRuns(const CronExpression& expr, const TimeZone& zone,
                                      int64_t after_ms, int n) {
  if (n < 0 || n > kNextRunsMax)
    return Status::InvalidArgument("n " + std::to_string(n) + " is outside 0.." +
                                   std::to_string(kNextRunsMax));
  RETURN_IF_ERROR(CheckInstant("after", after_ms));
  const size_t wanted = static_cast<size_t>(n);
  // Runs are whole seconds: u * 1000 > after_ms exactly when u > floor(after_ms / 1000).
  const int64_t after_s = FloorDiv(after_ms, 1000);
  // A wall time W is an instant in [W - max_offset, W - min_offset] (time_zone.h): walls before
  // after + min_offset cannot be after `after`, and once W - max_offset passes the n-th run
  // found, no later wall can come before it.
  const int64_t first_local_s = after_s + zone.min_offset_s();
  const int64_t horizon_local_s =
      after_s + zone.max_offset_s() + int64_t{kSearchYearsMax} * 366 * kSecondsPerDay;
  std::set<int64_t> found;  // the n earliest so far
  auto add = [&](int64_t u) {
    if (u <= after_s) return;
    found.insert(u);
    if (found.size() > wanted) found.erase(std::prev(found.end()));
  };
  for (std::optional<int64_t> wall = NextMatchingLocal(expr, first_local_s, horizon_local_s);
       wall && wanted > 0;
       wall = NextMatchingLocal(expr, *wall + kSecondsPerMinute, horizon_local_s)) {
    if (found.size() == wanted && *wall - zone.max_offset_s() > *found.rbegin()) break;
    const LocalTimeInstants at = zone.FromLocal(*wall);
    switch (at.kind) {
      case LocalTimeInstants::Kind::kUnique:
        add(at.first_s);
        break;
      case LocalTimeInstants::Kind::kRepeated:
        add(at.first_s);
        if (expr.wildcard()) add(at.second_s);
        break;
      case LocalTimeInstants::Kind::kSkipped:
        if (!expr.wildcard()) add(at.first_s);  // the set merges several skipped times into one
        break;
    }
  }
  std::vector<int64_t> runs_ms;
  runs_ms.reserve(found.size());
  for (int64_t u : found) runs_ms.push_back(u * 1000);
  return runs_ms;
}

Result<CatchUpPolicy> ParseCatchUpPolicy(std::string_view name) {
  if (name == "skip") return CatchUpPolicy::kSkip;
  if (name == "run_once") return CatchUpPolicy::kRunOnce;
  return Status::InvalidArgument("catch-up policy '" + std::string(name) +
                                 "' is not one of skip, run_once");
}

const char* CatchUpPolicyName(CatchUpPolicy policy) {
  return policy == CatchUpPolicy::kSkip ? "skip" : "run_once";
}

Result<DueRuns> PlanDueRuns(const CronExpression& expr, const TimeZone& zone, int64_t last_run_ms,
                            int64_t now_ms, CatchUpPolicy policy, int64_t grace_ms) {
  RETURN_IF_ERROR(CheckInstant("last_run", last_run_ms));
  RETURN_IF_ERROR(CheckInstant("now", now_ms));
  if (grace_ms < 0 || grace_ms > kOnTimeGraceMsMax)
    return Status::InvalidArgument("grace_ms " + std::to_string(grace_ms) + " is outside 0.." +
                                   std::to_string(kOnTimeGraceMsMax));
  DueRuns due;
  ASSIGN_OR_RETURN(due.next_run_ms, NextRun(expr, zone, std::max(now_ms, last_run_ms)));
  if (now_ms <= last_run_ms) return due;

  // Due: scheduled instants in (last_run_ms, now_ms]. On time: those in [now - grace, now].
  ASSIGN_OR_RETURN(const std::optional<int64_t> first_due, NextRun(expr, zone, last_run_ms));
  if (!first_due || *first_due > now_ms) return due;
  const int64_t on_time_after_ms = std::max(last_run_ms, now_ms - grace_ms - 1);
  ASSIGN_OR_RETURN(const std::optional<int64_t> on_time, NextRun(expr, zone, on_time_after_ms));
  const bool due_on_time = on_time && *on_time <= now_ms;
  if (*first_due < now_ms - grace_ms) due.first_missed_ms = *first_due;
  due.run_now = due_on_time || (due.first_missed_ms && policy == CatchUpPolicy::kRunOnce);
  due.catch_up = due.run_now && !due_on_time;
  return due;
}

}  // namespace swan::orchestration
