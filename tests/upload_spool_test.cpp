// The upload spool (storage/upload_spool.h): kept files are handed out again, written over from
// their start and cut to the new length, so that no byte of an earlier upload reaches a later
// import; a failed upload's file, one too many, one too large or one the disk has no room to
// keep is deleted.
#include "storage/upload_spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/background_writer.h"
#include "common/limits.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using storage::UploadSpool;
using Mode = fs::BackgroundWriter::Mode;

void Write(const UploadSpool::Lease& lease, const std::string& bytes) {
  auto writer = fs::BackgroundWriter::Create(lease.path(),
                                             lease.reused() ? Mode::kOverwrite : Mode::kTruncate);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Append(bytes.data(), bytes.size()));
  Status closed = (*writer)->Close();
  ASSERT_TRUE(closed.ok()) << closed.ToString();
}

// Reports a chosen amount of free disk.
class FreeSpaceEnv final : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  Result<int64_t> FreeBytes(const std::string&) override { return free_bytes; }
  int64_t free_bytes = int64_t{1} << 40;
};

TEST(UploadSpoolTest, AKeptFileIsWrittenOverAndCutToTheNewUpload) {
  TempDir dir;
  FreeSpaceEnv env(Env::Posix());
  UploadSpool spool(env, dir.path());
  std::string first_path;
  {
    UploadSpool::Lease a = spool.Acquire();
    EXPECT_FALSE(a.reused());
    first_path = a.path();
    Write(a, std::string(100000, 'a'));
    a.Finished();
  }
  EXPECT_EQ(spool.kept_count(), 1u);
  EXPECT_TRUE(std::filesystem::exists(first_path));
  EXPECT_EQ(std::filesystem::status(first_path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  {
    UploadSpool::Lease b = spool.Acquire();
    EXPECT_TRUE(b.reused());
    EXPECT_EQ(b.path(), first_path);
    EXPECT_EQ(spool.kept_count(), 0u);
    Write(b, "id,name\n1,x\n");
    // Nothing of the longer first upload is left after the new one.
    EXPECT_EQ(ReadFile(b.path()), "id,name\n1,x\n");
    b.Finished();
  }
  EXPECT_EQ(spool.kept_count(), 1u);
}

TEST(UploadSpoolTest, AnUnfinishedUploadIsDeleted) {
  TempDir dir;
  UploadSpool spool(Env::Posix(), dir.path());
  std::string path;
  {
    UploadSpool::Lease a = spool.Acquire();
    path = a.path();
    Write(a, "partial");
  }
  EXPECT_EQ(spool.kept_count(), 0u);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(UploadSpoolTest, KeepsAtMostItsBoundAndDeletesTheRestAndAllAtTheEnd) {
  TempDir dir;
  std::vector<std::string> paths;
  {
    UploadSpool spool(Env::Posix(), dir.path());
    {
      std::vector<UploadSpool::Lease> leases;
      for (size_t i = 0; i < limits::kUploadSpoolFilesKept + 1; ++i) {
        leases.push_back(spool.Acquire());
        paths.push_back(leases.back().path());
        Write(leases.back(), "x");
        leases.back().Finished();
      }
    }
    EXPECT_EQ(spool.kept_count(), limits::kUploadSpoolFilesKept);
    size_t on_disk = 0;
    for (const auto& p : paths) on_disk += std::filesystem::exists(p) ? 1 : 0;
    EXPECT_EQ(on_disk, limits::kUploadSpoolFilesKept);
  }
  for (const auto& p : paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
}

TEST(UploadSpoolTest, NotKeptWhenTheDiskIsShortOfRoom) {
  TempDir dir;
  FreeSpaceEnv env(Env::Posix());
  UploadSpool spool(env, dir.path());
  const std::string bytes(1000, 'z');
  // At the edge: exactly the factor times the file's size free is enough; one byte less is not.
  env.free_bytes = static_cast<int64_t>(limits::kUploadSpoolFreeDiskFactor * bytes.size());
  {
    UploadSpool::Lease a = spool.Acquire();
    Write(a, bytes);
    a.Finished();
  }
  EXPECT_EQ(spool.kept_count(), 1u);
  env.free_bytes -= 1;
  std::string path;
  {
    UploadSpool::Lease b = spool.Acquire();
    path = b.path();
    Write(b, bytes);
    b.Finished();
  }
  EXPECT_EQ(spool.kept_count(), 0u);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace swan::testing
