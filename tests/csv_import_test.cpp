// End-to-end tests of real-world CSV and JSON imports (issue 9): dialect detection, encodings,
// SQL-friendly column names with labels, the row-shape check and on_bad_rows. A real `swan server`
// child, driven over HTTP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/gzip_check.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

json ParseJson(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

std::string Describe(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")") + ": " +
         r.body.substr(0, 1500);
}

// A detail value as text (details are strings; a number is accepted too).
std::string DetailText(const json& details, const std::string& key) {
  if (!details.is_object() || !details.contains(key)) return "<missing>";
  const json& v = details[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

bool Contains(const json& array, const std::string& value) {
  if (!array.is_array()) return false;
  for (const auto& v : array)
    if (v == value) return true;
  return false;
}

// UTF-8 text (code points below U+10000) as UTF-16LE.
std::string Utf16Le(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    char32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c >> 5) == 6) {
      cp = ((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F);
      i += 2;
    } else {
      cp = ((c & 0x0F) << 12) | ((utf8[i + 1] & 0x3F) << 6) | (utf8[i + 2] & 0x3F);
      i += 3;
    }
    out += static_cast<char>(cp & 0xFF);
    out += static_cast<char>((cp >> 8) & 0xFF);
  }
  return out;
}

class CsvImportTest : public SharedServerTest {
 protected:
  static const std::string& Admin() { return server_->admin_token(); }

  static HttpResponse Call(const std::string& method, const std::string& path,
                           const std::string& token, const std::string& body = std::string(),
                           const std::string& content_type = "application/json") {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    if (!body.empty() || method == "POST") headers.push_back("Content-Type: " + content_type);
    return HttpCall(method, server_->url() + path, headers, body);
  }

  static json Ok(const std::string& method, const std::string& path, const std::string& token,
                 const json& body = nullptr, long status = 0) {
    HttpResponse r = Call(method, path, token, body.is_null() ? std::string() : body.dump());
    if (status != 0) {
      EXPECT_EQ(r.status, status) << method << " " << path << ": " << Describe(r);
    } else {
      EXPECT_TRUE(r.status >= 200 && r.status < 300)
          << method << " " << path << ": " << Describe(r);
    }
    if (r.body.empty()) return json::object();
    json parsed = ParseJson(r);
    EXPECT_FALSE(parsed.is_discarded()) << method << " " << path << ": " << Describe(r);
    return parsed;
  }

  struct Project {
    std::string name;
    std::string token;
  };

  static Project CreateProject(const std::string& name) {
    json answer = Ok("POST", "/v1/projects", Admin(), {{"name", name}}, 201);
    Project p{name, ""};
    if (answer.contains("token")) p.token = answer["token"].value("secret", "");
    EXPECT_EQ(p.token.rfind("swan_", 0), 0u) << answer.dump();
    return p;
  }

  static std::string P(const Project& p) { return "/v1/projects/" + p.name; }
  static std::string T(const Project& p, const std::string& table) {
    return P(p) + "/tables/" + table;
  }

