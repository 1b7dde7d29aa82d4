#include "orchestration/scheduler.h"

#include <algorithm>
#include <chrono>

#include "common/names.h"
#include "orchestration/schedule.h"

namespace swan::orchestration {

using nlohmann::json;

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

json ParseState(const Result<std::string>& text) {
  if (!text.ok()) return json::object();
  json j = json::parse(*text, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

Scheduler::Scheduler(SchedulerParts parts, SchedulerOptions options)
    : parts_(std::move(parts)), options_(options) {}

Scheduler::~Scheduler() { Stop(); }

Status Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (started_ || !options_.thread) return Status::Ok();
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Notify() {
  reload_ = true;
  cv_.notify_all();
}

Scheduler::Counts Scheduler::counts() {
  std::lock_guard lock(pass_mu_);
  Counts c;
  for (const auto& [id, e] : schedules_) c.schedules += e.config.enabled ? 1 : 0;
  for (const auto& [id, e] : triggers_) c.triggers += e.config.enabled ? 1 : 0;
  c.passes = passes_;
  return c;
}

void Scheduler::Loop() {
  while (true) {
    Status st = RunDue();
    (void)st;  // a pass that could not read the catalog is tried again at the next tick
    std::unique_lock lock(mu_);
    if (stopping_) return;
    cv_.wait_for(lock, std::chrono::milliseconds(WaitMs()),
                 [&] { return stopping_ || reload_.load(); });
    if (stopping_) return;
  }
}

int64_t Scheduler::WaitMs() {
  std::lock_guard lock(pass_mu_);
  int64_t wait = options_.tick_ms;
  const int64_t now = parts_.clock->NowMs();
  for (const auto& [id, e] : schedules_) {
    if (!e.config.enabled || e.broken) continue;
    if (!e.next_run_ms) return 0;
    wait = std::min(wait, std::max<int64_t>(0, *e.next_run_ms - now));
  }
  return wait;
}

Status Scheduler::Reload() {
  ASSIGN_OR_RETURN(auto projects, parts_.catalog->ListProjects());
  std::map<int64_t, ScheduleEntry> schedules;
  std::map<int64_t, TriggerEntry> triggers;
  for (const auto& project : projects) {
    ASSIGN_OR_RETURN(auto configs, parts_.catalog->ListConfigurations(project.main_branch_id));
    for (const auto& c : configs) {
      const bool is_schedule = c.component_id == kScheduleComponentId;
      if (!is_schedule && c.component_id != kTriggerComponentId) continue;
      // Unchanged since the last reload: kept as it is, with its place in time.
      if (is_schedule) {
        if (auto old = schedules_.find(c.id);
            old != schedules_.end() && old->second.version == c.version) {
          schedules.emplace(c.id, std::move(old->second));
          continue;
        }
      } else if (auto old = triggers_.find(c.id);
                 old != triggers_.end() && old->second.version == c.version) {
        triggers.emplace(c.id, std::move(old->second));
        continue;
      }
      json body = json::parse(c.current.body_json, nullptr, false);
      if (is_schedule) {
        auto parsed = ParseScheduleConfig(body);
        if (!parsed.ok()) continue;  // the service refuses such versions; an old one is ignored
        ScheduleEntry e{c.id, c.project_id, c.config_id, c.version, *parsed};
        e.token_id = c.current.token_id;
        const json state = ParseState(parts_.catalog->GetConfigState(c.id, ""));
        e.last_ms = std::max(state.value("lastRunMs", int64_t{0}), c.current.created_at);
        auto zone = TimeZone::Load(parsed->time_zone, parts_.zoneinfo_dir);
        if (zone.ok()) {
          e.zone = *zone;
        } else {
          e.broken = true;
          if (parsed->enabled)
            Record(c.project_id, "schedule.failed", "config:" + c.config_id,
                   {{"message", zone.status().message()}});
        }
        schedules.emplace(c.id, std::move(e));
      } else {
        auto parsed = ParseTriggerConfig(body);
        if (!parsed.ok()) continue;
        TriggerEntry e{c.id, c.project_id, c.branch_id, c.config_id, c.version, *parsed};
        e.token_id = c.current.token_id;
        e.since_ms = c.current.created_at;
        const json state = ParseState(parts_.catalog->GetConfigState(c.id, ""));
        e.last_fire_ms = state.value("lastFireMs", int64_t{-1});
        triggers.emplace(c.id, std::move(e));
      }
    }
  }
  schedules_ = std::move(schedules);
  triggers_ = std::move(triggers);
  return Status::Ok();
}

Status Scheduler::RunDue() {
  std::lock_guard lock(pass_mu_);
  const int64_t real = SteadyMs();
  if (reload_.exchange(false) || last_reload_real_ms_ < 0 ||
      real - last_reload_real_ms_ >= options_.reload_ms) {
    Status st = Reload();
    if (!st.ok()) {
      reload_ = true;
      return st;
    }
    last_reload_real_ms_ = real;
  }
  ++passes_;
  const int64_t now = parts_.clock->NowMs();
  for (auto& [id, e] : schedules_) RunSchedule(e, now);
  for (auto& [id, e] : triggers_) RunTrigger(e, now);
  return Status::Ok();
}

void Scheduler::RunSchedule(ScheduleEntry& e, int64_t now) {
  if (!e.config.enabled || e.broken) return;
  if (e.next_run_ms && *e.next_run_ms > now) return;
  auto plan =
      PlanDueRuns(e.config.cron, *e.zone, e.last_ms, now, e.config.catch_up, options_.grace_ms);
  if (!plan.ok()) {
    e.broken = true;
    Record(e.project_id, "schedule.failed", "config:" + e.config_id,
           {{"message", plan.status().message()}});
    return;
  }
  const std::string object = "config:" + e.config_id;
  if (plan->first_missed_ms && (!plan->run_now || !plan->catch_up)) {
    // Runs passed while the server was down (or the schedule disabled): skipped, once.
    Record(e.project_id, "schedule.skipped", object,
           {{"first_missed_ms", *plan->first_missed_ms},
            {"catch_up", CatchUpPolicyName(e.config.catch_up)}});
  }
  if (plan->run_now) {
    ScheduledStart start{e.project_id, "schedule", e.config_id, e.config.target, e.token_id};
    auto job = parts_.start(start);
    if (job.ok()) {
      Record(e.project_id, "schedule.run", object,
             {{"job_id", *job},
              {"target", RunTargetJson(e.config.target)},
              {"catch_up", plan->catch_up},
              {"at_ms", now}});
    } else {
      Record(e.project_id, "schedule.failed", object,
             {{"target", RunTargetJson(e.config.target)}, {"message", job.status().message()}});
    }
  }
  if (plan->run_now || plan->first_missed_ms) SaveState(e.configuration_id, {{"lastRunMs", now}});
  e.last_ms = std::max(e.last_ms, now);
  e.next_run_ms = plan->next_run_ms;
  if (!e.next_run_ms) e.broken = true;  // no run within the search horizon: nothing to wait for
}

Result<std::optional<catalog::TableVersion>> HeadVersionOf(catalog::Catalog& catalog,
                                                           int64_t branch_id,
                                                           const std::string& table_id) {
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, &table_name));
  auto bucket = catalog.GetBucket(branch_id, stage, bucket_name);
  using Head = std::optional<catalog::TableVersion>;
  if (!bucket.ok() && bucket.status().code() == StatusCode::kNotFound) return Head();
  RETURN_IF_ERROR(bucket.status());
  auto table = catalog.GetTable(bucket->id, table_name);
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) return Head();
  RETURN_IF_ERROR(table.status());
  if (table->head_version_id == 0) return Head();
  ASSIGN_OR_RETURN(auto head, catalog.GetVersion(table->head_version_id));
  return Head(std::move(head));
}

