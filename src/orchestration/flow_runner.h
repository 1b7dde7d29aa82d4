// The flow runner: runs flow jobs (component keboola.orchestrator). A flow's job is claimed
// here, never by a job worker, and holds no slot of its project's running-jobs limit: it only
// creates its tasks' jobs (children: parent_job_id, flow_task_id) as its plan allows
// (orchestration/flow_plan.h), waits for them, and ends with the plan's outcome. Job workers run
// the tasks like any job, with the flow's token.
//
// One thread per running flow. Cancel ends the flow's running tasks and skips the rest. At the
// end the flow's notification rules fire (signed webhooks), each delivery an event of the flow.
// A restart after a crash ends the flow job `terminated` (JobRunner::Start); Start() here then
// cancels the tasks it had queued, so nothing of a dead flow runs later.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/secret_box.h"
#include "jobs/job_runner.h"
#include "orchestration/webhook.h"

namespace swan::orchestration {

struct FlowRunnerParts {
  catalog::Catalog* catalog = nullptr;
  jobs::JobRunner* jobs = nullptr;
  Clock* clock = nullptr;
  secrets::Key master_key{};  // opens the '#secret' of notification rules
};

struct FlowRunnerOptions {
  std::string worker_id = "flows";
  int64_t poll_ms = 500;     // how often to look for flow jobs queued by other processes
  int64_t check_ms = 200;    // the longest a flow waits between looks at its tasks
  WebhookOptions webhook{};  // delivery of notifications (tests shorten the waits)
};

class FlowRunner {
 public:
  FlowRunner(FlowRunnerParts parts, FlowRunnerOptions options);
  ~FlowRunner();
  FlowRunner(const FlowRunner&) = delete;
  FlowRunner& operator=(const FlowRunner&) = delete;

  // After the job runner's Start: cancels the queued tasks of flows that ended, then starts.
  Status Start();
  void Stop();
  // A flow job became waiting.
  void Notify();
  // Cancels a running flow (after the catalog recorded the request).
  void Cancel(int64_t flow_job_id);

 private:
  struct Flow {
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    std::thread thread;
  };
  void Loop();
  void RunFlow(catalog::Job job, Flow& flow);
  void Reap(bool all);

  FlowRunnerParts parts_;
  FlowRunnerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<bool> stop_flows_{false};
  std::thread loop_;
  std::map<int64_t, std::unique_ptr<Flow>> flows_;
};

}  // namespace swan::orchestration
