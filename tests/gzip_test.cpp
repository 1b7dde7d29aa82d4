// Gzip inputs are checked to their end: the zlib-based checker alone, then imports of cut,
// corrupt and multi-member gzip files through the table store (issue 8, 10d).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/gzip_check.h"
#include "store_fixture.h"
#include "test_util.h"

namespace swan::testing {
namespace {

Status CheckBytes(const std::string& bytes, gzip::Limits limits = {}, size_t piece = 4096) {
  auto inflater = gzip::Inflater::Create("t.csv.gz", limits);
  if (!inflater.ok()) return inflater.status();
  for (size_t at = 0; at < bytes.size(); at += piece) {
    Status st = (*inflater)->Update(bytes.data() + at, std::min(piece, bytes.size() - at));
    if (!st.ok()) return st;
  }
  return (*inflater)->Finish();
}

std::string CsvRows(int first, int last) {
  std::string csv;
  for (int i = first; i <= last; ++i)
    csv += std::to_string(i) + ",n" + std::to_string(i) + "," + std::to_string(i * 7 % 1013) + "\n";
  return csv;
}

const std::string kCsv = "id,name,n\n" + CsvRows(1, 100000);

TEST(GzipInflaterTest, WholeStreamPassesInAnyPieces) {
  const std::string gz = Gzip(kCsv);
  for (size_t piece : {size_t{1} << 20, size_t{4096}, size_t{7}}) {
    std::string out;
    auto collect = gzip::Inflater::Create("t.csv.gz", {}, [&](const char* d, size_t n) {
      out.append(d, n);
      return true;
    });
    ASSERT_TRUE(collect.ok());
    for (size_t at = 0; at < gz.size(); at += piece) {
      ASSERT_TRUE((*collect)->Update(gz.data() + at, std::min(piece, gz.size() - at)).ok());
    }
    ASSERT_TRUE((*collect)->Finish().ok());
    EXPECT_EQ(out, kCsv) << "pieces of " << piece;
    EXPECT_EQ((*collect)->expanded_bytes(), kCsv.size());
    EXPECT_EQ((*collect)->compressed_bytes(), gz.size());
  }
}

TEST(GzipInflaterTest, EveryCutPointIsRefused) {
  const std::string gz = Gzip("id,name\n1,a\n2,b\n3,c\n");
  for (size_t cut = 0; cut < gz.size(); ++cut) {
    Status st = CheckBytes(gz.substr(0, cut));
    ASSERT_FALSE(st.ok()) << "cut at " << cut << " of " << gz.size();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("t.csv.gz: "), std::string::npos) << st.message();
  }
  EXPECT_EQ(CheckBytes(gz.substr(0, gz.size() - 8)).message(),
            "t.csv.gz: gzip stream truncated at byte " + std::to_string(gz.size() - 8));
  EXPECT_TRUE(CheckBytes(gz).ok());
}

TEST(GzipInflaterTest, CorruptTrailerAndTrailingBytesAreRefused) {
  const std::string gz = Gzip(kCsv);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;  // CRC-32 is the trailer's first 4 bytes
  Status st = CheckBytes(bad_crc);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("t.csv.gz: gzip CRC mismatch"), std::string::npos) << st.message();

  std::string bad_length = gz;
  bad_length[gz.size() - 1] ^= 0x01;  // ISIZE, the last 4 bytes
  st = CheckBytes(bad_length);
  EXPECT_NE(st.message().find("gzip length mismatch"), std::string::npos) << st.message();

  st = CheckBytes(gz + "garbage");
  EXPECT_EQ(st.message(), "t.csv.gz: not gzip data at byte " + std::to_string(gz.size()));

  EXPECT_EQ(CheckBytes("id,name\n1,a\n").message(), "t.csv.gz: not gzip data at byte 0");
}

TEST(GzipInflaterTest, MultiMemberStreamPasses) {
  const std::string gz = Gzip("id,name,n\n" + CsvRows(1, 50000)) + Gzip(CsvRows(50001, 100000));
  std::string out;
  auto inflater = gzip::Inflater::Create("t.csv.gz", {}, [&](const char* d, size_t n) {
    out.append(d, n);
    return true;
  });
  ASSERT_TRUE(inflater.ok());
  ASSERT_TRUE((*inflater)->Update(gz.data(), gz.size()).ok());
  ASSERT_TRUE((*inflater)->Finish().ok());
  EXPECT_EQ(out, kCsv);
  // A second member cut short is as truncated as a first one.
  EXPECT_FALSE(CheckBytes(gz.substr(0, gz.size() - 3)).ok());
}

