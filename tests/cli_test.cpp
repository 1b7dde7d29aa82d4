// End-to-end tests of the `swan` CLI: the real binary against a real server child process.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

// How a table is named in SQL. One place, so a change of the server's naming is one edit.
constexpr const char* kOrdersSql = "\"in.sales.orders\"";

// Asserts the failure contract: the exit code and exactly one "swan: error: " line on stderr.
void ExpectOneErrorLine(const CommandResult& r, int exit_code) {
  EXPECT_EQ(r.exit_code, exit_code) << "stdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_EQ(r.err.rfind("swan: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

std::string Swan(const std::string& args) { return ShellQuote(SWAN_BINARY) + " " + args; }

// A server shared by the tests of this suite (starting one costs ~a second).
class CliTest : public SharedServerTest {
 protected:
  // Runs `swan <args>` against the shared server with `token`, without any SWAN_* environment.
  CommandResult Run(const std::string& args, const std::string& token) {
    return RunCommand("env -u SWAN_URL -u SWAN_TOKEN -u SWAN_PROJECT " + Swan(args) + " --url " +
                      ShellQuote(server_->url()) + " --token " + ShellQuote(token));
  }
  // Like Run, and expects success; returns stdout.
  std::string RunOk(const std::string& args, const std::string& token) {
    CommandResult r = Run(args, token);
    EXPECT_EQ(r.exit_code, 0) << "swan " << args << "\nstdout: " << r.out << "\nstderr: " << r.err
                              << "\nserver log: " << server_->Log();
    return r.out;
  }
  json RunJson(const std::string& args, const std::string& token) {
    const std::string out = RunOk(args + " --json", token);
    json parsed = json::parse(out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << out;
    return parsed;
  }

  TempDir files_;
};

TEST(CliNoServerTest, VersionAndHelp) {
  CommandResult version = RunCommand(Swan("--version"));
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "swan 0.1.0\n");

  CommandResult help = RunCommand(Swan("table import --help"));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--primary-key"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Examples:"), std::string::npos) << help.out;

  CommandResult sql_help = RunCommand(Swan("sql --help"));
  EXPECT_EQ(sql_help.exit_code, 0);
  EXPECT_NE(sql_help.out.find("Examples:"), std::string::npos) << sql_help.out;
}