  static HttpResponse Import(const Project& p, const std::string& table, const std::string& body,
                             const std::string& query = "") {
    return Call("POST", T(p, table) + "/import" + (query.empty() ? "" : "?" + query), p.token, body,
                "text/csv");
  }
  static json ImportOk(const Project& p, const std::string& table, const std::string& body,
                       const std::string& query = "") {
    HttpResponse r = Import(p, table, body, query);
    EXPECT_EQ(r.status, 200) << "import " << table << "?" << query << ": " << Describe(r)
                             << "\nserver log: " << server_->Log();
    json parsed = ParseJson(r);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  // A 400 invalid_argument in the documented shape; returns the "error" object.
  static json ImportError(const Project& p, const std::string& table, const std::string& body,
                          const std::string& query = "") {
    HttpResponse r = Import(p, table, body, query);
    EXPECT_EQ(r.status, 400) << "import " << table << "?" << query << ": " << Describe(r);
    json parsed = ParseJson(r);
    if (!parsed.is_object() || !parsed.contains("error") || !parsed["error"].is_object()) {
      ADD_FAILURE() << "not an error answer: " << Describe(r);
      return json::object();
    }
    json e = parsed["error"];
    EXPECT_EQ(e.value("code", ""), "invalid_argument") << Describe(r);
    EXPECT_FALSE(e.value("message", "").empty()) << Describe(r);
    EXPECT_TRUE(e.contains("details") && e["details"].is_object()) << Describe(r);
    return e;
  }

  static json SqlRows(const Project& p, const std::string& sql) {
    HttpResponse r = Call("POST", P(p) + "/sql", p.token, json{{"sql", sql}}.dump());
    EXPECT_EQ(r.status, 200) << sql << ": " << Describe(r);
    json parsed = ParseJson(r);
    return parsed.is_object() && parsed.contains("rows") ? parsed["rows"] : json::array();
  }

  static json Table(const Project& p, const std::string& table) {
    return Ok("GET", T(p, table), p.token).value("table", json::object());
  }
  static size_t VersionCount(const Project& p, const std::string& table) {
    return Ok("GET", T(p, table) + "/versions", p.token).value("versions", json::array()).size();
  }
  static std::vector<std::string> ColumnNames(const json& table) {
    std::vector<std::string> out;
    for (const auto& c : table.value("columns", json::array())) out.push_back(c.value("name", ""));
    return out;
  }
  static std::string Export(const Project& p, const std::string& table,
                            const std::string& query = "") {
    HttpResponse r =
        Call("GET", T(p, table) + "/export" + (query.empty() ? "" : "?" + query), p.token);
    EXPECT_EQ(r.status, 200) << Describe(r);
    return r.body;
  }
};

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Dialect detection.

TEST_F(CsvImportTest, SemicolonIsDetectedAndAGivenDelimiterIsReportedAsGiven) {
  Project p = CreateProject("csv-semicolon");
  json a = ImportOk(p, "in.d.semi", "id;name\n1;a\n");
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"id", "name"})) << a.dump();
  EXPECT_EQ(a["table"].value("row_count", -1), 1) << a.dump();
  const json& imp = a["import"];
  EXPECT_EQ(imp.value("format", ""), "csv") << imp.dump();
  EXPECT_EQ(imp.value("delimiter", ""), ";") << imp.dump();
  EXPECT_TRUE(Contains(imp["detected"], "delimiter")) << imp.dump();
  EXPECT_FALSE(Contains(imp["given"], "delimiter")) << imp.dump();
  EXPECT_EQ(imp.value("header", false), true) << imp.dump();
  EXPECT_EQ(imp.value("encoding", ""), "utf-8") << imp.dump();
  EXPECT_EQ(imp.value("on_bad_rows", ""), "fail") << imp.dump();
  EXPECT_EQ(imp.value("bad_rows", -1), 0) << imp.dump();
  EXPECT_TRUE(imp["renamed"].is_array() && imp["renamed"].empty()) << imp.dump();
  EXPECT_FALSE(imp.contains("quarantine_table")) << imp.dump();
  EXPECT_EQ(SqlRows(p, "SELECT id, name FROM \"in.d.semi\""), json::parse(R"([[1, "a"]])"));

  json given = ImportOk(p, "in.d.comma", "id,name\n1,a\n2,b\n", "delimiter=,");
  EXPECT_EQ(given["import"].value("delimiter", ""), ",") << given.dump();
  EXPECT_TRUE(Contains(given["import"]["given"], "delimiter")) << given.dump();
  EXPECT_FALSE(Contains(given["import"]["detected"], "delimiter")) << given.dump();
  EXPECT_EQ(given["table"].value("row_count", -1), 2) << given.dump();
}

TEST_F(CsvImportTest, TabPipeMultiCharacterDelimiterAndPreambleWithCrlf) {
  Project p = CreateProject("csv-dialects");
  json tab = ImportOk(p, "in.d.tab", "id\tname\n1\ta b\n2\tc\n");
  EXPECT_EQ(tab["import"].value("delimiter", ""), "\t") << tab.dump();
  EXPECT_EQ(ColumnNames(tab["table"]), (Strings{"id", "name"})) << tab.dump();
  EXPECT_EQ(tab["table"].value("row_count", -1), 2) << tab.dump();
  EXPECT_EQ(SqlRows(p, "SELECT name FROM \"in.d.tab\" ORDER BY id"),
            json::parse(R"([["a b"], ["c"]])"));

  json pipe = ImportOk(p, "in.d.pipe", "id|name|v\n1|x|1.5\n2|y|2.5\n");
  EXPECT_EQ(pipe["import"].value("delimiter", ""), "|") << pipe.dump();
  EXPECT_EQ(ColumnNames(pipe["table"]), (Strings{"id", "name", "v"})) << pipe.dump();
  EXPECT_EQ(pipe["table"].value("row_count", -1), 2) << pipe.dump();

  json multi =
      ImportOk(p, "in.d.multi", "id, name\n1, x\n2, y\n", "delimiter=" + std::string(",%20"));
  EXPECT_EQ(multi["import"].value("delimiter", ""), ", ") << multi.dump();
  EXPECT_EQ(ColumnNames(multi["table"]), (Strings{"id", "name"})) << multi.dump();
  EXPECT_EQ(SqlRows(p, "SELECT id, name FROM \"in.d.multi\" ORDER BY id"),
            json::parse(R"([[1, "x"], [2, "y"]])"));

  // A title line and a blank line before the header, CRLF line ends.
  json pre =
      ImportOk(p, "in.d.pre", "Monthly sales report\r\n\r\nregion,amount\r\nEU,10\r\nUS,20\r\n");
  const json& imp = pre["import"];
  EXPECT_EQ(imp.value("skip_lines", -1), 2) << imp.dump();
  EXPECT_TRUE(Contains(imp["detected"], "skip_lines")) << imp.dump();
  EXPECT_EQ(imp.value("line_ending", ""), "crlf") << imp.dump();
  EXPECT_EQ(ColumnNames(pre["table"]), (Strings{"region", "amount"})) << pre.dump();
  EXPECT_EQ(SqlRows(p, "SELECT region, amount FROM \"in.d.pre\" ORDER BY amount"),
            json::parse(R"([["EU", 10], ["US", 20]])"));
}

