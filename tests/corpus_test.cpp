// The messy-file corpus (tests/csv_corpus/generate.py): every CSV and JSON file is imported
// through a real server with no options and with the right options, and read back; the same
// files go through DuckDB's own read_csv / read_json auto-detection in the same run. Counts per
// outcome (loaded exactly, rejected with a clear error, loaded wrong) and every file that is not
// loaded exactly go to csv_corpus_report.md in the working directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "client/api_client.h"
#include "engine/duckdb.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Table = std::vector<std::vector<std::optional<std::string>>>;

enum class Outcome { kExact, kRejected, kUnclear, kWrong };

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kExact:
      return "exact";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kUnclear:
      return "rejected, unclear message";
    case Outcome::kWrong:
      return "LOADED WRONG";
  }
  return "?";
}

// A value as compared: NULL and "" alike, numbers by value.
std::string Canonical(const std::optional<std::string>& v) {
  if (!v || v->empty()) return "\x01NULL";
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  if (end && *end == '\0' && !v->empty() && ((*v)[0] == '-' || std::isdigit((*v)[0]))) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.12g", d);
    return buf;
  }
  return *v;
}

std::vector<std::string> Rows(const Table& t) {
  std::vector<std::string> out;
  for (const auto& row : t) {
    std::string line;
    for (const auto& v : row) line += Canonical(v) + "\x1f";
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Table ExpectedRows(const json& c) {
  Table t;
  for (const auto& row : c["rows"]) {
    std::vector<std::optional<std::string>> r;
    for (const auto& v : row) {
      if (v.is_null()) {
        r.push_back(std::nullopt);
      } else {
        r.push_back(v.get<std::string>());
      }
    }
    t.push_back(std::move(r));
  }
  return t;
}

// Why a table differs from the case's expectation ("" when it matches).
std::string Difference(const std::vector<std::string>& names, const Table& rows,
                       const std::vector<std::string>& want_names, const json& c) {
  if (names != want_names) {
    std::string got, want;
    for (size_t i = 0; i < names.size() && i < 6; ++i) got += names[i] + ",";
    for (size_t i = 0; i < want_names.size() && i < 6; ++i) want += want_names[i] + ",";
    return "columns " + std::to_string(names.size()) + " [" + got + "...] instead of " +
           std::to_string(want_names.size()) + " [" + want + "...]";
  }
  Table want = ExpectedRows(c);
  if (rows.size() != want.size())
    return std::to_string(rows.size()) + " rows instead of " + std::to_string(want.size());
  auto a = Rows(rows), b = Rows(want);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      std::string x = a[i].substr(0, 120), y = b[i].substr(0, 120);
      std::replace(x.begin(), x.end(), '\x1f', '|');
      std::replace(y.begin(), y.end(), '\x1f', '|');
      return "row differs: got " + x + " want " + y;
    }
  }
  return "";
}

// Reads a query's result as text (every column cast to VARCHAR) with its column names.
std::string ReadAll(engine::Connection& conn, const std::string& from,
                    std::vector<std::string>* names, Table* rows) {
  auto described = conn.Describe("SELECT * FROM " + from);
  if (!described.ok()) return described.status().message();
  std::string select;
  for (const auto& c : *described) {
    names->push_back(c.name);
    select += (select.empty() ? "" : ", ") + engine::QuoteIdent(c.name) + "::VARCHAR";
  }
  auto result = conn.Query("SELECT " + select + " FROM " + from);
  if (!result.ok()) return result.status().message();
  *rows = std::move(result->rows);
  return "";
}

bool ClearMessage(const std::string& m) {
  for (const char* noise :
       {"Possible fixes", "sniff", "struct_pack", "struct pack", "strict_mode", ".upload", "/tmp/",
        "data/tmp", "Original Line", "Parser options", "read_csv", "read_json"}) {
    if (m.find(noise) != std::string::npos) return false;
  }
  return !m.empty();
}

class CorpusTest : public SharedServerTest {};