// The newcomer's first command: the demo runs its pipeline end to end, the flow included, and
// delivers the report file.
TEST(CliNoServerTest, DemoRunsThePipelineAndItsFlow) {
  TempDir dir;
  CommandResult r = RunCommand(Swan("demo --data " + ShellQuote(dir.path() + "/data") +
                                    " --listen 127.0.0.1:0 --rows 500 --exit"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4 tasks succeeded, 0 failed, 0 skipped"), std::string::npos) << r.out;
  // The extract phase read the shop's SQLite database.
  EXPECT_NE(r.out.find("in.shop.cities"), std::string::npos) << r.out;
  // The flow's schedule is saved, and its next run times shown.
  EXPECT_NE(r.out.find("next runs: 20"), std::string::npos) << r.out;
  std::ifstream report(dir.path() + "/data/exports/demo/reports/city_totals.csv");
  std::string header;
  std::getline(report, header);
  EXPECT_EQ(header, "city,revenue");
}

TEST(CliNoServerTest, UsageErrorIsOneLine) {
  ExpectOneErrorLine(RunCommand(Swan("table import")), 1);
  ExpectOneErrorLine(RunCommand(Swan("no-such-command")), 1);
}

TEST(CliNoServerTest, MissingTokenIsAClearError) {
  CommandResult r = RunCommand("env -u SWAN_TOKEN -u SWAN_PROJECT " +
                               Swan("table list --url http://127.0.0.1:1"));
  ExpectOneErrorLine(r, 1);
  EXPECT_NE(r.err.find("SWAN_TOKEN"), std::string::npos) << r.err;
}

TEST(CliNoServerTest, UnreachableServerExitsTwo) {
  // Port 1 on loopback: nothing listens there (and it needs root to bind).
  CommandResult r = RunCommand("env -u SWAN_PROJECT " +
                               Swan("table list --url http://127.0.0.1:1 --token swan_x"));
  ExpectOneErrorLine(r, 2);
  EXPECT_NE(r.err.find("cannot reach Swan at http://127.0.0.1:1"), std::string::npos) << r.err;
}

TEST_F(CliTest, AdminTokenWithoutProjectAsksForProject) {
  CommandResult r = Run("bucket list", server_->admin_token());
  ExpectOneErrorLine(r, 1);
  EXPECT_NE(r.err.find("--project"), std::string::npos) << r.err;
}

TEST_F(CliTest, ImportPreviewExportRestoreSqlTokens) {
  const std::string admin = server_->admin_token();

  // Project: its master token comes from the --json answer.
  json created = RunJson("project create clidemo --description 'CLI test'", admin);
  ASSERT_TRUE(created.contains("token")) << created.dump();
  const std::string master = created["token"].value("secret", "");
  ASSERT_EQ(master.rfind("swan_", 0), 0u) << created.dump();
  EXPECT_NE(RunOk("project list", admin).find("clidemo"), std::string::npos);

  // Bucket, in the project of the master token (no --project given).
  RunOk("bucket create in.sales --description orders", master);
  EXPECT_NE(RunOk("bucket list", master).find("in.sales"), std::string::npos);
  // The admin token works too, with an explicit project.
  EXPECT_NE(RunOk("bucket list --project clidemo", admin).find("in.sales"), std::string::npos);

  // Full import creates the table.
  const std::string orders = files_.path() + "/orders.csv";
  WriteFile(orders, "id,name,amount\n1,apple,10.5\n2,pear,20.25\n3,plum,30\n");
  const std::string imported =
      RunOk("table import in.sales.orders " + ShellQuote(orders) + " --primary-key id", master);
  EXPECT_NE(imported.find("read as csv, from the file name"), std::string::npos) << imported;

  json table = RunJson("table show in.sales.orders", master)["table"];
  EXPECT_EQ(table.value("row_count", -1), 3) << table.dump();
  const int64_t full_version = table.value("version", int64_t{-1});
  ASSERT_GT(full_version, 0) << table.dump();
  EXPECT_EQ(table["primary_key"], json::array({"id"})) << table.dump();
  const std::string list = RunOk("table list", master);
  EXPECT_NE(list.find("ROWS"), std::string::npos) << list;
  EXPECT_NE(list.find("in.sales.orders"), std::string::npos) << list;

  // Incremental import with the primary key: an upsert.
  const std::string changes = files_.path() + "/changes.csv";
  WriteFile(changes, "id,name,amount\n2,pear,22.5\n4,kiwi,40\n");
  RunOk("table import in.sales.orders " + ShellQuote(changes) + " --incremental", master);

  json preview = RunJson("table preview in.sales.orders", master);
  ASSERT_TRUE(preview.contains("rows")) << preview.dump();
  EXPECT_EQ(preview["rows"].size(), 4u) << preview.dump();
  EXPECT_FALSE(preview.value("truncated", true));
  std::set<std::string> names;
  for (const auto& row : preview["rows"]) names.insert(row[1].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"apple", "pear", "plum", "kiwi"}));
  for (const auto& row : preview["rows"]) {
    if (row[0] == 2) {
      EXPECT_DOUBLE_EQ(row[2].get<double>(), 22.5) << row.dump();
    }
  }
  const std::string grid = RunOk("table preview in.sales.orders --limit 2", master);
  EXPECT_NE(grid.find("amount"), std::string::npos) << grid;
  EXPECT_NE(grid.find("(truncated)"), std::string::npos) << grid;

  // Versions, newest first.
  json versions = RunJson("table versions in.sales.orders", master)["versions"];
  ASSERT_GE(versions.size(), 2u) << versions.dump();
  EXPECT_EQ(versions[0].value("operation", ""), "import_incremental") << versions.dump();
  EXPECT_GT(versions[0].value("version", int64_t{0}), full_version);
  const std::string versions_text = RunOk("table versions in.sales.orders", master);
  EXPECT_NE(versions_text.find("OPERATION"), std::string::npos) << versions_text;
  EXPECT_NE(versions_text.find("import_full"), std::string::npos) << versions_text;

  // Export to a file: the same rows as the upserted data.
  const std::string exported = files_.path() + "/export.csv";
  RunOk("table export in.sales.orders -o " + ShellQuote(exported), master);
  EXPECT_EQ(SortedLines(ReadFile(exported)),
            SortedLines("id,name,amount\n1,apple,10.5\n2,pear,22.5\n3,plum,30.0\n4,kiwi,40.0\n"))
      << ReadFile(exported);
  // A filtered export to stdout.
  CommandResult filtered =
      Run("table export in.sales.orders --where name=kiwi,plum --columns id", master);
  EXPECT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_EQ(SortedLines(filtered.out), SortedLines("id\n3\n4\n"));

  // Restore the full import: back to three rows and the old amount.
  RunOk("table restore in.sales.orders " + std::to_string(full_version), master);
  json restored = RunJson("table preview in.sales.orders", master);
  EXPECT_EQ(restored["rows"].size(), 3u) << restored.dump();
  for (const auto& row : restored["rows"]) {
    if (row[0] == 2) {
      EXPECT_DOUBLE_EQ(row[2].get<double>(), 20.25) << row.dump();
    }
  }

  // SQL, JSON and CSV.
  const std::string count_sql = ShellQuote(std::string("SELECT count(*) AS n FROM ") + kOrdersSql);
  json result = RunJson("sql " + count_sql, master);
  ASSERT_TRUE(result.contains("rows")) << result.dump();
  EXPECT_EQ(result["rows"][0][0], 3) << result.dump();
  const std::string csv = RunOk("sql " + count_sql + " --format csv", master);
  EXPECT_EQ(SortedLines(csv), SortedLines("n\n3\n")) << csv;
  CommandResult from_stdin = RunCommand(
      "echo 'SELECT 42 AS answer' | env -u SWAN_PROJECT " +
      Swan("sql - --url " + ShellQuote(server_->url()) + " --token " + ShellQuote(master)));
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_NE(from_stdin.out.find("42"), std::string::npos) << from_stdin.out;
  ExpectOneErrorLine(Run("sql 'SELEC nonsense'", master), 1);

  // A read-only token: reads work, a write fails with exit 1 and one error line.
  json scoped = RunJson("token create --description reader --read in.sales", master);
  const std::string reader = scoped["token"].value("secret", "");
  ASSERT_EQ(reader.rfind("swan_", 0), 0u) << scoped.dump();
  RunOk("table preview in.sales.orders --project clidemo", reader);
  CommandResult denied =
      Run("table import in.sales.orders " + ShellQuote(orders) + " --project clidemo", reader);
  ExpectOneErrorLine(denied, 1);
  EXPECT_NE(RunOk("token list", master).find("reader"), std::string::npos);

  // Not found is a user error too.
  ExpectOneErrorLine(Run("table show in.sales.nope", master), 1);
}

