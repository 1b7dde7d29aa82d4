// Schedules and triggers (orchestration/scheduler.h) on a Runtime with a fake clock: passes are
// driven by RunDue() at chosen instants, never by sleeping. Jobs are only queued (no workers):
// what the scheduler starts is read back from the catalog.
#include <gtest/gtest.h>

#include <fstream>

#include "orchestration/scheduler.h"
#include "service/configs.h"
#include "service/jobs.h"
#include "service/projects.h"
#include "service/runtime.h"
#include "service/schedules.h"
#include "service/tables.h"
#include "service/tokens.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

// Unix ms of UTC instants used below.
constexpr int64_t k20260328T1200Z = 1774699200000;
constexpr int64_t k20260329T010030Z = 1774746030000;  // 03:00:30 CEST, just after the gap
constexpr int64_t k20260329T0130Z = 1774747800000;
constexpr int64_t k20260330T003010Z = 1774830610000;  // 02:30:10 CEST
constexpr int64_t k20260601T1030Z = 1780309800000;
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

std::string FieldOf(const Status& st) {
  auto it = st.details().find("field");
  return it == st.details().end() ? "" : it->second;
}

json Schedule(const std::string& cron, const std::string& zone, const std::string& target,
              const std::string& catch_up = "skip", const std::string& state = "enabled") {
  return {{"schedule", {{"cronTab", cron}, {"timezone", zone}, {"state", state}}},
          {"target", {{"componentId", "swan.sql-transformation"}, {"configurationId", target}}},
          {"catchUp", catch_up}};
}

json Trigger(const std::vector<std::string>& tables, int cooldown_minutes,
             const std::string& target) {
  return {{"tableIds", tables},
          {"coolDownPeriodMinutes", cooldown_minutes},
          {"target", {{"componentId", "swan.sql-transformation"}, {"configurationId", target}}}};
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetMs(k20260328T1200Z);
    Open();
    catalog::Token spec;
    spec.kind = "admin";
    auto admin = service::IssueToken(rt_->catalog(), spec);
    ASSERT_TRUE(admin.ok());
    admin_ = {admin->token, "test"};
    auto a = service::CreateProject(*rt_, admin_, "a", "");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    a_ = *a;
    ASSERT_TRUE(Config(a_, "t", "swan.sql-transformation", SqlBody()).ok());
  }

  // Reopens the runtime over the same directory (a restart): no job workers, no scheduler
  // thread, so only RunDue() passes.
  void Open() {
    rt_.reset();
    service::RuntimeOptions options;
    options.data_dir = dir_.path() + "/data";
    options.clock = &clock_;
    options.start_jobs = false;
    options.scheduler.thread = false;
    auto rt = service::Runtime::Open(options);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(*rt);
  }

  static json SqlBody() {
    return {
        {"parameters",
         {{"blocks", {{{"name", "b"}, {"codes", {{{"name", "c"}, {"script", {"SELECT 1"}}}}}}}}}}};
  }

  Result<catalog::Configuration> Config(const service::CreatedProject& p, const std::string& id,
                                        const std::string& component, const json& body) {
    service::ConfigChange change;
    change.config_id = id;
    change.component_id = component;
    change.configuration = body;
    return service::CreateConfig(*rt_, {p.master_token, "test"}, p.project, change);
  }

  Status Edit(const service::CreatedProject& p, const std::string& id, const json& body) {
    service::ConfigChange change;
    change.configuration = body;
    return service::EditConfig(*rt_, {p.master_token, "test"}, p.project, id, change).status();
  }

  void Pass() { ASSERT_TRUE(rt_->scheduler().RunDue().ok()); }

  std::vector<catalog::Job> Jobs(const service::CreatedProject& p) {
    catalog::JobFilter filter;
    filter.project_id = p.project.id;
    filter.limit = 1000;
    auto jobs = rt_->catalog().ListJobs(filter);
    EXPECT_TRUE(jobs.ok());
    return jobs.ok() ? *jobs : std::vector<catalog::Job>{};
  }

  // Events of `action` in the project, oldest first.
  std::vector<json> Events(const service::CreatedProject& p, const std::string& action) {
    std::vector<json> out;
    auto events = rt_->catalog().ListEvents(p.project.id, 10000);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events)
      if (e.action == action) out.push_back(json::parse(e.details_json));
    std::reverse(out.begin(), out.end());
    return out;
  }

  void Finish(const catalog::Job& job) {
    catalog::Job done = job;
    done.status = catalog::kJobSuccess;
    ASSERT_TRUE(rt_->catalog().UpdateJob(done, job.status).ok());
  }

  void Import(const service::CreatedProject& p, const std::string& table, const std::string& csv) {
    storage::ImportRequest r;
    r.file_path = dir_.path() + "/in-" + std::to_string(++files_) + ".csv";
    std::ofstream(r.file_path) << csv;
    r.display_name = "in.csv";
    auto done = service::ImportTable(*rt_, {p.master_token, "test"}, p.project, table, r);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  }

  TempDir dir_;
  FakeClock clock_{0};
  std::unique_ptr<service::Runtime> rt_;
  service::Caller admin_;
  service::CreatedProject a_;
  int files_ = 0;
};

