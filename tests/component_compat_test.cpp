// Compatibility with Keboola's own Python library: a component written on PyPI `keboola.component`
// (tests/components/keboola_compat/main.py, the library installed by scripts/setup_compat.sh into
// third_party/keboola-component/lib) runs unchanged as a Swan component. It reads an input table
// and its state, writes two output tables with manifests (one incremental with a primary key) and
// a new state; both tables land, and a second run sees the first run's state and upserts.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

constexpr const char* kComponentId = "swan-test.keboola-compat";

// The repository, from this file's path (<repo>/tests/component_compat_test.cpp).
std::string RepoDir() {
  const std::string file = __FILE__;
  return file.substr(0, file.rfind("/tests/"));
}

std::string SourceDir() { return RepoDir() + "/tests/components/keboola_compat"; }
std::string LibraryDir() { return RepoDir() + "/third_party/keboola-component/lib"; }

// Installs the component into the server's registry folder: <data>/components/keboola_compat.json
// and its code folder keboola_compat/ with main.py and a copy of the library in lib/ (the code
// folder is mounted read-only at /code; a link to the library outside it would not resolve in
// the sandbox). `cp -a` keeps the files' times, so the library's compiled .pyc files stay valid.
::testing::AssertionResult InstallComponent(const std::string& data_dir) {
  const std::string components = data_dir + "/components";
  const std::string code = components + "/keboola_compat";
  if (std::filesystem::exists(code + "/lib/keboola/component/base.py"))
    return ::testing::AssertionSuccess();
  std::error_code ec;
  std::filesystem::create_directories(code, ec);
  if (ec) return ::testing::AssertionFailure() << "mkdir " << code << ": " << ec.message();
  CommandResult copied =
      RunCommand("cp -a " + ShellQuote(LibraryDir()) + " " + ShellQuote(code + "/lib") + " && cp " +
                 ShellQuote(SourceDir() + "/main.py") + " " + ShellQuote(code));
  if (copied.exit_code != 0)
    return ::testing::AssertionFailure() << "copying the component: " << copied.err;
  const std::string registry = ReadFile(SourceDir() + "/component.json");
  if (registry.empty())
    return ::testing::AssertionFailure() << "missing " << SourceDir() << "/component.json";
  WriteFile(components + "/keboola_compat.json", registry);
  return ::testing::AssertionSuccess();
}

class ComponentCompatTest : public SharedServerTest {
 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    // Never a skip: without the library this test proves nothing, so it fails and says why.
    ASSERT_TRUE(std::filesystem::exists(LibraryDir() + "/keboola/component/base.py"))
        << "keboola.component is not installed in " << LibraryDir()
        << ": run scripts/setup_compat.sh (scripts/test.sh runs it before ctest)";
    ASSERT_TRUE(InstallComponent(server_->data_dir()));
  }

  // A project with the input table in.c-shop.orders (primary key id).
  static void ImportOrders(const ProjectApi& project, const std::string& csv) {
    project.ImportCsv("in.c-shop.orders", csv, "primary_key=id");
  }
};