TEST_F(CsvImportTest, CommentLinesAreSkipped) {
  Project p = CreateProject("csv-comments");
  json a = ImportOk(p, "in.d.c", "# exported\nid,v\n1,2\n# note\n3,4\n");
  EXPECT_EQ(a["table"].value("row_count", -1), 2) << a.dump();
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"id", "v"})) << a.dump();
  EXPECT_EQ(a["import"].value("comment", ""), "#") << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT id, v FROM \"in.d.c\" ORDER BY id"),
            json::parse("[[1, 2], [3, 4]]"));
}

TEST_F(CsvImportTest, MultiRowHeaderIsDetectedAndJoined) {
  Project p = CreateProject("csv-multiheader");
  const std::string header = "Region,,Sales,\nName,Code,Q1,Q2\n";
  json a = ImportOk(p, "in.d.h", header + "EU,1,10,20\nUS,2,30,40\nAS,3,50,60\n");
  const json& imp = a["import"];
  EXPECT_EQ(imp.value("header_rows", -1), 2) << imp.dump();
  EXPECT_TRUE(Contains(imp["detected"], "header_rows")) << imp.dump();
  // An empty upper cell takes the text on its left; the rows are joined with a space.
  EXPECT_EQ(ColumnNames(a["table"]),
            (Strings{"Region_Name", "Region_Code", "Sales_Q1", "Sales_Q2"}))
      << a.dump();
  json cols = a["table"]["columns"];
  ASSERT_EQ(cols.size(), 4u) << a.dump();
  EXPECT_EQ(cols[0].value("label", ""), "Region Name") << cols.dump();
  EXPECT_EQ(cols[1].value("label", ""), "Region Code") << cols.dump();
  EXPECT_EQ(cols[3].value("label", ""), "Sales Q2") << cols.dump();
  EXPECT_EQ(a["table"].value("row_count", -1), 3) << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT Region_Name, Sales_Q2 FROM \"in.d.h\" ORDER BY Region_Code"),
            json::parse(R"([["EU", 20], ["US", 40], ["AS", 60]])"));

  // Given, on the same header with two data rows.
  json given = ImportOk(p, "in.d.g", header + "EU,1,10,20\nUS,2,30,40\n", "header_rows=2");
  EXPECT_TRUE(Contains(given["import"]["given"], "header_rows")) << given.dump();
  EXPECT_EQ(ColumnNames(given["table"]),
            (Strings{"Region_Name", "Region_Code", "Sales_Q1", "Sales_Q2"}))
      << given.dump();
  EXPECT_EQ(given["table"].value("row_count", -1), 2) << given.dump();
}

// With only two data rows below it, the second header row is still told apart (the types come
// from the rows below the candidate header rows).
TEST_F(CsvImportTest, MultiRowHeaderOverTwoDataRowsIsDetected) {
  Project p = CreateProject("csv-multiheader2");
  json a = ImportOk(p, "in.d.h", "Region,,Sales,\nName,Code,Q1,Q2\nEU,1,10,20\nUS,2,30,40\n");
  EXPECT_EQ(a["import"].value("header_rows", -1), 2) << a.dump();
  EXPECT_EQ(ColumnNames(a["table"]),
            (Strings{"Region_Name", "Region_Code", "Sales_Q1", "Sales_Q2"}))
      << a.dump();
  EXPECT_EQ(a["table"].value("row_count", -1), 2) << a.dump();
}

// ---------------------------------------------------------------------------------------------
// Column names and labels.

