// Bulk work that may wait yields the CPU to work that may not.
//
// A job's background threads (loading slices, digesting records) run at a lower priority than
// the threads on a pipeline's critical path (the fetch, the job thread) and the API's. On a
// machine whose cores are all busy, they take what is left: measured on 2 cores with the HTTP
// source beside Swan, the source and the fetch stopped losing time slices to them.
#pragma once

namespace swan {

// Lowers the calling thread's priority (nice +10). Best effort: a refusal changes nothing.
void LowerThisThreadPriority();

}  // namespace swan
