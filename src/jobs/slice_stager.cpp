#include "jobs/slice_stager.h"

#include <algorithm>

#include "common/names.h"

namespace swan::jobs {

SliceStager::SliceStager(JobContext& ctx, nlohmann::json storage, std::string tables_dir)
    : ctx_(ctx), storage_(std::move(storage)), tables_dir_(std::move(tables_dir)) {}

SliceStager::~SliceStager() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  sources_.clear();  // uncommitted staged writes remove their segment files
  DropCreatedBuckets(ctx_, own_);
}

void SliceStager::SliceDone(const std::string& source, const std::string& path) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  queue_.emplace_back(source, path);
  if (threads_.size() < kThreads && queue_.size() + active_.size() > threads_.size()) {
    threads_.emplace_back([this] { Loop(); });
  }
  cv_.notify_all();
}

void SliceStager::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    // The first slice queued of a source no other thread is staging: a source's slices go in
    // order, one at a time.
    auto next = queue_.end();
    cv_.wait(lock, [&] {
      if (stop_) return true;
      next = std::find_if(queue_.begin(), queue_.end(),
                          [&](const auto& item) { return !active_.count(item.first); });
      return next != queue_.end();
    });
    if (stop_) return;
    auto [source, path] = std::move(*next);
    queue_.erase(next);
    active_.insert(source);
    Source& src = sources_[source];
    lock.unlock();
    StageSlice(source, src, path);
    lock.lock();
    active_.erase(source);
    cv_.notify_all();
  }
}

bool SliceStager::Idle() const { return queue_.empty() && active_.empty(); }

bool SliceStager::Plan(const std::string& source, Source* src) {
  OutputSource s;
  s.name = source;
  s.data_path = tables_dir_ + "/" + source;
  s.is_sliced = true;
  if (ctx_.env.FileExists(s.data_path + ".manifest")) s.manifest_path = s.data_path + ".manifest";
  auto planned = PlanOutputLoad(ctx_, storage_, s);
  if (!planned.ok()) return false;  // the load at the end reports it
  const storage::ImportRequest& r = planned->request;
  if (!r.primary_key.empty() || r.delete_where || r.format != storage::FileFormat::kCsv ||
      r.csv.on_bad_rows != storage::BadRows::kFail)
    return false;
  // A table that exists with a key: a key could repeat across slices.
  std::string stage, bucket_name, table_name;
  if (!names::SplitTableId(planned->destination, &stage, &bucket_name, &table_name).ok())
    return false;
  if (auto bucket = ctx_.catalog.GetBucket(ctx_.job.branch_id, stage, bucket_name); bucket.ok()) {
    auto table = ctx_.catalog.GetTable(bucket->id, table_name);
    if (table.ok() && !table->primary_key.empty()) return false;
    if (!table.ok() && table.status().code() != StatusCode::kNotFound) return false;
  } else if (bucket.status().code() != StatusCode::kNotFound) {
    return false;
  }
  src->load = std::make_unique<OutputLoad>(std::move(*planned));
  // Slices come from Swan's own writers (CsvSliceWriter): read as written, not sniffed.
  src->load->request.csv.swan_written = true;
  return true;
}

void SliceStager::StageSlice(const std::string& source, Source& src, const std::string& path) {
  if (src.declined) return;
  std::unique_lock first(first_mu_, std::defer_lock);
  if (!src.load) {
    first.lock();  // alone: two sources' first slices could both make their new bucket
    if (!Plan(source, &src)) {
      src.declined = true;
      return;
    }
  }
  StagedOutputs created;
  auto staged = StageLoad(ctx_, *src.load, path, &created);
  if (!created.created_buckets.empty()) {
    std::lock_guard lock(mu_);
    for (auto& b : created.created_buckets) own_.created_buckets.push_back(std::move(b));
  }
  if (!staged.ok()) {
    // Loaded whole at the end instead, where the error (if it is one) names the table's line.
    src.declined = true;
    src.parts.clear();
    return;
  }
  if (src.parts.empty()) {
    // Every later slice reads with the first one's types: one schema for all segments.
    for (const auto& c : (*staged)->columns())
      src.load->request.csv.declared_types[c.name] = c.type;
  }
  src.files.push_back(path);
  src.parts.push_back(std::move(*staged));
}

void SliceStager::Settle(StagedOutputs* out) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stop_ || Idle(); });
  }
  for (auto& b : own_.created_buckets) out->created_buckets.push_back(b);
  own_.created_buckets.clear();
}

Result<std::unique_ptr<storage::StagedWrite>> SliceStager::Take(
    const std::string& source, const std::vector<std::string>& files, StagedOutputs* out) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stop_ || Idle(); });
  }
  auto it = sources_.find(source);
  if (it == sources_.end() || it->second.declined || it->second.files != files ||
      it->second.parts.empty())
    return std::unique_ptr<storage::StagedWrite>();
  auto combined = ctx_.store.CombineStaged(it->second.parts);
  sources_.erase(it);
  if (!combined.ok()) return std::unique_ptr<storage::StagedWrite>();
  for (auto& b : own_.created_buckets) out->created_buckets.push_back(b);
  own_.created_buckets.clear();
  return combined;
}

}  // namespace swan::jobs