TEST_F(CsvImportTest, HeaderTextIsRenamedAndKeptAsLabels) {
  Project p = CreateProject("csv-rename");
  const std::string file = "Product Name,Unit Price,Product Name\nApple,1.5,x\nPear,2.5,y\n";
  json a = ImportOk(p, "in.r.t", file);
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"Product_Name", "Unit_Price", "Product_Name_2"}))
      << a.dump();
  json renamed = a["import"]["renamed"];
  EXPECT_EQ(renamed, json::parse(R"([{"from": "Product Name", "to": "Product_Name"},
                                     {"from": "Unit Price", "to": "Unit_Price"},
                                     {"from": "Product Name", "to": "Product_Name_2"}])"))
      << a.dump();

  // Labels in the table JSON, the table's show and the preview.
  for (const json& table : {a["table"], Table(p, "in.r.t")}) {
    json cols = table["columns"];
    ASSERT_EQ(cols.size(), 3u) << table.dump();
    EXPECT_EQ(cols[0].value("label", ""), "Product Name") << cols.dump();
    EXPECT_EQ(cols[1].value("label", ""), "Unit Price") << cols.dump();
    EXPECT_EQ(cols[2].value("label", ""), "Product Name") << cols.dump();
  }
  json preview = Ok("GET", T(p, "in.r.t") + "/preview", p.token);
  ASSERT_EQ(preview["columns"].size(), 3u) << preview.dump();
  EXPECT_EQ(preview["columns"][0].value("name", ""), "Product_Name") << preview.dump();
  EXPECT_EQ(preview["columns"][0].value("label", ""), "Product Name") << preview.dump();
  EXPECT_EQ(preview["columns"][2].value("label", ""), "Product Name") << preview.dump();

  // Export under the original header text, and under the SQL names by default.
  // (The repeated label is checked in ExportWithOriginalNamesWritesRepeatedLabelsVerbatim.)
  std::string original = Export(p, "in.r.t", "original_names=true");
  EXPECT_EQ(original.rfind("Product Name,Unit Price,", 0), 0u) << original;
  EXPECT_EQ(SortedLines(original).size(), 3u) << original;
  std::string plain = Export(p, "in.r.t");
  EXPECT_EQ(plain.rfind("Product_Name,Unit_Price,Product_Name_2\n", 0), 0u) << plain;

  // An incremental import of the same header adds rows, no columns.
  json inc = ImportOk(p, "in.r.t", "Product Name,Unit Price,Product Name\nPlum,3.5,z\n",
                      "mode=incremental");
  EXPECT_EQ(ColumnNames(inc["table"]), (Strings{"Product_Name", "Unit_Price", "Product_Name_2"}))
      << inc.dump();
  EXPECT_EQ(inc["table"].value("row_count", -1), 3) << inc.dump();
  EXPECT_EQ(SqlRows(p, "SELECT Product_Name, Product_Name_2 FROM \"in.r.t\" ORDER BY Unit_Price"),
            json::parse(R"([["Apple", "x"], ["Pear", "y"], ["Plum", "z"]])"));
}

// DuckDB makes the aliases of a COPY unique ("Product Name_1"); Swan writes a header with repeated
// labels itself, so the export re-imports into the same columns.
TEST_F(CsvImportTest, ExportWithOriginalNamesWritesRepeatedLabelsVerbatim) {
  Project p = CreateProject("csv-export-labels");
  ImportOk(p, "in.r.t", "Product Name,Unit Price,Product Name\nApple,1.5,x\n");
  std::string original = Export(p, "in.r.t", "original_names=true");
  EXPECT_EQ(original.rfind("Product Name,Unit Price,Product Name\n", 0), 0u) << original;
  // The round trip: the export imports back into the same columns.
  json back = ImportOk(p, "in.r.t", original, "mode=incremental");
  EXPECT_EQ(ColumnNames(back["table"]), (Strings{"Product_Name", "Unit_Price", "Product_Name_2"}))
      << back.dump();
  EXPECT_EQ(back["table"].value("row_count", -1), 2) << back.dump();
  // Gzipped: the header is a gzip member of its own, the file one valid gzip stream.
  std::string packed = Export(p, "in.r.t", "original_names=true&gzip=true");
  std::string unpacked;
  auto inflater =
      gzip::Inflater::Create("export.csv.gz", gzip::Limits{}, [&](const char* d, size_t n) {
        unpacked.append(d, n);
        return true;
      });
  ASSERT_TRUE(inflater.ok());
  ASSERT_TRUE((*inflater)->Update(packed.data(), packed.size()).ok());
  ASSERT_TRUE((*inflater)->Finish().ok());
  EXPECT_EQ(unpacked.rfind("Product Name,Unit Price,Product Name\n", 0), 0u) << unpacked;
  EXPECT_EQ(SortedLines(unpacked).size(), 3u) << unpacked;
}