// 02:30 in Prague on the spring-forward day (clocks jump 02:00 -> 03:00) runs once, at 03:00;
// the next day at 02:30 again. A second pass at the same instant starts nothing more.
TEST_F(SchedulerTest, RunsAtItsTimeAcrossTheSpringForwardGapOnce) {
  ASSERT_TRUE(
      Config(a_, "nightly", "keboola.scheduler", Schedule("30 2 * * *", "Europe/Prague", "t"))
          .ok());
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());
  clock_.SetMs(k20260329T010030Z);
  Pass();
  Pass();
  auto jobs = Jobs(a_);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].config_id, "t");
  EXPECT_EQ(jobs[0].status, catalog::kJobWaiting);
  EXPECT_EQ(jobs[0].token_id, a_.master_token.id);  // the token that saved the schedule
  auto runs = Events(a_, "schedule.run");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].value("job_id", int64_t{0}), jobs[0].id);
  clock_.SetMs(k20260329T0130Z);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 1u);
  clock_.SetMs(k20260330T003010Z);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 2u);
  // The job's audit event says where it came from.
  auto created = Events(a_, "job.create");
  ASSERT_FALSE(created.empty());
  EXPECT_EQ(created.back().value("origin", ""), "schedule:nightly");
}

// Five hourly runs pass while the server is down. skip: none of them runs, one event says so;
// run_once: one run makes up for all five. Never five runs.
TEST_F(SchedulerTest, AfterDowntimeMissedRunsAreSkippedOrRunOnce) {
  ASSERT_TRUE(Config(a_, "t2", "swan.sql-transformation", SqlBody()).ok());
  ASSERT_TRUE(
      Config(a_, "hourly-skip", "keboola.scheduler", Schedule("0 * * * *", "UTC", "t")).ok());
  ASSERT_TRUE(
      Config(a_, "hourly-once", "keboola.scheduler", Schedule("0 * * * *", "UTC", "t2", "run_once"))
          .ok());
  clock_.SetMs(k20260328T1200Z + 30 * kMinute);  // 12:30: nothing due
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());
  rt_.reset();                                               // the server stops ...
  clock_.SetMs(k20260328T1200Z + 5 * kHour + 30 * kMinute);  // ... and comes back at 17:30
  Open();
  Pass();
  Pass();
  auto jobs = Jobs(a_);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].config_id, "t2");
  auto skipped = Events(a_, "schedule.skipped");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].value("first_missed_ms", int64_t{0}), k20260328T1200Z + kHour);
  auto runs = Events(a_, "schedule.run");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].value("catch_up", false));
  // 18:00 comes: both run on time.
  clock_.SetMs(k20260328T1200Z + 6 * kHour + 5000);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 3u);
}