TEST(GzipInflaterTest, ExpansionBoundsStopEarly) {
  const std::string zeros(64 << 20, '0');  // 64 MiB that compress ~1000x
  const std::string gz = Gzip(zeros);
  gzip::Limits ratio;
  ratio.ratio_max = 100;
  ratio.ratio_free_bytes = 1 << 20;
  auto inflater = gzip::Inflater::Create("bomb.gz", ratio);
  ASSERT_TRUE(inflater.ok());
  Status st;
  for (size_t at = 0; at < gz.size() && st.ok(); at += 4096)
    st = (*inflater)->Update(gz.data() + at, std::min<size_t>(4096, gz.size() - at));
  EXPECT_EQ(st.code(), StatusCode::kPayloadTooLarge) << st.ToString();
  EXPECT_NE(st.message().find("decompression bomb"), std::string::npos) << st.message();
  // Stopped soon after the free first MiB, not at the end.
  EXPECT_LT((*inflater)->expanded_bytes(), uint64_t{8} << 20);

  gzip::Limits size;
  size.expanded_bytes_max = 10 << 20;
  st = CheckBytes(gz, size);
  EXPECT_EQ(st.code(), StatusCode::kPayloadTooLarge) << st.ToString();
  // Within both bounds: passes.
  ratio.ratio_max = 2000;
  EXPECT_TRUE(CheckBytes(gz, ratio).ok());
}

// Imports through the table store: a bad gzip file commits nothing.
class GzipImportTest : public StoreTest {
 protected:
  Result<storage::WriteResult> ImportGzip(const std::string& bytes) {
    storage::ImportRequest r;
    r.file_path = WriteFile("upload-" + std::to_string(++files_) + ".gz", bytes);
    r.display_name = "orders.csv.gz";
    return store_->Import(bucket_, "orders", r);
  }
};

TEST_F(GzipImportTest, CutOrCorruptFilesAreRefusedAndTheTableKeepsItsVersion) {
  auto first = ImportGzip(Gzip("id,name,n\n1,n1,7\n2,n2,14\n"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const int64_t head = Table("orders").head_version_id;

  const std::string gz = Gzip(kCsv);
  std::vector<size_t> cuts;
  for (int percent : {5, 20, 35, 50, 60, 75, 90, 99}) cuts.push_back(gz.size() * percent / 100);
  for (size_t trailer_cut : {8, 4, 1}) cuts.push_back(gz.size() - trailer_cut);
  int by_gzip_check = 0;
  for (size_t cut : cuts) {
    auto w = ImportGzip(gz.substr(0, cut));
    ASSERT_FALSE(w.ok()) << "cut at " << cut << " of " << gz.size() << " was committed with "
                         << w->version.row_count << " rows";
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << w.status().ToString();
    EXPECT_NE(w.status().message().find("orders.csv.gz"), std::string::npos)
        << w.status().ToString();
    if (w.status().message().find("gzip stream truncated") != std::string::npos) ++by_gzip_check;
    EXPECT_EQ(Table("orders").head_version_id, head) << "cut at " << cut;
  }
  // Where the rows before the cut parse (at least the cuts inside the trailer), only the check
  // stands between the cut file and a partial commit.
  EXPECT_GE(by_gzip_check, 3);
  std::printf("%zu cut points refused, %d of them by the gzip check\n", cuts.size(), by_gzip_check);

  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  auto w = ImportGzip(bad_crc);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("orders.csv.gz: gzip CRC mismatch"), std::string::npos)
      << w.status().ToString();
  EXPECT_EQ(Table("orders").head_version_id, head);
  EXPECT_EQ(Rows("orders"), (std::vector<std::string>{"1|n1|7", "2|n2|14"}));
}

TEST_F(GzipImportTest, MultiMemberFileImportsWhole) {
  auto w = ImportGzip(Gzip("id,name,n\n" + CsvRows(1, 50000)) + Gzip(CsvRows(50001, 100000)));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 100000);
}

}  // namespace
}  // namespace swan::testing