TEST_F(CsvImportTest, JsonKeysAreRenamedWithLabels) {
  Project p = CreateProject("json-rename");
  json a = ImportOk(p, "in.j.t", R"([{"Product Name": 1, "": 2}])", "format=json");
  EXPECT_EQ(a["import"].value("format", ""), "json") << a.dump();
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"Product_Name", "column_2"})) << a.dump();
  json cols = a["table"]["columns"];
  ASSERT_EQ(cols.size(), 2u) << a.dump();
  EXPECT_EQ(cols[0].value("label", ""), "Product Name") << cols.dump();
  // An empty key has no text to keep: no label (as an empty CSV header cell).
  EXPECT_FALSE(cols[1].contains("label")) << cols.dump();
  EXPECT_EQ(SqlRows(p, "SELECT Product_Name, column_2 FROM \"in.j.t\""), json::parse("[[1, 2]]"));
  // The format from the file name.
  json named = ImportOk(p, "in.j.t2", R"([{"Unit Price": "x"}])", "name=data.json");
  EXPECT_EQ(named["import"].value("format_from", ""), "file name") << named.dump();
  EXPECT_EQ(ColumnNames(named["table"]), (Strings{"Unit_Price"})) << named.dump();
}

// ---------------------------------------------------------------------------------------------
// Bad rows.

const char* const kExtraEmptyField = "a,b\n1,2\n3,4,\n5,6\n";

TEST_F(CsvImportTest, StrictModeRejectsAnExtraEmptyTrailingField) {
  Project p = CreateProject("csv-strict");
  json first = ImportOk(p, "in.b.t", "a,b\n7,8\n");
  const int64_t version = first["table"].value("version", int64_t{-1});
  const size_t versions = VersionCount(p, "in.b.t");

  json e = ImportError(p, "in.b.t", kExtraEmptyField, "name=rows.csv");
  const std::string message = e.value("message", "");
  EXPECT_EQ(DetailText(e["details"], "line"), "3") << e.dump();
  EXPECT_EQ(DetailText(e["details"], "file"), "rows.csv") << e.dump();
  EXPECT_NE(message.find("extra delimiter"), std::string::npos) << message;
  EXPECT_NE(message.find("on_bad_rows"), std::string::npos) << message;
  EXPECT_NE(message.find("rows.csv"), std::string::npos) << message;

  // The table keeps its version and rows.
  json table = Table(p, "in.b.t");
  EXPECT_EQ(table.value("version", int64_t{-2}), version) << table.dump();
  EXPECT_EQ(table.value("row_count", -1), 1) << table.dump();
  EXPECT_EQ(VersionCount(p, "in.b.t"), versions);
  EXPECT_EQ(SqlRows(p, "SELECT a, b FROM \"in.b.t\""), json::parse("[[7, 8]]"));
  // Explicit on_bad_rows=fail is the same.
  json again = ImportError(p, "in.b.t", kExtraEmptyField, "on_bad_rows=fail");
  EXPECT_EQ(DetailText(again["details"], "line"), "3") << again.dump();
}

TEST_F(CsvImportTest, SkipModeLoadsTheGoodRowsAndCountsTheBad) {
  Project p = CreateProject("csv-skip");
  json a = ImportOk(p, "in.b.t", kExtraEmptyField, "on_bad_rows=skip");
  EXPECT_EQ(a["table"].value("row_count", -1), 2) << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT a, b FROM \"in.b.t\" ORDER BY a"), json::parse("[[1, 2], [5, 6]]"));
  const json& imp = a["import"];
  EXPECT_EQ(imp.value("on_bad_rows", ""), "skip") << imp.dump();
  EXPECT_EQ(imp.value("bad_rows", -1), 1) << imp.dump();
  ASSERT_EQ(imp["bad_row_samples"].size(), 1u) << imp.dump();
  EXPECT_EQ(imp["bad_row_samples"][0].value("line", -1), 3) << imp.dump();
  EXPECT_EQ(imp["bad_row_samples"][0].value("raw", ""), "3,4,") << imp.dump();
  EXPECT_FALSE(imp["bad_row_samples"][0].value("reason", "").empty()) << imp.dump();
  EXPECT_FALSE(imp.contains("quarantine_table")) << imp.dump();

  // A row with too few fields and a value that does not convert to the declared type.
  json b = ImportOk(p, "in.b.u", "a,b\n1,2\n3\n4,x\n5,6\n", "on_bad_rows=skip&types=b:BIGINT");
  EXPECT_EQ(b["import"].value("bad_rows", -1), 2) << b.dump();
  json samples = b["import"]["bad_row_samples"];
  ASSERT_EQ(samples.size(), 2u) << b.dump();
  EXPECT_EQ(samples[0].value("line", -1), 3) << samples.dump();
  EXPECT_EQ(samples[1].value("line", -1), 4) << samples.dump();
  EXPECT_EQ(b["table"].value("row_count", -1), 2) << b.dump();
  EXPECT_EQ(SqlRows(p, "SELECT a, b FROM \"in.b.u\" ORDER BY a"), json::parse("[[1, 2], [5, 6]]"));
  json cols = b["table"]["columns"];
  ASSERT_EQ(cols.size(), 2u) << b.dump();
  EXPECT_EQ(cols[1].value("type", ""), "BIGINT") << cols.dump();
}