// A disabled schedule never runs; enabled again, it runs only what comes after.
TEST_F(SchedulerTest, DisabledDoesNotRunAndEnablingDoesNotCatchUp) {
  ASSERT_TRUE(Config(a_, "s", "keboola.scheduler",
                     Schedule("*/10 * * * *", "UTC", "t", "run_once", "disabled"))
                  .ok());
  clock_.AdvanceMs(2 * kHour);
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());
  ASSERT_TRUE(Edit(a_, "s", Schedule("*/10 * * * *", "UTC", "t", "run_once")).ok());
  clock_.AdvanceMs(kMinute);  // 14:01: no instant since it was enabled at 14:00
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());
  clock_.AdvanceMs(9 * kMinute);  // 14:10
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 1u);
}

TEST_F(SchedulerTest, BadSchedulesAndTriggersAreRefusedNamingTheField) {
  auto expect_field = [&](const std::string& component, const json& body,
                          const std::string& field) {
    auto made = Config(a_, "", component, body);
    ASSERT_FALSE(made.ok()) << body.dump();
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << made.status().ToString();
    EXPECT_EQ(FieldOf(made.status()), field) << made.status().ToString();
  };
  expect_field("keboola.scheduler", Schedule("61 * * * *", "UTC", "t"), "schedule.cronTab");
  expect_field("keboola.scheduler", Schedule("0 6 * * *", "Mars/Olympus", "t"),
               "schedule.timezone");
  expect_field("keboola.scheduler", Schedule("0 6 * * *", "UTC", "nope"), "target.configurationId");
  expect_field("keboola.scheduler", Schedule("0 6 * * *", "UTC", "t", "twice"), "catchUp");
  expect_field("swan.trigger", Trigger({"in.s.missing"}, 5, "t"), "tableIds[0]");
  expect_field("swan.trigger", Trigger({"not-a-table"}, 5, "t"), "tableIds[0]");
  expect_field("swan.trigger", Trigger({}, 5, "t"), "tableIds");
  Import(a_, "in.s.x", "id\n1\n");
  expect_field("swan.trigger", Trigger({"in.s.x"}, -1, "t"), "coolDownPeriodMinutes");
  // A schedule is not a job.
  ASSERT_TRUE(Config(a_, "s", "keboola.scheduler", Schedule("0 6 * * *", "UTC", "t")).ok());
  service::RunRequest run;
  run.config_id = "s";
  auto job = service::RunConfig(*rt_, {a_.master_token, "test"}, a_.project, run);
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument) << job.status().ToString();
}

// The trigger fires once every watched table has a version newer than the target's last run;
// then not again within its cool-down, nor while its job has not ended, nor without new data.
TEST_F(SchedulerTest, TriggerFiresWhenEveryTableChangedThenCoolsDown) {
  Import(a_, "in.s.orders", "id\n1\n");
  Import(a_, "in.s.customers", "id\n1\n");
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(
      Config(a_, "on-data", "swan.trigger", Trigger({"in.s.orders", "in.s.customers"}, 10, "t"))
          .ok());
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());  // nothing new since the trigger was made
  clock_.AdvanceMs(1000);
  Import(a_, "in.s.orders", "id\n2\n");
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());  // one of two
  clock_.AdvanceMs(1000);
  Import(a_, "in.s.customers", "id\n2\n");
  Pass();
  auto jobs = Jobs(a_);
  ASSERT_EQ(jobs.size(), 1u);
  auto fired = Events(a_, "trigger.run");
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0]["tables"].value("in.s.customers", int64_t{0}), 2);
  // New data again, but within the cool-down and while the job waits: nothing.
  clock_.AdvanceMs(kMinute);
  Import(a_, "in.s.orders", "id\n3\n");
  Import(a_, "in.s.customers", "id\n3\n");
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 1u);
  clock_.AdvanceMs(10 * kMinute);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 1u);  // the job has not ended
  Finish(jobs[0]);
  Pass();
  jobs = Jobs(a_);
  ASSERT_EQ(jobs.size(), 2u);
  Finish(jobs[0]);
  // No new data since that run: it stays quiet however long it waits.
  clock_.AdvanceMs(kHour);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 2u);
  // A run started by hand counts as the target's last run too.
  clock_.AdvanceMs(1000);
  Import(a_, "in.s.orders", "id\n4\n");
  Import(a_, "in.s.customers", "id\n4\n");
  clock_.AdvanceMs(1000);
  service::RunRequest run;
  run.config_id = "t";
  auto manual = service::RunConfig(*rt_, {a_.master_token, "test"}, a_.project, run);
  ASSERT_TRUE(manual.ok());
  Finish(*manual);
  clock_.AdvanceMs(kHour);
  Pass();
  EXPECT_EQ(Jobs(a_).size(), 3u);
}

