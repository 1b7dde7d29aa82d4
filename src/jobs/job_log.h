// A job's events: log lines with level and time, secrets masked, written to the catalog in
// batches (a chatty component must not cost one catalog transaction per line) and at most
// kEventsMax per job. Followers wake through the runner's activity signal.
//
// Thread-safety: Add and Flush may be called from any thread; one thread of the log's own writes
// what waited kBatchMs.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "jobs/config_secrets.h"

namespace swan::jobs {

class JobLog {
 public:
  static constexpr size_t kEventsMax = 20000;
  static constexpr size_t kMessageBytesMax = 16 * 1024;
  static constexpr size_t kBatchEvents = 200;
  static constexpr int64_t kBatchMs = 100;

  // Starts the thread that writes a buffered event at most kBatchMs after it was added, also
  // when no later line comes (a component that prints "started" and then works quietly).
  JobLog(catalog::Catalog& catalog, Clock& clock, int64_t job_id, std::function<void()> on_flush);
  // Stops that thread and writes what is buffered.
  ~JobLog();
  JobLog(const JobLog&) = delete;
  JobLog& operator=(const JobLog&) = delete;

  void SetMasker(SecretMasker masker);
  void Add(const std::string& level, const std::string& source, std::string message);
  void Info(std::string m) { Add("info", "swan", std::move(m)); }
  void Warning(std::string m) { Add("warning", "swan", std::move(m)); }
  void Error(std::string m) { Add("error", "swan", std::move(m)); }
  // Writes what is buffered.
  void Flush();
  // What is buffered, to be written in another transaction (the job's final commit); Forget(n)
  // drops the first n once that transaction committed. In between, the timed writes pause (they
  // would write those events twice).
  std::vector<catalog::JobEvent> Pending() const;
  void Forget(size_t n);
  // The last lines a component wrote to stderr (or stdout when it wrote no stderr), masked: the
  // message of a user error.
  std::string LastComponentMessage() const;
  const SecretMasker& masker() const { return masker_; }

 private:
  void FlushLocked();
  void FlushLoop();
  catalog::Catalog& catalog_;
  Clock& clock_;
  const int64_t job_id_;
  std::function<void()> on_flush_;
  mutable std::mutex mu_;
  SecretMasker masker_;
  std::vector<catalog::JobEvent> pending_;
  int64_t last_flush_ms_ = 0;
  size_t total_ = 0;
  bool dropped_ = false;
  std::vector<std::string> last_stderr_;
  std::vector<std::string> last_stdout_;
  std::condition_variable wake_;  // an event was buffered, Forget() or stop
  mutable bool held_ = false;     // Pending() handed the buffer out; no timed write until Forget()
  bool stopping_ = false;
  std::thread flusher_;  // last: it starts once the members above exist
};

}  // namespace swan::jobs
