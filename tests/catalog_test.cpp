// The SQLite catalog: migrations, entities, compare-and-swap commits, tokens, events, GC.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/migrations.h"
#include "test_util.h"

namespace swan::testing {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/catalog.db";
    auto c = catalog::OpenSqliteCatalog(path_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
    bool created = false;
    ASSERT_TRUE(catalog_->EnsureOrganization("org", &created).ok());
    ASSERT_TRUE(created);
    project_ = *catalog_->CreateProject("p", "desc");
    catalog::Bucket b{0, project_.id, project_.main_branch_id, "in", "sales", "", 0};
    bucket_ = *catalog_->CreateBucket(b);
  }

  catalog::Segment NewSegment(const std::string& path, int64_t rows) {
    catalog::Segment s;
    s.path = path;
    s.row_count = rows;
    s.bytes = 100;
    s.columns = {{"id", "BIGINT"}};
    return s;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<catalog::Catalog> catalog_;
  catalog::Project project_;
  catalog::Bucket bucket_;
};

TEST_F(CatalogTest, MigrationsAreRecordedAndReopenIsIdempotent) {
  catalog_.reset();
  auto again = catalog::OpenSqliteCatalog(path_);
  ASSERT_TRUE(again.ok());
  bool created = true;
  ASSERT_TRUE((*again)->EnsureOrganization("org", &created).ok());
  EXPECT_FALSE(created);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_migrations", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), static_cast<int>(catalog::SqliteMigrations().size()));
  EXPECT_EQ(sqlite3_column_int(st, 1), catalog::SqliteMigrations().back().number);
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(CatalogTest, ProjectsBucketsAndTheirConflicts) {
  EXPECT_EQ(catalog_->CreateProject("p", "").status().code(), StatusCode::kConflict);
  EXPECT_EQ(catalog_->GetProject("p")->description, "desc");
  EXPECT_NE(catalog_->GetProject("p")->main_branch_id, 0);
  EXPECT_EQ(catalog_->GetProject("nope").status().code(), StatusCode::kNotFound);
  catalog::Bucket dup{0, project_.id, project_.main_branch_id, "in", "sales", "", 0};
  EXPECT_EQ(catalog_->CreateBucket(dup).status().code(), StatusCode::kConflict);
  catalog::Bucket out{0, project_.id, project_.main_branch_id, "out", "sales", "", 0};
  EXPECT_TRUE(catalog_->CreateBucket(out).ok());
  EXPECT_EQ(catalog_->ListBuckets(project_.main_branch_id)->size(), 2u);
  catalog::Bucket bad{0, project_.id, project_.main_branch_id, "mid", "x", "", 0};
  EXPECT_FALSE(catalog_->CreateBucket(bad).ok());  // CHECK constraint
}

TEST_F(CatalogTest, CommitIsCompareAndSwapOnTheHead) {
  catalog::NewVersion first{
      "import_full", {{"id", "BIGINT"}}, 10, std::nullopt, {NewSegment("segments/a", 10)}};
  auto table = catalog_->CreateTable(bucket_.id, "t", {"id"}, first);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto head = catalog_->GetVersion(table->head_version_id);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->number, 1);
  ASSERT_EQ(head->segments.size(), 1u);

  catalog::NewVersion next{
      "import_incremental", {{"id", "BIGINT"}}, 15, std::nullopt, head->segments};
  next.segments.push_back(NewSegment("segments/b", 5));
  auto v2 = catalog_->CommitVersion(table->id, head->id, next);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->number, 2);
  EXPECT_EQ(v2->segments.size(), 2u);
  EXPECT_EQ(v2->segments[0].id, head->segments[0].id);  // reused, not copied

  // A writer that started from version 1 loses: nothing of its commit is visible.
  catalog::NewVersion stale{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/c", 1)}};
  auto lost = catalog_->CommitVersion(table->id, head->id, stale);
  EXPECT_EQ(lost.status().code(), StatusCode::kConflict);
  EXPECT_EQ(catalog_->GetTableById(table->id)->head_version_id, v2->id);
  EXPECT_EQ(catalog_->ListVersions(table->id)->size(), 2u);
  EXPECT_FALSE(*catalog_->SegmentPathKnown("segments/c"));  // rolled back with the transaction
}

TEST_F(CatalogTest, GarbageCollectionKeepsHeadsAndReferencedSegments) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/1", 1)}};
  auto t = *catalog_->CreateTable(bucket_.id, "t", {}, v1);
  catalog::NewVersion v2{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/2", 1)}};
  ASSERT_TRUE(catalog_->CommitVersion(t.id, t.head_version_id, v2).ok());
  // Cutoff in the past: nothing is old enough.
  auto none = catalog_->CollectGarbage(0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->deleted_versions, 0);
  EXPECT_TRUE(none->deleted_segment_paths.empty());
  auto all = catalog_->CollectGarbage(catalog::NowMs() + 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->deleted_versions, 1);
  EXPECT_EQ(all->deleted_segment_paths, std::vector<std::string>{"segments/1"});
  EXPECT_TRUE(*catalog_->SegmentPathKnown("segments/2"));
  EXPECT_EQ(catalog_->GetVersionByNumber(t.id, 1).status().code(), StatusCode::kNotFound);
}

TEST_F(CatalogTest, TokensAreFoundByHashAndRevoked) {
  catalog::Token spec;
  spec.project_id = project_.id;
  spec.kind = "scoped";
  spec.scopes = {{"in.sales", "read"}};
  auto t = catalog_->CreateToken(spec, "hash-1");
  ASSERT_TRUE(t.ok());
  auto found = catalog_->FindTokenByHash("hash-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->scopes, spec.scopes);
  EXPECT_EQ(found->project_name, "p");
  EXPECT_FALSE(found->revoked);
  EXPECT_EQ(catalog_->FindTokenByHash("hash-2").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(catalog_->RevokeToken(t->id).ok());
  EXPECT_TRUE(catalog_->FindTokenByHash("hash-1")->revoked);
  EXPECT_EQ(catalog_->RevokeToken(t->id).code(), StatusCode::kNotFound);
  catalog::Token dup = spec;
  EXPECT_EQ(catalog_->CreateToken(dup, "hash-1").status().code(), StatusCode::kConflict);
}

TEST_F(CatalogTest, EventsAreAppendOnlyNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    catalog::Event e;
    e.project_id = project_.id;
    e.action = "a" + std::to_string(i);
    e.object = "o";
    e.client_address = "127.0.0.1";
    ASSERT_TRUE(catalog_->AppendEvent(e).ok());
  }
  auto events = catalog_->ListEvents(project_.id, 2);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].action, "a2");
  EXPECT_EQ((*events)[1].action, "a1");
}

TEST_F(CatalogTest, DeletingAProjectRemovesItsTablesButKeepsSegmentsForGc) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/x", 1)}};
  ASSERT_TRUE(catalog_->CreateTable(bucket_.id, "t", {}, v1).ok());
  ASSERT_TRUE(catalog_->DeleteProject(project_.id).ok());
  EXPECT_EQ(catalog_->GetProject("p").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(*catalog_->SegmentPathKnown("segments/x"));
  auto gc = catalog_->CollectGarbage(catalog::NowMs() + 1000);
  EXPECT_EQ(gc->deleted_segment_paths, std::vector<std::string>{"segments/x"});
}

}  // namespace
}  // namespace swan::testing
