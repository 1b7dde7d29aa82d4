// The file writer (swan.wr-file) as a job: tables to CSV, gzip CSV and Parquet files in the
// project's export folder, renamed into place, never outside that folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json WriterConfig(const std::string& table, const std::string& file, json parameters) {
  return {{"storage", {{"input", {{"tables", {{{"source", table}, {"destination", file}}}}}}}},
          {"parameters", std::move(parameters)}};
}

class FileWriterJobTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  std::string Exports(const std::string& project) const {
    return server_.data_dir() + "/exports/" + project;
  }
  ServerProcess server_;
};

TEST_F(FileWriterJobTest, CsvGzipAndParquetFilesReplacedWhole) {
  ProjectApi p(server_, "files-out");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-src.sales", "id,amount\n1,10\n2,20\n");
  p.CreateConfig("csv", "swan.wr-file",
                 WriterConfig("in.c-src.sales", "sales.csv", {{"path", "reports/daily"}}));
  json job = p.RunJob("csv");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  const std::string csv = Exports("files-out") + "/reports/daily/sales.csv";
  EXPECT_EQ(Slurp(csv), "id,amount\n1,10\n2,20\n");

  // A second run replaces the file whole; no partial file is left beside it.
  p.ImportCsv("in.c-src.sales", "id,amount\n3,30\n");
  ASSERT_EQ(p.RunJob("csv").value("status", ""), "success");
  EXPECT_EQ(Slurp(csv), "id,amount\n3,30\n");
  int files = 0;
  for (const auto& e : stdfs::directory_iterator(Exports("files-out") + "/reports/daily")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);

  p.CreateConfig("gz", "swan.wr-file",
                 WriterConfig("in.c-src.sales", "sales", {{"format", "csv"}, {"gzip", true}}));
  ASSERT_EQ(p.RunJob("gz").value("status", ""), "success");
  const std::string gz = Slurp(Exports("files-out") + "/sales.csv.gz");
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);

  p.CreateConfig("pq", "swan.wr-file",
                 WriterConfig("in.c-src.sales", "sales", {{"format", "parquet"}}));
  ASSERT_EQ(p.RunJob("pq").value("status", ""), "success");
  const std::string pq = Slurp(Exports("files-out") + "/sales.parquet");
  ASSERT_GE(pq.size(), 8u);
  EXPECT_EQ(pq.substr(0, 4), "PAR1");
  EXPECT_EQ(pq.substr(pq.size() - 4), "PAR1");
}

// Tenants never meet: a path cannot leave the project's folder, and another project's table is
// not an input.
TEST_F(FileWriterJobTest, NeverOutsideTheProjectsFolder) {
  ProjectApi a(server_, "files-a"), b(server_, "files-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.ImportCsv("in.c-src.t", "x\n1\n");
  b.ImportCsv("in.c-src.t", "x\n2\n");
  b.CreateConfig("escape", "swan.wr-file",
                 WriterConfig("in.c-src.t", "t.csv", {{"path", "../files-a"}}));
  json escape = b.RunJob("escape");
  EXPECT_EQ(escape.value("status", ""), "error") << DescribeJob(b, escape);
  b.CreateConfig("abs", "swan.wr-file", WriterConfig("in.c-src.t", "t.csv", {{"path", "/tmp"}}));
  EXPECT_EQ(b.RunJob("abs").value("status", ""), "error");
  b.CreateConfig("name", "swan.wr-file", WriterConfig("in.c-src.t", "../../t.csv", json::object()));
  EXPECT_EQ(b.RunJob("name").value("status", ""), "error");
  EXPECT_FALSE(stdfs::exists(Exports("files-a")));

  b.CreateConfig("ok", "swan.wr-file", WriterConfig("in.c-src.t", "t.csv", json::object()));
  ASSERT_EQ(b.RunJob("ok").value("status", ""), "success");
  EXPECT_EQ(Slurp(Exports("files-b") + "/t.csv"), "x\n2\n");
  EXPECT_FALSE(stdfs::exists(Exports("files-a")));
}

}  // namespace
}  // namespace swan::testing
