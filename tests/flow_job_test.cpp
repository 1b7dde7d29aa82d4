// Flows as jobs (orchestration/flow_runner.h) through the API of a real server: the tasks run as
// child jobs phase after phase, a failure stops what follows and a rerun runs only what failed
// and what follows it, continueOnFailure ends as a warning, cancel reaches the running task,
// a failure notifies a real webhook receiver, and a flow never reaches another project's
// configurations.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

json Sql(const std::vector<std::string>& script) {
  return {{"parameters",
           {{"blocks", {{{"name", "main"}, {"codes", {{{"name", "c"}, {"script", script}}}}}}}}}};
}

json Task(const std::string& id, const json& phase, const std::string& config,
          bool continue_on_failure = false) {
  return {{"id", id},
          {"name", id},
          {"phase", phase},
          {"task", {{"componentId", "swan.sql-transformation"}, {"configId", config}}},
          {"continueOnFailure", continue_on_failure ? "true" : "false"},
          {"enabled", "true"}};
}

const json kThreePhases = {{{"id", 1}, {"name", "extract"}},
                           {{"id", 2}, {"name", "transform"}, {"dependsOn", {1}}},
                           {{"id", 3}, {"name", "deliver"}, {"dependsOn", {2}}}};

// The flow job's tasks ("tasks" of GET jobs/{id}) by flow task id.
std::map<std::string, json> Tasks(const json& flow_job) {
  std::map<std::string, json> out;
  for (const auto& t : flow_job.value("tasks", json::array())) out[t.value("flow_task_id", "")] = t;
  return out;
}

// Every task of a flow job's flow -> its status in that run (`flow_tasks`).
std::map<std::string, std::string> TaskStatuses(const json& flow_job) {
  std::map<std::string, std::string> out;
  for (const auto& t : flow_job.value("flow_tasks", json::array()))
    out[t.value("id", "")] = t.value("status", "");
  return out;
}

class FlowJobTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  ServerProcess server_;
};

TEST_F(FlowJobTest, TasksRunAsChildJobsPhaseAfterPhase) {
  ProjectApi p(server_, "flow-order");
  ASSERT_TRUE(p.ok());
  for (const char* c : {"a", "b", "c", "d"})
    p.CreateConfig(c, "swan.sql-transformation", Sql({"SELECT 1"}));
  p.CreateConfig(
      "flow", "keboola.orchestrator",
      {{"phases", kThreePhases},
       {"tasks", {Task("a", 1, "a"), Task("b", 1, "b"), Task("c", 2, "c"), Task("d", 3, "d")}}});
  json flow = p.RunJob("flow");
  ASSERT_EQ(flow.value("status", ""), "success") << DescribeJob(p, flow);
  EXPECT_EQ(flow.value("message", ""), "4 tasks succeeded, 0 failed, 0 skipped");
  auto tasks = Tasks(flow);
  ASSERT_EQ(tasks.size(), 4u) << flow.dump();
  for (const auto& [id, t] : tasks) {
    EXPECT_EQ(t.value("status", ""), "success") << t.dump();
    EXPECT_EQ(t.value("parent_job_id", int64_t{0}), flow.value("id", int64_t{0}));
    EXPECT_EQ(t.value("config", ""), id);
  }
  // Each phase starts after the one before ended.
  auto at = [&](const std::string& id, const char* field) { return tasks[id].value(field, ""); };
  EXPECT_GE(at("c", "started_at"), std::max(at("a", "finished_at"), at("b", "finished_at")));
  EXPECT_GE(at("d", "started_at"), at("c", "finished_at"));
  // The flow's own log names each task's job.
  const std::string log = p.JobLog(flow.value("id", int64_t{0}));
  EXPECT_NE(log.find("task c 'c' (phase 2): job "), std::string::npos) << log;
}

