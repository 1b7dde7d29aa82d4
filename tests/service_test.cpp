// The service layer called directly, with no HTTP server: a Runtime over a temp data directory,
// callers with real tokens, and a catalog that can refuse to write audit events.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "forwarding_catalog.h"
#include "service/access.h"
#include "service/configs.h"
#include "service/jobs.h"
#include "service/projects.h"
#include "service/runtime.h"
#include "service/sql.h"
#include "service/tables.h"
#include "service/tokens.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using V = std::vector<std::string>;

// Owns the real catalog and forwards to it; AppendEvent fails while *fail_events is set.
struct OwnedCatalog {
  std::unique_ptr<catalog::Catalog> owned;
};
class EventFailingCatalog : private OwnedCatalog, public ForwardingCatalog {
 public:
  EventFailingCatalog(std::unique_ptr<catalog::Catalog> c, const bool* fail)
      : OwnedCatalog{std::move(c)}, ForwardingCatalog(*owned), fail_(fail) {}
  EventFailingCatalog(catalog::Catalog& tx, const bool* fail)
      : ForwardingCatalog(tx), fail_(fail) {}
  std::unique_ptr<ForwardingCatalog> Wrap(catalog::Catalog& tx) override {
    return std::make_unique<EventFailingCatalog>(tx, fail_);
  }
  Status AppendEvent(const catalog::Event& e) override {
    if (*fail_) return Status::Unavailable("injected: audit log unavailable");
    return base_.AppendEvent(e);
  }

 private:
  const bool* fail_;
};

// Holds the first job a worker claims until `release` is set: the runner can be told to stop
// between the claim and the run.
class ClaimGatingCatalog : private OwnedCatalog, public ForwardingCatalog {
 public:
  ClaimGatingCatalog(std::unique_ptr<catalog::Catalog> c, std::promise<void>* claimed,
                     std::shared_future<void> release)
      : OwnedCatalog{std::move(c)},
        ForwardingCatalog(*owned),
        claimed_(claimed),
        release_(std::move(release)) {}
  Result<std::optional<catalog::Job>> ClaimJob(const std::string& w, int limit) override {
    auto job = base_.ClaimJob(w, limit);
    if (job.ok() && job->has_value() && !gated_.exchange(true)) {
      claimed_->set_value();
      release_.wait();
    }
    return job;
  }

 private:
  std::promise<void>* claimed_;
  std::shared_future<void> release_;
  std::atomic<bool> gated_{false};
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service::RuntimeOptions options;
    options.data_dir = dir_.path() + "/data";
    options.clock = &clock_;
    options.wrap_catalog_for_test = [this](std::unique_ptr<catalog::Catalog> c) {
      return std::unique_ptr<catalog::Catalog>(
          std::make_unique<EventFailingCatalog>(std::move(c), &fail_events_));
    };
    bool created = false;
    auto rt = service::Runtime::Open(options, &created);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    EXPECT_TRUE(created);
    rt_ = std::move(*rt);
    catalog::Token spec;
    spec.kind = "admin";
    auto admin = service::IssueToken(rt_->catalog(), spec);
    ASSERT_TRUE(admin.ok());
    admin_ = {admin->token, "test"};
  }

  service::Caller Master(const service::CreatedProject& p) { return {p.master_token, "test"}; }

  storage::ImportRequest Csv(const std::string& csv, bool incremental = false) {
    storage::ImportRequest r;
    r.file_path = dir_.path() + "/in-" + std::to_string(++files_) + ".csv";
    std::ofstream(r.file_path) << csv;
    r.display_name = "in.csv";
    r.incremental = incremental;
    return r;
  }

  V Rows(const service::Caller& caller, const catalog::Project& p, const std::string& table) {
    storage::ReadRequest r;
    auto preview = service::PreviewTable(*rt_, caller, p, table, r);
    if (!preview.ok()) return {"<" + preview.status().ToString() + ">"};
    V out;
    for (const auto& row : preview->rows.rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
      out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir dir_;
  FakeClock clock_{1'800'000'000'000};
  bool fail_events_ = false;
  int files_ = 0;
  std::unique_ptr<service::Runtime> rt_;
  service::Caller admin_;
};

TEST_F(ServiceTest, CreateProjectCommitsProjectTokenAndEventTogether) {
  auto p = service::CreateProject(*rt_, admin_, "sales", "the sales domain");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->project.created_at, clock_.NowMs());
  auto token = service::Authenticate(rt_->catalog(), clock_, "Bearer " + p->master_secret);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->kind, "master");
  EXPECT_EQ(token->project_id, p->project.id);
  auto events = service::ListEvents(*rt_, Master(*p), p->project, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].action, "project.create");
  EXPECT_EQ((*events)[0].token_id, admin_.token.id);
  EXPECT_EQ((*events)[0].client_address, "test");
  // Only the admin creates projects.
  EXPECT_EQ(service::CreateProject(*rt_, Master(*p), "other", "").status().code(),
            StatusCode::kForbidden);
}

