// Stage-then-commit: new versions of several tables, written first, become heads together in one
// catalog transaction or not at all — also when another writer moves a head meanwhile.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "catalog/catalog.h"
#include "forwarding_catalog.h"
#include "storage/table_store.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using V = std::vector<std::string>;

// Fails the commit of one table (by id) with an injected error, inside transactions too.
class FailingCatalog : public ForwardingCatalog {
 public:
  FailingCatalog(catalog::Catalog& base, const int64_t* fail_table)
      : ForwardingCatalog(base), fail_table_(fail_table) {}
  std::unique_ptr<ForwardingCatalog> Wrap(catalog::Catalog& tx) override {
    return std::make_unique<FailingCatalog>(tx, fail_table_);
  }
  Result<catalog::TableVersion> CommitVersion(int64_t table, int64_t head,
                                              const catalog::NewVersion& v) override {
    if (*fail_table_ == table) return Status::Internal("injected failure committing table");
    return base_.CommitVersion(table, head, v);
  }

 private:
  const int64_t* fail_table_;
};

class CommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    auto c = catalog::OpenSqliteCatalog(dir_.path() + "/catalog.db");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    real_ = std::move(*c);
    bool created = false;
    ASSERT_TRUE(real_->EnsureOrganization("test", &created).ok());
    auto project = real_->CreateProject("p", "");
    ASSERT_TRUE(project.ok());
    catalog::Bucket b{0, project->id, project->main_branch_id, "out", "job", "", 0};
    bucket_ = *real_->CreateBucket(b);
    catalog_ = std::make_unique<FailingCatalog>(*real_, &fail_table_);
    store_ = Open(options_);
  }

  std::unique_ptr<storage::TableStore> Open(const storage::StoreOptions& options) {
    auto store = storage::TableStore::Open(*catalog_, data_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  storage::ImportRequest Csv(const std::string& csv, bool incremental = false) {
    storage::ImportRequest r;
    r.file_path = dir_.path() + "/in-" + std::to_string(++files_) + ".csv";
    std::ofstream(r.file_path) << csv;
    r.display_name = "in.csv";
    r.incremental = incremental;
    return r;
  }

  // Stages one CSV per table: {"a": "id\n1\n", ...}.
  std::vector<std::unique_ptr<storage::StagedWrite>> StageAll(
      storage::TableStore& store, const std::vector<std::pair<std::string, std::string>>& inputs,
      bool incremental = false) {
    std::vector<std::unique_ptr<storage::StagedWrite>> out;
    for (const auto& [table, csv] : inputs) {
      auto staged = store.Stage(bucket_, table, Csv(csv, incremental));
      EXPECT_TRUE(staged.ok()) << staged.status().ToString();
      if (staged.ok()) out.push_back(std::move(*staged));
    }
    return out;
  }

  V Rows(const std::string& table) {
    auto t = real_->GetTable(bucket_.id, table);
    if (!t.ok()) return {"<" + t.status().message() + ">"};
    storage::ReadRequest r;
    r.limit = 1000;
    auto rows = store_->Preview(*t, r);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    V out;
    if (!rows.ok()) return out;
    for (const auto& row : rows->rows) out.push_back(row[0].value_or("NULL"));
    std::sort(out.begin(), out.end());
    return out;
  }

  int64_t HeadNumber(const std::string& table) {
    auto t = real_->GetTable(bucket_.id, table);
    return t.ok() ? real_->GetVersion(t->head_version_id)->number : 0;
  }

  size_t SegmentFiles() {
    size_t n = 0;
    auto dirs = Env::Posix().List(data_ + "/segments");
    for (const auto& e : *dirs) {
      if (e.is_directory) n += Env::Posix().List(e.path)->size();
    }
    return n;
  }

  TempDir dir_;
  std::string data_;
  int files_ = 0;
  int64_t fail_table_ = -1;
  storage::StoreOptions options_;
  std::unique_ptr<catalog::Catalog> real_;
  std::unique_ptr<FailingCatalog> catalog_;
  std::unique_ptr<storage::TableStore> store_;
  catalog::Bucket bucket_;
};

TEST_F(CommitTest, ThreeTablesCommitTogether) {
  auto writes = StageAll(*store_, {{"a", "id\n1\n"}, {"b", "id\n2\n"}, {"c", "id\n3\n"}});
  ASSERT_EQ(writes.size(), 3u);
  // Staged is not committed: no reader sees the tables yet.
  EXPECT_EQ(real_->GetTable(bucket_.id, "a").status().code(), StatusCode::kNotFound);
  int hooks = 0;
  auto results = store_->CommitStaged(
      writes, [&](catalog::Catalog& tx, const std::vector<storage::WriteResult>& r) -> Status {
        ++hooks;
        EXPECT_EQ(r.size(), 3u);
        catalog::Event e;
        e.action = "job.outputs";
        e.object = "a,b,c";
        return tx.AppendEvent(e);
      });
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  EXPECT_EQ(hooks, 1);
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0].table.name, "a");
  EXPECT_EQ((*results)[2].table.name, "c");
  EXPECT_EQ(Rows("a"), V{"1"});
  EXPECT_EQ(Rows("b"), V{"2"});
  EXPECT_EQ(Rows("c"), V{"3"});
  EXPECT_EQ(real_->ListEvents(std::nullopt, 10)->at(0).action, "job.outputs");

  // A second job: new versions of all three, together.
  auto next = StageAll(*store_, {{"a", "id\n10\n"}, {"b", "id\n20\n"}, {"c", "id\n30\n"}}, true);
  ASSERT_TRUE(store_->CommitStaged(next).ok());
  EXPECT_EQ(Rows("a"), (V{"1", "10"}));
  EXPECT_EQ(Rows("c"), (V{"3", "30"}));
  EXPECT_EQ(HeadNumber("b"), 2);
}

