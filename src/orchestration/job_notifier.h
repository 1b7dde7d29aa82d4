// Notifications of configurations (not flows): a configuration whose body lists `notifications`
// (the shape flows use, orchestration/notification_rules.h) gets a signed webhook when one of its
// jobs ends failed, with a warning or succeeded. The job runner reports each job's end here; the
// deliveries (with their retries, seconds long) run on this notifier's thread, never on a job
// worker, and each is recorded as an event of the job. `job-processing-long` fires once per run
// when a job started here is still processing past its threshold (checked at least every
// second, on the runtime's Clock). Flows notify on their own (flow_runner.h).
//
// Thread-safety: JobEnded and Stop may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/secret_box.h"
#include "orchestration/webhook.h"

namespace swan::orchestration {

struct JobNotifierParts {
  catalog::Catalog* catalog = nullptr;
  Clock* clock = nullptr;
  secrets::Key master_key{};  // opens the '#secret' of the rules
};

class JobNotifier {
 public:
  JobNotifier(JobNotifierParts parts, WebhookOptions options);
  ~JobNotifier();
  JobNotifier(const JobNotifier&) = delete;
  JobNotifier& operator=(const JobNotifier&) = delete;

  // A job started running: its long-run rules, if any, are watched.
  void JobStarted(int64_t job_id);
  // A job stopped running (it may be waiting again for a retry: then nothing is sent).
  void JobEnded(int64_t job_id);
  // Delivers what is queued, then stops.
  void Stop();

 private:
  struct Item {
    int64_t job_id = 0;
    bool started = false;  // JobStarted, else JobEnded
  };
  // A running job with long-run rules: when each is due (Clock ms), until it fires.
  struct Watch {
    int64_t job_id = 0;
    int attempt = 0;
    int64_t due_ms = 0;
    size_t rule = 0;
  };
  void Loop();
  void Handle(const Item& item);
  void CheckWatches();
  // Sends the rules of `indexes` (in the job's configuration's rules) for `job`.
  void Send(const catalog::Job& job, nlohmann::json body, const std::vector<size_t>& indexes);

  JobNotifierParts parts_;
  const WebhookOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::vector<Watch> watches_;  // the notifier thread's only
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace swan::orchestration