TEST_F(ServiceTest, WhenTheAuditEventCannotBeWrittenTheChangeDoesNotHappen) {
  auto p = service::CreateProject(*rt_, admin_, "sales", "");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(
      service::ImportTable(*rt_, Master(*p), p->project, "in.s.orders", Csv("id\n1\n")).ok());
  fail_events_ = true;
  // No project, no master token without the event.
  auto failed = service::CreateProject(*rt_, admin_, "ghost", "");
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(rt_->catalog().GetProject("ghost").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(rt_->catalog().ListTokens(std::nullopt)->size(), 2u);  // admin + sales master
  // No new version without the event.
  auto import =
      service::ImportTable(*rt_, Master(*p), p->project, "in.s.orders", Csv("id\n2\n", true));
  EXPECT_EQ(import.status().code(), StatusCode::kUnavailable);
  fail_events_ = false;
  EXPECT_EQ(Rows(Master(*p), p->project, "in.s.orders"), V{"1"});
  EXPECT_EQ(service::ListVersions(*rt_, Master(*p), p->project, "in.s.orders")->size(), 1u);
}

TEST_F(ServiceTest, TablesImportSqlRestoreAndCompactWithoutHttp) {
  auto p = service::CreateProject(*rt_, admin_, "sales", "");
  ASSERT_TRUE(p.ok());
  const auto master = Master(*p);
  auto& project = p->project;
  auto r = Csv("id,city,amount\n1,Prague,10\n2,Brno,20\n3,Prague,5\n");
  r.primary_key = {"id"};
  ASSERT_TRUE(service::ImportTable(*rt_, master, project, "in.s.orders", r).ok());
  ASSERT_TRUE(service::ImportTable(*rt_, master, project, "in.s.orders",
                                   Csv("id,city,amount\n2,Brno,25\n", true))
                  .ok());
  EXPECT_EQ(Rows(master, project, "in.s.orders"), (V{"1|Prague|10", "2|Brno|25", "3|Prague|5"}));

  query::SqlRequest q;
  q.sql = "SELECT city, sum(amount) AS total FROM \"in.s.orders\" GROUP BY city ORDER BY city";
  auto answer = service::RunSql(*rt_, master, project, q);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  ASSERT_EQ(answer->rows.rows.size(), 2u);
  EXPECT_EQ(answer->rows.rows[0][1], "25");
  auto into = service::RunSqlIntoTable(*rt_, master, project, q, {"out.s.by_city", false});
  ASSERT_TRUE(into.ok()) << into.status().ToString();
  EXPECT_EQ(Rows(master, project, "out.s.by_city"), (V{"Brno|25", "Prague|15"}));

  ASSERT_TRUE(service::RestoreTable(*rt_, master, project, "in.s.orders", 1).ok());
  EXPECT_EQ(Rows(master, project, "in.s.orders"), (V{"1|Prague|10", "2|Brno|20", "3|Prague|5"}));
  // The restored version is one plain segment: already compact, no new version.
  auto compacted = service::CompactTable(*rt_, master, project, "in.s.orders");
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ(compacted->version.number, 3);
  EXPECT_EQ(service::ListVersions(*rt_, master, project, "in.s.orders")->size(), 3u);

  // Retention by the injected clock: nothing is old enough until the clock passes the window.
  EXPECT_EQ(service::CollectGarbage(*rt_, admin_, 3600)->deleted_versions, 0);
  clock_.AdvanceMs(3600 * 1000 + 1);
  EXPECT_EQ(service::CollectGarbage(*rt_, admin_, 3600)->deleted_versions, 2);  // not the head
  EXPECT_EQ(service::CollectGarbage(*rt_, master, 3600).status().code(), StatusCode::kForbidden);
  EXPECT_EQ(Rows(master, project, "in.s.orders"), (V{"1|Prague|10", "2|Brno|20", "3|Prague|5"}));
}

TEST_F(ServiceTest, RightsAreCheckedByTheServices) {
  auto a = service::CreateProject(*rt_, admin_, "a", "");
  auto b = service::CreateProject(*rt_, admin_, "b", "");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(
      service::ImportTable(*rt_, Master(*b), b->project, "in.secret.t", Csv("id\n42\n")).ok());
  // Another project's token: forbidden whether the project exists or not.
  EXPECT_EQ(service::ResolveProject(*rt_, Master(*a), "b").status().code(), StatusCode::kForbidden);
  EXPECT_EQ(service::ResolveProject(*rt_, Master(*a), "nope").status().code(),
            StatusCode::kForbidden);
  // Even handed project b directly, a's token reads none of its tables.
  query::SqlRequest q;
  q.sql = "SELECT * FROM \"in.secret.t\"";
  EXPECT_FALSE(service::RunSql(*rt_, Master(*a), b->project, q).ok());
  EXPECT_EQ(service::ListTables(*rt_, Master(*a), b->project, "").status().code(),
            StatusCode::kForbidden);
  // A scoped read token cannot write.
  service::CreateTokenRequest req;
  req.scopes = {{"in.secret", "read"}};
  auto reader = service::CreateToken(*rt_, Master(*b), b->project, req);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  service::Caller scoped{reader->token, "test"};
  EXPECT_EQ(Rows(scoped, b->project, "in.secret.t"), V{"42"});
  EXPECT_EQ(
      service::ImportTable(*rt_, scoped, b->project, "in.secret.t", Csv("id\n1\n")).status().code(),
      StatusCode::kForbidden);
  EXPECT_EQ(service::CreateToken(*rt_, scoped, b->project, req).status().code(),
            StatusCode::kForbidden);
}

TEST_F(ServiceTest, ADeletedProjectsEventsReachOnlyTheAdmin) {
  auto old = service::CreateProject(*rt_, admin_, "old", "");
  ASSERT_TRUE(old.ok());
  query::SqlRequest q;
  q.sql = "SELECT 'the old project secret query' AS s";
  ASSERT_TRUE(service::RunSql(*rt_, Master(*old), old->project, q).ok());
  const int64_t old_id = old->project.id;
  ASSERT_TRUE(service::DeleteProject(*rt_, admin_, "old").ok());
  auto fresh = service::CreateProject(*rt_, admin_, "fresh", "");
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->project.id, old_id);
  auto events = service::ListEvents(*rt_, Master(*fresh), fresh->project, 100);
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) EXPECT_EQ(e.details_json.find("secret"), std::string::npos);
  auto admin_view = service::ListOrganizationEvents(*rt_, admin_, old_id, 100);
  ASSERT_TRUE(admin_view.ok());
  bool seen = false;
  for (const auto& e : *admin_view)
    seen |= e.details_json.find("secret query") != std::string::npos;
  EXPECT_TRUE(seen);
  EXPECT_EQ(service::ListOrganizationEvents(*rt_, Master(*fresh), old_id, 100).status().code(),
            StatusCode::kForbidden);
}

