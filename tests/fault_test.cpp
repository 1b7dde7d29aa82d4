// Fault injection through the Env and Clock seams (issue 8.6): an fsync that fails, a disk that
// is full, a crash between the segment write and the commit, a head that moves between read and
// commit, garbage collection racing a write in flight, and time that moves only when told (token
// expiry, retention). No test sleeps.
//
// DuckDB writes segment files itself, outside the Env: a fault "during a segment write" is
// injected at the first Env call that follows it (the fsync, then the size). Crashes in the middle
// of DuckDB's own write are covered by crash_test (kill -9 of a real server).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/env.h"
#include "service/access.h"
#include "service/projects.h"
#include "service/runtime.h"
#include "service/tables.h"
#include "service/tokens.h"
#include "storage/table_store.h"
#include "store_fixture.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using V = std::vector<std::string>;

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kFixedStartMs = 2'000'000'000'000;  // 2033-05-18

bool IsSegmentFile(const std::string& path) {
  return path.find("/segments/") != std::string::npos && path.ends_with(".parquet");
}

// The real file system, except that SyncFileAndDir and FileSize fail on segment files while a
// fault is armed. Records each failed call's path and whether the file existed then (DuckDB had
// written it), so that a test can check the file is gone afterwards.
class FaultEnv final : public EnvWrapper {
 public:
  struct Failure {
    std::string path;
    bool existed = false;
  };

  FaultEnv() : EnvWrapper(Env::Posix()) {}

  // An OK status disarms.
  void FailSegmentSync(Status fault) {
    std::lock_guard lock(mu_);
    sync_fault_ = std::move(fault);
  }
  void FailSegmentSize(Status fault) {
    std::lock_guard lock(mu_);
    size_fault_ = std::move(fault);
  }
  std::vector<Failure> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

  Status SyncFileAndDir(const std::string& path) override {
    if (Status fault = Inject(path, &FaultEnv::sync_fault_); !fault.ok()) return fault;
    return base_.SyncFileAndDir(path);
  }
  Result<int64_t> FileSize(const std::string& path) override {
    if (Status fault = Inject(path, &FaultEnv::size_fault_); !fault.ok()) return fault;
    return base_.FileSize(path);
  }

 private:
  Status Inject(const std::string& path, Status FaultEnv::*fault) {
    std::lock_guard lock(mu_);
    if ((this->*fault).ok() || !IsSegmentFile(path)) return Status::Ok();
    failures_.push_back({path, base_.FileExists(path)});
    return this->*fault;
  }

  mutable std::mutex mu_;
  Status sync_fault_;
  Status size_fault_;
  std::vector<Failure> failures_;
};

// What Env::Posix() answers when a call meets a full disk.
Status NoSpace(const std::string& what) { return ErrnoStatus(what, ENOSPC); }

// Organization, project "p" and bucket "in.sales" in `catalog`, created when absent (a reopened
// data directory already has them). Plain Status, no gtest: a forked child calls it too.
Status PrepareCatalog(catalog::Catalog& catalog, catalog::Project* project,
                      catalog::Bucket* bucket) {
  bool created = false;
  ASSIGN_OR_RETURN(int64_t org, catalog.EnsureOrganization("test", &created));
  (void)org;
  auto existing = catalog.GetProject("p");
  if (existing.ok()) {
    *project = *existing;
  } else {
    ASSIGN_OR_RETURN(*project, catalog.CreateProject("p", ""));
  }
  auto found = catalog.GetBucket(project->main_branch_id, "in", "sales");
  if (found.ok()) {
    *bucket = *found;
    return Status::Ok();
  }
  catalog::Bucket b;
  b.project_id = project->id;
  b.branch_id = project->main_branch_id;
  b.stage = "in";
  b.name = "sales";
  ASSIGN_OR_RETURN(*bucket, catalog.CreateBucket(b));
  return Status::Ok();
}