// Another project's tables of the same names change: this project's trigger does not fire, and
// what a schedule starts runs in its own project with its author's token; a revoked author
// token starts nothing and says why.
TEST_F(SchedulerTest, TenantsNeverMeetAndARevokedTokenStartsNothing) {
  auto b = service::CreateProject(*rt_, admin_, "b", "");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(Config(*b, "t", "swan.sql-transformation", SqlBody()).ok());
  Import(a_, "in.s.orders", "id\n1\n");
  Import(*b, "in.s.orders", "id\n1\n");
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(Config(a_, "watch", "swan.trigger", Trigger({"in.s.orders"}, 0, "t")).ok());
  clock_.AdvanceMs(1000);
  Import(*b, "in.s.orders", "id\n2\n");
  Pass();
  EXPECT_TRUE(Jobs(a_).empty());
  EXPECT_TRUE(Jobs(*b).empty());
  // B's schedule targets B's t, runs in B.
  ASSERT_TRUE(Config(*b, "every", "keboola.scheduler", Schedule("* * * * *", "UTC", "t")).ok());
  clock_.AdvanceMs(kMinute);
  Pass();
  auto b_jobs = Jobs(*b);
  ASSERT_EQ(b_jobs.size(), 1u);
  EXPECT_EQ(b_jobs[0].project_id, b->project.id);
  EXPECT_TRUE(Jobs(a_).empty());
  // B's master token revoked: the schedule fails with a clear event, no job.
  ASSERT_TRUE(rt_->catalog().RevokeToken(b->master_token.id).ok());
  clock_.AdvanceMs(kMinute);
  Pass();
  EXPECT_EQ(Jobs(*b).size(), 1u);
  auto failed = Events(*b, "schedule.failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].value("message", "").find("revoked"), std::string::npos) << failed[0];
}

// The preview and a schedule's next runs follow the zone: 01:30 in New York on the fall-back
// day (01:00-02:00 passes twice) runs once.
TEST_F(SchedulerTest, NextRunsFollowTheZoneThroughFallBack) {
  clock_.SetMs(1793505600000 - 2 * 24 * kHour);  // 2026-10-30 04:00Z
  auto preview = service::PreviewSchedule(*rt_, "30 1 * * *", "America/New_York", 4);
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  EXPECT_EQ((*preview)["next_runs"], json({"2026-10-30T05:30:00.000Z", "2026-10-31T05:30:00.000Z",
                                           "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"}))
      << preview->dump();
  auto bad = service::PreviewSchedule(*rt_, "30 1 * *", "UTC", 4);
  EXPECT_EQ(FieldOf(bad.status()), "cronTab");
  ASSERT_TRUE(
      Config(a_, "ny", "keboola.scheduler", Schedule("30 1 * * *", "America/New_York", "t")).ok());
  auto shown = service::GetSchedule(*rt_, {a_.master_token, "test"}, a_.project, "ny", 3);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ((*shown)["next_runs"].size(), 3u);
  EXPECT_EQ((*shown)["next_runs"][2], "2026-11-01T05:30:00.000Z");
  // Another project's token sees no schedule of this one.
  auto b = service::CreateProject(*rt_, admin_, "b", "");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(service::GetSchedule(*rt_, {b->master_token, "test"}, a_.project, "ny", 3).ok());
}

}  // namespace
}  // namespace swan::testing
