// One job, from claimed to its final state: the configuration version it pins, its secrets
// opened into its folder only, its component run, its outputs staged and committed together with
// its state and final status.
//
// Thread-safety: ExecuteJob runs on one worker thread; JobControl is shared with the thread that
// cancels.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "jobs/job_runner.h"
#include "jobs/sandboxed_process.h"

namespace swan::jobs {

// The handle another thread uses to cancel a running job.
class JobControl {
 public:
  void Cancel();
  // The server stops: the job is cancelled as by Cancel(), but ends `terminated` (or waits for
  // another attempt), as a job the server's restart finds unfinished does.
  void Stop();
  bool cancelled() const;
  bool stopping() const;
  // The component's process while it runs (null before and after).
  void Attach(SandboxedProcess* process);
  // Turns true on Cancel: for work that polls (the SQL transformation's watchdog).
  std::shared_ptr<const std::atomic<bool>> flag() const { return flag_; }

 private:
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
  mutable std::mutex mu_;
  SandboxedProcess* process_ = nullptr;
  bool cancelled_ = false;
  bool stopping_ = false;
};

// Runs `job` (claimed: processing) and writes its end to the catalog: a final state, or waiting
// again when its retry policy allows another attempt. `on_activity` is called when events are
// written.
void ExecuteJob(const JobRunnerParts& parts, const std::string& jobs_dir, catalog::Job job,
                JobControl& control, const std::function<void()>& on_activity);

}  // namespace swan::jobs
