// An input table streamed to an in-process writer through a pipe (jobs/streamed_export.h): the
// whole stream is the table as a file export gives it, the version the mapping resolved is the
// one read, and a reader that stops early ends the export instead of leaving it blocked.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "jobs/streamed_export.h"
#include "store_fixture.h"

namespace swan::testing {
namespace {

class StreamedExportTest : public StoreTest {
 protected:
  jobs::InputTable Input(const std::string& name) {
    jobs::InputTable in;
    in.table = Table(name);
    auto version = store_->ResolveVersion(in.table, std::nullopt);
    EXPECT_TRUE(version.ok()) << version.status().ToString();
    if (version.ok()) in.version = *version;
    return in;
  }

  static std::string ReadAll(connectors::CsvSource& source) {
    std::string out;
    char buffer[4096];
    for (;;) {
      auto n = source.Read(buffer, sizeof(buffer));
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) return out;
      out.append(buffer, *n);
    }
  }
};

TEST_F(StreamedExportTest, TheWholeStreamIsTheTableAsAFileExportGivesIt) {
  ASSERT_TRUE(ImportCsv("people", "id,name\n1,Ann\n2,\"Cy, \"\"the\"\" third\"\n3,\n").ok());
  jobs::InputTable in = Input("people");
  const std::string file = dir_.path() + "/export.csv";
  ASSERT_TRUE(store_->Export(in.table, in.read, storage::ExportFormat::kCsv, false, file).ok());
  std::stringstream expected;
  expected << std::ifstream(file, std::ios::binary).rdbuf();

  auto usage = std::make_shared<jobs::StreamedUsage>();
  auto source = jobs::StreamInputTable(*store_, in, usage);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(ReadAll(**source), expected.str());
  ASSERT_TRUE((*source)->Finish().ok());
  EXPECT_EQ(usage->rows.load(), 3);
  EXPECT_EQ(usage->bytes.load(), static_cast<int64_t>(expected.str().size()));
}

// The mapping resolved version 1; a load that lands before the writer reads does not change
// what it writes.
TEST_F(StreamedExportTest, TheResolvedVersionIsReadEvenWhenANewOneCame) {
  ASSERT_TRUE(ImportCsv("people", "id,name\n1,Ann\n").ok());
  jobs::InputTable in = Input("people");
  ASSERT_TRUE(ImportCsv("people", "id,name\n9,New\n").ok());
  auto source = jobs::StreamInputTable(*store_, in, std::make_shared<jobs::StreamedUsage>());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(ReadAll(**source), "id,name\n1,Ann\n");
  EXPECT_TRUE((*source)->Finish().ok());
}

// The writer failed (the target refused a row) after one chunk of a table far larger than the
// pipe holds: dropping the source stops DuckDB's export (EPIPE) and waits for it. Without that,
// the export thread would stay blocked on the full pipe and this test would hang.
TEST_F(StreamedExportTest, AReaderThatStopsEarlyEndsTheExport) {
  std::string csv = "id,name\n";
  for (int i = 0; i < 300000; ++i)
    csv += std::to_string(i) + ",name number " + std::to_string(i) + "\n";
  ASSERT_TRUE(ImportCsv("big", csv).ok());
  jobs::InputTable in = Input("big");
  auto usage = std::make_shared<jobs::StreamedUsage>();
  {
    auto source = jobs::StreamInputTable(*store_, in, usage);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    char buffer[4096];
    auto n = (*source)->Read(buffer, sizeof(buffer));
    ASSERT_TRUE(n.ok());
    EXPECT_GT(*n, 0u);
  }
  EXPECT_EQ(usage->rows.load(), 0);  // the export did not finish
  EXPECT_LT(usage->bytes.load(), static_cast<int64_t>(csv.size()));
  // The store goes on exporting.
  auto again = jobs::StreamInputTable(*store_, in, std::make_shared<jobs::StreamedUsage>());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(**again).size(), csv.size());
  EXPECT_TRUE((*again)->Finish().ok());
}

}  // namespace
}  // namespace swan::testing
