#include "orchestration/flow_runner.h"

#include <nlohmann/json.hpp>

#include "jobs/config_secrets.h"
#include "jobs/job_log.h"
#include "jobs/variables.h"
#include "orchestration/flow_definition.h"
#include "orchestration/flow_plan.h"
#include "orchestration/flow_status.h"
#include "orchestration/notification_rules.h"

namespace swan::orchestration {

using nlohmann::json;

FlowRunner::FlowRunner(FlowRunnerParts parts, FlowRunnerOptions options)
    : parts_(std::move(parts)), options_(std::move(options)) {}

FlowRunner::~FlowRunner() { Stop(); }

Status FlowRunner::Start() {
  // Flows a previous process left: JobRunner::Start ended them (terminated) or queued them again
  // (more attempts allowed), and nothing runs yet. The tasks they had queued never run on their
  // own: an ended flow wants none, and a queued flow plans again when it runs, reusing the tasks
  // that had succeeded (RunFlow).
  catalog::JobFilter filter;
  filter.status = catalog::kJobWaiting;
  filter.limit = 100000;
  ASSIGN_OR_RETURN(auto waiting, parts_.catalog->ListJobs(filter));
  for (const auto& task : waiting) {
    if (!task.parent_job_id) continue;
    auto parent = parts_.catalog->GetJob(*task.parent_job_id);
    const bool ended = !parent.ok() || catalog::IsFinalJobStatus(parent->status);
    RETURN_IF_ERROR(parts_.catalog->RequestJobCancel(task.id).status());
    jobs::JobLog log(*parts_.catalog, *parts_.clock, task.id, {});
    log.Warning("cancelled: its flow (job " + std::to_string(task.parent_job_id.value_or(0)) +
                (ended ? ") ended when the server stopped"
                       : ") runs again after the server stopped, and plans its tasks anew"));
    log.Flush();
  }
  std::lock_guard lock(mu_);
  if (started_) return Status::Ok();
  started_ = true;
  loop_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void FlowRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Flows stop driving where they are: their jobs stay `processing`, and the next start ends them
  // (or queues them again) as it does any job a stopped server left.
  stop_flows_ = true;
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  Reap(true);
}

void FlowRunner::Notify() { cv_.notify_all(); }

void FlowRunner::Cancel(int64_t flow_job_id) {
  std::lock_guard lock(mu_);
  auto it = flows_.find(flow_job_id);
  if (it != flows_.end()) it->second->cancel = true;
}

void FlowRunner::Reap(bool all) {
  std::vector<std::unique_ptr<Flow>> ended;
  {
    std::lock_guard lock(mu_);
    for (auto it = flows_.begin(); it != flows_.end();) {
      if (all || it->second->done) {
        ended.push_back(std::move(it->second));
        it = flows_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& f : ended)
    if (f->thread.joinable()) f->thread.join();
}

void FlowRunner::Loop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Reap(false);
    auto claimed = parts_.catalog->ClaimFlowJob(options_.worker_id);
    if (claimed.ok() && claimed->has_value()) {
      catalog::Job job = std::move(**claimed);
      auto flow = std::make_unique<Flow>();
      Flow* f = flow.get();
      if (job.cancel_requested) f->cancel = true;
      std::lock_guard lock(mu_);
      f->thread = std::thread([this, job, f] {
        RunFlow(job, *f);
        f->done = true;
      });
      flows_[job.id] = std::move(flow);
      continue;
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
  }
}

namespace {

bool Succeeded(const std::string& status) {
  return status == catalog::kJobSuccess || status == catalog::kJobWarning;
}

std::string TaskLabel(const FlowTask& task) {
  return "task " + task.id + (task.name.empty() ? "" : " '" + task.name + "'");
}

}  // namespace

void FlowRunner::RunFlow(catalog::Job job, Flow& flow) {
  catalog::Catalog& cat = *parts_.catalog;
  // Followers of the flow's events wake on the job runner's activity signal.
  jobs::JobLog log(cat, *parts_.clock, job.id, [this] { parts_.jobs->Touch(); });
  const int64_t started_ms = parts_.clock->NowMs();
  auto end = [&](const std::string& status, const std::string& message,
                 const std::string& error_kind) {
    job.status = status;
    job.message = message;
    job.error_kind = error_kind;
    job.finished_at = parts_.clock->NowMs();
    job.wall_ms = job.finished_at - started_ms;
    (status == catalog::kJobSuccess ? log.Info(message) : log.Warning(message));
    log.Flush();
    (void)cat.UpdateJob(job, catalog::kJobProcessing);
    parts_.jobs->Touch();  // a follower that saw the last events waits for this end
  };

  // The flow's configuration as the job pinned it, secrets opened for the notifications only.
  auto version = cat.GetConfigVersion(job.configuration_id, job.config_version);
  if (!version.ok()) return end(catalog::kJobError, version.status().message(), "application");
  json body = json::parse(version->body_json, nullptr, false);
  auto definition = ParseFlow(body);
  if (!definition.ok()) return end(catalog::kJobError, definition.status().message(), "user");
  auto key = jobs::ProjectKey(cat, parts_.master_key, job.project_id);
  std::vector<std::string> opened;
  Status secrets = key.ok() ? jobs::OpenSecrets(body, *key, &opened) : key.status();
  if (!secrets.ok())
    return end(catalog::kJobError, "cannot open the flow's secrets: " + secrets.message(),
               "application");
  log.SetMasker(jobs::SecretMasker(opened));
  auto parsed = ParseNotificationRules(body);
  if (!parsed.ok()) return end(catalog::kJobError, parsed.status().message(), "user");
  const std::vector<NotificationRule> rules = std::move(*parsed);
  // Every task's job gets the flow's variables, overridden by those the run was given.
  jobs::Variables variables = definition->variables;
  {
    auto given = jobs::ParseVariables(json::parse(job.variables_json, nullptr, false));
    if (!given.ok()) return end(catalog::kJobError, given.status().message(), "application");
    for (auto& [name, value] : *given) variables[name] = value;
  }
  const std::string task_variables = jobs::VariablesJson(variables).dump();

  // A rerun reuses what succeeded in the runs it repeats: the run it names and, when that was a
  // rerun too, the runs before it (a task reused there has no job of that run). A flow run again
  // after the server stopped (a later attempt) resumes: its own earlier attempt's tasks count
  // last, so a task that finished is never run twice.
  std::optional<FlowPlan> plan;
  if (job.rerun_of || job.attempt > 1) {
    auto previous = EarlierTaskStates(cat, job);
    if (!previous.ok()) return end(catalog::kJobError, previous.status().message(), "application");
    auto rerun = FlowPlan::RerunFromFailure(*definition, *previous);
    if (!rerun.ok() && job.attempt > 1 && rerun.status().code() == StatusCode::kConflict)
      return end(catalog::kJobSuccess, "every task had succeeded before the server stopped", "");
    if (!rerun.ok()) return end(catalog::kJobError, rerun.status().message(), "user");
    plan.emplace(std::move(*rerun));
    log.Info(job.attempt > 1 ? "attempt " + std::to_string(job.attempt) +
                                   ": the tasks that succeeded before are reused"
                             : "rerun of flow job " + std::to_string(job.rerun_of.value_or(0)) +
                                   ": the tasks that succeeded there are reused");
  } else {
    plan.emplace(*definition);
  }
  const FlowDefinition& def = plan->definition();
  log.Info("flow: " + std::to_string(def.phases.size()) + " phases, " +
           std::to_string(def.tasks.size()) + " tasks, at most " + std::to_string(def.parallelism) +
           " at once");

  std::map<size_t, int64_t> running;  // task -> its job
  bool cancelled = false;
  bool timed_out = false;
  std::vector<size_t> long_fired;
  while (true) {
    if (stop_flows_) {
      log.Flush();
      return;  // the server stops: the next start ends this job
    }
    auto fresh = cat.GetJob(job.id);
    // The run's timeout (POST run {"timeout"}) ends it as a cancel does, as an error.
    timed_out =
        timed_out || (job.timeout_ms > 0 && parts_.clock->NowMs() - started_ms >= job.timeout_ms);
    if (!cancelled && (timed_out || flow.cancel || (fresh.ok() && fresh->cancel_requested))) {
      cancelled = true;
      plan->Stop();
      for (const auto& [t, child] : running) {
        (void)cat.RequestJobCancel(child);
        parts_.jobs->Cancel(child);
      }
      log.Warning("cancelling: " + std::to_string(running.size()) +
                  " running tasks are cancelled, the others skipped");
    }
    for (size_t t : plan->Next()) {
      const FlowTask& task = def.tasks[t];
      auto failed = [&](const std::string& why) {
        log.Error(TaskLabel(task) + ": " + why);
        plan->Finish(t, false);
      };
      if (task.config_row_ids.size() > 1) {
        failed("configRowIds lists " + std::to_string(task.config_row_ids.size()) +
               " rows; Swan runs one row per task: give each row a task of its own");
        continue;
      }
      // The flow's project and branch only: another project's configuration is not found.
      auto config = cat.GetConfiguration(job.branch_id, task.config_id);
      if (!config.ok()) {
        failed("configuration '" + task.config_id + "' not found in this project");
        continue;
      }
      if (config->component_id != task.component_id) {
        failed("configuration '" + task.config_id + "' is of component " + config->component_id +
               ", not " + task.component_id);
        continue;
      }
      if (config->component_id == catalog::kFlowComponentId) {
        failed("a flow cannot run a flow as a task");
        continue;
      }
      catalog::Job child;
      child.project_id = job.project_id;
      child.branch_id = job.branch_id;
      child.configuration_id = config->id;
      child.config_id = config->config_id;
      child.component_id = config->component_id;
      child.row_id = task.config_row_ids.empty() ? "" : task.config_row_ids[0];
      child.config_version = config->version;
      child.status = catalog::kJobCreated;
      child.token_id = job.token_id;
      child.parent_job_id = job.id;
      child.flow_task_id = task.id;
      child.variables_json = task_variables;
      catalog::Job created;
      Status queued = cat.Transact([&](catalog::Catalog& tx) -> Status {
        ASSIGN_OR_RETURN(created, tx.CreateJob(child));
        created.status = catalog::kJobWaiting;
        return tx.UpdateJob(created, catalog::kJobCreated);
      });
      if (!queued.ok()) {
        failed("cannot queue its job: " + queued.message());
        continue;
      }
      running[t] = created.id;
      log.Info(TaskLabel(task) + " (phase " + task.phase + "): job " + std::to_string(created.id));
      parts_.jobs->Notify();
    }
    const uint64_t seen = parts_.jobs->activity();
    bool ended_any = false;
    for (auto it = running.begin(); it != running.end();) {
      auto child = cat.GetJob(it->second);
      if (child.ok() && catalog::IsFinalJobStatus(child->status)) {
        const FlowTask& task = def.tasks[it->first];
        const std::string line = TaskLabel(task) + ": job " + std::to_string(child->id) + " " +
                                 child->status +
                                 (child->message.empty() ? "" : ": " + child->message);
        (Succeeded(child->status) ? log.Info(line) : log.Warning(line));
        plan->Finish(it->first, Succeeded(child->status));
        it = running.erase(it);
        ended_any = true;
      } else {
        ++it;
      }
    }
    const int64_t elapsed = parts_.clock->NowMs() - started_ms;
    for (size_t r : RulesForDuration(rules, elapsed, long_fired)) {
      long_fired.push_back(r);
      WebhookDelivery d = DeliverWebhook(
          {rules[r].url, rules[r].secret}, NotificationEventName(rules[r].event),
          json({{"event", NotificationEventName(rules[r].event)},
                {"job", {{"id", job.id}, {"status", "processing"}, {"config", job.config_id}}},
                {"project_id", job.project_id},
                {"running_ms", elapsed}})
              .dump(),
          options_.webhook);
      log.Info(std::string("notification ") + NotificationEventName(rules[r].event) + " to " +
               rules[r].url + ": " + (d.delivered ? "delivered" : "not delivered: " + d.error) +
               " (" + std::to_string(d.attempts.size()) + " attempts)");
    }
    if (plan->Done()) break;
    if (ended_any) continue;  // the next tasks may start now
    // Job activity (a task's events or end) wakes the wait; the cap covers other processes.
    parts_.jobs->WaitForActivity(seen, options_.check_ms);
  }

  // The outcome, then the notifications it fires.
  int ok = 0, failed = 0, skipped = 0, reused = 0;
  for (size_t t = 0; t < def.tasks.size(); ++t) {
    switch (plan->task_state(t)) {
      case TaskState::kSucceeded:
        ++ok;
        break;
      case TaskState::kFailed:
        ++failed;
        break;
      case TaskState::kReused:
        ++reused;
        break;
      case TaskState::kSkipped:
        ++skipped;
        break;
      default:
        break;
    }
  }
  const std::string summary = std::to_string(ok) + " tasks succeeded, " + std::to_string(failed) +
                              " failed, " + std::to_string(skipped) + " skipped" +
                              (reused ? ", " + std::to_string(reused) + " reused" : "");
  std::string status = cancelled ? std::string(catalog::kJobCancelled) : plan->Outcome();
  std::string error_kind = status == catalog::kJobError ? "user" : "";
  std::string message = summary;
  if (timed_out) {
    status = catalog::kJobError;
    error_kind = "timeout";
    message = "timed out after " + std::to_string(job.timeout_ms / 1000) + " s: " + summary;
  } else if (cancelled) {
    error_kind = "cancelled";
    message = "cancelled: " + summary;
  }
  end(status, message, error_kind);
  for (const auto& rule : RulesForEnd(rules, status)) {
    const json payload = {{"event", NotificationEventName(rule.event)},
                          {"job",
                           {{"id", job.id},
                            {"status", status},
                            {"message", job.message},
                            {"config", job.config_id},
                            {"component_id", job.component_id},
                            {"wall_ms", job.wall_ms}}},
                          {"project_id", job.project_id}};
    WebhookDelivery d = DeliverWebhook({rule.url, rule.secret}, NotificationEventName(rule.event),
                                       payload.dump(), options_.webhook);
    log.Info(std::string("notification ") + NotificationEventName(rule.event) + " to " + rule.url +
             ": " + (d.delivered ? "delivered" : "not delivered: " + d.error) + " (" +
             std::to_string(d.attempts.size()) + " attempts, delivery " + d.delivery_id + ")");
  }
  log.Flush();
}

}  // namespace swan::orchestration