Result<bool> Scheduler::TablesChanged(const TriggerEntry& e, int64_t since_ms, json& versions) {
  bool all = true;
  for (const auto& id : e.config.table_ids) {
    ASSIGN_OR_RETURN(auto head, HeadVersionOf(*parts_.catalog, e.branch_id, id));
    if (!head) return false;
    versions[id] = head->number;
    if (head->created_at < since_ms) all = false;
  }
  return all;
}

void Scheduler::RunTrigger(TriggerEntry& e, int64_t now) {
  if (!e.config.enabled) return;
  if (e.last_fire_ms >= 0 && now - e.last_fire_ms < e.config.cooldown_ms) return;
  // "New since the target's last run": the newest job of the target, whoever started it.
  int64_t since = e.since_ms;
  auto target = parts_.catalog->GetConfiguration(e.branch_id, e.config.target.config_id);
  if (!target.ok()) return;  // deleted since: the trigger waits (the service checks at save)
  catalog::JobFilter filter;
  filter.project_id = e.project_id;
  filter.configuration_id = target->id;
  filter.limit = 1;
  auto last = parts_.catalog->ListJobs(filter);
  if (!last.ok()) return;
  if (!last->empty()) {
    const catalog::Job& job = last->front();
    if (!catalog::IsFinalJobStatus(job.status)) return;  // never two runs at once
    since = std::max(since, job.created_at);
  }
  json versions = json::object();
  auto changed = TablesChanged(e, since, versions);
  if (!changed.ok() || !*changed) return;
  ScheduledStart start{e.project_id, "trigger", e.config_id, e.config.target, e.token_id};
  auto job = parts_.start(start);
  const std::string object = "config:" + e.config_id;
  if (job.ok()) {
    Record(e.project_id, "trigger.run", object,
           {{"job_id", *job}, {"target", RunTargetJson(e.config.target)}, {"tables", versions}});
  } else {
    Record(e.project_id, "trigger.failed", object,
           {{"target", RunTargetJson(e.config.target)}, {"message", job.status().message()}});
  }
  // A failed start waits for the cool-down too: no event every second.
  e.last_fire_ms = now;
  SaveState(e.configuration_id, {{"lastFireMs", now}});
}

void Scheduler::Record(int64_t project_id, const std::string& action, const std::string& object,
                       const json& details) {
  catalog::Event event;
  event.project_id = project_id;
  event.action = action;
  event.object = object;
  event.details_json = details.dump();
  event.client_address = "scheduler";
  event.created_at = parts_.clock->NowMs();
  Status st = parts_.catalog->AppendEvent(event);
  (void)st;  // an event that cannot be written does not stop the schedule
}

void Scheduler::SaveState(int64_t configuration_id, const json& state) {
  Status st = parts_.catalog->SetConfigState(configuration_id, "", state.dump());
  (void)st;  // kept in memory; a restart may then catch up once more
}

}  // namespace swan::orchestration
