// The resident memory of a process together with all its descendants, read from /proc: what a
// component's whole process tree holds at one moment. (getrusage's ru_maxrss is the peak of the
// largest single process only; a component that forks workers would be under-counted.)
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace swan::jobs {

// Sum of the resident set sizes of `root` and every live descendant, in bytes; 0 when `root` is
// gone. Processes that end during the scan are skipped. Costs one read of /proc/N/stat per process
// of the host, plus one /proc/N/statm per member of the tree.
int64_t TreeResidentBytes(pid_t root);

}  // namespace swan::jobs