TEST_F(ServiceTest, TokenExpiryFollowsTheInjectedClock) {
  auto p = service::CreateProject(*rt_, admin_, "sales", "");
  ASSERT_TRUE(p.ok());
  service::CreateTokenRequest req;
  req.kind = "master";
  req.expires_in_seconds = 60;
  auto t = service::CreateToken(*rt_, Master(*p), p->project, req);
  ASSERT_TRUE(t.ok());
  const std::string header = "Bearer " + t->secret;
  clock_.AdvanceMs(59'999);
  EXPECT_TRUE(service::Authenticate(rt_->catalog(), clock_, header).ok());
  clock_.AdvanceMs(1);
  auto expired = service::Authenticate(rt_->catalog(), clock_, header);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthorized);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
  req.expires_in_seconds = 0;
  EXPECT_EQ(service::CreateToken(*rt_, Master(*p), p->project, req).status().code(),
            StatusCode::kInvalidArgument);
}

// One process per data directory: a second runtime (another server) is refused, naming the holder,
// instead of running the same jobs and writing the same heads. The lock goes with its holder.
TEST_F(ServiceTest, ASecondRuntimeOnTheSameDataDirectoryIsRefused) {
  service::RuntimeOptions options;
  options.data_dir = dir_.path() + "/data";
  options.start_jobs = false;
  auto second = service::Runtime::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by another Swan process (pid " +
                                           std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.status().ToString();
  rt_.reset();
  auto third = service::Runtime::Open(options);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

// A job claimed while the runner stops did not run: it waits again (same attempt) for the next
// start, instead of ending terminated.
TEST(JobRunnerStop, AJobClaimedWhileStoppingWaitsForTheNextStart) {
  TempDir dir;
  FakeClock clock{1'800'000'000'000};
  std::promise<void> claimed;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  service::RuntimeOptions options;
  options.data_dir = dir.path() + "/data";
  options.clock = &clock;
  options.wrap_catalog_for_test = [&](std::unique_ptr<catalog::Catalog> c) {
    return std::unique_ptr<catalog::Catalog>(
        std::make_unique<ClaimGatingCatalog>(std::move(c), &claimed, released));
  };
  auto rt = service::Runtime::Open(options);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  catalog::Token spec;
  spec.kind = "admin";
  auto admin_token = service::IssueToken((*rt)->catalog(), spec);
  ASSERT_TRUE(admin_token.ok());
  const service::Caller admin{admin_token->token, "test"};
  auto project = service::CreateProject(**rt, admin, "stopping", "");
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  service::ConfigChange change;
  change.component_id = "swan.sql-transformation";
  change.configuration = nlohmann::json::parse(
      R"({"parameters": {"blocks": [{"name": "b", "codes": [{"name": "c", "script": ["SELECT 1"]}]}]}})");
  change.config_id = "noop";
  ASSERT_TRUE(service::CreateConfig(**rt, admin, project->project, change).ok());
  service::RunRequest run;
  run.config_id = "noop";
  auto job = service::RunConfig(**rt, admin, project->project, run);
  ASSERT_TRUE(job.ok()) << job.status().ToString();

  ASSERT_EQ(claimed.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  std::thread stopper([&] { (*rt)->jobs().Stop(); });
  // Stop() marks the runner stopping at once, then waits for the workers: let it mark, release.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  release.set_value();
  stopper.join();
  auto after = (*rt)->catalog().GetJob(job->id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, catalog::kJobWaiting) << after->message;
  EXPECT_EQ(after->attempt, 1);
  EXPECT_TRUE(after->worker.empty());
}

}  // namespace
}  // namespace swan::testing