storage::ImportRequest CsvRequest(const std::string& path, bool incremental,
                                  std::vector<std::string> pk = {}) {
  storage::ImportRequest r;
  r.file_path = path;
  r.display_name = "input.csv";
  r.incremental = incremental;
  r.primary_key = std::move(pk);
  return r;
}

// A catalog and a table store over a temp data directory, both on a FakeClock, the store on a
// FaultEnv. before_commit_ is the store's before_commit_for_test hook (empty = none).
class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }

  // Opens (or reopens) the catalog and the store over data_.
  void Open() {
    store_.reset();
    ASSERT_TRUE(Env::Posix().MakeDirs(data_).ok());
    catalog_ = OpenCatalog();
    ASSERT_TRUE(catalog_);
    Status prepared = PrepareCatalog(*catalog_, &project_, &bucket_);
    ASSERT_TRUE(prepared.ok()) << prepared.ToString();
    store_ = OpenStore(*catalog_, /*with_hook=*/true);
    ASSERT_TRUE(store_);
  }

  // Another connection to the same catalog, as another process would have.
  std::unique_ptr<catalog::Catalog> OpenCatalog() {
    auto catalog = catalog::OpenSqliteCatalog(data_ + "/catalog.db", &clock_);
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    return catalog.ok() ? std::move(*catalog) : nullptr;
  }

  std::unique_ptr<storage::TableStore> OpenStore(catalog::Catalog& catalog, bool with_hook) {
    storage::StoreOptions options;
    options.memory_limit = "256MB";
    options.threads = 2;
    options.env = &env_;
    options.clock = &clock_;
    if (with_hook) {
      options.before_commit_for_test = [this](int attempt) {
        if (before_commit_) before_commit_(attempt);
      };
    }
    auto store = storage::TableStore::Open(catalog, data_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string WriteInput(const std::string& csv) {
    std::string path = dir_.path() + "/input-" + std::to_string(++inputs_) + ".csv";
    std::ofstream(path, std::ios::binary) << csv;
    return path;
  }

  Result<storage::WriteResult> ImportCsv(const std::string& table, const std::string& csv,
                                         bool incremental = false,
                                         std::vector<std::string> pk = {}) {
    return store_->Import(bucket_, table, CsvRequest(WriteInput(csv), incremental, std::move(pk)));
  }

  catalog::Table Table(const std::string& name) {
    auto t = catalog_->GetTable(bucket_.id, name);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : catalog::Table{};
  }

  // Rows of a table version as "a|b", sorted; every row (the tables here are small).
  V Rows(const std::string& table, std::optional<int64_t> version = std::nullopt) {
    storage::ReadRequest r;
    r.version = version;
    return SortedRows(*store_, Table(table), r);
  }

  // The table's head is version `number` (and no later version exists), with exactly `rows`.
  void ExpectAt(const std::string& table, int64_t number, const V& rows) {
    auto head = catalog_->GetVersion(Table(table).head_version_id);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->number, number);
    auto versions = catalog_->ListVersions(Table(table).id);
    ASSERT_TRUE(versions.ok());
    ASSERT_FALSE(versions->empty());
    EXPECT_EQ(versions->front().number, number);  // newest first
    EXPECT_EQ(head->row_count, static_cast<int64_t>(rows.size()));
    EXPECT_EQ(Rows(table), rows);
  }

  // Every file under segments/ (any project), relative to the data directory, sorted.
  V SegmentFiles() {
    V out;
    auto dirs = Env::Posix().List(data_ + "/segments");
    EXPECT_TRUE(dirs.ok());
    if (!dirs.ok()) return out;
    for (const auto& d : *dirs) {
      auto files = Env::Posix().List(d.path);
      EXPECT_TRUE(files.ok());
      if (!files.ok()) continue;
      for (const auto& f : *files) {
        out.push_back("segments/" + std::filesystem::path(d.path).filename().string() + "/" +
                      std::filesystem::path(f.path).filename().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The files of `after` that are not in `before`.
  static V NewFiles(const V& before, const V& after) {
    V out;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                        std::back_inserter(out));
    return out;
  }

  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
  FakeClock clock_{Clock::System().NowMs()};  // file times and fake times start together
  FaultEnv env_;
  std::function<void(int attempt)> before_commit_;
  int inputs_ = 0;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<storage::TableStore> store_;
  catalog::Project project_;
  catalog::Bucket bucket_;
};

// The fork tests: the parent must not have opened DuckDB (whose threads do not survive a fork)
// nor SQLite before forking, so nothing is opened at set-up; a test opens after its child exits.
class FaultCrashTest : public FaultTest {
 protected:
  void SetUp() override {}
};

// Threads of this process: a fork copies only the calling one, so a child of a process with
// others running (DuckDB's) could inherit a lock held by a thread it does not have.
size_t ThreadCount() {
  auto tasks = Env::Posix().List("/proc/self/task");
  return tasks.ok() ? tasks->size() : 0;
}

// Child exit codes of the fork tests.
constexpr int kChildCrashedBeforeCommit = 3;
constexpr int kChildSetupFailed = 10;
constexpr int kChildFirstImportFailed = 11;
constexpr int kChildSecondImportReturned = 12;
constexpr int kChildSecondImportFailed = 13;
constexpr int kChildSecondImportBlamedTheInput = 14;
// The file size limit of the child that fails inside DuckDB: below the ~2 MB segment of its
// second import, above everything written before it (version 1, the catalog).
constexpr rlim_t kFileSizeLimitBytes = 512 * 1024;

// Runs in the forked child, on fresh objects only: imports version 1, then a second full import
// that "crashes" (_exit, no destructor runs) after its segment is written and fsynced and before
// the catalog transaction. Never returns.
[[noreturn]] void RunCrashingWriter(const std::string& data_dir, const std::string& first_csv,
                                    const std::string& second_csv) {
  auto catalog = catalog::OpenSqliteCatalog(data_dir + "/catalog.db");
  if (!catalog.ok()) _exit(kChildSetupFailed);
  catalog::Project project;
  catalog::Bucket bucket;
  if (!PrepareCatalog(**catalog, &project, &bucket).ok()) _exit(kChildSetupFailed);
  bool armed = false;
  storage::StoreOptions options;
  options.memory_limit = "256MB";
  options.threads = 2;
  options.before_commit_for_test = [&armed](int) {
    if (armed) _exit(kChildCrashedBeforeCommit);
  };
  auto store = storage::TableStore::Open(**catalog, data_dir, options);
  if (!store.ok()) _exit(kChildSetupFailed);
  if (!(*store)->Import(bucket, "t", CsvRequest(first_csv, false)).ok())
    _exit(kChildFirstImportFailed);
  armed = true;
  auto second = (*store)->Import(bucket, "t", CsvRequest(second_csv, false));
  (void)second;
  _exit(kChildSecondImportReturned);
}

// Declared first: when the whole binary runs in one process, no earlier test has started DuckDB
// (each test's instances are gone, with their threads, after it; ThreadCount() checks).
TEST_F(FaultCrashTest, CrashBetweenSegmentWriteAndCommitLeavesAnOrphanThatGcRemovesAfterTheWindow) {
  const std::string first = WriteInput("id,v\n1,a\n2,b\n");
  const std::string second = WriteInput("id,v\n3,crashed\n");
  ASSERT_TRUE(Env::Posix().MakeDirs(data_).ok());
  ASSERT_EQ(ThreadCount(), 1u) << "a thread (DuckDB's?) would be lost, with its locks, in the fork";
  pid_t pid = fork();
  ASSERT_GE(pid, 0) << "fork failed";
  if (pid == 0) RunCrashingWriter(data_, first, second);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child killed by signal " << WTERMSIG(wstatus);
  ASSERT_EQ(WEXITSTATUS(wstatus), kChildCrashedBeforeCommit)
      << "10 = set-up failed, 11 = first import failed, 12 = the crash hook never ran";

  ASSERT_NO_FATAL_FAILURE(Open());
  ExpectAt("t", 1, {"1|a", "2|b"});

  // Two files: version 1's segment, and the crashed import's (fsynced, never committed).
  auto head = catalog_->GetVersion(Table("t").head_version_id);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->segments.size(), 1u);
  V files = SegmentFiles();
  ASSERT_EQ(files.size(), 2u) << ::testing::PrintToString(files);
  V orphans = NewFiles({head->segments[0].path}, files);
  ASSERT_EQ(orphans.size(), 1u);
  const std::string orphan = data_ + "/" + orphans[0];
  auto known = catalog_->SegmentPathKnown(orphans[0]);
  ASSERT_TRUE(known.ok());
  EXPECT_FALSE(*known);

  int64_t orphan_ms = -1;
  auto listed = Env::Posix().List(std::filesystem::path(orphan).parent_path().string());
  ASSERT_TRUE(listed.ok());
  for (const auto& e : *listed) {
    if (e.path == orphan) orphan_ms = e.modified_ms;
  }
  ASSERT_GT(orphan_ms, 0);

  // Within the window (by 1 ms) the orphan stays: it could be a write in flight elsewhere.
  const int64_t window_ms = kHourMs;
  clock_.SetMs(orphan_ms);
  clock_.AdvanceMs(window_ms - 1);
  auto gc = store_->CollectGarbage(window_ms);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->deleted_orphan_files, 0);
  EXPECT_TRUE(Env::Posix().FileExists(orphan));

  // Past it (by 1 ms) it goes, and only it.
  clock_.AdvanceMs(2);
  gc = store_->CollectGarbage(window_ms);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->deleted_orphan_files, 1);
  EXPECT_EQ(gc->deleted_versions, 0);
  EXPECT_FALSE(Env::Posix().FileExists(orphan));
  EXPECT_EQ(SegmentFiles(), V{head->segments[0].path});
  ExpectAt("t", 1, {"1|a", "2|b"});
}

