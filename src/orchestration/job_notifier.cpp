#include "orchestration/job_notifier.h"

#include <algorithm>
#include <chrono>

#include "jobs/config_secrets.h"
#include "jobs/job_log.h"
#include "orchestration/notification_rules.h"

namespace swan::orchestration {

using nlohmann::json;

namespace {

// The configuration body a job ran with, or null.
json BodyOf(catalog::Catalog& cat, const catalog::Job& job) {
  auto version = cat.GetConfigVersion(job.configuration_id, job.config_version);
  if (!version.ok()) return nullptr;
  json body = json::parse(version->body_json, nullptr, false);
  return body.is_object() && body.contains("notifications") ? body : json(nullptr);
}

}  // namespace

JobNotifier::JobNotifier(JobNotifierParts parts, WebhookOptions options)
    : parts_(std::move(parts)), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

JobNotifier::~JobNotifier() { Stop(); }

void JobNotifier::JobStarted(int64_t job_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back({job_id, true});
  }
  cv_.notify_one();
}

void JobNotifier::JobEnded(int64_t job_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back({job_id, false});
  }
  cv_.notify_one();
}

void JobNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobNotifier::Loop() {
  while (true) {
    Item item;
    bool have = false;
    {
      std::unique_lock lock(mu_);
      // Watched jobs are checked at least every second (the Clock may be a test's).
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !queue_.empty(); });
      if (!queue_.empty()) {
        item = queue_.front();
        queue_.pop_front();
        have = true;
      } else if (stopping_) {
        return;
      }
    }
    if (have) Handle(item);
    CheckWatches();
  }
}

void JobNotifier::Handle(const Item& item) {
  catalog::Catalog& cat = *parts_.catalog;
  auto job = cat.GetJob(item.job_id);
  if (!job.ok() || job->component_id == catalog::kFlowComponentId) return;  // flows: their own
  json body = BodyOf(cat, *job);
  if (body.is_null()) return;
  auto rules = ParseNotificationRules(body);
  if (!rules.ok()) {
    jobs::JobLog log(cat, *parts_.clock, job->id, {});
    log.Warning("notifications not sent: " + rules.status().message());
    log.Flush();
    return;
  }
  if (item.started) {
    const int64_t started = job->started_at ? job->started_at : parts_.clock->NowMs();
    for (size_t r = 0; r < rules->size(); ++r)
      if ((*rules)[r].event == NotificationEvent::kProcessingLong)
        watches_.push_back({job->id, job->attempt, started + (*rules)[r].threshold_ms, r});
    return;
  }
  std::erase_if(watches_, [&](const Watch& w) { return w.job_id == job->id; });
  if (!catalog::IsFinalJobStatus(job->status)) return;  // waiting for a retry
  std::vector<size_t> due;
  const auto end_rules = RulesForEnd(*rules, job->status);
  for (size_t r = 0; r < rules->size(); ++r)
    for (const auto& e : end_rules)
      if (e.event == (*rules)[r].event && e.url == (*rules)[r].url) {
        due.push_back(r);
        break;
      }
  if (!due.empty()) Send(*job, std::move(body), due);
}

void JobNotifier::CheckWatches() {
  if (watches_.empty()) return;
  const int64_t now = parts_.clock->NowMs();
  std::vector<Watch> fire;
  std::erase_if(watches_, [&](const Watch& w) {
    if (w.due_ms > now) return false;
    fire.push_back(w);
    return true;
  });
  for (const auto& w : fire) {
    auto job = parts_.catalog->GetJob(w.job_id);
    // Still this run, still running: it is long.
    if (!job.ok() || job->status != catalog::kJobProcessing || job->attempt != w.attempt) continue;
    json body = BodyOf(*parts_.catalog, *job);
    if (!body.is_null()) Send(*job, std::move(body), {w.rule});
  }
}

void JobNotifier::Send(const catalog::Job& job, json body, const std::vector<size_t>& indexes) {
  catalog::Catalog& cat = *parts_.catalog;
  jobs::JobLog log(cat, *parts_.clock, job.id, {});
  // The rules' secrets, opened only now; the log masks them.
  auto key = jobs::ProjectKey(cat, parts_.master_key, job.project_id);
  std::vector<std::string> opened;
  Status secrets = key.ok() ? jobs::OpenSecrets(body, *key, &opened) : key.status();
  auto rules =
      secrets.ok() ? ParseNotificationRules(body) : Result<std::vector<NotificationRule>>(secrets);
  if (!rules.ok()) {
    log.Warning("notifications not sent: " + rules.status().message());
    log.Flush();
    return;
  }
  log.SetMasker(jobs::SecretMasker(opened));
  const int64_t now = parts_.clock->NowMs();
  for (size_t r : indexes) {
    if (r >= rules->size()) continue;
    const NotificationRule& rule = (*rules)[r];
    const char* event = NotificationEventName(rule.event);
    const json payload = {
        {"event", event},
        {"job",
         {{"id", job.id},
          {"status", job.status},
          {"message", job.message},
          {"config", job.config_id},
          {"component_id", job.component_id},
          {"wall_ms", job.wall_ms ? job.wall_ms : (job.started_at ? now - job.started_at : 0)}}},
        {"project_id", job.project_id}};
    WebhookDelivery d = DeliverWebhook({rule.url, rule.secret}, event, payload.dump(), options_);
    log.Info(std::string("notification ") + event + " to " + rule.url + ": " +
             (d.delivered ? "delivered" : "not delivered: " + d.error) + " (" +
             std::to_string(d.attempts.size()) + " attempts, delivery " + d.delivery_id + ")");
  }
  log.Flush();
}

}  // namespace swan::orchestration