// b fails: the deliver phase never runs and the flow fails. Once b's configuration is fixed, a
// rerun runs b and d again, and reuses a (and the independent side task).
TEST_F(FlowJobTest, AFailureStopsWhatFollowsAndARerunRunsOnlyThat) {
  ProjectApi p(server_, "flow-rerun");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("a", "swan.sql-transformation", Sql({"SELECT 1"}));
  p.CreateConfig("b", "swan.sql-transformation", Sql({"SELECT * FROM no_such_table"}));
  p.CreateConfig("d", "swan.sql-transformation", Sql({"SELECT 1"}));
  json phases = kThreePhases;
  phases.push_back({{"id", 4}, {"name", "side"}});
  p.CreateConfig(
      "flow", "keboola.orchestrator",
      {{"phases", phases},
       {"tasks", {Task("a", 1, "a"), Task("b", 2, "b"), Task("d", 3, "d"), Task("side", 4, "a")}}});
  json first = p.RunJob("flow");
  ASSERT_EQ(first.value("status", ""), "error") << DescribeJob(p, first);
  EXPECT_EQ(first.value("message", ""), "2 tasks succeeded, 1 failed, 1 skipped");
  auto tasks = Tasks(first);
  EXPECT_EQ(tasks.size(), 3u);  // d never got a job
  EXPECT_EQ(tasks["b"].value("status", ""), "error");
  EXPECT_EQ(tasks.count("d"), 0u);
  // Every task's status, d's too.
  using Statuses = std::map<std::string, std::string>;
  EXPECT_EQ(TaskStatuses(first),
            (Statuses{{"a", "success"}, {"b", "error"}, {"d", "skipped"}, {"side", "success"}}));

  auto rerun_of = [&](const json& failed) {
    const int64_t failed_id = failed.value("id", int64_t{0});
    json started =
        p.Ok("POST", p.Path("/jobs/" + std::to_string(failed_id) + "/rerun"), nullptr, 201);
    const int64_t id = started["job"].value("id", int64_t{0});
    EXPECT_EQ(started["job"].value("rerun_of", int64_t{0}), failed_id);
    json job;
    for (int i = 0; i < 600; ++i) {
      job = p.Ok("GET", p.Path("/jobs/" + std::to_string(id)))["job"];
      const std::string s = job.value("status", "");
      if (s != "waiting" && s != "processing" && s != "created") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job;
  };
  // Still broken: the rerun runs b alone, which fails again.
  json failed_again = rerun_of(first);
  ASSERT_EQ(failed_again.value("status", ""), "error") << DescribeJob(p, failed_again);
  EXPECT_EQ(failed_again.value("message", ""), "0 tasks succeeded, 1 failed, 1 skipped, 2 reused");
  EXPECT_EQ(Tasks(failed_again).size(), 1u) << failed_again.dump();
  EXPECT_EQ(TaskStatuses(failed_again),
            (Statuses{{"a", "reused"}, {"b", "error"}, {"d", "skipped"}, {"side", "reused"}}));

  // b fixed, the failed rerun reruns from its failure: what succeeded in the first run is still
  // reused, not run again.
  p.Ok("POST", p.Path("/configs/b"), {{"configuration", Sql({"SELECT 2"})}});
  json rerun = rerun_of(failed_again);
  const int64_t rerun_id = rerun.value("id", int64_t{0});
  ASSERT_EQ(rerun.value("status", ""), "success") << DescribeJob(p, rerun);
  EXPECT_EQ(rerun.value("message", ""), "2 tasks succeeded, 0 failed, 0 skipped, 2 reused");
  auto again = Tasks(rerun);
  EXPECT_EQ(again.size(), 2u) << rerun.dump();
  EXPECT_EQ(again.count("b"), 1u);
  EXPECT_EQ(again.count("d"), 1u);
  EXPECT_EQ(TaskStatuses(rerun),
            (Statuses{{"a", "reused"}, {"b", "success"}, {"d", "success"}, {"side", "reused"}}));
  // A successful flow has nothing to rerun.
  p.Ok("POST", p.Path("/jobs/" + std::to_string(rerun_id) + "/rerun"), nullptr, 409);
}

TEST_F(FlowJobTest, ContinueOnFailureEndsAsAWarning) {
  ProjectApi p(server_, "flow-warn");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("bad", "swan.sql-transformation", Sql({"SELECT * FROM nothing_here"}));
  p.CreateConfig("good", "swan.sql-transformation", Sql({"SELECT 1"}));
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
                  {"tasks", {Task("bad", 1, "bad", true), Task("good", 2, "good")}}});
  json flow = p.RunJob("flow");
  EXPECT_EQ(flow.value("status", ""), "warning") << DescribeJob(p, flow);
  EXPECT_EQ(Tasks(flow)["good"].value("status", ""), "success");
}