TEST_F(CsvImportTest, QuarantineKeepsTheBadRowsInACompanionTable) {
  Project p = CreateProject("csv-quarantine");
  json a = ImportOk(p, "in.q.t", kExtraEmptyField, "on_bad_rows=quarantine&name=one.csv");
  EXPECT_EQ(a["table"].value("row_count", -1), 2) << a.dump();
  const json& imp = a["import"];
  EXPECT_EQ(imp.value("on_bad_rows", ""), "quarantine") << imp.dump();
  EXPECT_EQ(imp.value("bad_rows", -1), 1) << imp.dump();
  EXPECT_EQ(imp.value("quarantine_table", ""), "in.q.t_bad_rows") << imp.dump();
  EXPECT_EQ(SqlRows(p, "SELECT a, b FROM \"in.q.t\" ORDER BY a"), json::parse("[[1, 2], [5, 6]]"));
  EXPECT_EQ(SqlRows(p, "SELECT file, line, raw_line FROM \"in.q.t_bad_rows\" ORDER BY line"),
            json::parse(R"([["one.csv", 3, "3,4,"]])"));
  json reason = SqlRows(p, "SELECT reason FROM \"in.q.t_bad_rows\"");
  ASSERT_EQ(reason.size(), 1u) << reason.dump();
  EXPECT_NE(reason[0][0].get<std::string>().find("fields"), std::string::npos) << reason.dump();

  // A second import appends to the quarantine table.
  json b = ImportOk(p, "in.q.t", "a,b\n9,9\n1\n8,8,8\n", "on_bad_rows=quarantine&name=two.csv");
  EXPECT_EQ(b["import"].value("bad_rows", -1), 2) << b.dump();
  EXPECT_EQ(b["import"].value("quarantine_table", ""), "in.q.t_bad_rows") << b.dump();
  EXPECT_EQ(b["table"].value("row_count", -1), 1) << b.dump();  // a full load: only 9,9
  EXPECT_EQ(SqlRows(p, "SELECT file, line, raw_line FROM \"in.q.t_bad_rows\" ORDER BY file, line"),
            json::parse(R"([["one.csv", 3, "3,4,"], ["two.csv", 3, "1"],
                            ["two.csv", 4, "8,8,8"]])"));
  // The quarantine table's columns.
  EXPECT_EQ(ColumnNames(Table(p, "in.q.t_bad_rows")),
            (Strings{"file", "line", "reason", "raw_line"}));
  // A clean quarantine import creates no rows there and names no table.
  json c = ImportOk(p, "in.q.t", "a,b\n1,1\n", "on_bad_rows=quarantine");
  EXPECT_EQ(c["import"].value("bad_rows", -1), 0) << c.dump();
  EXPECT_FALSE(c["import"].contains("quarantine_table")) << c.dump();
  EXPECT_EQ(SqlRows(p, "SELECT count(*) FROM \"in.q.t_bad_rows\""), json::parse("[[3]]"));
}

