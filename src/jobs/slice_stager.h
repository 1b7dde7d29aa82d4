// Loads the slices of a sliced out/tables source while the component is still writing the next
// ones, so that a long extraction's load overlaps its download: when the component ends, only
// its last slice is left to load. Used by Swan's in-process extractors, which announce each
// slice as they close it (ExtractorIo::slice_done).
//
// Each slice is staged as a segment of its own; at the end the segments of one source become one
// version (TableStore::CombineStaged). The first slice's column types are declared for the
// others, so that every segment has the same schema. Anything out of the simple case — a primary
// key (a key could repeat across slices), delete_where, tolerated bad rows, a slice that fails to
// load — declines the source: its slices are dropped and StageOutputFolder loads the joined file
// as before, with errors that name lines of the whole table.
//
// Thread-safety: SliceDone may be called from any one thread while the job's thread waits in
// the component; Take is called after the component ended. The slices of one source are staged
// in the order announced; two sources' slices may be staged at once, on the stager's two
// threads, so that a job's last slices (one per table, left when the component ends) load side
// by side. A source's first slice (its plan, its bucket made) is staged alone.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/job_context.h"
#include "jobs/table_mapping.h"

namespace swan::jobs {

class SliceStager {
 public:
  SliceStager(JobContext& ctx, nlohmann::json storage, std::string tables_dir);
  // Stops (a slice being staged finishes first), removes what was staged and not taken, and
  // the buckets it created that are still empty.
  ~SliceStager();
  SliceStager(const SliceStager&) = delete;
  SliceStager& operator=(const SliceStager&) = delete;

  // Slice `path` of out/tables/<source> is complete and will not change, and the source's
  // manifest is written. Returns at once.
  void SliceDone(const std::string& source, const std::string& path);

  // Waits until every announced slice is staged (or declined), then moves the buckets the
  // stager created into `out`: the load of the folder may write into them although their
  // source's slices are not taken (an extractor that wrote the table whole after all), and they
  // must outlive the stager until the job's outputs are committed or dropped.
  void Settle(StagedOutputs* out);

  // Waits until every announced slice is staged. When the slices staged for `source` are exactly
  // `files` (in order, as SliceFiles lists the folder), returns them combined into one write and
  // moves the buckets the stager created into `out`; otherwise null, and the caller loads the
  // source whole.
  Result<std::unique_ptr<storage::StagedWrite>> Take(const std::string& source,
                                                     const std::vector<std::string>& files,
                                                     StagedOutputs* out);

 private:
  struct Source {
    bool declined = false;
    std::unique_ptr<OutputLoad> load;  // planned at the first slice
    std::vector<std::string> files;
    std::vector<std::unique_ptr<storage::StagedWrite>> parts;
  };

  void Loop();
  void StageSlice(const std::string& source, Source& src, const std::string& path);
  bool Idle() const;  // under mu_: nothing queued or being staged
  // Plans the source's load at its first slice; false when the load is out of the simple case.
  bool Plan(const std::string& source, Source* src);

  JobContext& ctx_;
  const nlohmann::json storage_;
  const std::string tables_dir_;

  static constexpr size_t kThreads = 2;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;  // (source, slice path)
  std::set<std::string> active_;                           // sources being staged
  bool stop_ = false;
  std::vector<std::thread> threads_;  // started at the first slices
  std::mutex first_mu_;               // held while a source's first slice is staged

  // An entry is touched by the one thread staging its source, and by Take once the queue is
  // drained; entries are made under mu_.
  std::map<std::string, Source> sources_;
  StagedOutputs own_;  // the buckets the stager created (under mu_)
};

}  // namespace swan::jobs