// A write that fails inside DuckDB itself, which no Env fault can reach: a forked child imports
// version 1, then runs under RLIMIT_FSIZE (SIGXFSZ ignored) so that DuckDB's write(2) of the next
// segment fails with EFBIG halfway through the file. The partial file is deleted and the table
// keeps version 1, and the error is the server's (EFBIG: `internal`), never the input's.
TEST_F(FaultCrashTest, WriteFailingInsideDuckDbLeavesNoPartialSegment) {
  const std::string first = WriteInput("id,s\n1,a\n2,b\n");
  std::string csv = "id,s\n";
  for (int i = 0; i < 200000; ++i)
    csv += std::to_string(i) + ",x" + std::to_string(i * 7919) + "\n";
  const std::string second = WriteInput(csv);  // a segment of ~2 MB
  ASSERT_TRUE(Env::Posix().MakeDirs(data_).ok());
  ASSERT_EQ(ThreadCount(), 1u) << "a thread (DuckDB's?) would be lost, with its locks, in the fork";
  pid_t pid = fork();
  ASSERT_GE(pid, 0) << "fork failed";
  if (pid == 0) {
    auto catalog = catalog::OpenSqliteCatalog(data_ + "/catalog.db");
    if (!catalog.ok()) _exit(kChildSetupFailed);
    catalog::Project project;
    catalog::Bucket bucket;
    if (!PrepareCatalog(**catalog, &project, &bucket).ok()) _exit(kChildSetupFailed);
    storage::StoreOptions options;
    options.memory_limit = "256MB";
    options.threads = 2;
    auto store = storage::TableStore::Open(**catalog, data_, options);
    if (!store.ok()) _exit(kChildSetupFailed);
    if (!(*store)->Import(bucket, "t", CsvRequest(first, false)).ok())
      _exit(kChildFirstImportFailed);
    std::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit = {kFileSizeLimitBytes, kFileSizeLimitBytes};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(kChildSetupFailed);
    auto w = (*store)->Import(bucket, "t", CsvRequest(second, false));
    if (w.ok()) _exit(kChildSecondImportReturned);
    _exit(w.status().code() == StatusCode::kInvalidArgument ? kChildSecondImportBlamedTheInput
                                                            : kChildSecondImportFailed);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child killed by signal " << WTERMSIG(wstatus);
  ASSERT_EQ(WEXITSTATUS(wstatus), kChildSecondImportFailed)
      << "10 = set-up failed, 11 = first import failed, 12 = the limited import succeeded, "
         "14 = it failed as the input's fault (invalid_argument)";

  ASSERT_NO_FATAL_FAILURE(Open());
  ExpectAt("t", 1, {"1|a", "2|b"});
  auto head = catalog_->GetVersion(Table("t").head_version_id);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->segments.size(), 1u);
  EXPECT_EQ(SegmentFiles(), V{head->segments[0].path});  // no partial file of the failed write
}

