// A table store over a fresh data directory, and helpers to write input files and read tables.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "catalog/catalog.h"
#include "storage/table_store.h"
#include "test_util.h"

namespace swan::testing {

// A table version's rows as "a|b|c" lines, sorted (the tables of these tests are small).
inline std::vector<std::string> SortedRows(storage::TableStore& store, const catalog::Table& table,
                                           storage::ReadRequest r) {
  r.limit = 1000;
  auto rows = store.Preview(table, r);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<std::string> out;
  if (!rows.ok()) return out;
  for (const auto& row : rows->rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    auto catalog = catalog::OpenSqliteCatalog(dir_.path() + "/catalog.db");
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(*catalog);
    bool created = false;
    ASSERT_TRUE(catalog_->EnsureOrganization("test", &created).ok());
    auto project = catalog_->CreateProject("p", "");
    ASSERT_TRUE(project.ok());
    project_ = *project;
    storage::StoreOptions options;
    options.compaction_threshold_segments = threshold_;
    options.memory_limit = "512MB";
    auto store = storage::TableStore::Open(*catalog_, data_, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    catalog::Bucket b;
    b.project_id = project_.id;
    b.branch_id = project_.main_branch_id;
    b.stage = "in";
    b.name = "sales";
    auto bucket = catalog_->CreateBucket(b);
    ASSERT_TRUE(bucket.ok());
    bucket_ = *bucket;
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  Result<storage::WriteResult> ImportCsv(const std::string& table, const std::string& csv,
                                         bool incremental = false, std::vector<std::string> pk = {},
                                         storage::CsvOptions options = {}) {
    storage::ImportRequest r;
    r.file_path = WriteFile("input-" + std::to_string(++files_) + ".csv", csv);
    r.display_name = "input.csv";
    r.incremental = incremental;
    r.primary_key = std::move(pk);
    r.csv = std::move(options);
    return store_->Import(bucket_, table, r);
  }

  catalog::Table Table(const std::string& name) {
    auto t = catalog_->GetTable(bucket_.id, name);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : catalog::Table{};
  }

  // All rows (sorted by the first column, as text) of a table version, "a|b|c" per row.
  std::vector<std::string> Rows(const std::string& table,
                                std::optional<int64_t> version = std::nullopt,
                                std::vector<std::string> columns = {}) {
    storage::ReadRequest r;
    r.version = version;
    r.columns = std::move(columns);
    return SortedRows(*store_, Table(table), r);
  }

  TempDir dir_;
  std::string data_;
  size_t threshold_ = 16;
  int files_ = 0;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<storage::TableStore> store_;
  catalog::Project project_;
  catalog::Bucket bucket_;
};

}  // namespace swan::testing
