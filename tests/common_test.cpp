// Tests for src/common pieces that have no other home: the background file writer, thread
// priorities.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>

#include "common/background_writer.h"
#include "common/file_format.h"
#include "common/thread_priority.h"
#include "test_util.h"

namespace swan::testing {
namespace {

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}

TEST(BackgroundWriterTest, WritesEveryByteInOrderAcrossBufferBoundaries) {
  TempDir dir;
  const std::string path = dir.path() + "/out.bin";
  auto writer = fs::BackgroundWriter::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::string expected;
  // Pieces of odd sizes, small and larger than a buffer, more buffers than the queue holds.
  const size_t sizes[] = {1,
                          4096,
                          7,
                          fs::BackgroundWriter::kBufferBytes + 3,
                          65536,
                          0,
                          3 * fs::BackgroundWriter::kBufferBytes};
  for (unsigned round = 0; round < 4; ++round) {
    for (size_t n : sizes) {
      std::string piece = Pattern(n, round * 7 + static_cast<unsigned>(n));
      ASSERT_TRUE((*writer)->Append(piece.data(), piece.size()));
      expected += piece;
    }
  }
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(ReadFile(path).size(), expected.size());
  EXPECT_TRUE(ReadFile(path) == expected);
}

TEST(BackgroundWriterTest, EmptyFileIsCreated) {
  TempDir dir;
  const std::string path = dir.path() + "/empty.bin";
  auto writer = fs::BackgroundWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST(BackgroundWriterTest, WriteFailureIsReportedNotSwallowed) {
  // /dev/full accepts open() and fails every write() with ENOSPC.
  auto writer = fs::BackgroundWriter::Create("/dev/full");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::string piece = Pattern(fs::BackgroundWriter::kBufferBytes, 1);
  bool refused = false;
  for (int i = 0; i < 64 && !refused; ++i) refused = !(*writer)->Append(piece.data(), piece.size());
  Status closed = (*writer)->Close();
  EXPECT_TRUE(refused) << "Append kept accepting data after the writes failed";
  ASSERT_FALSE(closed.ok());
  EXPECT_NE(closed.message().find("No space left"), std::string::npos) << closed.message();
}

TEST(BackgroundWriterTest, CreateInAMissingDirectoryFails) {
  auto writer = fs::BackgroundWriter::Create("/nonexistent-dir-for-swan/x.bin");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("/nonexistent-dir-for-swan/x.bin"), std::string::npos);
}

}  // namespace
}  // namespace swan::testing

namespace swan::testing {
namespace {

TEST(FileFormatTest, FormatFollowsTheExtension) {
  struct Case {
    const char* name;
    const char* format;
    const char* delimiter;
    bool gzip;
  };
  for (const Case& c : std::vector<Case>{{"orders.csv", "csv", "", false},
                                         {"ORDERS.CSV.GZ", "csv", "", true},
                                         {"data.tsv", "csv", "\t", false},
                                         {"data.tsv.gz", "csv", "\t", true},
                                         {"flights.parquet", "parquet", "", false},
                                         {"in.a.f.pq", "parquet", "", false},
                                         {"events.jsonl", "jsonl", "", false},
                                         {"events.ndjson.gz", "jsonl", "", true},
                                         {"movies.json", "json", "", false},
                                         {"Flights.JSON.gz", "json", "", true}}) {
    auto f = FormatFromFileName(c.name);
    ASSERT_TRUE(f.has_value()) << c.name;
    EXPECT_EQ(f->format, c.format) << c.name;
    EXPECT_EQ(f->delimiter, c.delimiter) << c.name;
    EXPECT_EQ(f->gzip, c.gzip) << c.name;
  }
  for (const char* unknown : {"data.txt", "data", "", ".gz", "x.jsonx", "csv"})
    EXPECT_FALSE(FormatFromFileName(unknown).has_value()) << unknown;
}

// Bulk threads run kBulkNice lower (nice is capped at 19); what they start inherits it, except
// threads started through StartBasePriorityThread, which run at the base priority again: a thread
// cannot raise its own priority without CAP_SYS_NICE, so the base one must come from elsewhere.
TEST(ThreadPriorityTest, BulkThreadsStartBasePriorityThreadsAtTheBase) {
  int base = 0, bulk = 0, bulk_again = 0, inherited = 0, from_bulk = 0, from_child = 0, plain = 0;
  std::thread([&] {
    base = ThisThreadNice();
    std::thread([&] { plain = ThisThreadNice(); }).join();
    EnterBulkPriority();
    bulk = ThisThreadNice();
    EnterBulkPriority();  // idempotent
    bulk_again = ThisThreadNice();
    std::thread([&] {
      inherited = ThisThreadNice();
      // A child of a bulk thread never entered the bulk priority itself, yet is one.
      StartBasePriorityThread([&] { from_child = ThisThreadNice(); }).join();
    }).join();
    StartBasePriorityThread([&] { from_bulk = ThisThreadNice(); }).join();
  }).join();
  EXPECT_EQ(plain, base);
  if (base >= 19) GTEST_FAIL() << "the test runs at nice 19: no lower priority to enter";
  EXPECT_EQ(bulk, std::min(base + kBulkNice, 19));
  EXPECT_EQ(bulk_again, bulk);
  EXPECT_EQ(inherited, bulk);
  EXPECT_EQ(from_bulk, base);
  EXPECT_EQ(from_child, base);
  // The calling thread (not a bulk one) is untouched.
  EXPECT_EQ(ThisThreadNice(), base);
}

TEST(ThreadPriorityTest, ABaseThreadStartsItsThreadsDirectly) {
  int inside = -100;
  std::thread t = StartBasePriorityThread([&] { inside = ThisThreadNice(); });
  t.join();
  EXPECT_EQ(inside, ThisThreadNice());
}

}  // namespace
}  // namespace swan::testing
