#include "jobs/job_runner.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/thread_priority.h"
#include "jobs/file_mapping.h"
#include "jobs/job_execution.h"
#include "jobs/job_log.h"

namespace swan::jobs {

struct JobRunner::Running {
  JobControl control;
};

JobRunner::JobRunner(JobRunnerParts parts, JobRunnerOptions options)
    : parts_(std::move(parts)), options_(std::move(options)), jobs_dir_(parts_.data_dir + "/jobs") {
  if (options_.worker_id.empty()) {
    options_.worker_id = std::to_string(::getpid()) + "@" + std::to_string(parts_.clock->NowMs());
  }
  if (options_.workers < 1) options_.workers = 1;
  if (options_.per_project_limit < 1) options_.per_project_limit = 1;
}

JobRunner::~JobRunner() { Stop(); }

Status JobRunner::Start() {
  RETURN_IF_ERROR(parts_.env->MakeDirs(jobs_dir_));
  // Jobs a previous process left unfinished: it died (one process owns a data directory), so
  // nothing of theirs was committed. Their folders may hold opened secrets: removed.
  catalog::JobFilter filter;
  filter.limit = 100000;
  ASSIGN_OR_RETURN(auto jobs, parts_.catalog->ListJobs(filter));
  for (auto& job : jobs) {
    if (job.status != catalog::kJobProcessing && job.status != catalog::kJobCreated) continue;
    const std::string was = job.status;
    JobLog log(*parts_.catalog, *parts_.clock, job.id, {});
    if (was == catalog::kJobProcessing && job.attempt < job.max_attempts) {
      job.status = catalog::kJobWaiting;
      job.attempt += 1;
      job.worker.clear();
      log.Warning(
          "the server stopped while the job ran: nothing of it was committed; it runs "
          "again (attempt " +
          std::to_string(job.attempt) + " of " + std::to_string(job.max_attempts) + ")");
    } else {
      job.status = catalog::kJobTerminated;
      job.finished_at = parts_.clock->NowMs();
      job.message = "terminated: the server stopped while the job " +
                    std::string(was == catalog::kJobCreated ? "was being created" : "ran") +
                    "; nothing of it was committed";
      job.error_kind = "terminated";
      log.Error(job.message);
    }
    log.Flush();
    RETURN_IF_ERROR(parts_.catalog->UpdateJob(job, was));
  }
  ASSIGN_OR_RETURN(auto leftovers, parts_.env->List(jobs_dir_));
  for (const auto& e : leftovers) (void)parts_.env->RemoveAll(e.path);
  RETURN_IF_ERROR(SweepUncommittedFiles());
  std::lock_guard lock(mu_);
  if (started_) return Status::Ok();
  started_ = true;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  return Status::Ok();
}

// A job moves its output files into the file storage before its commit registers them: a
// server that died in between left bytes that no catalog row names. Run before any worker.
Status JobRunner::SweepUncommittedFiles() {
  const std::string root = parts_.data_dir + "/files";
  if (!parts_.env->FileExists(root)) return Status::Ok();
  ASSIGN_OR_RETURN(auto projects, parts_.env->List(root));
  for (const auto& dir : projects) {
    const std::string name = std::filesystem::path(dir.path).filename().string();
    char* end = nullptr;
    const long long project_id = name.size() > 1 ? std::strtoll(name.c_str() + 1, &end, 10) : 0;
    if (!dir.is_directory || name[0] != 'p' || project_id <= 0 || *end != '\0') continue;
    if (ProjectFilesDir(project_id) != "files/" + name) continue;
    ASSIGN_OR_RETURN(auto files, parts_.catalog->ListFiles(project_id, {}, INT_MAX));
    std::set<std::string> registered;
    for (const auto& f : files) registered.insert(parts_.data_dir + "/" + f.path);
    ASSIGN_OR_RETURN(auto stored, parts_.env->List(dir.path));
    for (const auto& f : stored)
      if (!registered.count(f.path)) (void)parts_.env->RemoveAll(f.path);
  }
  return Status::Ok();
}

void JobRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, r] : running_) r->control.Stop();
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  Touch();
}

void JobRunner::Notify() { cv_.notify_one(); }

void JobRunner::Cancel(int64_t job_id) {
  std::lock_guard lock(mu_);
  auto it = running_.find(job_id);
  if (it != running_.end()) it->second->control.Cancel();
}

void JobRunner::Touch() {
  {
    std::lock_guard lock(activity_mu_);
    activity_.fetch_add(1);
  }
  activity_cv_.notify_all();
}

void JobRunner::WaitForActivity(uint64_t seen, int64_t timeout_ms) {
  std::unique_lock lock(activity_mu_);
  activity_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return activity_.load() != seen; });
}

void JobRunner::WorkerLoop() {
  // Jobs are bulk work: they yield the CPU to the server's connections and to the threads that
  // wait on a peer (common/thread_priority.h).
  EnterBulkPriority();
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    auto claimed = parts_.catalog->ClaimJob(options_.worker_id, options_.per_project_limit);
    if (claimed.ok() && claimed->has_value()) {
      RunClaimed(std::move(**claimed));
      continue;
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
  }
}

void JobRunner::RunClaimed(catalog::Job job) {
  auto running = std::make_shared<Running>();
  const int64_t id = job.id;
  bool stopping = false;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    if (!stopping) running_[id] = running;
  }
  if (stopping) {
    // Claimed while the server began to stop: nothing of it ran, so it waits for the next start
    // (the same attempt) instead of ending terminated.
    job.status = catalog::kJobWaiting;
    job.worker.clear();
    JobLog log(*parts_.catalog, *parts_.clock, job.id, {});
    log.Info("the server is stopping: the job waits for its next start");
    log.Flush();
    (void)parts_.catalog->UpdateJob(job, catalog::kJobProcessing);
    Touch();
    return;
  }
  // A cancel that reached the catalog before this worker claimed the job, or between the claim
  // and the registration above (JobRunner::Cancel found nothing to kill then).
  if (job.cancel_requested) running->control.Cancel();
  if (auto fresh = parts_.catalog->GetJob(job.id); fresh.ok() && fresh->cancel_requested)
    running->control.Cancel();
  Touch();
  if (parts_.on_start) parts_.on_start(id);
  ExecuteJob(parts_, jobs_dir_, std::move(job), running->control, [this] { Touch(); });
  {
    std::lock_guard lock(mu_);
    running_.erase(id);
  }
  if (parts_.on_end) parts_.on_end(id);
  Touch();
  // A retried job is waiting again, and a finished one may free its project's slot.
  cv_.notify_all();
}

}  // namespace swan::jobs
