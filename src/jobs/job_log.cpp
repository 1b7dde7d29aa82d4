#include "jobs/job_log.h"

#include "common/transcode.h"

#include <algorithm>
#include <chrono>

namespace swan::jobs {

namespace {
constexpr size_t kLastLines = 20;

void Remember(std::vector<std::string>& lines, const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;
  lines.push_back(line);
  if (lines.size() > kLastLines) lines.erase(lines.begin());
}
}  // namespace

JobLog::JobLog(catalog::Catalog& catalog, Clock& clock, int64_t job_id,
               std::function<void()> on_flush)
    : catalog_(catalog),
      clock_(clock),
      job_id_(job_id),
      on_flush_(std::move(on_flush)),
      last_flush_ms_(clock.NowMs()),
      flusher_([this] { FlushLoop(); }) {}

JobLog::~JobLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();
  Flush();
}

void JobLog::FlushLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (pending_.empty() || held_) {
      wake_.wait(lock);
      continue;
    }
    // Real time, not clock_: a test's fake clock must not hold events back.
    wake_.wait_for(lock, std::chrono::milliseconds(kBatchMs));
    if (!stopping_ && !held_) FlushLocked();
  }
}

void JobLog::SetMasker(SecretMasker masker) {
  std::lock_guard lock(mu_);
  masker_ = std::move(masker);
}

void JobLog::Add(const std::string& level, const std::string& source, std::string message) {
  std::lock_guard lock(mu_);
  if (!masker_.empty()) message = masker_.Mask(std::move(message));
  if (message.size() > kMessageBytesMax) {
    message.resize(kMessageBytesMax);
    message += " [cut]";
  }
  // Events are JSON text: a component's Latin-1, binary or a line cut mid-character must not
  // make them unreadable.
  message = transcode::ValidUtf8(message);
  if (source == "stderr") Remember(last_stderr_, message);
  if (source == "stdout") Remember(last_stdout_, message);
  const int64_t now = clock_.NowMs();
  if (total_ >= kEventsMax) {
    if (!dropped_) {
      dropped_ = true;
      pending_.push_back(
          {0, job_id_, "warning", "swan",
           "more than " + std::to_string(kEventsMax) + " events: later lines are not kept", now});
    }
    return;
  }
  ++total_;
  pending_.push_back({0, job_id_, level, source, std::move(message), now});
  if (held_) return;
  if (pending_.size() >= kBatchEvents || now - last_flush_ms_ >= kBatchMs) {
    FlushLocked();
  } else if (pending_.size() == 1) {
    wake_.notify_one();
  }
}

void JobLog::Flush() {
  std::lock_guard lock(mu_);
  FlushLocked();
}

void JobLog::FlushLocked() {
  last_flush_ms_ = clock_.NowMs();
  if (pending_.empty()) return;
  // A catalog that cannot take events must not fail the job: the lines are lost, the job's
  // result is still written.
  (void)catalog_.AppendJobEvents(pending_);
  pending_.clear();
  if (on_flush_) on_flush_();
}

std::vector<catalog::JobEvent> JobLog::Pending() const {
  std::lock_guard lock(mu_);
  held_ = true;
  return pending_;
}

void JobLog::Forget(size_t n) {
  {
    std::lock_guard lock(mu_);
    pending_.erase(pending_.begin(), pending_.begin() + std::min(n, pending_.size()));
    held_ = false;
    if (on_flush_) on_flush_();
  }
  wake_.notify_one();
}

std::string JobLog::LastComponentMessage() const {
  std::lock_guard lock(mu_);
  const auto& lines = last_stderr_.empty() ? last_stdout_ : last_stderr_;
  std::string out;
  // A Python traceback's last line says what happened; keep a few lines for context.
  const size_t from = lines.size() > 5 ? lines.size() - 5 : 0;
  for (size_t i = from; i < lines.size(); ++i) out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

}  // namespace swan::jobs