// The real Env's errno mapping, which the injected faults below imitate: a full disk or quota is
// the machine's state (`unavailable`), any other failure `internal`; neither is the user's input.
TEST(ErrnoStatusTest, FullDiskIsUnavailableAndOtherFailuresInternal) {
  Status full = ErrnoStatus("fsync /data/segments/p1/x.parquet", ENOSPC);
  EXPECT_EQ(full.code(), StatusCode::kUnavailable);
  EXPECT_EQ(full.message(), "fsync /data/segments/p1/x.parquet: No space left on device");
  EXPECT_EQ(ErrnoStatus("fsync", EDQUOT).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoStatus("fsync", EIO).code(), StatusCode::kInternal);
  EXPECT_EQ(ErrnoStatus("open", ENOENT).code(), StatusCode::kInternal);
  // A real failing call reports internal: a missing file is not the caller's input either.
  EXPECT_EQ(Env::Posix().SyncFileAndDir("/nonexistent/segment.parquet").code(),
            StatusCode::kInternal);
  EXPECT_EQ(Env::Posix().FileSize("/nonexistent/segment.parquet").status().code(),
            StatusCode::kInternal);
}

// fsync of the new segment fails (EIO): not the user's fault; the table keeps its version, and
// the file DuckDB wrote is deleted. Three write paths: full, incremental, and a keyed load with a
// repeated key (which rewrites the batch into a second file before the fsync).
TEST_F(FaultTest, FsyncFailureFailsTheImportAndLeavesNoSegment) {
  struct Case {
    const char* table;
    bool incremental;
    std::vector<std::string> pk;
    const char* batch;
  };
  const Case cases[] = {{"full", false, {}, "id,v\n3,c\n"},
                        {"append", true, {}, "id,v\n3,c\n"},
                        {"keyed", true, {"id"}, "id,v\n3,c\n3,cc\n1,z\n"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.table);
    ASSERT_TRUE(ImportCsv(c.table, "id,v\n1,a\n2,b\n", false, c.pk).ok());
    const V before = SegmentFiles();
    const size_t failures_before = env_.failures().size();
    env_.FailSegmentSync(ErrnoStatus("fsync", EIO));
    auto w = ImportCsv(c.table, c.batch, c.incremental);
    env_.FailSegmentSync(Status::Ok());
    ASSERT_FALSE(w.ok());
    EXPECT_TRUE(w.status().code() == StatusCode::kInternal ||
                w.status().code() == StatusCode::kUnavailable)
        << w.status().ToString();
    // The fault hit a file DuckDB had written, and that file is gone.
    auto failures = env_.failures();
    ASSERT_EQ(failures.size(), failures_before + 1);
    EXPECT_TRUE(failures.back().existed);
    EXPECT_FALSE(Env::Posix().FileExists(failures.back().path)) << failures.back().path;
    EXPECT_EQ(SegmentFiles(), before);
    ExpectAt(c.table, 1, {"1|a", "2|b"});
  }
  // Once the disk behaves again, the store is not wedged.
  auto w = ImportCsv("full", "id,v\n3,c\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ExpectAt("full", 2, {"3|c"});
}

// A full disk while the segment is written. DuckDB writes the file itself (outside the Env), so
// the injected ENOSPC comes from the Env calls that follow the write: the fsync, or the size.
// Either way: `unavailable` (never `invalid_argument`), table unchanged, no file left.
TEST_F(FaultTest, NoSpaceDuringSegmentWriteIsUnavailableAndLeavesNoSegment) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,a\n2,b\n").ok());
  const V before = SegmentFiles();
  for (const bool at_sync : {true, false}) {
    SCOPED_TRACE(at_sync ? "ENOSPC at fsync" : "ENOSPC at size");
    if (at_sync) {
      env_.FailSegmentSync(NoSpace("fsync"));
    } else {
      env_.FailSegmentSize(NoSpace("stat"));
    }
    const size_t failures_before = env_.failures().size();
    auto w = ImportCsv("t", "id,v\n3,c\n4,d\n", true);
    env_.FailSegmentSync(Status::Ok());
    env_.FailSegmentSize(Status::Ok());
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), StatusCode::kUnavailable) << w.status().ToString();
    EXPECT_NE(w.status().code(), StatusCode::kInvalidArgument);
    auto failures = env_.failures();
    ASSERT_EQ(failures.size(), failures_before + 1);
    EXPECT_TRUE(failures.back().existed);
    EXPECT_FALSE(Env::Posix().FileExists(failures.back().path)) << failures.back().path;
    EXPECT_EQ(SegmentFiles(), before);
    ExpectAt("t", 1, {"1|a", "2|b"});
  }
  // The same for a table the failed import would have created: it does not exist afterwards.
  env_.FailSegmentSync(NoSpace("fsync"));
  auto w = ImportCsv("fresh", "id\n1\n");
  env_.FailSegmentSync(Status::Ok());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnavailable) << w.status().ToString();
  EXPECT_EQ(catalog_->GetTable(bucket_.id, "fresh").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(SegmentFiles(), before);
}

