// Flows (orchestration/flow_definition.h, flow_plan.h): Keboola's orchestrator configuration
// parsed with field-named errors, and a run's rules driven directly: DAG order, the parallel
// limit, continueOnFailure, phase conditions, disabled tasks, stopping, rerun from failure.
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "orchestration/flow_definition.h"
#include "orchestration/flow_graph.h"
#include "orchestration/flow_plan.h"

namespace swan::orchestration {
namespace {

using nlohmann::json;

json Task(const std::string& id, const json& phase, bool continue_on_failure = false,
          bool enabled = true) {
  return {{"id", id},
          {"name", "task " + id},
          {"phase", phase},
          {"task", {{"componentId", "keboola.snowflake-transformation"}, {"configId", "c" + id}}},
          {"continueOnFailure", continue_on_failure},
          {"enabled", enabled}};
}

FlowDefinition Parse(const json& config) {
  auto flow = ParseFlow(config);
  EXPECT_TRUE(flow.ok()) << flow.status().ToString();
  return flow.ok() ? *flow : FlowDefinition{};
}

std::string ParseError(const json& config) {
  auto flow = ParseFlow(config);
  return flow.ok() ? "parsed" : flow.status().message();
}

// Runs a plan to its end: tasks finish in the order they started; `fails` lists the task ids
// that fail. Returns the ids in start order, and the largest number running at once.
struct Ran {
  std::vector<std::string> started;
  int max_running = 0;
};
Ran RunToEnd(FlowPlan& plan, const std::set<std::string>& fails = {},
             std::vector<size_t> already_running = {}) {
  Ran ran;
  std::deque<size_t> running(already_running.begin(), already_running.end());
  for (int guard = 0; guard < 10000 && !plan.Done(); ++guard) {
    for (size_t t : plan.Next()) {
      running.push_back(t);
      ran.started.push_back(plan.definition().tasks[t].id);
    }
    ran.max_running = std::max(ran.max_running, plan.running());
    if (running.empty()) break;
    const size_t t = running.front();
    running.pop_front();
    plan.Finish(t, !fails.count(plan.definition().tasks[t].id));
  }
  EXPECT_TRUE(plan.Done());
  return ran;
}

std::string State(const FlowPlan& plan, const std::string& id) {
  for (size_t t = 0; t < plan.definition().tasks.size(); ++t)
    if (plan.definition().tasks[t].id == id) return TaskStateName(plan.task_state(t));
  return "no such task";
}

// Keboola's own export: numeric ids, booleans as strings, phases listed out of order.
TEST(FlowDefinitionTest, ReadsKeboolasOrchestratorConfiguration) {
  FlowDefinition flow = Parse(json::parse(R"({
    "phases": [
      {"id": 40624, "name": "Transformations", "dependsOn": [49287]},
      {"id": 49287, "name": "Extractors", "dependsOn": []}
    ],
    "tasks": [
      {"id": 65031, "name": "keboola.ex-http-1465014", "phase": 49287,
       "task": {"componentId": "keboola.ex-http", "configId": "1465014", "mode": "j2jRun"},
       "continueOnFailure": "false", "enabled": "true"},
      {"id": 30844, "name": "python", "phase": 40624,
       "task": {"componentId": "keboola.python-transformation-v2", "configId": "1465238",
                "configRowIds": ["1", 2], "mode": "run"},
       "continueOnFailure": "true", "enabled": "false"}
    ]
  })"));
  ASSERT_EQ(flow.phases.size(), 2u);
  EXPECT_EQ(flow.phases[0].id, "49287");  // dependencies first
  EXPECT_EQ(flow.phases[1].id, "40624");
  ASSERT_EQ(flow.tasks.size(), 2u);
  EXPECT_EQ(flow.tasks[0].id, "65031");
  EXPECT_EQ(flow.tasks[0].component_id, "keboola.ex-http");
  EXPECT_EQ(flow.tasks[0].config_id, "1465014");
  EXPECT_TRUE(flow.tasks[0].enabled);
  EXPECT_FALSE(flow.tasks[0].continue_on_failure);
  EXPECT_EQ(flow.tasks[1].config_row_ids, (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(flow.tasks[1].enabled);
  EXPECT_TRUE(flow.tasks[1].continue_on_failure);
  EXPECT_EQ(flow.parallelism, kFlowParallelismDefault);
}

TEST(FlowDefinitionTest, ErrorsNameTheField) {
  const json one_phase = {{"id", 1}, {"name", "p"}};
  EXPECT_EQ(ParseError({{"phases", {one_phase}}, {"tasks", {Task("t", 2)}}}),
            "tasks[0].phase: no phase 2");
  EXPECT_EQ(ParseError({{"phases", {one_phase, one_phase}}}),
            "phases[1].id: phase 1 is defined twice");
  EXPECT_EQ(ParseError({{"phases", {{{"id", 1}, {"dependsOn", {7}}}}}}),
            "phases[0].dependsOn[0]: no phase 7");
  EXPECT_EQ(ParseError({{"phases", {{{"id", 1}, {"dependsOn", {1}}}}}}),
            "phases[0].dependsOn[0]: a phase cannot depend on itself");
  EXPECT_EQ(ParseError({{"phases",
                         {{{"id", "a"}, {"dependsOn", {"c"}}},
                          {{"id", "b"}, {"dependsOn", {"a"}}},
                          {{"id", "c"}, {"dependsOn", {"b"}}}}}}),
            "phases: the dependencies form a cycle: a -> c -> b -> a");
  EXPECT_EQ(ParseError({{"phases", {one_phase}}, {"tasks", {Task("t", 1), Task("t", 1)}}}),
            "tasks[1].id: task t is defined twice");
  json bad_flag = Task("t", 1);
  bad_flag["continueOnFailure"] = "maybe";
  EXPECT_EQ(ParseError({{"phases", {one_phase}}, {"tasks", {bad_flag}}}),
            "tasks[0].continueOnFailure: must be true or false");
  json no_component = Task("t", 1);
  no_component["task"].erase("componentId");
  EXPECT_EQ(ParseError({{"phases", {one_phase}}, {"tasks", {no_component}}}),
            "tasks[0].task.componentId: is required");
  json debug = Task("t", 1);
  debug["task"]["mode"] = "debug";
  EXPECT_EQ(ParseError({{"phases", {one_phase}}, {"tasks", {debug}}}),
            "tasks[0].task.mode: must be \"run\", not \"debug\"");
  EXPECT_EQ(ParseError({{"phases", {{{"id", 1}, {"condition", "sometimes"}}}}}),
            "phases[0].condition: must be \"success\", \"failure\" or \"always\"");
  EXPECT_EQ(ParseError({{"parallelism", 0}}), "parallelism: must be a whole number from 1 to 100");
  EXPECT_EQ(ParseError({{"parallelism", 101}}),
            "parallelism: must be a whole number from 1 to 100");
  EXPECT_EQ(ParseError({{"parallelism", 100}}), "parsed");
  EXPECT_EQ(ParseError({{"variables", {{"day", {1, 2}}}}}),
            "variables.day: must be a text, a number or true/false");
  EXPECT_EQ(ParseError(json::array()), "configuration: must be an object");
}

TEST(FlowDefinitionTest, VariablesAreText) {
  FlowDefinition flow = Parse({{"variables", {{"day", "2026-12-03"}, {"n", 3}, {"full", true}}}});
  EXPECT_EQ(flow.variables, (std::map<std::string, std::string>{
                                {"day", "2026-12-03"}, {"full", "true"}, {"n", "3"}}));
}

// A chain: each phase's tasks start only after the phase before ended.
TEST(FlowPlanTest, PhasesRunInDependencyOrder) {
  FlowPlan plan(Parse(
      {{"phases", {{{"id", 3}, {"dependsOn", {2}}}, {{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
       {"tasks", {Task("c", 3), Task("a1", 1), Task("b", 2), Task("a2", 1)}}}));
  const std::vector<size_t> first = plan.Next();
  EXPECT_EQ(first, (std::vector<size_t>{1, 3}));  // a1, a2
  EXPECT_TRUE(plan.Next().empty());               // b waits for phase 1
  Ran ran = RunToEnd(plan, {}, first);
  EXPECT_EQ(ran.started, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(plan.Outcome(), "success");
}

// 10 tasks in one phase with parallelism 4: never more than 4 at once, all of them run.
TEST(FlowPlanTest, TheParallelLimitHolds) {
  json tasks = json::array();
  for (int i = 0; i < 10; ++i) tasks.push_back(Task("t" + std::to_string(i), 1));
  FlowPlan plan(Parse({{"phases", {{{"id", 1}}}}, {"tasks", tasks}, {"parallelism", 4}}));
  EXPECT_EQ(plan.Next().size(), 4u);
  EXPECT_TRUE(plan.Next().empty());
  plan.Finish(0, true);
  EXPECT_EQ(plan.Next(), std::vector<size_t>{4});
  Ran ran = RunToEnd(plan, {}, {1, 2, 3, 4});
  EXPECT_EQ(ran.max_running, 4);
  EXPECT_EQ(ran.started.size(), 5u);  // t5..t9 after the first five
  EXPECT_EQ(plan.Outcome(), "success");
}

// Phases that do not depend on each other run side by side, within the one limit; a diamond's
// last phase waits for both branches.
TEST(FlowPlanTest, IndependentPhasesRunSideBySide) {
  FlowPlan plan(Parse({{"phases",
                        {{{"id", "a"}},
                         {{"id", "b"}, {"dependsOn", {"a"}}},
                         {{"id", "c"}, {"dependsOn", {"a"}}},
                         {{"id", "d"}, {"dependsOn", {"b", "c"}}}}},
                       {"tasks", {Task("a", "a"), Task("b", "b"), Task("c", "c"), Task("d", "d")}},
                       {"parallelism", 2}}));
  ASSERT_EQ(plan.Next(), std::vector<size_t>{0});
  plan.Finish(0, true);
  EXPECT_EQ(plan.Next(), (std::vector<size_t>{1, 2}));  // b and c together
  plan.Finish(1, true);
  EXPECT_TRUE(plan.Next().empty());  // d waits for c
  plan.Finish(2, true);
  EXPECT_EQ(plan.Next(), std::vector<size_t>{3});
  plan.Finish(3, true);
  EXPECT_TRUE(plan.Done());
}

// A failure ends the flow after its phase: later phases are skipped. With continueOnFailure
// the flow goes on and ends as a warning.
TEST(FlowPlanTest, AFailureStopsWhatFollowsUnlessItMayContinue) {
  const json phases = {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}};
  FlowPlan strict(
      Parse({{"phases", phases}, {"tasks", {Task("x", 1), Task("y", 1), Task("z", 2)}}}));
  Ran ran = RunToEnd(strict, {"x"});
  EXPECT_EQ(ran.started, (std::vector<std::string>{"x", "y"}));  // y still runs: same phase
  EXPECT_EQ(State(strict, "z"), "skipped");
  EXPECT_EQ(strict.phase_state(0), PhaseState::kFailed);
  EXPECT_EQ(strict.phase_state(1), PhaseState::kSkipped);
  EXPECT_EQ(strict.Outcome(), "error");

  FlowPlan lenient(
      Parse({{"phases", phases}, {"tasks", {Task("x", 1, true), Task("y", 1), Task("z", 2)}}}));
  ran = RunToEnd(lenient, {"x"});
  EXPECT_EQ(ran.started, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(State(lenient, "x"), "error");
  EXPECT_EQ(lenient.Outcome(), "warning");
}

// A "failure" phase runs when something before it failed, even through a skipped phase; an
// "always" phase runs either way.
TEST(FlowPlanTest, PhaseConditions) {
  const json config = {{"phases",
                        {{{"id", "load"}},
                         {{"id", "publish"}, {"dependsOn", {"load"}}},
                         {{"id", "alert"}, {"dependsOn", {"publish"}}, {"condition", "failure"}},
                         {{"id", "cleanup"}, {"dependsOn", {"publish"}}, {"condition", "always"}}}},
                       {"tasks",
                        {Task("load", "load"), Task("publish", "publish"), Task("alert", "alert"),
                         Task("cleanup", "cleanup")}}};
  FlowPlan failing(Parse(config));
  Ran ran = RunToEnd(failing, {"load"});
  EXPECT_EQ(ran.started, (std::vector<std::string>{"load", "alert", "cleanup"}));
  EXPECT_EQ(State(failing, "publish"), "skipped");
  EXPECT_EQ(failing.Outcome(), "error");  // the alert ran; the flow still failed

  FlowPlan passing(Parse(config));
  ran = RunToEnd(passing);
  EXPECT_EQ(ran.started, (std::vector<std::string>{"load", "publish", "cleanup"}));
  EXPECT_EQ(State(passing, "alert"), "skipped");
  EXPECT_EQ(passing.Outcome(), "success");
}

TEST(FlowPlanTest, DisabledTasksNeverRun) {
  FlowPlan plan(Parse({{"phases", {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
                       {"tasks", {Task("off", 1, false, false), Task("on", 2)}}}));
  Ran ran = RunToEnd(plan);
  EXPECT_EQ(ran.started, std::vector<std::string>{"on"});
  EXPECT_EQ(State(plan, "off"), "disabled");
  EXPECT_EQ(plan.Outcome(), "success");
}

// A cancelled flow starts nothing more; what runs may end; the outcome is an error.
TEST(FlowPlanTest, StopSkipsWhatWaits) {
  FlowPlan plan(Parse({{"phases", {{{"id", 1}}, {{"id", 2}, {"dependsOn", {1}}}}},
                       {"tasks", {Task("a", 1), Task("b", 1), Task("c", 2)}},
                       {"parallelism", 1}}));
  ASSERT_EQ(plan.Next(), std::vector<size_t>{0});
  plan.Stop();
  EXPECT_TRUE(plan.Next().empty());
  EXPECT_FALSE(plan.Done());  // a still runs
  plan.Finish(0, true);
  EXPECT_TRUE(plan.Done());
  EXPECT_EQ(State(plan, "b"), "skipped");
  EXPECT_EQ(State(plan, "c"), "skipped");
  EXPECT_EQ(plan.Outcome(), "error");
}

// Rerun from failure: the failed task and every phase after it run again; the rest is reused,
// including the task that succeeded beside it and an independent branch.
TEST(FlowPlanTest, RerunFromFailureRunsOnlyFailedAndDownstream) {
  const json config = {{"phases",
                        {{{"id", "extract"}},
                         {{"id", "transform"}, {"dependsOn", {"extract"}}},
                         {{"id", "deliver"}, {"dependsOn", {"transform"}}},
                         {{"id", "side"}}}},
                       {"tasks",
                        {Task("ex", "extract"), Task("tr1", "transform"), Task("tr2", "transform"),
                         Task("wr", "deliver"), Task("side", "side")}}};
  FlowPlan first(Parse(config));
  RunToEnd(first, {"tr2"});
  ASSERT_EQ(first.Outcome(), "error");
  std::map<std::string, TaskState> previous;
  for (size_t t = 0; t < first.definition().tasks.size(); ++t)
    previous[first.definition().tasks[t].id] = first.task_state(t);
  EXPECT_EQ(previous["wr"], TaskState::kSkipped);

  auto rerun = FlowPlan::RerunFromFailure(Parse(config), previous);
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  Ran ran = RunToEnd(*rerun);
  EXPECT_EQ(ran.started, (std::vector<std::string>{"tr2", "wr"}));
  EXPECT_EQ(State(*rerun, "ex"), "reused");
  EXPECT_EQ(State(*rerun, "tr1"), "reused");
  EXPECT_EQ(State(*rerun, "side"), "reused");
  EXPECT_EQ(rerun->Outcome(), "success");

  // A run where everything succeeded has nothing to rerun.
  for (auto& [id, state] : previous) state = TaskState::kSucceeded;
  auto nothing = FlowPlan::RerunFromFailure(Parse(config), previous);
  EXPECT_EQ(nothing.status().code(), StatusCode::kConflict);
}

// 100 tasks in 10 phases of 10 with parallelism 4 (the benchmark's shape): all run, in order,
// never more than 4 at once.
TEST(FlowPlanTest, TenPhasesOfTen) {
  json phases = json::array(), tasks = json::array();
  for (int p = 0; p < 10; ++p) {
    json phase = {{"id", p}};
    if (p > 0) phase["dependsOn"] = {p - 1};
    phases.push_back(phase);
    for (int t = 0; t < 10; ++t) tasks.push_back(Task(std::to_string(p * 10 + t), p));
  }
  FlowPlan plan(Parse({{"phases", phases}, {"tasks", tasks}, {"parallelism", 4}}));
  Ran ran = RunToEnd(plan);
  ASSERT_EQ(ran.started.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran.started[i], std::to_string(i));
  EXPECT_EQ(ran.max_running, 4);
  EXPECT_EQ(plan.Outcome(), "success");
}

// The graph as JSON and Mermaid: phases in dependency order with their tasks, an edge per
// dependency, conditions on the arrows, ids that are not Mermaid-safe escaped.
TEST(FlowGraphTest, JsonAndMermaid) {
  json task = Task("t 1", "load");
  task["name"] = "orders \"daily\"";
  FlowDefinition flow = Parse(
      {{"phases",
        {{{"id", "alert"}, {"name", "Alert"}, {"dependsOn", {"load"}}, {"condition", "failure"}},
         {{"id", "load"}, {"name", "Load"}}}},
       {"tasks", {task}}});
  json graph = FlowGraphJson(flow);
  EXPECT_EQ(graph["phases"][0]["id"], "load");
  EXPECT_EQ(graph["phases"][0]["tasks"][0]["configId"], "ct 1");
  EXPECT_EQ(graph["phases"][1]["condition"], "failure");
  EXPECT_EQ(graph["edges"], json::parse(R"([{"from":"load","to":"alert","condition":"failure"}])"));
  EXPECT_EQ(FlowGraphMermaid(flow),
            "flowchart TD\n"
            "  subgraph phase_load[\"Load\"]\n"
            "    task_t_201[\"orders #quot;daily#quot; (keboola.snowflake-transformation ct 1)\"]\n"
            "  end\n"
            "  subgraph phase_alert[\"Alert\"]\n"
            "    empty_alert[\"no tasks\"]\n"
            "  end\n"
            "  phase_load -- on failure --> phase_alert\n");
}

}  // namespace
}  // namespace swan::orchestration
