#include "storage/upload_spool.h"

#include <utility>

#include "common/fs.h"
#include "common/limits.h"

namespace swan::storage {

UploadSpool::UploadSpool(Env& env, std::string dir) : env_(env), dir_(std::move(dir)) {}

UploadSpool::~UploadSpool() {
  for (const auto& path : kept_) (void)env_.RemoveFile(path);
}

UploadSpool::Lease::Lease(Lease&& other) noexcept
    : spool_(std::exchange(other.spool_, nullptr)),
      path_(std::move(other.path_)),
      reused_(other.reused_),
      finished_(other.finished_) {}

UploadSpool::Lease::~Lease() {
  if (spool_ != nullptr) spool_->Release(path_, finished_);
}

UploadSpool::Lease UploadSpool::Acquire() {
  std::lock_guard lock(mu_);
  if (!kept_.empty()) {
    // The most recently kept file: its pages are the likeliest to be still in memory.
    std::string path = std::move(kept_.back());
    kept_.pop_back();
    return Lease(this, std::move(path), /*reused=*/true);
  }
  return Lease(this, dir_ + "/" + fs::RandomHex(16) + ".upload", /*reused=*/false);
}

void UploadSpool::Release(const std::string& path, bool finished) {
  if (finished) {
    Result<int64_t> size = env_.FileSize(path);
    Result<int64_t> free_bytes = env_.FreeBytes(dir_);
    // Kept only while it is small enough and the disk has room to spare: a kept file must never
    // be the reason an import meets a full disk.
    const bool fits = size.ok() && free_bytes.ok() && *size > 0 &&
                      static_cast<uint64_t>(*size) <= limits::kUploadSpoolFileBytesMax &&
                      static_cast<uint64_t>(*free_bytes) >=
                          limits::kUploadSpoolFreeDiskFactor * static_cast<uint64_t>(*size);
    if (fits) {
      std::lock_guard lock(mu_);
      if (kept_.size() < limits::kUploadSpoolFilesKept) {
        kept_.push_back(path);
        return;
      }
    }
  }
  (void)env_.RemoveFile(path);
}

size_t UploadSpool::kept_count() {
  std::lock_guard lock(mu_);
  return kept_.size();
}

}  // namespace swan::storage