// Cancel reaches the task that runs; the rest is skipped.
TEST_F(FlowJobTest, CancelEndsTheRunningTask) {
  ProjectApi p(server_, "flow-cancel");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("slow", "swan.sql-transformation",
                 Sql({"SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"}));
  p.CreateConfig("after", "swan.sql-transformation", Sql({"SELECT 1"}));
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
                  {"tasks", {Task("slow", 1, "slow"), Task("after", 2, "after")}}});
  json started = p.Ok("POST", p.Path("/configs/flow/run"), json::object(), 201);
  const std::string id = std::to_string(started["job"].value("id", int64_t{0}));
  json job;
  for (int i = 0; i < 300; ++i) {  // until the slow task runs
    job = p.Ok("GET", p.Path("/jobs/" + id))["job"];
    auto tasks = Tasks(job);
    if (tasks.count("slow") && tasks["slow"].value("status", "") == "processing") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  p.Ok("POST", p.Path("/jobs/" + id + "/cancel"));
  for (int i = 0; i < 600; ++i) {
    job = p.Ok("GET", p.Path("/jobs/" + id))["job"];
    if (job.value("status", "") == "cancelled" || job.value("status", "") == "error") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job.value("status", ""), "cancelled") << DescribeJob(p, job);
  auto tasks = Tasks(job);
  EXPECT_EQ(tasks["slow"].value("status", ""), "cancelled") << job.dump();
  EXPECT_EQ(tasks.count("after"), 0u);
}

// The run's timeout ends the flow like a cancel, as an error of kind "timeout".
TEST_F(FlowJobTest, ATimeoutEndsTheFlowAsAnError) {
  ProjectApi p(server_, "flow-timeout");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("slow", "swan.sql-transformation",
                 Sql({"SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"}));
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}}}, {"tasks", {Task("slow", 1, "slow")}}});
  json flow = p.RunJob("flow", {{"timeout", 1}});
  EXPECT_EQ(flow.value("status", ""), "error") << DescribeJob(p, flow);
  EXPECT_EQ(flow.value("error_kind", ""), "timeout");
  EXPECT_EQ(flow.value("message", "").rfind("timed out after 1 s: ", 0), 0u) << flow.dump();
  EXPECT_EQ(Tasks(flow)["slow"].value("status", ""), "cancelled");
}