// The head moves between the plan and the commit: on attempt 0 another writer (a second store
// over the same catalog file and data directory, as another process) commits an incremental
// import to the same table. The first commit loses the compare-and-swap, recomputes, and retries.
class HeadMovesTest : public FaultTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(FaultTest::SetUp());
    other_catalog_ = OpenCatalog();
    ASSERT_TRUE(other_catalog_);
    other_ = OpenStore(*other_catalog_, /*with_hook=*/false);
    ASSERT_TRUE(other_);
  }

  // Makes the other writer import `batch` (incrementally) into `table` on the attempts for which
  // `when` holds; records every attempt.
  void RaceOn(
      const std::string& table, const std::string& batch,
      std::function<bool(int)> when = [](int attempt) { return attempt == 0; }) {
    const std::string path = WriteInput(batch);
    before_commit_ = [this, table, path, when](int attempt) {
      attempts_.push_back(attempt);
      if (!when(attempt)) return;
      auto w = other_->Import(bucket_, table, CsvRequest(path, true));
      EXPECT_TRUE(w.ok()) << w.status().ToString();
    };
  }

  std::unique_ptr<catalog::Catalog> other_catalog_;
  std::unique_ptr<storage::TableStore> other_;
  std::vector<int> attempts_;
};

TEST_F(HeadMovesTest, FullImportRetriesAndItsRowsWinAsHead) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,a\n2,b\n").ok());
  RaceOn("t", "id,v\n20,racer\n");
  auto w = ImportCsv("t", "id,v\n10,mine\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1}));
  EXPECT_EQ(w->version.number, 3);  // 1 + the racer's + this one
  ExpectAt("t", 3, {"10|mine"});
  EXPECT_EQ(Rows("t", 2), (V{"1|a", "20|racer", "2|b"}));
}