TEST_F(CommitTest, AFailureOnTheThirdLeavesAllThreeAtTheirPreviousVersions) {
  auto first = StageAll(*store_, {{"a", "id\n1\n"}, {"b", "id\n2\n"}, {"c", "id\n3\n"}});
  ASSERT_TRUE(store_->CommitStaged(first).ok());
  first.clear();
  const size_t files_before = SegmentFiles();
  auto writes = StageAll(*store_, {{"a", "id\n7\n"}, {"b", "id\n8\n"}, {"c", "id\n9\n"}});
  fail_table_ = real_->GetTable(bucket_.id, "c")->id;
  auto results = store_->CommitStaged(writes);
  EXPECT_EQ(results.status().code(), StatusCode::kInternal) << results.status().ToString();
  EXPECT_NE(results.status().message().find("injected"), std::string::npos);
  for (const auto& [t, row] :
       std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"c", "3"}}) {
    EXPECT_EQ(Rows(t), V{row}) << t;
    EXPECT_EQ(HeadNumber(t), 1) << t;
    EXPECT_EQ(real_->ListVersions(real_->GetTable(bucket_.id, t)->id)->size(), 1u) << t;
  }
  // The failed writes' segment files go with them.
  writes.clear();
  EXPECT_EQ(SegmentFiles(), files_before);
  // Without the fault the same kind of commit goes through.
  fail_table_ = -1;
  auto again = StageAll(*store_, {{"a", "id\n7\n"}, {"b", "id\n8\n"}, {"c", "id\n9\n"}});
  ASSERT_TRUE(store_->CommitStaged(again).ok());
  EXPECT_EQ(Rows("c"), V{"9"});
}

TEST_F(CommitTest, ARacingWriterMakesTheCommitRetryAndTheRetryGivesTheRightRows) {
  auto first = StageAll(*store_, {{"a", "id\n1\n"}, {"b", "id\n2\n"}, {"c", "id\n3\n"}});
  ASSERT_TRUE(store_->CommitStaged(first).ok());
  // Another writer (a second store, as another process would be) appends to b after our commit
  // planned its versions and before its transaction.
  auto other = Open({});
  std::vector<int> attempts;
  storage::StoreOptions racing;
  racing.before_commit_for_test = [&](int attempt) {
    attempts.push_back(attempt);
    if (attempt != 0) return;
    auto raced = other->Import(bucket_, "b", Csv("id\n5\n", true));
    ASSERT_TRUE(raced.ok()) << raced.status().ToString();
  };
  auto store = Open(racing);
  auto writes = StageAll(*store, {{"a", "id\n11\n"}, {"b", "id\n22\n"}, {"c", "id\n33\n"}}, true);
  auto results = store->CommitStaged(writes);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  EXPECT_EQ(attempts, (std::vector<int>{0, 1}));  // lost once, recomputed, committed
  EXPECT_EQ(Rows("a"), (V{"1", "11"}));
  EXPECT_EQ(Rows("b"), (V{"2", "22", "5"}));  // the racer's row is kept: recomputed on its head
  EXPECT_EQ(Rows("c"), (V{"3", "33"}));
  EXPECT_EQ(HeadNumber("a"), 2);
  EXPECT_EQ(HeadNumber("b"), 3);
  EXPECT_EQ((*results)[1].version.row_count, 3);
}

TEST_F(CommitTest, AWriterThatAlwaysLosesFailsAsConflict) {
  auto first = StageAll(*store_, {{"a", "id\n1\n"}});
  ASSERT_TRUE(store_->CommitStaged(first).ok());
  auto other = Open({});
  storage::StoreOptions racing;
  racing.before_commit_for_test = [&](int) {
    ASSERT_TRUE(other->Import(bucket_, "a", Csv("id\n2\n", true)).ok());
  };
  auto store = Open(racing);
  auto writes = StageAll(*store, {{"a", "id\n3\n"}}, true);
  auto results = store->CommitStaged(writes);
  EXPECT_EQ(results.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(catalog::IsHeadMoved(results.status()));
  const V rows = Rows("a");
  EXPECT_EQ(std::count(rows.begin(), rows.end(), "3"), 0);  // nothing of it committed
}

TEST_F(CommitTest, OneCommitTakesAtMostOneWritePerTable) {
  auto writes = StageAll(*store_, {{"a", "id\n1\n"}, {"a", "id\n2\n"}});
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(store_->CommitStaged(writes).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace swan::testing
