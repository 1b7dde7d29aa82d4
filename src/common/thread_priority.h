// Two CPU priorities for Swan's threads.
//
// Bulk work — running jobs, loading into storage, DuckDB's workers — runs at nice +kBulkNice.
// Threads that wait on a peer and must answer it at once — the server's connections, a REST
// extractor's requests — run at the process's base priority. On a machine whose cores are busy,
// a peer's answer is then taken as soon as it arrives, and a peer on the same host (an API, a
// database) is not starved by our own processing of what it sent before. On an idle machine
// nothing changes: priorities only order runnable threads.
//
// Measured on 2 cores (docs/architecture.md): while a REST job loaded a slice into storage on
// two DuckDB threads, its requests took 9–10 ms instead of ~7; with the bulk threads at +10
// the two were equal and the job ~10% faster. A bulk thread still gets the CPU whenever the
// threads above it wait (a peer's answer, a database's next rows), and all of a machine's CPU
// when nothing else runs. +19 made the bench another 4% faster, but a job beside a compiler in
// the same session then took 8.5–13.4 s instead of 2.4–2.6 s: +10 leaves jobs a tenth of a
// contended core instead of a sixtieth.
//
// A thread cannot raise its priority back without CAP_SYS_NICE, and threads inherit their
// creator's: a bulk thread starts a base-priority thread through StartBasePriorityThread.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <functional>
#include <thread>

namespace swan {

inline constexpr int kBulkNice = 10;

// Lowers the calling thread (and the threads it will start) to the bulk priority. Idempotent.
// Where the system refuses (a sandbox), the thread keeps its priority.
void EnterBulkPriority();

// Starts `fn` on a new thread at the process's base priority: directly when the caller is not a
// bulk thread, else through a helper thread kept at the base priority.
std::thread StartBasePriorityThread(std::function<void()> fn);

// The calling thread's nice value (for tests and logs).
int ThisThreadNice();

}  // namespace swan