TEST_F(HeadMovesTest, IncrementalImportRetriesAndKeepsBothBatches) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,a\n").ok());
  RaceOn("t", "id,v\n20,racer\n");
  auto w = ImportCsv("t", "id,v\n10,mine\n11,mine\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1}));
  EXPECT_EQ(w->version.number, 3);
  EXPECT_EQ(w->version.segments.size(), 3u);
  ExpectAt("t", 3, {"10|mine", "11|mine", "1|a", "20|racer"});
}

// Both writers update key 2; each also adds a key of its own. The retry recounts the rows its
// batch replaces against the racer's version: the head's row count stays the number of distinct
// keys, and the last committer's value of key 2 wins.
TEST_F(HeadMovesTest, UpsertRetryCountsReplacedRowsAgainstTheNewHead) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,a\n2,b\n3,c\n", false, {"id"}).ok());
  RaceOn("t", "id,v\n2,racer\n5,racer\n");
  auto w = ImportCsv("t", "id,v\n2,mine\n4,mine\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1}));
  EXPECT_EQ(Rows("t", 2), (V{"1|a", "2|racer", "3|c", "5|racer"}));
  const V rows = Rows("t");
  EXPECT_EQ(rows, (V{"1|a", "2|mine", "3|c", "4|mine", "5|racer"}));
  std::set<std::string> keys;
  for (const auto& r : rows) keys.insert(r.substr(0, r.find('|')));
  EXPECT_EQ(rows.size(), keys.size());                                 // count(*) = distinct keys
  EXPECT_EQ(w->version.row_count, static_cast<int64_t>(keys.size()));  // and the catalog agrees
  ExpectAt("t", 3, rows);
}