TEST_F(CorpusTest, MessyFilesLoadExactlyOrAreRejectedNeverWrong) {
  TempDir dir;
  const std::string corpus = dir.path() + "/corpus";
  const std::string generator =
      (std::filesystem::path(__FILE__).parent_path() / "csv_corpus" / "generate.py").string();
  ASSERT_EQ(std::system(("python3 " + generator + " " + corpus + " > /dev/null").c_str()), 0);
  std::ifstream index_file(corpus + "/index.json");
  json index = json::parse(index_file);
  const json& cases = index["cases"];
  ASSERT_GE(cases.size(), 350u);

  const std::string admin = server_->admin_token();
  auto call = [&](const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body, const std::string& type) {
    std::vector<std::string> headers = {"Authorization: Bearer " + token};
    if (!type.empty()) headers.push_back("Content-Type: " + type);
    return HttpCall(method, server_->url() + path, headers, body);
  };
  HttpResponse created =
      call("POST", "/v1/projects", admin,
           json{{"name", "corpus"}, {"description", "corpus"}}.dump(), "application/json");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = json::parse(created.body)["token"]["secret"];

  auto db = engine::Database::Open({});
  ASSERT_TRUE(db.ok());
  auto conn = engine::Connection::Open(**db);
  ASSERT_TRUE(conn.ok());

  struct Count {
    int exact = 0, rejected = 0, unclear = 0, wrong = 0;
    void Add(Outcome o) {
      (o == Outcome::kExact      ? exact
       : o == Outcome::kRejected ? rejected
       : o == Outcome::kUnclear  ? unclear
                                 : wrong)++;
    }
  };
  std::map<std::string, Count> counts;  // mode -> counts
  std::map<std::string, int> csv_exact, json_exact;
  std::ostringstream report;
  std::vector<std::string> wrong, missed_with_options, unclear;
  int table_number = 0;
  for (const json& c : cases) {
    const std::string name = c["name"];
    const std::string file = c["file"];
    const bool is_csv = c["kind"] == "csv";
    const bool must_reject = c.value("expect_reject", false);
    const bool has_exception = !c["exception"].is_null();
    std::ifstream in(corpus + "/" + file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> want_names = c["columns"].get<std::vector<std::string>>();
    std::vector<std::string> want_labels = c["labels"].get<std::vector<std::string>>();

    std::map<std::string, std::pair<Outcome, std::string>> result;
    for (const std::string mode : {"no options", "right options"}) {
      std::string query = "name=" + client::UrlEncode(file);
      if (mode == "right options") {
        for (const auto& [k, v] : c["options"].items())
          query += "&" + k + "=" + client::UrlEncode(v.get<std::string>());
      }
      const std::string table = "in.c.t" + std::to_string(++table_number);
      HttpResponse r = call("POST", "/v1/projects/corpus/tables/" + table + "/import?" + query,
                            token, bytes, "application/octet-stream");
      Outcome outcome;
      std::string why;
      if (r.status != 200) {
        json body = json::parse(r.body, nullptr, false);
        why = body.is_object() ? body["error"].value("message", r.body) : r.body;
        outcome = r.status == 400 && ClearMessage(why) ? Outcome::kRejected : Outcome::kUnclear;
      } else if (must_reject) {
        outcome = Outcome::kWrong;
        why = "loaded a document that is not records";
      } else {
        HttpResponse exported = call(
            "GET", "/v1/projects/corpus/tables/" + table + "/export?format=parquet", token, "", "");
        ASSERT_EQ(exported.status, 200) << name << ": " << exported.body.substr(0, 300);
        const std::string parquet = dir.path() + "/out.parquet";
        std::ofstream(parquet, std::ios::binary) << exported.body;
        std::vector<std::string> names;
        Table rows;
        why = ReadAll(**conn, "read_parquet(" + engine::QuoteLiteral(parquet) + ")", &names, &rows);
        if (why.empty()) why = Difference(names, rows, want_names, c);
        outcome = why.empty() ? Outcome::kExact : Outcome::kWrong;
      }
      counts[mode].Add(outcome);
      result[mode] = {outcome, why};
      if (outcome == Outcome::kWrong) wrong.push_back(name + " (" + mode + "): " + why);
      if (outcome == Outcome::kUnclear) unclear.push_back(name + " (" + mode + "): " + why);
      if (mode == "right options" && outcome != Outcome::kExact && !has_exception && !must_reject)
        missed_with_options.push_back(name + ": " + why);
    }

    // DuckDB's own auto-detection on the same file.
    const std::string path = engine::QuoteLiteral(corpus + "/" + file);
    std::vector<std::string> names;
    Table rows;
    std::string why = ReadAll(**conn, is_csv ? "read_csv(" + path + ")" : "read_json(" + path + ")",
                              &names, &rows);
    Outcome duck;
    if (!why.empty()) {
      duck = Outcome::kRejected;
    } else if (must_reject) {
      duck = Outcome::kWrong;
      why = "loaded a document that is not records";
    } else {
      why = Difference(names, rows, want_labels, c);
      duck = why.empty() ? Outcome::kExact : Outcome::kWrong;
    }
    counts["duckdb auto"].Add(duck);
    if (result["no options"].first == Outcome::kExact) (is_csv ? csv_exact : json_exact)["swan"]++;
    if (duck == Outcome::kExact) (is_csv ? csv_exact : json_exact)["duckdb"]++;

    if (result["no options"].first != Outcome::kExact ||
        result["right options"].first != Outcome::kExact) {
      report << "| " << name << " | " << c["category"].get<std::string>() << " | "
             << OutcomeName(result["no options"].first) << " | "
             << OutcomeName(result["right options"].first) << " | " << OutcomeName(duck) << " | ";
      std::string reason = result["right options"].first != Outcome::kExact
                               ? result["right options"].second
                               : result["no options"].second;
      if (has_exception) reason = "expected: " + c["exception"].get<std::string>() + "; " + reason;
      std::replace(reason.begin(), reason.end(), '\n', ' ');
      std::replace(reason.begin(), reason.end(), '|', '/');
      report << reason.substr(0, 300) << " |\n";
    }
  }

  std::ofstream out("csv_corpus_report.md");
  out << "# Messy-file corpus: " << cases.size() << " files\n\n";
  out << "| run | loaded exactly | rejected, clear error | rejected, unclear | loaded wrong |\n";
  out << "|---|---|---|---|---|\n";
  for (const auto& [mode, n] : counts) {
    out << "| " << mode << " | " << n.exact << " | " << n.rejected << " | " << n.unclear << " | "
        << n.wrong << " |\n";
  }
  out << "\nLoaded exactly with no options: CSV Swan " << csv_exact["swan"] << ", DuckDB "
      << csv_exact["duckdb"] << "; JSON Swan " << json_exact["swan"] << ", DuckDB "
      << json_exact["duckdb"] << ".\n\n";
  out << "Files not loaded exactly (no options / right options / DuckDB auto):\n\n";
  out << "| file | category | no options | right options | DuckDB auto | reason |\n";
  out << "|---|---|---|---|---|---|\n" << report.str();
  out.close();
  std::printf("%s\n",
              [] {
                std::ifstream in("csv_corpus_report.md");
                std::string head, line;
                for (int i = 0; i < 9 && std::getline(in, line); ++i) head += line + "\n";
                return head;
              }()
                  .c_str());

  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 40; ++i) s += "\n  " + v[i];
    return s;
  };
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " loaded wrong:" << list(wrong);
  EXPECT_TRUE(unclear.empty()) << unclear.size() << " unclear errors:" << list(unclear);
  EXPECT_TRUE(missed_with_options.empty())
      << missed_with_options.size()
      << " not exact with the right options:" << list(missed_with_options);
  EXPECT_GE(counts["no options"].exact, counts["duckdb auto"].exact);
  EXPECT_GE(csv_exact["swan"], csv_exact["duckdb"]);
}

}  // namespace
}  // namespace swan::testing