TEST_F(CsvImportTest, MoreBadRowsThanMaxBadRowsLoadsNothing) {
  Project p = CreateProject("csv-maxbad");
  ImportOk(p, "in.b.t", "a,b\n7,8\n");
  const size_t versions = VersionCount(p, "in.b.t");
  const std::string two_bad = "a,b\n1,2\n3,4,\n5\n6,7\n";
  for (const std::string mode : {"skip", "quarantine"}) {
    SCOPED_TRACE(mode);
    json e = ImportError(p, "in.b.t", two_bad, "on_bad_rows=" + mode + "&max_bad_rows=1");
    EXPECT_NE(e.value("message", "").find("max_bad_rows"), std::string::npos) << e.dump();
    EXPECT_EQ(VersionCount(p, "in.b.t"), versions);
    EXPECT_EQ(SqlRows(p, "SELECT a, b FROM \"in.b.t\""), json::parse("[[7, 8]]"));
  }
  // No quarantine table was created.
  HttpResponse q = Call("GET", T(p, "in.b.t_bad_rows"), p.token);
  EXPECT_EQ(q.status, 404) << Describe(q);
  // At the limit it loads.
  json ok = ImportOk(p, "in.b.t", two_bad, "on_bad_rows=skip&max_bad_rows=2");
  EXPECT_EQ(ok["import"].value("bad_rows", -1), 2) << ok.dump();
  EXPECT_EQ(ok["table"].value("row_count", -1), 2) << ok.dump();
  // max_bad_rows=0 with skip: any bad row fails.
  json zero = ImportError(p, "in.b.t", kExtraEmptyField, "on_bad_rows=skip&max_bad_rows=0");
  EXPECT_NE(zero.value("message", "").find("max_bad_rows"), std::string::npos) << zero.dump();
}

TEST_F(CsvImportTest, PadMissingTrailingFields) {
  Project p = CreateProject("csv-pad");
  const std::string file = "a,b,c\n1,2,3\n4,5\n";
  json a = ImportOk(p, "in.p.t", file, "pad_missing_trailing=true");
  EXPECT_EQ(a["table"].value("row_count", -1), 2) << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT a, b, c FROM \"in.p.t\" ORDER BY a"),
            json::parse("[[1, 2, 3], [4, 5, null]]"));

  json e = ImportError(p, "in.p.u", file);
  EXPECT_EQ(DetailText(e["details"], "line"), "3") << e.dump();
  HttpResponse missing = Call("GET", T(p, "in.p.u"), p.token);
  EXPECT_EQ(missing.status, 404) << Describe(missing);
}

// ---------------------------------------------------------------------------------------------
// Encodings.

TEST_F(CsvImportTest, Windows1250IsConvertedAndTheHeaderFolded) {
  Project p = CreateProject("csv-cp1250");
  // "název,město\n1,Plzeň\n" in Windows-1250: á = E1, ě = EC, ň = F2.
  const std::string file = "n\xE1zev,m\xECsto\n1,Plze\xF2\n";
  json a = ImportOk(p, "in.e.t", file, "encoding=windows-1250");
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"nazev", "mesto"})) << a.dump();
  EXPECT_EQ(a["import"].value("encoding", ""), "windows-1250") << a.dump();
  EXPECT_TRUE(Contains(a["import"]["given"], "encoding")) << a.dump();
  json cols = a["table"]["columns"];
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].value("label", ""), "název") << cols.dump();
  EXPECT_EQ(cols[1].value("label", ""), "město") << cols.dump();
  EXPECT_EQ(SqlRows(p, "SELECT nazev, mesto FROM \"in.e.t\""), json::parse(R"([[1, "Plzeň"]])"));
}

TEST_F(CsvImportTest, Utf16WithByteOrderMarkLoadsWithoutOptions) {
  Project p = CreateProject("csv-utf16");
  const std::string file = std::string("\xFF\xFE") + Utf16Le("id,město\n1,Plzeň\n2,Brno\n");
  json a = ImportOk(p, "in.e.t", file);
  // The byte order is named; "bom" says whether the decoded text had a UTF-8 BOM (false here,
  // though the file starts with a UTF-16 one).
  EXPECT_EQ(a["import"].value("encoding", ""), "utf-16le") << a.dump();
  EXPECT_TRUE(Contains(a["import"]["detected"], "encoding")) << a.dump();
  EXPECT_EQ(ColumnNames(a["table"]), (Strings{"id", "mesto"})) << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT id, mesto FROM \"in.e.t\" ORDER BY id"),
            json::parse(R"([[1, "Plzeň"], [2, "Brno"]])"));
}

TEST_F(CsvImportTest, InvalidUtf8NamesLineAndColumn) {
  Project p = CreateProject("csv-badutf8");
  json e = ImportError(p, "in.e.t", "id,name\n1,a\n2,b\xFFz\n3,c\n", "name=bad.csv");
  EXPECT_EQ(DetailText(e["details"], "line"), "3") << e.dump();
  EXPECT_EQ(DetailText(e["details"], "column"), "4") << e.dump();
  EXPECT_EQ(DetailText(e["details"], "file"), "bad.csv") << e.dump();
  EXPECT_NE(e.value("message", "").find("encoding="), std::string::npos) << e.dump();
  HttpResponse missing = Call("GET", T(p, "in.e.t"), p.token);
  EXPECT_EQ(missing.status, 404) << Describe(missing);
}