// A failed flow posts a signed job-failed notification to a real receiver on loopback, and
// records the delivery among its events.
TEST_F(FlowJobTest, AFailureNotifiesAWebhook) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> received;  // body, signature
  httplib::Server receiver;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    received.push_back({req.body, req.get_header_value("X-Swan-Signature")});
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  ProjectApi p(server_, "flow-notify");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("bad", "swan.sql-transformation", Sql({"SELECT * FROM nothing_here"}));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}}},
                  {"tasks", {Task("bad", 1, "bad")}},
                  {"notifications",
                   {{{"event", "job-failed"},
                     {"recipient", {{"channel", "webhook"}, {"address", url}}},
                     {"#secret", "shared-secret"}},
                    {{"event", "job-succeeded"},
                     {"recipient", {{"channel", "webhook"}, {"address", url + "?ok"}}}}}}});
  json flow = p.RunJob("flow");
  EXPECT_EQ(flow.value("status", ""), "error");
  // The delivery follows the flow's end.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu);
      if (!received.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  receiver.stop();
  serving.join();
  ASSERT_EQ(received.size(), 1u);
  json payload = json::parse(received[0].first);
  EXPECT_EQ(payload.value("event", ""), "job-failed");
  EXPECT_EQ(payload["job"].value("id", int64_t{0}), flow.value("id", int64_t{0}));
  EXPECT_EQ(received[0].second.rfind("t=", 0), 0u) << received[0].second;
  std::string log;
  for (int i = 0; i < 50; ++i) {
    log = p.JobLog(flow.value("id", int64_t{0}));
    if (log.find("notification job-failed") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(log.find("notification job-failed to " + url + ": delivered (1 attempts"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("shared-secret"), std::string::npos);
}

// Any configuration's job notifies too: a failing SQL transformation posts job-failed to its
// own webhook (not job-succeeded), and the delivery is an event of the job.
TEST_F(FlowJobTest, AConfigurationsFailedJobNotifiesItsWebhook) {
  std::mutex mu;
  std::vector<std::string> received;
  httplib::Server receiver;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    received.push_back(req.body);
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  ProjectApi p(server_, "config-notify");
  ASSERT_TRUE(p.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  json config = Sql({"SELECT * FROM nothing_here"});
  config["notifications"] = {{{"event", "job-failed"},
                              {"recipient", {{"channel", "webhook"}, {"address", url}}},
                              {"#secret", "config-secret"}},
                             {{"event", "job-succeeded"},
                              {"recipient", {{"channel", "webhook"}, {"address", url + "?ok"}}}}};
  p.CreateConfig("bad", "swan.sql-transformation", config);
  json job = p.RunJob("bad");
  EXPECT_EQ(job.value("status", ""), "error");
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = p.JobLog(job.value("id", int64_t{0}));
    if (log.find("notification job-failed") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  receiver.stop();
  serving.join();
  ASSERT_EQ(received.size(), 1u);
  json payload = json::parse(received[0]);
  EXPECT_EQ(payload.value("event", ""), "job-failed");
  EXPECT_EQ(payload["job"].value("config", ""), "bad");
  EXPECT_NE(log.find("notification job-failed to " + url + ": delivered (1 attempts"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("config-secret"), std::string::npos);
  // A rule that cannot be read is refused when saved, naming it.
  json broken = Sql({"SELECT 1"});
  broken["notifications"] = {{{"event", "job-exploded"}}};
  p.Ok("POST", p.Path("/configs"),
       {{"id", "broken"}, {"component_id", "swan.sql-transformation"}, {"configuration", broken}},
       400);
}

// A configuration's job that runs past thresholdSeconds posts job-processing-long once, while
// it still runs.
TEST_F(FlowJobTest, AConfigurationsLongJobNotifiesWhileItRuns) {
  std::mutex mu;
  std::vector<std::string> received;
  httplib::Server receiver;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    received.push_back(req.body);
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  ProjectApi p(server_, "config-long");
  ASSERT_TRUE(p.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  json config = {
      {"parameters",
       {{"blocks",
         {{{"name", "b"},
           {"codes", {{{"name", "c"}, {"script", {"import time\ntime.sleep(3)\n"}}}}}}}}}},
      {"notifications",
       {{{"event", "job-processing-long"},
         {"thresholdSeconds", 1},
         {"recipient", {{"channel", "webhook"}, {"address", url}}}}}}};
  p.CreateConfig("slow", "keboola.python-transformation-v2", config);
  json job = p.RunJob("slow");
  EXPECT_EQ(job.value("status", ""), "success") << DescribeJob(p, job);
  receiver.stop();
  serving.join();
  ASSERT_EQ(received.size(), 1u);
  json payload = json::parse(received[0]);
  EXPECT_EQ(payload.value("event", ""), "job-processing-long");
  EXPECT_EQ(payload["job"].value("status", ""), "processing");
  EXPECT_GE(payload["job"].value("wall_ms", int64_t{0}), 1000);
}

// Tenants never meet: a flow finds configurations of its own project only, and runs nothing in
// another project.
TEST_F(FlowJobTest, AFlowNeverRunsAnotherProjectsConfiguration) {
  ProjectApi a(server_, "flow-a"), b(server_, "flow-b");
  ASSERT_TRUE(a.ok() && b.ok());
  a.CreateConfig("secret-job", "swan.sql-transformation", Sql({"SELECT 1"}));
  b.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}}}, {"tasks", {Task("steal", 1, "secret-job")}}});
  json flow = b.RunJob("flow");
  EXPECT_EQ(flow.value("status", ""), "error") << DescribeJob(b, flow);
  EXPECT_NE(b.JobLog(flow.value("id", int64_t{0}))
                .find("configuration 'secret-job' not found in this project"),
            std::string::npos);
  EXPECT_TRUE(a.Ok("GET", a.Path("/jobs"))["jobs"].empty());
  // Nor can project a see or rerun project b's flow job.
  a.Ok("POST", a.Path("/jobs/" + std::to_string(flow.value("id", int64_t{0})) + "/rerun"), nullptr,
       404);
}

// The flow the kill -9 tests run: phase 1 holds `quick` and three tasks that never end by
// themselves (slow1-3), phase 2 `after`.
void CreateCrashFlow(ProjectApi& p) {
  const std::string slow = "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3";
  p.CreateConfig("quick", "swan.sql-transformation", Sql({"SELECT 1"}));
  p.CreateConfig("slow", "swan.sql-transformation", Sql({slow}));
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
                  {"tasks",
                   {Task("quick", 1, "quick"), Task("slow1", 1, "slow"), Task("slow2", 1, "slow"),
                    Task("slow3", 1, "slow"), Task("after", 2, "quick")}}});
}