TEST_F(CliTest, ImportSaysHowTheFileWasReadAndWhatWasRenamed) {
  json created = RunJson("project create clidialect", server_->admin_token());
  const std::string master = created["token"].value("secret", "");
  ASSERT_EQ(master.rfind("swan_", 0), 0u) << created.dump();
  const std::string file = files_.path() + "/prices.csv";
  WriteFile(file, "Product Name;Unit Price\nApple;1.5\nPear;2.5\n");
  const std::string out = RunOk("table import in.c.prices " + ShellQuote(file), master);
  EXPECT_NE(out.find("delimiter ';'"), std::string::npos) << out;
  EXPECT_NE(out.find("(detected)"), std::string::npos) << out;
  EXPECT_NE(out.find("Renamed 2 columns"), std::string::npos) << out;
  EXPECT_NE(out.find("'Product Name' -> Product_Name"), std::string::npos) << out;
  json table = RunJson("table show in.c.prices", master)["table"];
  EXPECT_EQ(table.value("row_count", -1), 2) << table.dump();

  // Skipped rows are listed with their lines.
  const std::string bad = files_.path() + "/bad.csv";
  WriteFile(bad, "a,b\n1,2\n3,4,\n5,6\n");
  const std::string skipped =
      RunOk("table import in.c.bad " + ShellQuote(bad) + " --on-bad-rows skip", master);
  EXPECT_NE(skipped.find("Skipped 1 bad row"), std::string::npos) << skipped;
  EXPECT_NE(skipped.find("line 3"), std::string::npos) << skipped;
}

