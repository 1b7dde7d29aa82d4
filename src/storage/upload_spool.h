// The files that import uploads are received into, kept between imports.
//
// Why keep them: on a VM whose hypervisor takes back the memory its guest has freed
// (virtio-balloon free page reporting, as on Firecracker), a page freed for about 2 s costs a
// host fault when it is next used. Receiving a 522 MB upload into a new file took 0.8-1.5 s after
// such a pause and 0.14 s right after another upload; overwriting a kept file, whose page-cache
// pages stay the file's, took 0.1-0.35 s after the same pause (docs/architecture.md, "Upload
// spool"). A kept file holds a finished import's bytes: it lives in the store's tmp/ (mode 0600,
// emptied when the store opens) and is written over from its start and cut to the new length
// before anything reads it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"

namespace swan::storage {

class UploadSpool {
 public:
  UploadSpool(Env& env, std::string dir);
  ~UploadSpool();  // deletes the kept files

  UploadSpool(const UploadSpool&) = delete;
  UploadSpool& operator=(const UploadSpool&) = delete;

  // One upload's file, for the life of one import.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();  // hands the file back: kept when Finished() was called and it fits, else deleted

    const std::string& path() const { return path_; }
    // True when the file is a kept one: write over it (BackgroundWriter::Mode::kOverwrite).
    bool reused() const { return reused_; }
    // The file holds a whole upload that was read: worth keeping for the next one. Without this
    // (a failed or cut upload) the file is deleted.
    void Finished() { finished_ = true; }

   private:
    friend class UploadSpool;
    Lease(UploadSpool* spool, std::string path, bool reused)
        : spool_(spool), path_(std::move(path)), reused_(reused) {}
    UploadSpool* spool_;
    std::string path_;
    bool reused_;
    bool finished_ = false;
  };

  Lease Acquire();

  // Kept now (for tests).
  size_t kept_count();

 private:
  void Release(const std::string& path, bool finished);

  Env& env_;
  const std::string dir_;
  std::mutex mu_;
  std::vector<std::string> kept_;  // guarded by mu_; the most recently kept last
};

}  // namespace swan::storage
