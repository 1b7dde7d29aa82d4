// The catalog suite: entities, compare-and-swap commits, transactions, tokens, events, GC, ids.
// Every test runs against every implementation through a factory (INSTANTIATE_TEST_SUITE_P at
// the end): the PostgreSQL catalog of the roadmap adds one line there and must pass unchanged.
// Only the migration-bookkeeping test reads SQLite's own files.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>

#include "catalog/catalog.h"
#include "catalog/migrations.h"
#include "common/clock.h"
#include "test_util.h"

namespace swan::testing {
namespace {

// Opens a fresh catalog of one implementation in `dir` (or reopens the one there).
struct CatalogFactory {
  std::string name;
  std::function<Result<std::unique_ptr<catalog::Catalog>>(const std::string& dir, Clock* clock)>
      open;
};

std::ostream& operator<<(std::ostream& os, const CatalogFactory& f) { return os << f.name; }

class CatalogTest : public ::testing::TestWithParam<CatalogFactory> {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/catalog.db";
    auto c = GetParam().open(dir_.path(), &clock_);
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

  FakeClock clock_{1'800'000'000'000};
  TempDir dir_;
  std::string path_;
  std::unique_ptr<catalog::Catalog> catalog_;
  catalog::Project project_;
  catalog::Bucket bucket_;
};

using SqliteCatalogTest = CatalogTest;

TEST_P(SqliteCatalogTest, MigrationsAreRecordedAndReopenIsIdempotent) {
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

TEST_P(CatalogTest, ProjectsBucketsAndTheirConflicts) {
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

TEST_P(CatalogTest, CommitIsCompareAndSwapOnTheHead) {
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

TEST_P(CatalogTest, GarbageCollectionKeepsHeadsAndReferencedSegments) {
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
  auto all = catalog_->CollectGarbage(clock_.NowMs() + 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->deleted_versions, 1);
  EXPECT_EQ(all->deleted_segment_paths, std::vector<std::string>{"segments/1"});
  EXPECT_TRUE(*catalog_->SegmentPathKnown("segments/2"));
  EXPECT_EQ(catalog_->GetVersionByNumber(t.id, 1).status().code(), StatusCode::kNotFound);
}

TEST_P(CatalogTest, TokensAreFoundByHashAndRevoked) {
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

TEST_P(CatalogTest, EventsAreAppendOnlyNewestFirst) {
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

TEST_P(CatalogTest, DeletingAProjectRemovesItsTablesButKeepsSegmentsForGc) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/x", 1)}};
  ASSERT_TRUE(catalog_->CreateTable(bucket_.id, "t", {}, v1).ok());
  ASSERT_TRUE(catalog_->DeleteProject(project_.id).ok());
  EXPECT_EQ(catalog_->GetProject("p").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(*catalog_->SegmentPathKnown("segments/x"));
  auto gc = catalog_->CollectGarbage(clock_.NowMs() + 1000);
  EXPECT_EQ(gc->deleted_segment_paths, std::vector<std::string>{"segments/x"});
}

TEST_P(CatalogTest, TransactCommitsEveryChangeOrNone) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/t1", 1)}};
  // A failure at the end undoes the bucket, the table and the event made before it.
  Status failed = catalog_->Transact([&](catalog::Catalog& tx) -> Status {
    catalog::Bucket b{0, project_.id, project_.main_branch_id, "out", "tx", "", 0};
    auto bucket = tx.CreateBucket(b);
    if (!bucket.ok()) return bucket.status();
    if (!tx.CreateTable(bucket->id, "t", {}, v1).ok()) return Status::Internal("create");
    catalog::Event e;
    e.project_id = project_.id;
    e.action = "tx.test";
    e.object = "o";
    if (!tx.AppendEvent(e).ok()) return Status::Internal("event");
    return Status::Unavailable("injected failure after three changes");
  });
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_EQ(catalog_->GetBucket(project_.main_branch_id, "out", "tx").status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(*catalog_->SegmentPathKnown("segments/t1"));
  EXPECT_TRUE(catalog_->ListEvents(project_.id, 10)->empty());
  // The same body without the failure commits all three.
  Status ok = catalog_->Transact([&](catalog::Catalog& tx) -> Status {
    catalog::Bucket b{0, project_.id, project_.main_branch_id, "out", "tx", "", 0};
    auto bucket = tx.CreateBucket(b);
    if (!bucket.ok()) return bucket.status();
    if (!tx.CreateTable(bucket->id, "t", {}, v1).ok()) return Status::Internal("create");
    catalog::Event e;
    e.project_id = project_.id;
    e.action = "tx.test";
    e.object = "o";
    return tx.AppendEvent(e);
  });
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  auto bucket = catalog_->GetBucket(project_.main_branch_id, "out", "tx");
  ASSERT_TRUE(bucket.ok());
  EXPECT_TRUE(catalog_->GetTable(bucket->id, "t").ok());
  EXPECT_EQ(catalog_->ListEvents(project_.id, 10)->size(), 1u);
}

TEST_P(CatalogTest, ALostCompareAndSwapFailsTheWholeTransaction) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/a1", 1)}};
  auto a = *catalog_->CreateTable(bucket_.id, "a", {}, v1);
  v1.segments = {NewSegment("segments/b1", 1)};
  auto b = *catalog_->CreateTable(bucket_.id, "b", {}, v1);
  catalog::NewVersion next{
      "import_full", {{"id", "BIGINT"}}, 2, std::nullopt, {NewSegment("segments/a2", 2)}};
  catalog::NewVersion stale = next;
  stale.segments = {NewSegment("segments/b2", 2)};
  Status st = catalog_->Transact([&](catalog::Catalog& tx) -> Status {
    auto moved = tx.CommitVersion(a.id, a.head_version_id, next);
    if (!moved.ok()) return moved.status();
    return tx.CommitVersion(b.id, b.head_version_id - 1, stale).status();  // not b's head
  });
  EXPECT_TRUE(catalog::IsHeadMoved(st)) << st.ToString();
  EXPECT_EQ(catalog_->GetTableById(a.id)->head_version_id, a.head_version_id);
  EXPECT_EQ(catalog_->ListVersions(a.id)->size(), 1u);
  EXPECT_FALSE(*catalog_->SegmentPathKnown("segments/a2"));
}

TEST_P(CatalogTest, IdsAreNeverReused) {
  auto q = *catalog_->CreateProject("q", "");
  catalog::Event e;
  e.project_id = q.id;
  e.action = "sql.run";
  e.object = "secret query of q";
  ASSERT_TRUE(catalog_->AppendEvent(e).ok());
  catalog::Token spec;
  spec.project_id = q.id;
  spec.kind = "master";
  auto token = *catalog_->CreateToken(spec, "hash-q");
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 1, std::nullopt, {NewSegment("segments/q1", 1)}};
  auto table = *catalog_->CreateTable(bucket_.id, "gone", {}, v1);
  ASSERT_TRUE(catalog_->DeleteTable(table.id).ok());
  ASSERT_TRUE(catalog_->DeleteProject(q.id).ok());  // the newest project, and its token

  auto r = *catalog_->CreateProject("r", "");
  EXPECT_GT(r.id, q.id);
  EXPECT_GT(r.main_branch_id, q.main_branch_id);
  spec.project_id = r.id;
  EXPECT_GT(catalog_->CreateToken(spec, "hash-r")->id, token.id);
  v1.segments = {NewSegment("segments/r1", 1)};
  EXPECT_GT(catalog_->CreateTable(bucket_.id, "next", {}, v1)->id, table.id);
  // The new project sees none of the deleted one's events; they stay under the old id.
  EXPECT_TRUE(catalog_->ListEvents(r.id, 10)->empty());
  EXPECT_EQ(catalog_->ListEvents(q.id, 10)->size(), 1u);
}

TEST_P(CatalogTest, TablesAndHeadsAreReachablePerBranch) {
  catalog::NewVersion v1{
      "import_full", {{"id", "BIGINT"}}, 3, std::nullopt, {NewSegment("segments/h1", 3)}};
  auto t = *catalog_->CreateTable(bucket_.id, "t", {}, v1);
  auto other = *catalog_->CreateProject("other", "");
  catalog::Bucket ob{0, other.id, other.main_branch_id, "in", "sales", "", 0};
  auto other_bucket = *catalog_->CreateBucket(ob);
  v1.segments = {NewSegment("segments/h2", 3)};
  ASSERT_TRUE(catalog_->CreateTable(other_bucket.id, "t", {}, v1).ok());
  auto tables = catalog_->ListTables(project_.main_branch_id, 0);
  ASSERT_TRUE(tables.ok());
  ASSERT_EQ(tables->size(), 1u);  // the other project's branch holds the other table
  EXPECT_EQ((*tables)[0].id, t.id);
  auto head = catalog_->GetVersion((*tables)[0].head_version_id);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->row_count, 3);
  EXPECT_EQ(head->segments.at(0).path, "segments/h1");
}

TEST_P(CatalogTest, TimesComeFromTheInjectedClock) {
  clock_.SetMs(1'900'000'000'000);
  auto p = *catalog_->CreateProject("timed", "");
  EXPECT_EQ(p.created_at, 1'900'000'000'000);
}

const CatalogFactory kSqlite{"sqlite", [](const std::string& dir, Clock* clock) {
                               return catalog::OpenSqliteCatalog(dir + "/catalog.db", clock);
                             }};

INSTANTIATE_TEST_SUITE_P(Implementations, CatalogTest, ::testing::Values(kSqlite),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteCatalogTest, ::testing::Values(kSqlite),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace swan::testing