TEST_F(ComponentCompatTest, KeboolaComponentRunsUnchangedWithStateAndIncrementalOutput) {
  ProjectApi project(*server_, "compat");
  ASSERT_TRUE(project.ok());
  ImportOrders(project, "id,customer,amount\n1,alice,1050\n2,bob,2000\n3,carol,725\n");
  project.CreateConfig(
      "daily", kComponentId,
      {{"parameters", {{"label", "nightly"}}},
       {"storage",
        {{"input", {{"tables", {{{"source", "in.c-shop.orders"}, {"destination", "orders.csv"}}}}}},
         // runs.csv takes its destination from here; orders_seen.csv from its manifest.
         {"output",
          {{"tables", {{{"source", "runs.csv"}, {"destination", "out.c-compat.runs"}}}}}}}}});

  // First run: no state yet.
  json job = project.RunJob("daily");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);
  std::string log = project.JobLog(job.value("id", int64_t{0}));
  EXPECT_NE(log.find("state read: {}"), std::string::npos) << log;
  EXPECT_NE(log.find("input mapping in.c-shop.orders -> orders.csv"), std::string::npos) << log;
  EXPECT_NE(log.find("input orders (in.c-shop.orders): columns ['id', 'customer', 'amount'], "
                     "primary key ['id']"),
            std::string::npos)
      << "the input manifest, as the library read it\n"
      << log;

  EXPECT_EQ(project.Columns("out.c-compat.runs"),
            (std::vector<std::string>{"run", "previous_state", "input_rows", "label"}));
  EXPECT_EQ(project.SortedRows("out.c-compat.runs"), (Rows{{"1", "{}", "3", "nightly"}}));
  EXPECT_EQ(project.Columns("out.c-compat.orders_seen"),
            (std::vector<std::string>{"id", "customer", "amount", "seen_in_run"}));
  EXPECT_EQ(
      project.SortedRows("out.c-compat.orders_seen"),
      (Rows{{"1", "alice", "1050", "1"}, {"2", "bob", "2000", "1"}, {"3", "carol", "725", "1"}}));
  EXPECT_EQ(project.Table("out.c-compat.orders_seen").value("primary_key", json()),
            json::array({"id"}));
  EXPECT_EQ(project.State("daily"), json({{"runs", 1}, {"last_id", 3}}));

  // The source changes: order 2 changed, 1 gone, 4 new. The second run (debug: its folder is kept
  // with the manifests the library wrote) sees the first run's state, and the incremental table
  // is upserted by its key: order 1 stays from run 1, 2 and 3 are replaced, 4 is added.
  ImportOrders(project, "id,customer,amount\n2,bob,2500\n3,carol,725\n4,dave,990\n");
  job = project.RunJob("daily", {{"debug", true}});
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);
  const int64_t job_id = job.value("id", int64_t{0});
  log = project.JobLog(job_id);
  EXPECT_NE(log.find("state read: {\"last_id\": 3, \"runs\": 1}"), std::string::npos) << log;

  EXPECT_EQ(project.SortedRows("out.c-compat.runs"),
            (Rows{{"2", "{\"last_id\": 3, \"runs\": 1}", "3", "nightly"}}));
  EXPECT_EQ(project.SortedRows("out.c-compat.orders_seen"), (Rows{{"1", "alice", "1050", "1"},
                                                                  {"2", "bob", "2500", "2"},
                                                                  {"3", "carol", "725", "2"},
                                                                  {"4", "dave", "990", "2"}}));
  EXPECT_EQ(project.Table("out.c-compat.orders_seen").value("primary_key", json()),
            json::array({"id"}));
  EXPECT_EQ(project.State("daily"), json({{"runs", 2}, {"last_id", 4}}));

  // What the library wrote in Swan's environment (KBC_STACKID set, KBC_DATA_TYPE_SUPPORT none):
  // Keboola's legacy manifest format, keeping incremental and the primary key.
  const std::string out = server_->data_dir() + "/jobs/" + std::to_string(job_id) + "/data/out";
  json seen = json::parse(ReadFile(out + "/tables/orders_seen.csv.manifest"), nullptr, false);
  ASSERT_TRUE(seen.is_object()) << out;
  EXPECT_EQ(seen.value("destination", ""), "out.c-compat.orders_seen") << seen.dump();
  EXPECT_EQ(seen.value("incremental", false), true) << seen.dump();
  EXPECT_EQ(seen.value("primary_key", json()), json::array({"id"})) << seen.dump();
  EXPECT_FALSE(seen.contains("schema")) << seen.dump();
  json runs = json::parse(ReadFile(out + "/tables/runs.csv.manifest"), nullptr, false);
  ASSERT_TRUE(runs.is_object()) << out;
  EXPECT_FALSE(runs.value("incremental", false)) << runs.dump();
  // KBC_COMPONENT_RUN_MODE is "run" even for a debug job: the library records no HTTP cassette.
  EXPECT_TRUE(std::filesystem::is_empty(out + "/files")) << out << "/files";
  std::error_code ec;
  std::filesystem::remove_all(server_->data_dir() + "/jobs/" + std::to_string(job_id), ec);
}

