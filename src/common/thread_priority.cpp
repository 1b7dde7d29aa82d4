#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace swan {

void LowerThisThreadPriority() {
  // On Linux the nice value is a thread's own: PRIO_PROCESS with a thread id sets that thread.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (now < 10) (void)::setpriority(PRIO_PROCESS, tid, 10);
}

}  // namespace swan
