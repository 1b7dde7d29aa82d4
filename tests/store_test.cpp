// The versioned table store: load modes, upserts, time travel, restore, schema evolution,
// bad input, compaction and garbage collection.
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <thread>

#include "store_fixture.h"

namespace swan::testing {
namespace {

using V = std::vector<std::string>;

TEST_F(StoreTest, FullLoadInfersTypesAndReplaces) {
  auto w = ImportCsv("orders", "id,name,amount\n1,a,1.5\n2,b,2.5\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.number, 1);
  EXPECT_EQ(w->version.row_count, 2);
  EXPECT_EQ(w->version.operation, "import_full");
  ASSERT_EQ(w->version.columns.size(), 3u);
  EXPECT_EQ(w->version.columns[0].type, "BIGINT");
  EXPECT_EQ(w->version.columns[1].type, "VARCHAR");
  EXPECT_EQ(w->version.columns[2].type, "DOUBLE");
  EXPECT_EQ(Rows("orders"), (V{"1|a|1.5", "2|b|2.5"}));

  auto w2 = ImportCsv("orders", "id,name,amount\n3,c,3\n");
  ASSERT_TRUE(w2.ok()) << w2.status().ToString();
  EXPECT_EQ(w2->version.number, 2);
  EXPECT_EQ(w2->version.row_count, 1);
  EXPECT_EQ(Rows("orders"), (V{"3|c|3"}));
}

TEST_F(StoreTest, IncrementalWithoutKeyAppends) {
  ASSERT_TRUE(ImportCsv("log", "id,v\n1,x\n1,y\n").ok());
  auto w = ImportCsv("log", "id,v\n1,x\n2,z\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 4);
  EXPECT_EQ(w->version.segments.size(), 2u);
  EXPECT_EQ(Rows("log"), (V{"1|x", "1|x", "1|y", "2|z"}));
}

TEST_F(StoreTest, UpsertLastRowOfBatchWinsAndCountsReplacedRows) {
  ASSERT_TRUE(ImportCsv("c", "id,name\n1,a\n2,b\n3,c\n", false, {"id"}).ok());
  // Key 2 appears twice in the batch: the last row wins. Key 4 is new.
  auto w = ImportCsv("c", "id,name\n2,first\n4,d\n2,last\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 4);
  EXPECT_EQ(Rows("c"), (V{"1|a", "2|last", "3|c", "4|d"}));
  // A second upsert over the first: merge-on-read across three segments.
  auto w2 = ImportCsv("c", "id,name\n1,z\n4,dd\n", true);
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->version.row_count, 4);
  EXPECT_EQ(w2->version.segments.size(), 3u);
  EXPECT_EQ(Rows("c"), (V{"1|z", "2|last", "3|c", "4|dd"}));
}

TEST_F(StoreTest, FullLoadWithKeyDeduplicates) {
  auto w = ImportCsv("k", "a,b,v\n1,x,old\n1,y,keep\n1,x,new\n", false, {"a", "b"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 2);
  EXPECT_EQ(Rows("k"), (V{"1|x|new", "1|y|keep"}));
}

TEST_F(StoreTest, LargeBatchWithManyRepeatsKeepsTheLastRowOfEachKey) {
  // 300k rows over 1000 keys: rows spread over many row groups and both load threads; the last
  // row of key k is the one with the largest i where i % 1000 == k.
  std::string csv = "id,i\n";
  constexpr int kRows = 300000, kKeys = 1000;
  for (int i = 0; i < kRows; ++i) csv += std::to_string(i % kKeys) + "," + std::to_string(i) + "\n";
  auto w = ImportCsv("many", csv, false, {"id"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, kKeys);
  V expected;
  for (int k = 0; k < kKeys; ++k)
    expected.push_back(std::to_string(k) + "|" + std::to_string(kRows - kKeys + k));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Rows("many"), expected);
}

TEST_F(StoreTest, NullKeysRepeatedInABatchCollapseToTheLastRow) {
  auto w = ImportCsv("nk", "id,v\n,first\n1,a\n,last\n", false, {"id"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 2);
  EXPECT_EQ(Rows("nk"), (V{"1|a", "NULL|last"}));
}

TEST_F(StoreTest, PrimaryKeyMismatchAndMissingKeyColumnAreErrors) {
  ASSERT_TRUE(ImportCsv("k", "id,v\n1,a\n", false, {"id"}).ok());
  auto w = ImportCsv("k", "id,v\n1,a\n", true, {"v"});
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  auto w2 = ImportCsv("k2", "x,v\n1,a\n", false, {"id"});
  EXPECT_EQ(w2.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(w2.status().message().find("id"), std::string::npos);
}

TEST_F(StoreTest, TimeTravelReadsAnyVersionAndRestoreCommitsIt) {
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,one\n", false, {"id"}).ok());
  ASSERT_TRUE(ImportCsv("t", "id,v\n1,uno\n2,dos\n", true).ok());
  ASSERT_TRUE(ImportCsv("t", "id,v\n9,nine\n").ok());
  EXPECT_EQ(Rows("t", 1), (V{"1|one"}));
  EXPECT_EQ(Rows("t", 2), (V{"1|uno", "2|dos"}));
  EXPECT_EQ(Rows("t"), (V{"9|nine"}));

  auto restored = store_->Restore(Table("t"), 2, std::nullopt);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->version.number, 4);
  EXPECT_EQ(restored->version.operation, "restore");
  EXPECT_EQ(restored->version.row_count, 2);
  EXPECT_EQ(Rows("t"), (V{"1|uno", "2|dos"}));
  auto versions = catalog_->ListVersions(Table("t").id);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 4u);
  EXPECT_EQ((*versions)[0].number, 4);  // newest first
  EXPECT_EQ(store_->Restore(Table("t"), 42, std::nullopt).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, IncrementalLoadAddsNewColumns) {
  ASSERT_TRUE(ImportCsv("e", "id,a\n1,x\n", false, {"id"}).ok());
  auto w = ImportCsv("e", "id,a,b\n2,y,7\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->version.columns.size(), 3u);
  EXPECT_EQ(w->version.columns[2].name, "b");
  EXPECT_EQ(Rows("e"), (V{"1|x|NULL", "2|y|7"}));
  // A later load without the new column still works; the column stays.
  auto w2 = ImportCsv("e", "id,a\n3,z\n", true);
  ASSERT_TRUE(w2.ok()) << w2.status().ToString();
  EXPECT_EQ(Rows("e"), (V{"1|x|NULL", "2|y|7", "3|z|NULL"}));
}

TEST_F(StoreTest, LoadIntoExistingTableMatchesColumnsByNameInAnyOrder) {
  ASSERT_TRUE(ImportCsv("r", "id,a,b\n1,x,10\n", false, {"id"}).ok());
  // Reordered, a subset, CRLF line ends, a quoted value with the delimiter inside.
  auto w = ImportCsv("r", "b,id\r\n20,2\r\n30,1\r\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("r"), (V{"1|NULL|30", "2|NULL|20"}));
  w = ImportCsv("r", "a,id\n\"y,z\",3\n", true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("r"), (V{"1|NULL|30", "2|NULL|20", "3|y,z|NULL"}));
  // A value that does not fit the table's type names line and column.
  w = ImportCsv("r", "id,b\n4,40\n5,forty\n", true);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().details().at("line"), "3") << w.status().message();
  EXPECT_EQ(w.status().details().at("column"), "b") << w.status().message();
  EXPECT_EQ(Rows("r").size(), 3u);
}

TEST_F(StoreTest, TypeConflictIsClearErrorAndChangesNothing) {
  ASSERT_TRUE(ImportCsv("n", "id,amount\n1,10\n").ok());
  auto w = ImportCsv("n", "id,amount\n2,ten\n", true);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("input.csv"), std::string::npos) << w.status().message();
  EXPECT_NE(w.status().message().find("line"), std::string::npos) << w.status().message();
  EXPECT_EQ(Table("n").head_version_id, catalog_->GetVersionByNumber(Table("n").id, 1)->id);
  EXPECT_EQ(Rows("n"), (V{"1|10"}));

  // Parquet input whose column type cannot widen to the table's: conflict.
  std::string parquet = dir_.path() + "/bad.parquet";
  auto db = engine::Database::Open({});
  auto conn = engine::Connection::Open(**db);
  ASSERT_TRUE(
      (*conn)
          ->Execute("COPY (SELECT 3 AS id, 'x' AS amount) TO '" + parquet + "' (FORMAT parquet)")
          .ok());
  storage::ImportRequest r;
  r.file_path = parquet;
  r.display_name = "bad.parquet";
  r.format = storage::FileFormat::kParquet;
  r.incremental = true;
  auto w2 = store_->Import(bucket_, "n", r);
  EXPECT_EQ(w2.status().code(), StatusCode::kConflict) << w2.status().ToString();
  EXPECT_EQ(Rows("n"), (V{"1|10"}));
}

struct BadInput {
  const char* name;
  std::string csv;
  const char* line;
  const char* reason;  // in the message, which carries no DuckDB hints or server paths
};

TEST_F(StoreTest, BadInputNamesFileAndLineAndChangesNothing) {
  ASSERT_TRUE(ImportCsv("b", "id,name\n1,a\n").ok());
  const BadInput cases[] = {
      {"ragged row", "id,name\n2,b\n3,c,extra\n", "3", "expected 2 columns, found 3"},
      {"broken quoting", "id,name\n2,\"b\n3,c\n", "2", "does not close"},
      {"invalid utf-8", std::string("id,name\n2,b\n3,\xff\xfe\n"), "3",
       "is not UTF-8; if the file is in another encoding, import it with encoding="},
  };
  for (const auto& c : cases) {
    auto w = ImportCsv("b", c.csv, true);
    ASSERT_FALSE(w.ok()) << c.name;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(w.status().details().at("file"), "input.csv") << c.name;
    EXPECT_NE(w.status().message().find("input.csv"), std::string::npos)
        << c.name << ": " << w.status().message();
    EXPECT_NE(w.status().message().find(c.reason), std::string::npos)
        << c.name << ": " << w.status().message();
    for (const char* noise : {"strict_mode", "Possible fixes", "file =", "Original Line"}) {
      EXPECT_EQ(w.status().message().find(noise), std::string::npos)
          << c.name << ": " << w.status().message();
    }
    if (c.line) {
      ASSERT_TRUE(w.status().details().count("line")) << c.name << ": " << w.status().message();
      EXPECT_EQ(w.status().details().at("line"), c.line) << c.name << ": " << w.status().message();
    }
    EXPECT_EQ(Rows("b"), (V{"1|a"})) << c.name;
  }
  auto versions = catalog_->ListVersions(Table("b").id);
  EXPECT_EQ(versions->size(), 1u);
  // A value that does not fit a declared type names line and column.
  storage::CsvOptions o;
  o.declared_types = {{"qty", "INTEGER"}};
  auto w = ImportCsv("d", "id,qty\n1,5\n2,5.5x\n", false, {}, o);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().details().at("line"), "3") << w.status().message();
  EXPECT_EQ(w.status().details().at("column"), "qty") << w.status().message();
  EXPECT_EQ(catalog_->GetTable(bucket_.id, "d").status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, InvalidNamesAreRejected) {
  EXPECT_FALSE(ImportCsv("../etc", "a\n1\n").ok());
  // Header text is renamed by the documented rule, never rejected: a"b -> a_b, and the reserved
  // prefix _swan loses its leading underscore.
  auto w = ImportCsv("t", "\"a\"\"b\",c\n1,2\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.columns[0].name, "a_b");
  EXPECT_EQ(w->version.columns[0].label, "a\"b");
  w = ImportCsv("t2", "_swan_ts,c\n1,2\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.columns[0].name, "swan_ts");
  storage::CsvOptions o;
  o.declared_types = {{"c", "INTEGER); DROP TABLE x; --"}};
  EXPECT_EQ(ImportCsv("t", "c\n1\n", false, {}, o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, CsvOptions) {
  storage::CsvOptions semi;
  semi.given.delimiter.emplace(";");
  semi.given.quote.emplace("'");
  auto w = ImportCsv("o1", "id;txt\n1;'a;b'\n2;'it''s'\n", false, {}, semi);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("o1"), (V{"1|a;b", "2|it's"}));

  storage::CsvOptions escaped;
  escaped.given.escape.emplace("\\");
  w = ImportCsv("o2", "id,txt\n1,\"say \\\"hi\\\"\"\n", false, {}, escaped);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("o2"), (V{"1|say \"hi\""}));

  storage::CsvOptions headerless;
  headerless.given.header = false;
  headerless.column_names = {"k", "v"};
  headerless.declared_types = {{"k", "VARCHAR"}};
  w = ImportCsv("o3", "007,x\n008,y\n", false, {}, headerless);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.columns[0].type, "VARCHAR");
  EXPECT_EQ(Rows("o3"), (V{"007|x", "008|y"}));
}

TEST_F(StoreTest, GzipCsvAndJsonLinesAndParquet) {
  std::string csv = WriteFile("g.csv", "id,v\n1,a\n2,b\n");
  ASSERT_EQ(std::system(("gzip -kf " + csv).c_str()), 0);
  storage::ImportRequest r;
  r.file_path = csv + ".gz";
  r.display_name = "g.csv.gz";
  auto w = store_->Import(bucket_, "gz", r);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("gz"), (V{"1|a", "2|b"}));

  r.file_path = WriteFile("j.jsonl", "{\"id\": 1, \"v\": \"x\"}\n{\"id\": 2, \"v\": \"y\"}\n");
  r.display_name = "j.jsonl";
  r.format = storage::FileFormat::kJsonLines;
  w = store_->Import(bucket_, "js", r);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("js"), (V{"1|x", "2|y"}));

  std::string parquet = dir_.path() + "/p.parquet";
  ASSERT_TRUE(
      store_->Export(Table("js"), {}, storage::ExportFormat::kParquet, false, parquet).ok());
  r.file_path = parquet;
  r.format = storage::FileFormat::kParquet;
  w = store_->Import(bucket_, "pq", r);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("pq"), (V{"1|x", "2|y"}));
}

TEST_F(StoreTest, ExportColumnsFiltersLimitAndChangedSince) {
  ASSERT_TRUE(
      ImportCsv("x", "id,status,amount\n1,open,10\n2,done,20\n3,open,30\n", false, {"id"}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int64_t between = Clock::System().NowMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(ImportCsv("x", "id,status,amount\n2,open,25\n", true).ok());

  auto read = [&](const storage::ReadRequest& r, bool gzip = false) {
    std::string out =
        dir_.path() + "/out-" + std::to_string(++files_) + (gzip ? ".csv.gz" : ".csv");
    Status st = store_->Export(Table("x"), r, storage::ExportFormat::kCsv, gzip, out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (gzip) {
      EXPECT_EQ(std::system(("gunzip -f " + out).c_str()), 0);
      out = out.substr(0, out.size() - 3);
    }
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text;
  };
  storage::ReadRequest r;
  r.columns = {"id", "amount"};
  r.where_column = "status";
  r.where_values = {"open"};
  std::string text = read(r);
  EXPECT_EQ(text.substr(0, 10), "id,amount\n");
  EXPECT_NE(text.find("1,10"), std::string::npos);
  EXPECT_NE(text.find("2,25"), std::string::npos);
  EXPECT_NE(text.find("3,30"), std::string::npos);
  EXPECT_EQ(text.find("20"), std::string::npos);

  storage::ReadRequest since;
  since.changed_since_ms = between;
  text = read(since, true);
  EXPECT_EQ(text, "id,status,amount\n2,open,25\n");

  storage::ReadRequest ne;
  ne.where_column = "status";
  ne.where_values = {"open"};
  ne.where_operator = "ne";
  ne.version = 1;
  EXPECT_EQ(read(ne), "id,status,amount\n2,done,20\n");

  storage::ReadRequest limited;
  limited.limit = 1;
  text = read(limited);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);

  storage::ReadRequest bad;
  bad.columns = {"nope"};
  EXPECT_EQ(
      store_->Export(Table("x"), bad, storage::ExportFormat::kCsv, false, dir_.path() + "/z.csv")
          .code(),
      StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, CompactionFoldsSegmentsKeepingRows) {
  ASSERT_TRUE(ImportCsv("m", "id,v\n1,a\n2,b\n3,c\n", false, {"id"}).ok());
  ASSERT_TRUE(ImportCsv("m", "id,v\n2,bb\n", true).ok());
  ASSERT_TRUE(ImportCsv("m", "id,v\n3,cc\n4,d\n", true).ok());
  V before = Rows("m");
  auto c = store_->Compact(Table("m"), std::nullopt);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version.operation, "compact");
  EXPECT_EQ(c->version.segments.size(), 1u);
  EXPECT_EQ(c->version.row_count, 4);
  EXPECT_EQ(Rows("m"), before);
  EXPECT_EQ(Rows("m"), (V{"1|a", "2|bb", "3|cc", "4|d"}));
  // Further upserts after compaction still replace rows.
  ASSERT_TRUE(ImportCsv("m", "id,v\n1,aa\n", true).ok());
  EXPECT_EQ(Rows("m"), (V{"1|aa", "2|bb", "3|cc", "4|d"}));
}

class SmallThresholdStoreTest : public StoreTest {
 protected:
  SmallThresholdStoreTest() { threshold_ = 3; }
};

TEST_F(SmallThresholdStoreTest, AutomaticCompactionPastThreshold) {
  ASSERT_TRUE(ImportCsv("a", "id,v\n1,a\n", false, {"id"}).ok());
  size_t max_segments = 0;
  for (int i = 2; i <= 8; ++i) {
    auto w =
        ImportCsv("a", "id,v\n" + std::to_string(i) + ",x\n1,v" + std::to_string(i) + "\n", true);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    max_segments = std::max(max_segments, w->version.segments.size());
    EXPECT_EQ(w->version.row_count, i);
  }
  EXPECT_LE(max_segments, 3u);
  auto versions = catalog_->ListVersions(Table("a").id);
  EXPECT_TRUE(std::any_of(versions->begin(), versions->end(),
                          [](const catalog::TableVersion& v) { return v.operation == "compact"; }));
  EXPECT_EQ(Rows("a").size(), 8u);
  EXPECT_EQ(Rows("a")[0], "1|v8");
}

TEST_F(StoreTest, GarbageCollectionKeepsEveryReferencedFile) {
  ASSERT_TRUE(ImportCsv("g", "id\n1\n").ok());
  ASSERT_TRUE(ImportCsv("g", "id\n2\n").ok());
  ASSERT_TRUE(ImportCsv("g", "id\n3\n", true).ok());
  ASSERT_TRUE(ImportCsv("keep", "id\n7\n").ok());
  // An orphan, as a crash between writing a segment and committing would leave.
  std::string orphan_dir = data_ + "/segments/p" + std::to_string(project_.id);
  std::string orphan = orphan_dir + "/deadbeef.parquet";
  std::ofstream(orphan) << "x";
  auto old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(orphan, old_time);

  // A long retention window deletes nothing but the old orphan.
  auto gc = store_->CollectGarbage(3600 * 1000);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->deleted_versions, 0);
  EXPECT_EQ(gc->deleted_segments, 0);
  EXPECT_EQ(gc->deleted_orphan_files, 1);
  EXPECT_FALSE(std::filesystem::exists(orphan));

  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gc = store_->CollectGarbage(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->deleted_versions, 2);  // g v1, g v2: only heads survive a zero window
  EXPECT_EQ(gc->deleted_segments, 1);  // v1's segment; v2's is still referenced by the head
  // Every file a remaining version references exists, and the tables read fully.
  for (const auto& t : {"g", "keep"}) {
    auto head = catalog_->GetVersion(Table(t).head_version_id);
    for (const auto& s : head->segments)
      EXPECT_TRUE(std::filesystem::exists(data_ + "/" + s.path)) << s.path;
  }
  EXPECT_EQ(Rows("g"), (V{"2", "3"}));
  EXPECT_EQ(Rows("keep"), (V{"7"}));
  EXPECT_EQ(store_->Restore(Table("g"), 1, std::nullopt).status().code(), StatusCode::kNotFound);

  // A deleted table's files go after the window.
  ASSERT_TRUE(catalog_->DeleteTable(Table("keep").id).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gc = store_->CollectGarbage(0);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->deleted_segments, 1);
  EXPECT_EQ(Rows("g"), (V{"2", "3"}));
}

TEST_F(StoreTest, ConcurrentWritersToOneTableAllCommit) {
  ASSERT_TRUE(ImportCsv("w", "id,v\n0,x\n", false, {"id"}).ok());
  std::vector<std::string> files;
  for (int i = 1; i <= 6; ++i) {
    files.push_back(WriteFile("c" + std::to_string(i) + ".csv",
                              "id,v\n" + std::to_string(i) + ",y\n0,t" + std::to_string(i) + "\n"));
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (const auto& f : files) {
    threads.emplace_back([&, f] {
      storage::ImportRequest r;
      r.file_path = f;
      r.display_name = "c.csv";
      r.incremental = true;
      if (!store_->Import(bucket_, "w", r).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto head = catalog_->GetVersion(Table("w").head_version_id);
  EXPECT_EQ(head->row_count, 7);
  EXPECT_EQ(Rows("w").size(), 7u);
}

TEST_F(StoreTest, EmptyTableHasSchemaAndNoRows) {
  auto t = store_->CreateEmpty(bucket_, "empty", {{"id", "BIGINT"}, {"name", "VARCHAR"}}, {"id"},
                               std::nullopt);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(Rows("empty").empty());
  ASSERT_TRUE(ImportCsv("empty", "id,name\n1,a\n", true).ok());
  EXPECT_EQ(Rows("empty"), (V{"1|a"}));
  EXPECT_EQ(
      store_->CreateEmpty(bucket_, "bad", {{"id", "NOTATYPE"}}, {}, std::nullopt).status().code(),
      StatusCode::kInvalidArgument);
}

// Keboola's delete_where: the matching rows of the table go, the batch comes, in one version.
TEST_F(StoreTest, DeleteWhereRemovesMatchingRowsBeforeTheIncrementalBatch) {
  ASSERT_TRUE(ImportCsv("dw", "id,day,v\n1,mon,a\n2,tue,b\n3,mon,c\n4,,d\n").ok());
  auto request = [&](const std::string& csv, std::vector<std::string> values, std::string op) {
    storage::ImportRequest r;
    r.file_path = WriteFile("dw-" + std::to_string(values.size()) + op + ".csv", csv);
    r.display_name = "batch.csv";
    r.incremental = true;
    r.delete_where = storage::DeleteWhere{"day", std::move(values), std::move(op)};
    return r;
  };
  // eq: Monday's rows are replaced by the batch; the row with no day stays.
  auto w = store_->Import(bucket_, "dw", request("id,day,v\n5,mon,e\n", {"mon"}, "eq"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->version.row_count, 3);
  EXPECT_EQ(Rows("dw"), (V{"2|tue|b", "4|NULL|d", "5|mon|e"}));
  // ne: everything but Tuesday goes (a NULL day is neither: kept, as SQL's NOT IN would).
  w = store_->Import(bucket_, "dw", request("id,day,v\n6,wed,f\n", {"tue"}, "ne"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("dw"), (V{"2|tue|b", "4|NULL|d", "6|wed|f"}));
  EXPECT_EQ(w->version.row_count, 3);
  // Earlier versions are untouched (time travel), and a bad column changes nothing.
  EXPECT_EQ(Rows("dw", 1), (V{"1|mon|a", "2|tue|b", "3|mon|c", "4|NULL|d"}));
  auto bad = request("id,day,v\n7,x,g\n", {"x"}, "eq");
  bad.delete_where->column = "nope";
  auto failed = store_->Import(bucket_, "dw", bad);
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(failed.status().message().find("nope"), std::string::npos);
  EXPECT_EQ(Rows("dw"), (V{"2|tue|b", "4|NULL|d", "6|wed|f"}));
  // A full load with delete_where is refused.
  auto full = request("id,day,v\n8,x,h\n", {"x"}, "eq");
  full.incremental = false;
  EXPECT_EQ(store_->Import(bucket_, "dw", full).status().code(), StatusCode::kInvalidArgument);
}

// With a primary key, the batch upserts over the rows delete_where kept.
TEST_F(StoreTest, DeleteWhereWithPrimaryKeyUpsertsOverTheKeptRows) {
  ASSERT_TRUE(ImportCsv("dk", "id,day,v\n1,mon,a\n2,tue,b\n3,mon,c\n", false, {"id"}).ok());
  storage::ImportRequest r;
  r.file_path = WriteFile("dk.csv", "id,day,v\n2,tue,bb\n9,mon,z\n");
  r.display_name = "batch.csv";
  r.incremental = true;
  r.delete_where = storage::DeleteWhere{"day", {"mon"}, "eq"};
  auto w = store_->Import(bucket_, "dk", r);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Rows("dk"), (V{"2|tue|bb", "9|mon|z"}));
  EXPECT_EQ(w->version.row_count, 2);
}

}  // namespace
}  // namespace swan::testing
