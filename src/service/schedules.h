// Services: schedules and triggers (configurations of keboola.scheduler and swan.trigger, saved
// through the configuration services) seen with what the scheduler makes of them: next run
// times, last run, the tables a trigger waits for; and the start of their targets' jobs, with
// the token that saved the schedule's current version.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "orchestration/scheduler.h"
#include "service/caller.h"
#include "service/runtime.h"

namespace swan::service {

// Run times a preview or a listing shows at most.
inline constexpr int kScheduleNextRunsMax = 100;

// Queues the target's job for the scheduler, as the token that saved the schedule or trigger
// (its rights, its project): permission_denied when that token is revoked or expired.
Result<int64_t> StartScheduled(Runtime& rt, const orchestration::ScheduledStart& start);

// The project's schedules, each with its next `next_runs` run times from now.
Result<nlohmann::json> ListSchedules(Runtime& rt, const Caller& caller,
                                     const catalog::Project& project, int next_runs);
Result<nlohmann::json> GetSchedule(Runtime& rt, const Caller& caller,
                                   const catalog::Project& project, const std::string& config_id,
                                   int next_runs);
// The next `count` run times of a cron expression in a zone, from now (nothing saved).
Result<nlohmann::json> PreviewSchedule(Runtime& rt, const std::string& cron_tab,
                                       const std::string& time_zone, int count);
// The project's triggers, each with the head version of every table it watches.
Result<nlohmann::json> ListTriggers(Runtime& rt, const Caller& caller,
                                    const catalog::Project& project);

}  // namespace swan::service