// Keboola's API lets an input mapping leave out `destination`; the library then still reads
// `destination` from config.json (Configuration.tables_input_mapping raises KeyError without
// it), so Swan writes the file name it chose there.
TEST_F(ComponentCompatTest, InputMappingWithoutDestinationNamesTheFileSwanWrote) {
  ProjectApi project(*server_, "compat-nodest");
  ASSERT_TRUE(project.ok());
  ImportOrders(project, "id,customer,amount\n1,alice,1050\n");
  project.CreateConfig(
      "plain", kComponentId,
      {{"parameters", {{"label", "plain"}}},
       {"storage",
        {{"input", {{"tables", {{{"source", "in.c-shop.orders"}}}}}},
         {"output",
          {{"tables", {{{"source", "runs.csv"}, {"destination", "out.c-compat.runs"}}}}}}}}});
  json job = project.RunJob("plain");
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);
  EXPECT_EQ(project.SortedRows("out.c-compat.runs"), (Rows{{"1", "{}", "1", "plain"}}));
}

// A table the component defines by a typed schema: Swan's environment (KBC_STACKID set,
// KBC_DATA_TYPE_SUPPORT=none) makes the library write Keboola's legacy manifest, which carries no
// types (Swan infers them); a configuration's storage.output.data_type_support "authoritative"
// makes it write the `schema` manifest, and the types and key land as declared.
TEST_F(ComponentCompatTest, TypedSchemaFollowsTheDataTypeSupport) {
  ProjectApi project(*server_, "compat-typed");
  ASSERT_TRUE(project.ok());
  ImportOrders(project, "id,customer,amount\n1,alice,1050\n2,bob,2000\n3,alice,725\n");
  auto configuration = [](const json& data_type_support) {
    json output = {{"tables", {{{"source", "runs.csv"}, {"destination", "out.c-compat.runs"}}}}};
    if (!data_type_support.is_null()) output["data_type_support"] = data_type_support;
    return json{{"parameters", {{"label", "typed"}, {"typed_totals", true}}},
                {"storage",
                 {{"input",
                   {{"tables", {{{"source", "in.c-shop.orders"}, {"destination", "orders.csv"}}}}}},
                  {"output", output}}}};
  };
  auto manifest = [&](const json& job) {
    const std::string dir =
        server_->data_dir() + "/jobs/" + std::to_string(job.value("id", int64_t{0}));
    json m = json::parse(ReadFile(dir + "/data/out/tables/totals.csv.manifest"), nullptr, false);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return m;
  };
  auto types = [&](const std::string& table) {
    std::map<std::string, std::string> out;
    for (const auto& c : project.Table(table).value("columns", json::array()))
      out[c.value("name", "")] = c.value("type", "");
    return out;
  };

  // Swan's default: the legacy format, with the header and the key, without types.
  project.CreateConfig("default", kComponentId, configuration(nullptr));
  json job = project.RunJob("default", {{"debug", true}});
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);
  json m = manifest(job);
  ASSERT_TRUE(m.is_object()) << DescribeJob(project, job);
  EXPECT_FALSE(m.contains("schema")) << m.dump();
  EXPECT_EQ(m.value("primary_key", json()), json::array({"customer"})) << m.dump();
  EXPECT_EQ(project.Columns("out.c-compat.totals"),
            (std::vector<std::string>{"customer", "orders", "total"}));
  EXPECT_EQ(project.Table("out.c-compat.totals").value("primary_key", json()),
            json::array({"customer"}));

  // The configuration asks for typed manifests.
  project.Ok("DELETE", project.Path("/tables/out.c-compat.totals"));
  project.CreateConfig("typed", kComponentId, configuration("authoritative"));
  job = project.RunJob("typed", {{"debug", true}});
  ASSERT_EQ(job.value("status", ""), "success") << DescribeJob(project, job);
  m = manifest(job);
  ASSERT_TRUE(m.is_object()) << DescribeJob(project, job);
  EXPECT_TRUE(m.contains("schema")) << m.dump();
  EXPECT_EQ(m.value("has_header", false), true) << m.dump();
  EXPECT_EQ(project.Columns("out.c-compat.totals"),
            (std::vector<std::string>{"customer", "orders", "total"}));
  EXPECT_EQ(types("out.c-compat.totals"),
            (std::map<std::string, std::string>{
                {"customer", "VARCHAR"}, {"orders", "BIGINT"}, {"total", "DECIMAL(38,2)"}}));
  EXPECT_EQ(project.Table("out.c-compat.totals").value("primary_key", json()),
            json::array({"customer"}));
  EXPECT_EQ(project.SortedRows("out.c-compat.totals"),
            (Rows{{"alice", "2", "17.75"}, {"bob", "1", "20.00"}}));
}

}  // namespace
}  // namespace swan::testing
