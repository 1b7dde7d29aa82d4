// Mappings through real jobs: files by tag (out/files -> in/files, never across projects),
// delete_where from a manifest and from the output mapping, and the input mapping's selections
// (columns, where, limit, pinned version) seen by a SQL transformation.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "component_test_util.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

json PythonConfig(const std::string& script, json storage = json::object()) {
  return {{"storage", std::move(storage)},
          {"parameters",
           {{"blocks", {{{"name", "b"}, {"codes", {{{"name", "c"}, {"script", {script}}}}}}}}}}};
}

json SqlConfig(std::vector<std::string> script, json storage) {
  return {{"storage", std::move(storage)},
          {"parameters",
           {{"blocks", {{{"name", "b"}, {"codes", {{{"name", "c"}, {"script", script}}}}}}}}}};
}

class JobMappingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << server_.error(); }
  ServerProcess server_;
};

TEST_F(JobMappingTest, FilesWrittenWithTagsAreGivenByTagToLaterJobsOfTheSameProjectOnly) {
  ProjectApi a(server_, "files-a"), b(server_, "files-b");
  ASSERT_TRUE(a.ok() && b.ok());
  const char* writer = R"PY(import json
open('out/files/report.txt', 'w').write('daily numbers')
json.dump({'tags': ['report', 'daily']}, open('out/files/report.txt.manifest', 'w'))
open('out/files/other.txt', 'w').write('not a report')
)PY";
  const char* reader = R"PY(import json, os
names = sorted(n for n in os.listdir('in/files') if not n.endswith('.manifest'))
with open('out/tables/seen.csv', 'w') as f:
    f.write('name,body,tags\n')
    for n in names:
        m = json.load(open('in/files/' + n + '.manifest'))
        f.write('%s,%s,%s\n' % (n, open('in/files/' + n).read(), '|'.join(m['tags'])))
)PY";
  const json read_storage = {
      {"input", {{"files", {{{"tags", {"report"}}}}}}},
      {"output", {{"tables", {{{"source", "seen.csv"}, {"destination", "out.c-files.seen"}}}}}}};
  a.CreateConfig("writer", "keboola.python-transformation-v2", PythonConfig(writer));
  a.CreateConfig("reader", "keboola.python-transformation-v2", PythonConfig(reader, read_storage));
  b.CreateConfig("reader", "keboola.python-transformation-v2", PythonConfig(reader, read_storage));

  json w = a.RunJob("writer");
  ASSERT_EQ(w.value("status", ""), "success") << DescribeJob(a, w);
  json files = a.Ok("GET", a.Path("/files?tags=report"));
  ASSERT_EQ(files["files"].size(), 1u) << files.dump();
  EXPECT_EQ(files["files"][0]["name"], "report.txt");
  EXPECT_EQ(files["files"][0]["tags"], json({"report", "daily"}));
  EXPECT_EQ(a.Ok("GET", a.Path("/files"))["files"].size(), 2u);  // the untagged one too

  json r = a.RunJob("reader");
  ASSERT_EQ(r.value("status", ""), "success") << DescribeJob(a, r);
  const std::string id = std::to_string(files["files"][0]["id"].get<int64_t>());
  EXPECT_EQ(a.SortedRows("out.c-files.seen"),
            (Rows{{id + "_report.txt", "daily numbers", "report|daily"}}));

  // Project B has no files: its reader sees none, and its token cannot list or fetch A's.
  json rb = b.RunJob("reader");
  ASSERT_EQ(rb.value("status", ""), "success") << DescribeJob(b, rb);
  EXPECT_TRUE(b.SortedRows("out.c-files.seen").empty());
  EXPECT_TRUE(b.Ok("GET", b.Path("/files"))["files"].empty());
  HttpResponse cross =
      HttpCall("GET", server_.url() + a.Path("/files"), {"Authorization: Bearer " + b.token()}, "");
  EXPECT_EQ(cross.status, 403) << cross.body;
  HttpResponse fetch = HttpCall("GET", server_.url() + b.Path("/files/" + id + "/download"),
                                {"Authorization: Bearer " + b.token()}, "");
  EXPECT_EQ(fetch.status, 404) << fetch.body;
  HttpResponse mine = HttpCall("GET", server_.url() + a.Path("/files/" + id + "/download"),
                               {"Authorization: Bearer " + a.token()}, "");
  EXPECT_EQ(mine.status, 200);
  EXPECT_EQ(mine.body, "daily numbers");
}