// kill -9 during a flow: the restart ends the flow `terminated`, ends its running tasks, cancels
// the task it had queued, and never runs the task that had finished again (a rerun reuses it).
TEST(FlowJobCrashTest, KillNineDuringAFlowNeverRunsAFinishedTaskTwice) {
  ServerProcess first;
  ASSERT_TRUE(first.ok()) << first.error();
  ProjectApi p(first, "flow-crash");
  ASSERT_TRUE(p.ok());
  CreateCrashFlow(p);
  json started = p.Ok("POST", p.Path("/configs/flow/run"), json::object(), 201);
  const std::string id = std::to_string(started["job"].value("id", int64_t{0}));
  // Two jobs of a project run at once (SWAN_JOBS_PER_PROJECT): quick and slow1, then slow2; slow3
  // waits.
  std::map<std::string, json> tasks;
  for (int i = 0; i < 600; ++i) {
    tasks = Tasks(p.Ok("GET", p.Path("/jobs/" + id))["job"]);
    if (tasks.size() == 4 && tasks["quick"].value("status", "") == "success" &&
        tasks["slow2"].value("status", "") == "processing")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(tasks["slow3"].value("status", ""), "waiting");
  first.KillHard();

  ServerProcess again(first.data_dir(), first.admin_token());
  ASSERT_TRUE(again.ok()) << again.error();
  auto get = [&](const std::string& path) {
    HttpResponse r =
        HttpCall("GET", again.url() + p.Path(path), {"Authorization: Bearer " + p.token()}, "");
    EXPECT_EQ(r.status, 200) << DescribeResponse(r);
    return json::parse(r.body, nullptr, false);
  };
  json flow = get("/jobs/" + id)["job"];
  EXPECT_EQ(flow.value("status", ""), "terminated") << flow.dump();
  tasks = Tasks(flow);
  EXPECT_EQ(tasks["quick"].value("status", ""), "success");
  EXPECT_EQ(tasks["slow1"].value("status", ""), "terminated");
  EXPECT_EQ(tasks["slow2"].value("status", ""), "terminated");
  EXPECT_EQ(tasks["slow3"].value("status", ""), "cancelled");
  EXPECT_EQ(tasks.count("after"), 0u);
  // Nothing of the dead flow runs later.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const json all = get("/jobs");
  for (const auto& j : all["jobs"])
    EXPECT_TRUE(j.value("status", "") != "waiting" && j.value("status", "") != "processing")
        << j.dump();

  // The rerun reuses the task that had finished: its tasks never include "quick".
  HttpResponse r = HttpCall("POST", again.url() + p.Path("/jobs/" + id + "/rerun"),
                            {"Authorization: Bearer " + p.token()}, "");
  ASSERT_EQ(r.status, 201) << DescribeResponse(r);
  const std::string rerun = std::to_string(json::parse(r.body)["job"].value("id", int64_t{0}));
  for (int i = 0; i < 600; ++i) {
    tasks = Tasks(get("/jobs/" + rerun)["job"]);
    if (tasks.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(tasks.size(), 2u);
  EXPECT_EQ(tasks.count("quick"), 0u);
  EXPECT_NE(get("/jobs/" + rerun)["job"].value("status", ""), "error");
  HttpCall("POST", again.url() + p.Path("/jobs/" + rerun + "/cancel"),
           {"Authorization: Bearer " + p.token()}, "");
  again.Kill();
}

// With attempts left, a flow the server died under runs again and resumes: the task that had
// finished is reused, never run twice, and the tasks it had queued do not run on their own.
TEST(FlowJobCrashTest, KillNineDuringAFlowWithAttemptsLeftResumesIt) {
  ServerProcess first;
  ASSERT_TRUE(first.ok()) << first.error();
  ProjectApi p(first, "flow-resume");
  ASSERT_TRUE(p.ok());
  CreateCrashFlow(p);
  json started = p.Ok("POST", p.Path("/configs/flow/run"), {{"max_attempts", 2}}, 201);
  const int64_t flow_id = started["job"].value("id", int64_t{0});
  const std::string id = std::to_string(flow_id);
  std::map<std::string, json> tasks;
  for (int i = 0; i < 600; ++i) {
    tasks = Tasks(p.Ok("GET", p.Path("/jobs/" + id))["job"]);
    if (tasks.size() == 4 && tasks["quick"].value("status", "") == "success" &&
        tasks["slow3"].value("status", "") == "waiting")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(tasks["slow3"].value("status", ""), "waiting");
  // slow1 and slow2 never end by themselves; fixed now, so that the resumed flow's new task jobs
  // end.
  p.Ok("POST", p.Path("/configs/slow"), {{"configuration", Sql({"SELECT 2"})}});
  first.KillHard();

  ServerProcess again(first.data_dir(), first.admin_token());
  ASSERT_TRUE(again.ok()) << again.error();
  auto get = [&](const std::string& path) {
    HttpResponse r =
        HttpCall("GET", again.url() + p.Path(path), {"Authorization: Bearer " + p.token()}, "");
    EXPECT_EQ(r.status, 200) << DescribeResponse(r);
    return json::parse(r.body, nullptr, false);
  };
  json flow;
  for (int i = 0; i < 600; ++i) {
    flow = get("/jobs/" + id)["job"];
    const std::string status = flow.value("status", "");
    if (status != "waiting" && status != "processing" && status != "created") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(flow.value("attempt", 0), 2) << flow.dump();
  int quick_runs = 0, after_runs = 0, slow3_runs = 0;
  const json all = get("/jobs");
  for (const auto& j : all["jobs"]) {
    if (j.value("parent_job_id", int64_t{0}) != flow_id) continue;
    const std::string task = j.value("flow_task_id", "");
    quick_runs += task == "quick";
    after_runs += task == "after";
    slow3_runs += task == "slow3";
  }
  EXPECT_EQ(quick_runs, 1);  // finished before the kill: reused, not run again
  EXPECT_EQ(flow.value("status", ""), "success") << flow.dump();
  EXPECT_EQ(after_runs, 1);
  EXPECT_EQ(slow3_runs, 2);  // the queued one cancelled, then planned anew
  again.Kill();
}

// A flow configuration that is not a DAG fails its job with the field named.
TEST_F(FlowJobTest, ABrokenFlowFailsWithTheField) {
  ProjectApi p(server_, "flow-broken");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}, {"dependsOn", {2}}}, {{"id", 2}, {"dependsOn", {1}}}}}});
  json flow = p.RunJob("flow");
  EXPECT_EQ(flow.value("status", ""), "error");
  EXPECT_EQ(flow.value("error_kind", ""), "user");
  EXPECT_EQ(flow.value("message", ""), "phases: the dependencies form a cycle: 1 -> 2 -> 1");
}