// ---------------------------------------------------------------------------------------------
// Broken headers.

TEST_F(CsvImportTest, HeaderWithADifferentFieldCountFailsOnLineOne) {
  Project p = CreateProject("csv-badheader");
  const std::vector<std::string> files = {"a,b,c,\n1,2,3\n4,5,6\n", "a,b\n1,2,3\n2,3,4\n",
                                          "x,y\n1,2,\n"};
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    for (const std::string query : {"", "on_bad_rows=skip"}) {
      SCOPED_TRACE(query);
      json e = ImportError(p, "in.h.t", file, query);
      EXPECT_EQ(DetailText(e["details"], "line"), "1") << e.dump();
      const std::string message = e.value("message", "");
      for (const char* leak : {"struct", "sniff", "Possible fixes", "/tmp", ".upload"}) {
        EXPECT_EQ(message.find(leak), std::string::npos) << "'" << leak << "' in " << message;
      }
      EXPECT_EQ(message.find(server_->data_dir()), std::string::npos) << message;
      HttpResponse missing = Call("GET", T(p, "in.h.t"), p.token);
      EXPECT_EQ(missing.status, 404) << Describe(missing);
    }
  }
}

// A header one field longer than the file's only data row is a broken header on line 1, in
// every mode (never a table of one "column0").
TEST_F(CsvImportTest, HeaderLongerThanTheOnlyDataRowFailsOnLineOne) {
  Project p = CreateProject("csv-badheader1");
  for (const std::string query : {"", "on_bad_rows=skip"}) {
    SCOPED_TRACE(query);
    json e = ImportError(p, "in.h.t", "a,b,c,\n1,2,3\n", query);
    EXPECT_EQ(DetailText(e["details"], "line"), "1") << e.dump();
    HttpResponse missing = Call("GET", T(p, "in.h.t"), p.token);
    EXPECT_EQ(missing.status, 404) << Describe(missing);
  }
}

// When every data row is bad, skip mode gives the header's columns with no rows, or an error;
// never a table of one "column0".
TEST_F(CsvImportTest, SkipModeWithEveryRowBadLoadsNoWrongTable) {
  Project p = CreateProject("csv-allbad");
  for (const std::string file : {"a,b\n3\n", "a,b,c\n1,2\n"}) {
    SCOPED_TRACE(file);
    HttpResponse r = Import(p, "in.h.t", file, "on_bad_rows=skip");
    if (r.status == 200) {
      json a = ParseJson(r);
      EXPECT_EQ(ColumnNames(a["table"]).size(), file[3] == 'c' ? 3u : 2u) << a.dump();
      EXPECT_EQ(ColumnNames(a["table"]).empty() ? "" : ColumnNames(a["table"])[0], "a") << a.dump();
      EXPECT_EQ(a["table"].value("row_count", -1), 0) << a.dump();
      EXPECT_EQ(a["import"].value("bad_rows", -1), 1) << a.dump();
    } else {
      EXPECT_EQ(r.status, 400) << Describe(r);
    }
    Call("DELETE", T(p, "in.h.t"), p.token);
  }
}

// A row DuckDB rejects (a value that does not convert) below an emptied or blank line keeps its
// raw text without the line ends above it, and a reason without the file name or a repeated
// column.
TEST_F(CsvImportTest, QuarantinedConversionErrorKeepsTheRawLine) {
  Project p = CreateProject("csv-rawline");
  json a = ImportOk(p, "in.q.t", "a,b\n1,2\n3\n4,x\n5,6\n",
                    "on_bad_rows=quarantine&types=b:BIGINT&name=q.csv");
  EXPECT_EQ(a["import"].value("bad_rows", -1), 2) << a.dump();
  EXPECT_EQ(SqlRows(p, "SELECT line, raw_line FROM \"in.q.t_bad_rows\" ORDER BY line"),
            json::parse(R"([[3, "3"], [4, "4,x"]])"));
  json reasons = SqlRows(p, "SELECT reason FROM \"in.q.t_bad_rows\" WHERE line = 4");
  ASSERT_EQ(reasons.size(), 1u) << reasons.dump();
  const std::string reason = reasons[0][0].get<std::string>();
  EXPECT_NE(reason.find("\"x\""), std::string::npos) << reason;
  EXPECT_EQ(reason.find("q.csv"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("column b: column b"), std::string::npos) << reason;
}

}  // namespace
}  // namespace swan::testing