// Flows from the CLI: create from a file, run and follow, show the tasks, the graph in Mermaid
// and JSON, and a rerun from failure once the failing configuration is fixed.
TEST_F(CliTest, FlowCreateRunShowGraphRerun) {
  const std::string admin = server_->admin_token();
  json created = RunJson("project create cliflow", admin);
  const std::string master = created["token"].value("secret", "");
  ASSERT_FALSE(master.empty());
  auto sql_config = [&](const std::string& id, const std::string& sql) {
    const std::string path = files_.path() + "/" + id + ".json";
    std::ofstream(path)
        << json{{"parameters",
                 {{"blocks", {{{"name", "b"}, {"codes", {{{"name", "c"}, {"script", {sql}}}}}}}}}}}
               .dump();
    return path;
  };
  RunOk("config create swan.sql-transformation --id ok --file " + sql_config("ok", "SELECT 1"),
        master);
  RunOk("config create swan.sql-transformation --id bad --file " +
            sql_config("bad", "SELECT * FROM missing_table"),
        master);
  const std::string flow_file = files_.path() + "/flow.json";
  std::ofstream(flow_file) << R"({"phases": [{"id": 1, "name": "first"},
      {"id": 2, "name": "second", "dependsOn": [1]}],
    "tasks": [{"id": "a", "phase": 1, "task": {"componentId": "swan.sql-transformation", "configId": "ok"}},
              {"id": "b", "phase": 2, "task": {"componentId": "swan.sql-transformation", "configId": "bad"}}]})";
  RunOk("flow create nightly --file " + flow_file, master);
  EXPECT_NE(RunOk("flow list", master).find("nightly"), std::string::npos);

  CommandResult ran = Run("flow run nightly --wait", master);
  EXPECT_EQ(ran.exit_code, 1) << ran.out << ran.err;  // a task's user error fails the flow
  EXPECT_NE(ran.out.find("task b: job"), std::string::npos) << ran.out << ran.err;
  json jobs = RunJson("job list --config nightly", master);
  const int64_t flow_job = jobs["jobs"][0].value("id", int64_t{0});
  const std::string shown = RunOk("flow show " + std::to_string(flow_job), master);
  EXPECT_NE(shown.find("error"), std::string::npos) << shown;
  EXPECT_NE(shown.find("Catalog Error"), std::string::npos) << shown;

  const std::string mermaid = RunOk("flow graph nightly", master);
  EXPECT_EQ(mermaid.rfind("flowchart TD\n", 0), 0u) << mermaid;
  EXPECT_NE(mermaid.find("phase_1 --> phase_2"), std::string::npos) << mermaid;
  json graph = RunJson("flow graph nightly --format json", master);
  EXPECT_EQ(graph["edges"].size(), 1u) << graph.dump();

  RunOk("config edit bad --file " + sql_config("fixed", "SELECT 2"), master);
  const std::string rerun = RunOk("flow rerun " + std::to_string(flow_job) + " --wait", master);
  EXPECT_NE(rerun.find("ended success"), std::string::npos) << rerun;
  EXPECT_NE(rerun.find("1 reused"), std::string::npos) << rerun;
}

// Schedules and triggers from the CLI against a real server on the real clock: a trigger fires
// by itself (the server's scheduler thread) once its table has new data.
TEST_F(CliTest, ScheduleAndTriggerCommands) {
  const std::string admin = server_->admin_token();
  json created = RunJson("project create clisched", admin);
  const std::string master = created["token"].value("secret", "");
  ASSERT_FALSE(master.empty());
  const std::string sql = files_.path() + "/t.json";
  std::ofstream(sql) << json{{"parameters",
                              {{"blocks",
                                {{{"name", "b"},
                                  {"codes", {{{"name", "c"}, {"script", {"SELECT 1"}}}}}}}}}}}
                            .dump();
  RunOk("config create swan.sql-transformation --id t --file " + sql, master);

  RunOk("schedule create nightly --cron '30 2 * * *' --timezone Europe/Prague --config t", master);
  EXPECT_NE(RunOk("schedule list", master).find("nightly"), std::string::npos);
  json shown = RunJson("schedule show nightly --next 3", master)["schedule"];
  EXPECT_EQ(shown.value("state", ""), "enabled");
  ASSERT_EQ(shown["next_runs"].size(), 3u) << shown.dump();
  RunOk("schedule disable nightly", master);
  shown = RunJson("schedule show nightly", master)["schedule"];
  EXPECT_EQ(shown.value("state", ""), "disabled");
  EXPECT_TRUE(shown["next_runs"].empty());
  const std::string preview =
      RunOk("schedule preview '0 9 * * 1-5' --timezone America/New_York --next 2", master);
  EXPECT_EQ(std::count(preview.begin(), preview.end(), '\n'), 2) << preview;
  CommandResult bad = Run("schedule create --cron '0 25 * * *' --config t", master);
  ExpectOneErrorLine(bad, 1);
  EXPECT_NE(bad.err.find("schedule.cronTab"), std::string::npos) << bad.err;
  CommandResult run_it = Run("run nightly", master);
  ExpectOneErrorLine(run_it, 1);

  const std::string csv = files_.path() + "/x.csv";
  std::ofstream(csv) << "id\n1\n";
  RunOk("table import in.s.x " + ShellQuote(csv), master);
  RunOk("trigger create on-x --config t --table in.s.x --cooldown 0", master);
  EXPECT_NE(RunOk("trigger list", master).find("in.s.x v1"), std::string::npos);
  EXPECT_EQ(RunJson("job list --config t", master)["jobs"].size(), 0u);
  RunOk("table import in.s.x " + ShellQuote(csv) + " --incremental", master);
  json jobs;
  for (int i = 0; i < 100; ++i) {  // the scheduler looks every second
    jobs = RunJson("job list --config t", master)["jobs"];
    if (!jobs.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(jobs.size(), 1u) << "the trigger did not fire";
  RunOk("trigger disable on-x", master);
  RunOk("trigger delete on-x", master);
  RunOk("schedule delete nightly", master);
}

}  // namespace
}  // namespace swan::testing