// A flow's variables reach every task's configuration ({{ name }}); those a run is given override
// them; a task that uses a variable nobody gave fails naming it.
TEST_F(FlowJobTest, VariablesReachEveryTaskAndARunOverridesThem) {
  ProjectApi p(server_, "flow-vars");
  ASSERT_TRUE(p.ok());
  json sql = Sql({"CREATE TABLE r AS SELECT '{{ city }}' AS city, {{n}} AS n"});
  sql["storage"] = {{"output", {{"tables", {{{"source", "r"}, {"destination", "out.c-vars.r"}}}}}}};
  p.CreateConfig("t", "swan.sql-transformation", sql);
  p.CreateConfig("other", "swan.sql-transformation", Sql({"SELECT '{{ missing }}'"}));
  p.CreateConfig("flow", "keboola.orchestrator",
                 {{"phases", {{{"id", 1}}}},
                  {"tasks", {Task("t", 1, "t")}},
                  {"variables", {{"city", "Prague"}, {"n", "7"}}}});
  json flow = p.RunJob("flow");
  ASSERT_EQ(flow.value("status", ""), "success") << DescribeJob(p, flow);
  EXPECT_EQ(p.SortedRows("out.c-vars.r"), (std::vector<std::vector<std::string>>{{"Prague", "7"}}));
  EXPECT_EQ(Tasks(flow)["t"]["variables"], json({{"city", "Prague"}, {"n", "7"}}));

  json again = p.RunJob("flow", {{"variables", {{"city", "Brno"}}}});
  ASSERT_EQ(again.value("status", ""), "success") << DescribeJob(p, again);
  EXPECT_EQ(p.SortedRows("out.c-vars.r"), (std::vector<std::vector<std::string>>{{"Brno", "7"}}));

  json missing = p.RunJob("other", {{"variables", {{"city", "Brno"}}}});
  EXPECT_EQ(missing.value("status", ""), "error");
  EXPECT_NE(missing.value("message", "").find("variable 'missing'"), std::string::npos)
      << missing.dump();
  // Without variables, a configuration's text is left as it is.
  json plain = p.RunJob("other");
  EXPECT_EQ(plain.value("status", ""), "success") << DescribeJob(p, plain);
}

}  // namespace
}  // namespace swan::testing