// A head that moves on every attempt: after the bounded retries the commit fails as `conflict`
// (reason head_moved), the racer's versions stand, and the loser's staged file is deleted.
TEST_F(HeadMovesTest, HeadMovingOnEveryAttemptFailsAsConflictAndLeavesNoSegment) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,a\n").ok());
  RaceOn("t", "id,v\n20,racer\n", [](int) { return true; });
  const V before = SegmentFiles();
  auto w = ImportCsv("t", "id,v\n10,mine\n", true);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kConflict) << w.status().ToString();
  EXPECT_TRUE(catalog::IsHeadMoved(w.status())) << w.status().ToString();
  const int racer_commits = static_cast<int>(attempts_.size());
  EXPECT_GT(racer_commits, 1);
  EXPECT_EQ(attempts_.back(), racer_commits - 1);
  // Only the racer's segments are new; each of its versions is in the catalog.
  V added = NewFiles(before, SegmentFiles());
  EXPECT_EQ(added.size(), static_cast<size_t>(racer_commits));
  for (const auto& f : added) {
    auto known = catalog_->SegmentPathKnown(f);
    ASSERT_TRUE(known.ok());
    EXPECT_TRUE(*known) << f << " is not the racer's";
  }
  V rows = {"1|a"};
  for (int i = 0; i < racer_commits; ++i) rows.push_back("20|racer");
  std::sort(rows.begin(), rows.end());
  ExpectAt("t", 1 + racer_commits, rows);
}

