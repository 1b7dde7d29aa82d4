#include "common/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <utility>

namespace swan {
namespace {

thread_local bool in_bulk = false;

// Starts threads on request from a thread that stays at the base priority; it lives as long as
// the process (never destroyed: a bulk thread may ask for a thread during exit).
class BaseSpawner {
 public:
  explicit BaseSpawner(int base_nice) : base_nice_(base_nice) {
    std::thread([this] { Loop(); }).detach();
  }

  int base_nice() const { return base_nice_; }

  std::thread Start(std::function<void()> fn) {
    std::packaged_task<std::thread()> task(
        [fn = std::move(fn)]() mutable { return std::thread(std::move(fn)); });
    std::future<std::thread> started = task.get_future();
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return started.get();
  }

 private:
  void Loop() {
    while (true) {
      std::packaged_task<std::thread()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();  // a failure to start (std::system_error) reaches the caller through the future
    }
  }

  const int base_nice_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<std::thread()>> queue_;
};

// Made by the first thread that enters the bulk priority, before it lowers itself, so that it
// starts at the priority that thread had: the process's base (threads start there).
std::atomic<BaseSpawner*> spawner{nullptr};

}  // namespace

int ThisThreadNice() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  return errno == 0 ? nice : 0;
}

void EnterBulkPriority() {
  if (in_bulk) return;
  in_bulk = true;
  static BaseSpawner* made = [] {
    auto* s = new BaseSpawner(ThisThreadNice());
    spawner.store(s);
    return s;
  }();
  (void)made;
  const int target = std::min(ThisThreadNice() + kBulkNice, 19);
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), target);
}

std::thread StartBasePriorityThread(std::function<void()> fn) {
  // A thread started by a bulk thread is one too without having entered it: ask the system.
  BaseSpawner* s = spawner.load();
  if (s == nullptr || ThisThreadNice() <= s->base_nice()) return std::thread(std::move(fn));
  return s->Start(std::move(fn));
}

}  // namespace swan