TEST_F(JobMappingTest, AFailedJobKeepsNoOutputFiles) {
  ProjectApi p(server_, "files-fail");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("w", "keboola.python-transformation-v2", PythonConfig(R"PY(import sys
open('out/files/half.txt', 'w').write('x')
sys.exit(2)
)PY"));
  json j = p.RunJob("w");
  EXPECT_EQ(j.value("status", ""), "error") << DescribeJob(p, j);
  EXPECT_TRUE(p.Ok("GET", p.Path("/files"))["files"].empty());
}

// A deleted project's files go with it: rows and bytes.
TEST_F(JobMappingTest, DeletingAProjectRemovesItsFilesBytes) {
  ProjectApi p(server_, "files-gone");
  ASSERT_TRUE(p.ok());
  p.CreateConfig("w", "keboola.python-transformation-v2",
                 PythonConfig("open('out/files/keep.txt', 'w').write('bytes of a file')\n"));
  json j = p.RunJob("w");
  ASSERT_EQ(j.value("status", ""), "success") << DescribeJob(p, j);
  HttpResponse shown = HttpCall("GET", server_.url() + "/v1/projects/files-gone",
                                {"Authorization: Bearer " + server_.admin_token()}, "");
  ASSERT_EQ(shown.status, 200) << shown.body;
  const int64_t project_id = json::parse(shown.body)["project"].value("id", int64_t{0});
  ASSERT_GT(project_id, 0) << shown.body;
  const std::string dir = server_.data_dir() + "/files/p" + std::to_string(project_id);
  ASSERT_TRUE(std::filesystem::exists(dir)) << dir;
  ASSERT_FALSE(std::filesystem::is_empty(dir)) << dir;
  HttpResponse deleted = HttpCall("DELETE", server_.url() + "/v1/projects/files-gone",
                                  {"Authorization: Bearer " + server_.admin_token()}, "");
  ASSERT_EQ(deleted.status / 100, 2) << deleted.body;
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

// The output mapping's fields override the manifest's (Keboola): a headless file with its own
// dialect is read with the mapping's columns, delimiter and enclosure.
TEST_F(JobMappingTest, OutputMappingGivesColumnsDelimiterAndEnclosure) {
  ProjectApi p(server_, "dialect");
  ASSERT_TRUE(p.ok());
  const char* script = R"PY(import json
open('out/tables/raw.csv', 'w').write("1;'a;b'\n2;'c'\n")
json.dump({'delimiter': ','}, open('out/tables/raw.csv.manifest', 'w'))
)PY";
  const json storage = {{"output",
                         {{"tables",
                           {{{"source", "raw.csv"},
                             {"destination", "out.c-dialect.raw"},
                             {"columns", {"id", "name"}},
                             {"delimiter", ";"},
                             {"enclosure", "'"}}}}}}};
  p.CreateConfig("w", "keboola.python-transformation-v2", PythonConfig(script, storage));
  json j = p.RunJob("w");
  ASSERT_EQ(j.value("status", ""), "success") << DescribeJob(p, j);
  EXPECT_EQ(p.Columns("out.c-dialect.raw"), (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(p.SortedRows("out.c-dialect.raw"), (Rows{{"1", "a;b"}, {"2", "c"}}));
}

// Keboola's write_always: that table is loaded although the component fails; the others are not,
// and the job still ends in error.
TEST_F(JobMappingTest, WriteAlwaysTablesAreLoadedWhenTheComponentFails) {
  ProjectApi p(server_, "always");
  ASSERT_TRUE(p.ok());
  const char* script = R"PY(import json, sys
open('out/tables/log.csv', 'w').write('step\nstarted\nfailed\n')
open('out/tables/result.csv', 'w').write('n\n1\n')
json.dump({'write_always': True}, open('out/tables/log.csv.manifest', 'w'))
print('the source API went away', file=sys.stderr)
sys.exit(1)
)PY";
  const json storage = {{"output",
                         {{"tables",
                           {{{"source", "log.csv"}, {"destination", "out.c-always.log"}},
                            {{"source", "result.csv"}, {"destination", "out.c-always.result"}}}}}}};
  p.CreateConfig("w", "keboola.python-transformation-v2", PythonConfig(script, storage));
  json j = p.RunJob("w");
  EXPECT_EQ(j.value("status", ""), "error") << DescribeJob(p, j);
  EXPECT_EQ(j.value("error_kind", ""), "user") << DescribeJob(p, j);
  EXPECT_EQ(p.SortedRows("out.c-always.log"), (Rows{{"failed"}, {"started"}}));
  HttpResponse result = HttpCall("GET", server_.url() + p.Path("/tables/out.c-always.result"),
                                 {"Authorization: Bearer " + p.token()}, "");
  EXPECT_EQ(result.status, 404) << result.body;
  ASSERT_TRUE(j.contains("outputs")) << j.dump();
  ASSERT_EQ(j["outputs"].size(), 1u) << j.dump();
  EXPECT_EQ(j["outputs"][0].value("table", ""), "out.c-always.log");

  // The mapping can say it too; without write_always a failed job loads nothing.
  const json mapped = {{"output",
                        {{"tables",
                          {{{"source", "result.csv"},
                            {"destination", "out.c-always.mapped"},
                            {"write_always", true}}}}}}};
  p.CreateConfig("m", "keboola.python-transformation-v2", PythonConfig(script, mapped));
  json m = p.RunJob("m");
  EXPECT_EQ(m.value("status", ""), "error") << DescribeJob(p, m);
  EXPECT_EQ(p.SortedRows("out.c-always.mapped"), (Rows{{"1"}}));
}

TEST_F(JobMappingTest, DeleteWhereFromTheManifestAndFromTheOutputMapping) {
  ProjectApi p(server_, "deletes");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-d.events", "id,day,v\n1,mon,a\n2,tue,b\n3,mon,c\n");
  // The manifest's legacy fields: Monday's rows are replaced.
  p.CreateConfig("manifest", "keboola.python-transformation-v2", PythonConfig(R"PY(import json
open('out/tables/e.csv', 'w').write('id,day,v\n9,mon,z\n')
json.dump({'destination': 'in.c-d.events', 'incremental': True, 'delete_where_column': 'day',
           'delete_where_values': ['mon'], 'delete_where_operator': 'eq'},
          open('out/tables/e.csv.manifest', 'w'))
)PY"));
  json j = p.RunJob("manifest");
  ASSERT_EQ(j.value("status", ""), "success") << DescribeJob(p, j);
  EXPECT_EQ(p.SortedRows("in.c-d.events"), (Rows{{"2", "tue", "b"}, {"9", "mon", "z"}}));
  // The output mapping's fields (the mapping wins over a manifest that has none).
  json mapping_entry = {{"source", "e.csv"},
                        {"destination", "in.c-d.events"},
                        {"incremental", true},
                        {"delete_where_column", "day"},
                        {"delete_where_values", json::array({"tue"})}};
  json mapping_storage = json::object();
  mapping_storage["output"]["tables"] = json::array({mapping_entry});
  p.CreateConfig("mapping", "keboola.python-transformation-v2",
                 PythonConfig("open('out/tables/e.csv', 'w').write('id,day,v\\n10,tue,y\\n')\n",
                              mapping_storage));
  j = p.RunJob("mapping");
  ASSERT_EQ(j.value("status", ""), "success") << DescribeJob(p, j);
  EXPECT_EQ(p.SortedRows("in.c-d.events"), (Rows{{"10", "tue", "y"}, {"9", "mon", "z"}}));
  // A time window is not supported: a user error, the table unchanged.
  p.CreateConfig("window", "keboola.python-transformation-v2", PythonConfig(R"PY(import json
open('out/tables/e.csv', 'w').write('id,day,v\n11,wed,x\n')
json.dump({'destination': 'in.c-d.events', 'incremental': True,
           'delete_where': [{'changed_since': '-7 days', 'where_filters': [
               {'column': 'day', 'operator': 'eq', 'values_from_set': ['wed']}]}]},
          open('out/tables/e.csv.manifest', 'w'))
)PY"));
  j = p.RunJob("window");
  EXPECT_EQ(j.value("status", ""), "error") << DescribeJob(p, j);
  EXPECT_EQ(j.value("error_kind", ""), "user");
  EXPECT_NE(j.value("message", "").find("delete_where"), std::string::npos) << j.dump();
  EXPECT_EQ(p.SortedRows("in.c-d.events"), (Rows{{"10", "tue", "y"}, {"9", "mon", "z"}}));
}

TEST_F(JobMappingTest, InputMappingSelectsColumnsRowsAndVersions) {
  ProjectApi p(server_, "selects");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-s.orders", "id,city,amount\n1,Brno,10\n2,Praha,20\n3,Brno,30\n");
  p.ImportCsv("in.c-s.orders", "id,city,amount\n4,Praha,40\n", "mode=incremental");
  const json storage = {
      {"input",
       {{"tables",
         {{{"source", "in.c-s.orders"},
           {"destination", "brno"},
           {"columns", {"id", "amount"}},
           {"where_column", "city"},
           {"where_values", {"Brno"}}},
          {{"source", "in.c-s.orders"}, {"destination", "v1"}, {"version", 1}},
          {{"source", "in.c-s.orders"}, {"destination", "one"}, {"limit", 1}}}}}},
      {"output", {{"tables", {{{"source", "summary"}, {"destination", "out.c-s.summary"}}}}}}};
  p.CreateConfig(
      "sel", "swan.sql-transformation",
      SqlConfig({"CREATE TABLE summary AS SELECT (SELECT sum(amount) FROM brno) AS "
                 "brno_amount, (SELECT count(*) FROM v1) AS v1_rows, (SELECT count(*) "
                 "FROM one) AS one_rows, (SELECT count(*) FROM information_schema.columns "
                 "WHERE table_name = 'brno') AS brno_columns"},
                storage));
  json j = p.RunJob("sel");
  ASSERT_EQ(j.value("status", ""), "success") << DescribeJob(p, j);
  EXPECT_EQ(p.SortedRows("out.c-s.summary"), (Rows{{"40", "3", "1", "2"}}));
  // The job records its inputs with their versions.
  ASSERT_EQ(j["inputs"].size(), 3u) << j.dump();
  EXPECT_EQ(j["inputs"][1]["version"], 1);
  EXPECT_EQ(j["inputs"][0]["version"], 2);
  // A column the table does not have is a user error naming it.
  json bad = storage;
  bad["input"]["tables"][0]["columns"] = {"nope"};
  p.CreateConfig("bad", "swan.sql-transformation", SqlConfig({"SELECT 1"}, bad));
  j = p.RunJob("bad");
  EXPECT_EQ(j.value("error_kind", ""), "user") << DescribeJob(p, j);
  EXPECT_NE(j.value("message", "").find("nope"), std::string::npos) << j.dump();
}

// A transformation may not write files: its sandbox can reach its inputs' segment files (DuckDB's
// allowed paths are readable and writable), so statements that leave the database are refused.
TEST_F(JobMappingTest, SqlTransformationCannotWriteFilesEvenItsInputsSegments) {
  ProjectApi p(server_, "nowrite");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-w.t", "id\n1\n2\n");
  std::string segment;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(server_.data_dir() + "/segments"))
    if (e.path().extension() == ".parquet") segment = e.path().string();
  ASSERT_FALSE(segment.empty());
  const json storage = {{"input", {{"tables", {{{"source", "in.c-w.t"}, {"destination", "t"}}}}}}};
  int configs = 0;
  for (const std::string& statement :
       {"COPY (SELECT 42 AS id) TO '" + segment + "' (FORMAT parquet)",
        std::string("ATTACH '/tmp/x.db' AS x"), std::string("INSTALL httpfs"),
        std::string("CALL pragma_version()"), std::string("PREPARE p AS SELECT 1")}) {
    const std::string id = "w" + std::to_string(++configs);
    p.CreateConfig(id, "swan.sql-transformation",
                   SqlConfig({"SELECT count(*) FROM t", statement}, storage));
    json j = p.RunJob(id);
    EXPECT_EQ(j.value("status", ""), "error") << statement << ": " << DescribeJob(p, j);
    EXPECT_EQ(j.value("error_kind", ""), "user") << statement;
    EXPECT_NE(j.value("message", "").find("statement 2"), std::string::npos) << j.dump();
  }
  EXPECT_EQ(p.SortedRows("in.c-w.t"), (Rows{{"1"}, {"2"}}));
}

// A value of the wrong JSON type in a mapping is the configuration's error, and the server lives.
TEST_F(JobMappingTest, AWrongTypeInTheMappingIsAUserErrorNotACrash) {
  ProjectApi p(server_, "types");
  ASSERT_TRUE(p.ok());
  p.ImportCsv("in.c-w.t", "id\n1\n");
  p.CreateConfig(
      "bad", "keboola.python-transformation-v2",
      PythonConfig("print('hi')\n",
                   {{"input", {{"tables", {{{"source", "in.c-w.t"}, {"destination", 7}}}}}}}));
  json j = p.RunJob("bad");
  EXPECT_EQ(j.value("status", ""), "error") << DescribeJob(p, j);
  EXPECT_EQ(j.value("error_kind", ""), "user") << DescribeJob(p, j);
  // Still serving: another job runs.
  p.CreateConfig("ok", "keboola.python-transformation-v2", PythonConfig("print('hi')\n"));
  EXPECT_EQ(p.RunJob("ok").value("status", ""), "success");
}

}  // namespace
}  // namespace swan::testing