// Garbage collection with a zero window runs while a write is between its segment and its
// commit, with the clock far past every file's time: it deletes a real orphan (so the cutoff
// reached the files) but not the staged segment, which is in flight; the commit then succeeds.
TEST_F(FaultTest, GcDuringAnInFlightWriteKeepsTheStagedSegment) {
  ASSERT_TRUE(ImportCsv("t", "id\n1\n").ok());
  const std::string orphan =
      data_ + "/segments/p" + std::to_string(project_.id) + "/0123456789abcdef.parquet";
  std::ofstream(orphan) << "x";
  clock_.AdvanceMs(30 * kDayMs);
  const V before = SegmentFiles();  // version 1's segment and the orphan

  int calls = 0;
  V staged;
  before_commit_ = [&](int attempt) {
    ++calls;
    staged = NewFiles(before, SegmentFiles());
    auto gc = store_->CollectGarbage(0);
    ASSERT_TRUE(gc.ok()) << gc.status().ToString();
    EXPECT_EQ(gc->deleted_orphan_files, 1);  // the real orphan only
    EXPECT_FALSE(Env::Posix().FileExists(orphan));
    for (const auto& f : staged) EXPECT_TRUE(Env::Posix().FileExists(data_ + "/" + f)) << f;
  };
  auto w = ImportCsv("t", "id\n2\n3\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(staged.size(), 1u);  // the in-flight segment existed when GC ran
  ASSERT_EQ(w->version.segments.size(), 2u);
  EXPECT_EQ(w->version.segments[1].path, staged[0]);
  ExpectAt("t", 2, {"1", "2", "3"});
}

// A fake clock drives token expiry and version retention through the runtime and its services.
TEST_F(FaultTest, FakeClockDrivesTokenExpiryAndRetention) {
  // Far from the real time: a service that read the system clock instead would be caught.
  clock_.SetMs(kFixedStartMs);
  service::RuntimeOptions options;
  options.data_dir = dir_.path() + "/runtime";
  options.memory_limit = "256MB";
  options.env = &env_;
  options.clock = &clock_;
  auto rt = service::Runtime::Open(options);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  catalog::Token admin_spec;
  admin_spec.kind = "admin";
  auto admin_token = service::IssueToken((*rt)->catalog(), admin_spec);
  ASSERT_TRUE(admin_token.ok()) << admin_token.status().ToString();
  const service::Caller admin{admin_token->token, "test"};
  auto created = service::CreateProject(**rt, admin, "clocked", "");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const catalog::Project& project = created->project;

  // Token expiry: 60 s from the runtime's clock.
  service::CreateTokenRequest request;
  request.scopes = {{"in.c", "read"}};
  request.expires_in_seconds = 60;
  auto token = service::CreateToken(**rt, admin, project, request);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  const std::string header = "Bearer " + token->secret;
  EXPECT_TRUE(service::Authenticate((*rt)->catalog(), clock_, header).ok());
  clock_.AdvanceMs(59 * 1000);
  auto auth = service::Authenticate((*rt)->catalog(), clock_, header);
  EXPECT_TRUE(auth.ok()) << auth.status().ToString();
  clock_.AdvanceMs(2 * 1000);
  auth = service::Authenticate((*rt)->catalog(), clock_, header);
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().code(), StatusCode::kUnauthorized);
  EXPECT_EQ(auth.status().message(), "token has expired");

  // Retention: version 1 (replaced by version 2 a second later) is collected only once the clock
  // is past its creation time plus the window.
  const int64_t window_s = 3600;
  auto v1 = service::ImportTable(**rt, admin, project, "in.c.t",
                                 CsvRequest(WriteInput("id\n1\n"), false));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version.created_at, clock_.NowMs());  // the catalog reads the fake clock
  const std::string v1_file = options.data_dir + "/" + v1->version.segments.at(0).path;
  clock_.AdvanceMs(1000);
  auto v2 = service::ImportTable(**rt, admin, project, "in.c.t",
                                 CsvRequest(WriteInput("id\n2\n"), false));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();

  clock_.SetMs(v1->version.created_at + window_s * 1000 - 1);
  auto gc = service::CollectGarbage(**rt, admin, window_s);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->deleted_versions, 0);
  EXPECT_EQ(gc->deleted_segments, 0);
  EXPECT_TRUE(Env::Posix().FileExists(v1_file));
  auto versions = (*rt)->catalog().ListVersions(v2->table.id);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 2u);

  clock_.AdvanceMs(2);
  gc = service::CollectGarbage(**rt, admin, window_s);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->deleted_versions, 1);
  EXPECT_EQ(gc->deleted_segments, 1);
  EXPECT_FALSE(Env::Posix().FileExists(v1_file));
  versions = (*rt)->catalog().ListVersions(v2->table.id);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front().number, 2);
  for (const auto& s : v2->version.segments)
    EXPECT_TRUE(Env::Posix().FileExists(options.data_dir + "/" + s.path)) << s.path;
}

}  // namespace
}  // namespace swan::testing
