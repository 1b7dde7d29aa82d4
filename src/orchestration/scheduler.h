// The scheduler: starts the jobs of enabled schedules when their cron instants come (with the
// DST and catch-up rules of schedule.h) and of enabled triggers when every table they watch has
// new data (schedule_config.h). Owned by the runtime; time comes only from its Clock, so tests
// drive it with a FakeClock and call RunDue() instead of sleeping.
//
// Schedules and triggers are configurations (keboola.scheduler, swan.trigger). The scheduler
// keeps them parsed in memory, reloaded when Notify() says one changed and every reload_ms (for
// changes made by another process), so that an idle pass over 1,000 schedules is a loop over
// integers. A pass starts what is due through `start` (the service layer's RunConfig with the
// token that saved the schedule's current version: a schedule runs with its author's rights, in
// its own project only) and records each run, skip and failure as an event of the project
// (schedule.run, schedule.skipped, schedule.failed, trigger.run, trigger.failed).
//
// What a schedule handled is kept in its configuration's state ({"lastRunMs"}), so a restart
// after downtime applies the catch-up policy to the runs it missed, once. A schedule created,
// edited or enabled at T considers only instants after T.
//
// Thread-safety: all public methods may be called from any thread; passes are serialized.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "orchestration/schedule_config.h"
#include "orchestration/time_zone.h"

namespace swan::orchestration {

// One start the scheduler asks for.
struct ScheduledStart {
  int64_t project_id = 0;
  std::string origin;     // "schedule" | "trigger"
  std::string origin_id;  // the schedule's or trigger's configuration id
  RunTarget target;
  std::optional<int64_t> token_id;  // who saved the origin's current version
};
// The current version of table `table_id` ("in.sales.orders") of a branch; nullopt when the
// table (or its bucket) does not exist or has no version yet.
Result<std::optional<catalog::TableVersion>> HeadVersionOf(catalog::Catalog& catalog,
                                                           int64_t branch_id,
                                                           const std::string& table_id);

// Queues the target's job; returns its id.
using StartRunFn = std::function<Result<int64_t>(const ScheduledStart&)>;

struct SchedulerParts {
  catalog::Catalog* catalog = nullptr;
  Clock* clock = nullptr;
  StartRunFn start;
  std::string zoneinfo_dir = kZoneinfoDir;
};

struct SchedulerOptions {
  int64_t tick_ms = 1000;     // the longest the thread sleeps between passes (real time)
  int64_t reload_ms = 15000;  // re-read schedules and triggers at least this often
  int64_t grace_ms = kOnTimeGraceMsDefault;
  bool thread = true;  // false: no thread; passes only through RunDue (tests)
};

class Scheduler {
 public:
  Scheduler(SchedulerParts parts, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Status Start();
  void Stop();
  // A schedule or trigger changed: the next pass re-reads them all, and comes at once.
  void Notify();
  // One pass at the clock's now: reloads if asked, starts what is due, records events.
  Status RunDue();

  struct Counts {
    int schedules = 0;  // enabled
    int triggers = 0;   // enabled
    int64_t passes = 0;
  };
  Counts counts();

 private:
  struct ScheduleEntry {
    int64_t configuration_id = 0;
    int64_t project_id = 0;
    std::string config_id;
    int64_t version = 0;
    ScheduleConfig config;
    std::optional<TimeZone> zone{};
    std::optional<int64_t> token_id{};
    int64_t last_ms = 0;                   // instants up to here are handled
    std::optional<int64_t> next_run_ms{};  // unset: evaluate at the next pass
    bool broken = false;                   // its zone failed to load: reported once
  };
  struct TriggerEntry {
    int64_t configuration_id = 0;
    int64_t project_id = 0;
    int64_t branch_id = 0;
    std::string config_id;
    int64_t version = 0;
    TriggerConfig config;
    std::optional<int64_t> token_id{};
    int64_t since_ms = 0;       // when its current version was saved
    int64_t last_fire_ms = -1;  // -1: never
  };

  Status Reload();
  void RunSchedule(ScheduleEntry& e, int64_t now);
  void RunTrigger(TriggerEntry& e, int64_t now);
  // True when every table of `e` has a version created at or after `since_ms`; fills versions.
  Result<bool> TablesChanged(const TriggerEntry& e, int64_t since_ms, nlohmann::json& versions);
  void Record(int64_t project_id, const std::string& action, const std::string& object,
              const nlohmann::json& details);
  void SaveState(int64_t configuration_id, const nlohmann::json& state);
  void Loop();
  // Real milliseconds until the earliest next run (at most tick_ms).
  int64_t WaitMs();

  SchedulerParts parts_;
  const SchedulerOptions options_;

  std::mutex pass_mu_;  // one pass at a time; guards the entries
  std::map<int64_t, ScheduleEntry> schedules_;
  std::map<int64_t, TriggerEntry> triggers_;
  int64_t last_reload_real_ms_ = -1;
  int64_t passes_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  std::atomic<bool> reload_{true};
  std::thread thread_;
};

}  // namespace swan::orchestration
