// Focused tests of the Generic REST extractor's parts: user functions, the JSON flattener's
// naming, each scroller and the HTTP retries against a local httplib server, error messages.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "connectors/generic_extractor.h"
#include "connectors/json_array_count.h"
#include "connectors/json_flattener.h"
#include "connectors/php_datetime.h"
#include "connectors/php_semantics.h"
#include "connectors/rest_auth.h"
#include "connectors/rest_client.h"
#include "connectors/rest_config.h"
#include "connectors/simd_json.h"
#include "connectors/user_functions.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using swan::connectors::Json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path FreshDir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("swan-rest-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Removes every folder FreshDir made, once all tests ran.
class TempDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    std::string prefix = "swan-rest-test-" + std::to_string(::getpid()) + "-";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path(), ec);
    }
  }
};
const auto* const kTempDirs = ::testing::AddGlobalTestEnvironment(new TempDirs);

// A local API: handlers by path; counts requests.
class LocalApi {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  LocalApi() {
    auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      auto it = handlers_.find(req.path);
      if (it == handlers_.end()) {
        res.status = 404;
        res.set_content("no handler for " + req.path, "text/plain");
        return;
      }
      it->second(req, res);
    };
    server_.Get(".*", dispatch);
    server_.Post(".*", dispatch);
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~LocalApi() {
    server_.stop();
    thread_.join();
  }
  void On(const std::string& path, Handler h) { handlers_[path] = std::move(h); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::atomic<int> requests{0};

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, Handler> handlers_;
};

struct RunResult {
  swan::Status status;
  fs::path out;
  Json state;
  std::vector<std::string> log;
  std::vector<int64_t> sleeps_ms;
};

RunResult Extract(const Json& config, const std::string& name,
                  std::function<void(swan::connectors::GenericExtractorOptions&)> tune = {}) {
  RunResult r;
  r.out = FreshDir(name);
  swan::connectors::GenericExtractorIo io;
  io.out_dir = r.out.string();
  io.output_state = &r.state;
  io.log = [&](swan::connectors::LogLevel, const std::string& line) { r.log.push_back(line); };
  io.options.sleep = [&](int64_t ms) { r.sleeps_ms.push_back(ms); };
  if (tune) tune(io.options);
  r.status = swan::connectors::RunGenericExtractor(config, io);
  return r;
}

std::string Table(const RunResult& r, const std::string& name) {
  return ReadFile(r.out / "tables" / (name + ".csv"));
}

Json Config(const std::string& base_url, const Json& api_extra, const Json& jobs) {
  Json c = Json::parse(R"({"parameters": {"api": {}, "config": {"outputBucket": "b"}}})");
  c["parameters"]["api"]["baseUrl"] = base_url;
  for (auto it = api_extra.begin(); it != api_extra.end(); ++it) {
    c["parameters"]["api"][it.key()] = *it;
  }
  c["parameters"]["config"]["jobs"] = jobs;
  return c;
}

// ---------------------------------------------------------------------------------------------
// User functions

Json Eval(const std::string& tree, const Json& refs = Json::object()) {
  swan::connectors::UserFunctionOptions o;
  o.now = [] { return int64_t{1492674974} * 1000000; };
  return swan::connectors::RunUserFunction(Json::parse(tree), refs, o);
}

TEST(UserFunctions, StringAndHashFunctions) {
  Json refs = Json::parse(R"({"attr": {"#user": "JohnDoe", "#pass": "TopSecret",
                              "server": {"host": "h", "port": 80}}})");
  EXPECT_EQ(Eval(R"({"function":"concat","args":[{"attr":"#user"},":",{"attr":"#pass"}]})", refs),
            "JohnDoe:TopSecret");
  EXPECT_EQ(Eval(R"({"function":"base64_encode","args":[{"function":"concat","args":[
                    {"attr":"#user"},":",{"attr":"#pass"}]}]})",
                 refs),
            "Sm9obkRvZTpUb3BTZWNyZXQ=");
  EXPECT_EQ(Eval(R"({"function":"md5","args":["NotSoSecret"]})"),
            swan::connectors::Md5Hex("NotSoSecret"));
  EXPECT_EQ(Eval(R"({"function":"sha1","args":["abc"]})"),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Eval(R"({"function":"hash_hmac","args":["sha256","data","key"]})"),
            "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0");
  EXPECT_EQ(Eval(R"({"function":"sprintf","args":["%'.05d", 3]})"), "00003");
  EXPECT_EQ(Eval(R"({"function":"sprintf","args":["http://%s:%d/x", "h", 8080]})"),
            "http://h:8080/x");
  EXPECT_EQ(Eval(R"({"function":"concat","args":[{"attr":"server.host"},":",
                    {"attr":"server.port"}]})",
                 refs),
            "h:80");
  EXPECT_EQ(Eval(R"({"function":"ifempty","args":["", "all"]})"), "all");
  EXPECT_EQ(Eval(R"({"function":"ifempty","args":["id,name", "all"]})"), "id,name");
  EXPECT_EQ(Eval(R"({"function":"implode","args":[",", ["a", "b", 3]]})"), "a,b,3");
}

TEST(UserFunctions, DatesAndTime) {
  EXPECT_EQ(Eval(R"({"function":"date","args":["Y-m-d H:i:s:u", 1492674974]})"),
            "2017-04-20 07:56:14:000000");
  EXPECT_EQ(Eval(R"({"function":"time"})"), 1492674974);
  EXPECT_EQ(Eval(R"({"function":"date","args":["Y-m-d",{"function":"strtotime","args":[
                    "+7 days",{"function":"strtotime","args":["2017-10-04"]}]}]})"),
            "2017-10-11");
  Json refs = Json::parse(R"({"time": {"previousStart": 1492606006, "currentStart": 1504785600}})");
  EXPECT_EQ(Eval(R"({"function":"date","args":["Y-m-d",{"function":"strtotime","args":[
                    "-1 day",{"time":"currentStart"}]}]})",
                 refs),
            "2017-09-06");
  EXPECT_EQ(Eval(R"({"time":"previousStart"})", refs), 1492606006);
  EXPECT_EQ(swan::connectors::PhpStrtotime("2017-01-31 +1 month", 0),
            swan::connectors::PhpStrtotime("2017-03-03", 0));
  EXPECT_EQ(swan::connectors::PhpDate("D, d M Y H:i:s O", 0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(swan::connectors::PhpDate("D W o N jS", int64_t{17897} * 86400), "Tue 01 2019 2 1st");
  EXPECT_EQ(swan::connectors::PhpDate("D W o", int64_t{17400} * 86400), "Tue 34 2017");
}

TEST(UserFunctions, ErrorsNameTheProblem) {
  try {
    Eval(R"({"function":"system","args":["ls"]})");
    FAIL() << "an illegal function must be refused";
  } catch (const swan::connectors::ExtractorError& e) {
    EXPECT_NE(std::string(e.what()).find("Illegal function 'system'"), std::string::npos);
  }
  try {
    Eval(R"({"attr":"missing"})", Json::parse(R"({"attr": {"present": 1}})"));
    FAIL() << "a missing attribute must be refused";
  } catch (const swan::connectors::ExtractorError& e) {
    EXPECT_NE(std::string(e.what()).find("attr 'missing' not found"), std::string::npos);
  }
  auto st = swan::connectors::EvaluateUserFunctions(Json::parse(R"({"a": {"function": "nope"}})"),
                                                    Json::object());
  EXPECT_FALSE(st.ok());
}

// ---------------------------------------------------------------------------------------------
// JSON flattener

std::map<std::string, std::string> Flatten(const std::vector<std::pair<std::string, Json>>& batches,
                                           const std::string& name) {
  fs::path dir = FreshDir(name);
  swan::connectors::JsonFlattener f(dir.string(), {});
  for (const auto& [type, data] : batches) f.Process(data, type, nullptr);
  std::map<std::string, std::string> out;
  for (auto& t : f.Finish()) out[t->name()] = ReadFile(t->path());
  return out;
}

TEST(JsonFlattener, NestedObjectsArraysAndParentIds) {
  auto tables = Flatten({{"users", Json::parse(R"([
      {"id": 123, "name": "John Doe", "tags": ["active", "admin"], "address": {"city": "London"}},
      {"id": 234, "name": "Jane Doe", "tags": ["active"], "married": false}])")}},
                        "flatten-basic");
  // The parent link is "<type>_" + md5(PHP serialize of the parent row), as Keboola's.
  auto link = [](const char* row) {
    return "users_" + swan::connectors::Md5Hex(swan::connectors::PhpSerialize(Json::parse(row)));
  };
  std::string h1 = link(R"({"id": 123, "name": "John Doe", "tags": ["active", "admin"],
                            "address": {"city": "London"}})");
  std::string h2 = link(R"({"id": 234, "name": "Jane Doe", "tags": ["active"], "married": false})");
  EXPECT_EQ(tables["users"],
            "\"id\",\"name\",\"tags\",\"address_city\",\"married\"\n"
            "\"123\",\"John Doe\",\"" +
                h1 +
                "\",\"London\",\"\"\n"
                "\"234\",\"Jane Doe\",\"" +
                h2 + "\",\"\",\"\"\n");
  EXPECT_EQ(tables["users_tags"], "\"data\",\"JSON_parentId\"\n\"active\",\"" + h1 +
                                      "\"\n\"admin\",\"" + h1 + "\"\n\"active\",\"" + h2 + "\"\n");
}

// Rows are written as batches arrive while the structure holds, and from the spool when a later
// batch changes it: either way the tables, the saved structure and the log lines are those of
// one pass over every record at the end (one batch holding them all is such a pass).
TEST(JsonFlattener, StreamedBatchesGiveWhatOnePassGives) {
  struct Result {
    std::map<std::string, std::string> tables;
    Json structure;
    std::vector<std::string> log;
    int refused = 0;  // answers simdjson refused
  };
  // How batches reach the flattener: a copy, moved, or as answers simdjson parsed (then
  // `parsed` counts the batches streamed without a Json tree).
  enum class Mode { kCopy, kMove, kParsed };
  auto run = [](const std::vector<Json>& batches, const std::vector<std::string>& texts,
                const std::string& name, Mode mode, int64_t* parsed = nullptr) {
    Result r;
    fs::path dir = FreshDir(name);
    swan::connectors::JsonFlattener f(
        dir.string(), [&r](auto, const std::string& line) { r.log.push_back(line); });
    for (size_t i = 0; i < batches.size(); ++i) {
      if (mode == Mode::kMove) {
        f.Process(Json(batches[i]), "users", Json::object());
      } else if (mode == Mode::kCopy) {
        f.Process(batches[i], "users", nullptr);
      } else {
        // (What the page pipeline does: an answer simdjson refuses is decoded into a Json.)
        if (auto doc = swan::connectors::ParseSimd(texts[i])) {
          f.ProcessParsed(*doc, "users", Json::object());
        } else {
          ++r.refused;
          f.Process(batches[i], "users", Json::object());
        }
      }
    }
    if (parsed != nullptr) *parsed = f.parsed_batches_streamed();
    for (auto& t : f.Finish()) r.tables[t->name()] = ReadFile(t->path());
    r.structure = f.StructureState();
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()),
              static_cast<std::ptrdiff_t>(r.tables.size()))
        << name << ": only the tables are left";
    return r;
  };
  const std::vector<std::vector<const char*>> cases = {
      // the structure holds after the first batch
      {R"([{"id": 1, "tags": ["a", "b"], "address": {"city": "X"}}])",
       R"([{"id": 2, "tags": ["c"], "address": {"city": "Y"}}, {"id": 3}])"},
      // a new column, then a new child table, in later batches
      {R"([{"id": 1}])", R"([{"id": 2, "name": "n"}])", R"([{"id": 3, "tags": ["x"]}])"},
      // a scalar that later becomes an array: earlier rows change too
      {R"([{"id": 1, "tags": "a"}])", R"([{"id": 2, "tags": ["b", "c"]}])"},
      // an array where a scalar column was learned (a warning while the rows are written)
      {R"([{"id": 1, "v": "a"}, {"id": 2, "v": null}])", R"([{"id": 3, "v": "b"}])",
       R"([{"id": 4, "v": ["x"]}])"},
      // a record's own "JSON_parentId" next to the child table's parent column
      {R"([{"id": 1, "tags": ["a"]}])", R"([{"id": 2, "tags": [{"JSON_parentId": "p"}]}])"},
      // records whose structure is known: empty arrays, nulls, nested arrays (logged each time)
      {R"([{"id": 1, "tags": ["a"], "m": [[1]], "o": {"k": 1}}, {"id": 2, "tags": [], "m": [[2]]}])",
       R"([{"id": 3, "tags": null, "m": [[3], [4]], "o": null}, {"id": 4, "tags": ["b"]}])",
       R"([{"id": 5, "tags": [], "o": {"k": null}}, {"[]": 1}])"},
      // every kind of value, nested objects and arrays at depth, a structure that holds
      {R"([{"id": 1, "p": 1.5, "o": {"a": {"b": 2}, "t": [1, 2]}, "items": [{"x": 1, "y": [3]},
          {"x": 2, "z": {"w": "v"}}], "b": true, "s": "é\"q\n,", "e": {}, "u": null}])",
       R"([{"id": 2, "p": -0.0, "o": {"a": {"b": null}, "t": []}, "items": [{"x": 3, "y": [4, 5]}],
          "b": false, "s": "", "e": {}}, {"id": 3, "p": 1e20, "o": {"a": {"b": 3}, "t": [7]},
          "items": [], "b": null, "s": "0", "u": null}])",
       R"([{"id": -4, "p": 0.1, "o": {"a": {"b": 12345678901234567890}, "t": [0.5]},
          "items": [{"x": 4, "y": [], "z": {"w": null}}], "b": true, "s": "\u0000\u00e9"},
          {"id": 5, "p": 3, "o": null}])"},
      // scalar records, and a child table of scalars under a nested object
      {R"([1, "a", null])", R"([2.5, true, "b"])", R"([null, 3])"},
      {R"([{"o": {"t": ["a"]}}])", R"([{"o": {"t": ["b", "c"]}}, {"o": {"t": "d"}}])"},
      // a key given twice (a Json keeps the last value), then a number beyond 64 bits
      {R"([{"id": 1, "v": 1}])", R"([{"id": 2, "v": 2, "v": 3}])", R"([{"id": 3, "v": 4}])"},
      {R"([{"id": 1}])", R"([{"id": 2}])", R"([{"id": 123456789012345678901234}])"},
      // a record holding its child rows' parent column, in a later batch
      {R"([{"id": 1, "t": [{"a": 1}]}])", R"([{"id": 2, "t": [{"a": 2}]}])",
       R"([{"id": 3, "t": [{"a": 3, "JSON_parentId": "x"}]}])"},
      // a new column and a new child table in later batches, then the same again
      {R"([{"id": 1}])", R"([{"id": 2, "n": 1}])", R"([{"id": 3, "n": 2, "t": [1]}])",
       R"([{"id": 4, "n": 3, "t": [2]}])"},
      // incompatible types in a later batch
      {R"([{"id": 1, "t": [1]}])", R"([{"id": 2, "t": [2]}])", R"([{"id": 3, "t": [{"a": 1}]}])"},
  };
  // The cases whose later batches all hold the structure the earlier ones gave.
  const std::set<size_t> all_streamed = {6, 7};
  const size_t kBeyond64Bits = 10;
  int n = 0;
  for (const auto& c : cases) {
    std::vector<Json> batches;
    std::vector<std::string> texts;
    Json all = Json::array();
    for (const char* b : c) {
      batches.push_back(Json::parse(b));
      texts.emplace_back(b);
      for (const auto& record : batches.back()) all.push_back(record);
    }
    const size_t index = static_cast<size_t>(n);
    std::string name = "stream-" + std::to_string(n++);
    Result one;
    try {
      one = run({all}, {all.dump()}, name + "-one", Mode::kCopy);
    } catch (const swan::connectors::ExtractorError&) {
      // A case the parser refuses must be refused the same way batch by batch.
      EXPECT_THROW(run(batches, texts, name + "-copy", Mode::kCopy),
                   swan::connectors::ExtractorError)
          << name;
      EXPECT_THROW(run(batches, texts, name + "-parsed", Mode::kParsed),
                   swan::connectors::ExtractorError)
          << name;
      continue;
    }
    for (Mode mode : {Mode::kCopy, Mode::kMove, Mode::kParsed}) {
      int64_t parsed = 0;
      Result streamed =
          run(batches, texts, name + "-" + std::to_string(static_cast<int>(mode)), mode, &parsed);
      if (mode == Mode::kParsed) {
        EXPECT_EQ(streamed.refused, index == kBeyond64Bits ? 1 : 0) << name;
        if (all_streamed.count(index) != 0) {
          EXPECT_EQ(parsed, static_cast<int64_t>(batches.size()) - 1)
              << name << ": every batch after the first is streamed from its parsed answer";
        }
      }
      EXPECT_EQ(streamed.tables, one.tables) << name;
      // (Key order aside: batch by batch, a node may get its header name before its children.)
      EXPECT_EQ(nlohmann::json::parse(streamed.structure.dump()),
                nlohmann::json::parse(one.structure.dump()))
          << name;
      EXPECT_EQ(streamed.log, one.log) << name;
    }
  }
}

// The values of an answer simdjson parsed give what the same answer decoded into a Json gives:
// the page digest, PHP's serialize() (the parent keys) and PHP's string cast (the cells).
TEST(SimdJson, ValuesGiveWhatTheirJsonGives) {
  const std::vector<std::string> answers = {
      R"([1, -1, 0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808,
          18446744073709551615])",
      R"([0.1, -0.0, 1e20, 1.5e-7, 123456789012345.678, 1E+2, 2.5, 1e300, -3.25e-300])",
      R"(["", "0", "é", "\u0000", "\ud83d\ude00", "q\"\\\/\n\t", true, false, null])",
      R"([{"a": {"b": [1, {"c": null}], "d": {}}, "[]": [], "e": ""}, [[1], []], {}])",
      R"({"data": [{"id": 1}], "next": "x"})",
  };
  for (const auto& text : answers) {
    auto doc = swan::connectors::ParseSimd(text);
    ASSERT_TRUE(doc != nullptr) << text;
    const Json json = Json::parse(text);
    EXPECT_EQ(swan::connectors::SimdSha1Hex(doc->root), swan::connectors::JsonSha1Hex(json))
        << text;
    std::string serialized;
    swan::connectors::SimdPhpSerialize(doc->root, serialized);
    EXPECT_EQ(serialized, swan::connectors::PhpSerialize(json)) << text;
    if (!json.is_array()) continue;
    size_t i = 0;
    for (simdjson::dom::element item : swan::connectors::SimdArray(doc->root)) {
      const Json& value = json[i++];
      if (value.is_array() || value.is_object()) continue;
      std::string cell;
      swan::connectors::SimdPhpToString(item, cell);
      EXPECT_EQ(cell, swan::connectors::PhpToString(value)) << value.dump();
    }
  }
  // Values apart are told apart: a float and an integer, key order, an element more.
  auto sha = [](const char* text) {
    return swan::connectors::SimdSha1Hex(swan::connectors::ParseSimd(text)->root);
  };
  EXPECT_NE(sha("[1]"), sha("[1.0]"));
  EXPECT_NE(sha(R"({"a":1,"b":2})"), sha(R"({"b":2,"a":1})"));
  EXPECT_NE(sha("[[1],[]]"), sha("[[1],[],[]]"));
  EXPECT_EQ(sha("[ 1 , 2 ]"), sha("[1,2]"));
  // What simdjson refuses is decoded into a Json, which repairs or refuses it with its errors.
  EXPECT_EQ(swan::connectors::ParseSimd("[123456789012345678901234]"), nullptr);
  EXPECT_EQ(swan::connectors::ParseSimd("[\"\xff\"]"), nullptr);
  EXPECT_EQ(swan::connectors::ParseSimd("[1,]"), nullptr);
  EXPECT_EQ(swan::connectors::ParseSimd(std::string(600, '[') + std::string(600, ']')), nullptr);
  EXPECT_TRUE(swan::connectors::SimdHasDuplicateKey(
      swan::connectors::SimdObject(swan::connectors::ParseSimd(R"({"a":1,"b":2,"a":3})")->root)));
  EXPECT_FALSE(swan::connectors::SimdHasDuplicateKey(
      swan::connectors::SimdObject(swan::connectors::ParseSimd(R"({"a":1,"ab":2})")->root)));
}

TEST(JsonFlattener, RecordsOfAKnownStructureAreCheckedOnce) {
  // The second and third records match the structure the first gave (no change, no analysis);
  // each nested array is still logged, and a changed type still fails.
  fs::path dir = FreshDir("known-structure");
  std::vector<std::string> log;
  swan::connectors::JsonFlattener f(dir.string(),
                                    [&log](auto, const std::string& line) { log.push_back(line); });
  f.Process(Json::parse(R"([{"id": 1, "m": [[1]]}, {"id": 2, "m": [[2]]}, {"id": 3, "m": [[3]]}])"),
            "t", nullptr);
  EXPECT_EQ(std::count_if(log.begin(), log.end(),
                          [](const std::string& l) {
                            return l.find("Converting nested array") != std::string::npos;
                          }),
            3);
  EXPECT_THROW(f.Process(Json::parse(R"([{"id": 4, "m": [[4]]}, {"id": 5, "m": [{"a": 1}]}])"), "t",
                         nullptr),
               swan::connectors::ExtractorError);
}

TEST(JsonFlattener, RecordDigestsGiveTheSameParentIds) {
  // Digests made elsewhere (the download thread) stand for the rows' own serialization; rows
  // with parent columns serialize those too and ignore them.
  const char* page =
      R"([{"id": 1, "tags": ["a"], "o": {"k": [1]}}, null, {"id": 2.5, "tags": []}])";
  auto run = [&](const std::string& name, const Json& parent, bool digested, bool bogus) {
    fs::path dir = FreshDir(name);
    swan::connectors::JsonFlattener f(dir.string(), [](auto, const std::string&) {});
    Json data = Json::parse(R"([{"id": 0, "tags": ["z"]}])");
    f.Process(std::move(data), "t", parent);  // the structure is known: rows are streamed
    data = Json::parse(page);
    std::vector<std::string> digests;
    for (const auto& r : data) {
      digests.push_back(!r.is_object() ? ""
                        : bogus        ? std::string(32, 'f')
                                : swan::connectors::Md5Hex(swan::connectors::PhpSerialize(r)));
    }
    swan::connectors::RecordDigests given = [&digests]() { return &digests; };
    f.Process(std::move(data), "t", parent, digested ? &given : nullptr);
    std::map<std::string, std::string> tables;
    for (auto& t : f.Finish()) tables[t->name()] = ReadFile(t->path());
    return tables;
  };
  EXPECT_EQ(run("digests-none", nullptr, false, false), run("digests-given", nullptr, true, false));
  Json parent = Json::parse(R"({"parent_id": 9})");
  EXPECT_EQ(run("digests-parent-none", parent, false, false),
            run("digests-parent-bogus", parent, true, true));
}

TEST(Http, InvalidUtf8BytesAreDropped) {
  using swan::connectors::SanitizeUtf8;
  const std::string valid = "plain ascii, and \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 mixed";
  EXPECT_EQ(SanitizeUtf8(valid), valid);
  // A stray byte, an overlong form, a surrogate, past U+10FFFF, truncated at the end.
  EXPECT_EQ(SanitizeUtf8("a\xff"
                         "bcdefghij\xc0\xaf"
                         "k\xed\xa0\x80"
                         "l\xf4\x90\x80\x80"
                         "m\xe2\x82"),
            "abcdefghijklm");
  Json parsed = swan::connectors::RestClient::DecodeJson("[\"x\xffy\"]", "u");
  EXPECT_EQ(parsed[0], "xy");
}

TEST(PhpSemantics, DoublesAsPhpPrintsThem) {
  using swan::connectors::PhpSerialize;
  using swan::connectors::PhpToString;
  EXPECT_EQ(PhpToString(Json(0.1)), "0.1");
  EXPECT_EQ(PhpToString(Json(123.45)), "123.45");
  EXPECT_EQ(PhpToString(Json(-2.5)), "-2.5");
  EXPECT_EQ(PhpToString(Json(1e14)), "1.0E+14");
  EXPECT_EQ(PhpToString(Json(1e13)), "10000000000000");
  EXPECT_EQ(PhpToString(Json(0.0001)), "0.0001");
  EXPECT_EQ(PhpToString(Json(0.00001)), "1.0E-5");
  EXPECT_EQ(PhpToString(Json(1.0 / 3)), "0.33333333333333");
  EXPECT_EQ(PhpSerialize(Json(0.1)), "d:0.10000000000000001;");
  EXPECT_EQ(PhpSerialize(Json(-0.0)), "d:-0;");
  EXPECT_EQ(PhpSerialize(Json(1e300)), "d:1.0000000000000001E+300;");
  EXPECT_EQ(PhpSerialize(Json::parse(R"({"a": [-5, 7, 1.5, "x", null, true]})")),
            "O:8:\"stdClass\":1:{s:1:\"a\";a:6:{i:0;i:-5;i:1;i:7;i:2;d:1.5;i:3;s:1:\"x\";i:4;N;"
            "i:5;b:1;}}");
}

// A decimal number's sign, significant digits and the power of ten of its first digit, whatever
// its layout ("-1.50E+3", "-1500", "-1.5e+03" all give "-15e3").
std::string DecimalDigits(std::string_view text) {
  std::string sign, digits;
  if (!text.empty() && text[0] == '-') {
    sign = "-";
    text.remove_prefix(1);
  }
  const size_t e = text.find_first_of("eE");
  const std::string_view mantissa = text.substr(0, e);
  int exponent =
      e == std::string_view::npos ? 0 : std::atoi(std::string(text.substr(e + 1)).c_str());
  int point = static_cast<int>(mantissa.find('.'));
  if (point < 0) point = static_cast<int>(mantissa.size());
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  const size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) return sign + "0";
  digits.erase(0, lead);
  digits.erase(digits.find_last_not_of('0') + 1);
  return sign + digits + "e" + std::to_string(point - static_cast<int>(lead) - 1 + exponent);
}

// PhpFormatDouble takes its digits from the shortest form where that is the rounding: the
// digits must be printf's (%.*e) for every precision, every magnitude and subnormals too.
TEST(PhpSemantics, DoubleDigitsArePrintfsAtEveryPrecision) {
  using swan::connectors::PhpFormatDouble;
  std::mt19937_64 rng(20261204);
  std::vector<double> values = {5e-324,
                                2.2250738585072014e-308,
                                2.225073858507201e-308,
                                1.7976931348623157e308,
                                0.1,
                                0.3,
                                357.62,
                                999999999999999.9,
                                9.9999999999999995e14,
                                1e15,
                                123456789012345.6,
                                0.000123};
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
    // Decimals of 1 to 17 digits at many scales: the values people write.
    const int digits = 1 + static_cast<int>(rng() % 17);
    const uint64_t mantissa = rng() % static_cast<uint64_t>(std::pow(10.0, digits));
    values.push_back(static_cast<double>(mantissa) *
                     std::pow(10.0, static_cast<int>(rng() % 40) - 25));
  }
  for (double v : values) {
    for (int precision : {14, 15, 17}) {
      char want[64];
      std::snprintf(want, sizeof want, "%.*e", precision - 1, v);
      const std::string got = PhpFormatDouble(v, precision);
      // The same digits: PHP's form differs from printf's only in layout.
      ASSERT_EQ(DecimalDigits(got), DecimalDigits(want))
          << "precision " << precision << ": got " << got << ", printf " << want;
    }
  }
}

TEST(PhpSemantics, JsonDigestIsTheDumpsIdentity) {
  using swan::connectors::JsonSha1Hex;
  auto same = [](const Json& a, const Json& b) { return JsonSha1Hex(a) == JsonSha1Hex(b); };
  EXPECT_TRUE(same(Json::parse(R"({"a": [1, "x", {"b": null}]})"),
                   Json::parse(R"({"a": [1, "x", {"b": null}]})")));
  EXPECT_TRUE(same(Json(int64_t{5}), Json(uint64_t{5})));
  EXPECT_TRUE(same(Json(std::nan("")), Json(nullptr)));
  EXPECT_FALSE(same(Json(1), Json(1.0)));
  EXPECT_FALSE(same(Json(0.0), Json(-0.0)));
  EXPECT_FALSE(same(Json::parse(R"({"a": 1, "b": 2})"), Json::parse(R"({"b": 2, "a": 1})")));
  EXPECT_FALSE(same(Json::parse(R"([1, [2]])"), Json::parse(R"([[1], 2])")));
  EXPECT_FALSE(same(Json::parse(R"(["ab", "c"])"), Json::parse(R"(["a", "bc"])")));
  EXPECT_FALSE(same(Json("1"), Json(1)));
  EXPECT_EQ(JsonSha1Hex(Json::array()).size(), 40u);
}

TEST(JsonFlattener, KnownKeboolaHash) {
  // From Keboola's example 010: md5 of the serialized row below.
  EXPECT_EQ(swan::connectors::Md5Hex(swan::connectors::PhpSerialize(
                Json::parse(R"({"id": 123, "name": "John Doe", "tags": ["active", "admin"]})"))),
            "3ca896f39b257a4f2d2f4784e7680c87");
}

// Every cell is quoted and a quote inside is doubled, wherever it is (first, last, side by side);
// commas, line breaks and UTF-8 pass as they are; null, false and "" are empty, true is "1".
TEST(JsonFlattener, CellsAreQuotedAsCsvWantsThem) {
  auto tables = Flatten({{"t", Json::parse(R"([
        {"a": "say \"hi\"", "b": "\"", "c": "\"\"x\"\"", "d": "1,2\n3", "e": "čaj ☕"},
        {"a": null, "b": false, "c": "", "d": true, "e": 1.5}])")}},
                        "flatten-quoting");
  EXPECT_EQ(tables["t"],
            "\"a\",\"b\",\"c\",\"d\",\"e\"\n"
            "\"say \"\"hi\"\"\",\"\"\"\",\"\"\"\"\"x\"\"\"\"\",\"1,2\n3\",\"čaj ☕\"\n"
            "\"\",\"\",\"\",\"1\",\"1.5\"\n");
}

// The rows of nested objects and arrays reuse their plan from record to record; a later batch
// that adds a column to the nested object (a new structure) is written with it, for every row.
TEST(JsonFlattener, NestedRowsFollowAStructureThatGrows) {
  auto tables = Flatten({{"u", Json::parse(R"([{"id": 1, "o": {"x": 1}, "t": ["p", "q"]},
                                              {"id": 2, "o": {"x": 2}, "t": ["r"]}])")},
                         {"u", Json::parse(R"([{"id": 3, "o": {"x": 3, "y": "n"}, "t": ["s"]}])")}},
                        "flatten-grows");
  auto link = [](const char* row) {
    return "u_" + swan::connectors::Md5Hex(swan::connectors::PhpSerialize(Json::parse(row)));
  };
  // The new column sits with its object's (the structure's order), empty in the earlier rows.
  EXPECT_EQ(tables["u"],
            "\"id\",\"o_x\",\"o_y\",\"t\"\n"
            "\"1\",\"1\",\"\",\"" +
                link(R"({"id": 1, "o": {"x": 1}, "t": ["p", "q"]})") +
                "\"\n"
                "\"2\",\"2\",\"\",\"" +
                link(R"({"id": 2, "o": {"x": 2}, "t": ["r"]})") +
                "\"\n"
                "\"3\",\"3\",\"n\",\"" +
                link(R"({"id": 3, "o": {"x": 3, "y": "n"}, "t": ["s"]})") + "\"\n");
  EXPECT_EQ(std::count(tables["u_t"].begin(), tables["u_t"].end(), '\n'), 5) << tables["u_t"];
}

TEST(JsonFlattener, ScalarUpgradedToArray) {
  auto tables = Flatten({{"users", Json::parse(R"([{"id": 1, "tags": "a"},
                                                   {"id": 2, "tags": ["b", "c"]}])")}},
                        "flatten-upgrade");
  EXPECT_EQ(tables["users"].substr(0, tables["users"].find('\n')), "\"id\",\"tags\"");
  // Three tag rows: the scalar became a one-item array.
  EXPECT_EQ(std::count(tables["users_tags"].begin(), tables["users_tags"].end(), '\n'), 4);
}

TEST(JsonFlattener, LongNamesAreShortened) {
  std::string key(70, 'a');
  Json row = Json::object();
  row[key] = Json::object({{"inner_value_here", 1}});
  auto tables = Flatten({{"t", Json::array({row})}}, "flatten-long");
  std::string header = tables["t"].substr(0, tables["t"].find('\n'));
  std::string name = header.substr(1, header.size() - 2);
  EXPECT_LE(name.size(), 64u) << name;
  EXPECT_EQ(swan::connectors::JsonStructure::SafeName("user/{user-id}"), "user_user-id");
}

TEST(JsonFlattener, ParentColumnConflictIsRenamed) {
  fs::path dir = FreshDir("flatten-parent");
  swan::connectors::JsonFlattener f(dir.string(), {});
  f.Process(Json::parse(R"([{"id": 1, "parent_id": "admins"}])"), "detail",
            Json::parse(R"({"parent_id": 1})"));
  auto tables = f.Finish();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(ReadFile(tables[0]->path()),
            "\"id\",\"parent_id\",\"parent_id_u0\"\n\"1\",\"admins\",\"1\"\n");
}

TEST(JsonFlattener, IncompatibleTypesAreAClearError) {
  fs::path dir = FreshDir("flatten-bad");
  swan::connectors::JsonFlattener f(dir.string(), {});
  try {
    f.Process(Json::parse(R"([{"color": "red"}, {"color": {"r": 255}}])"), "t", nullptr);
    FAIL();
  } catch (const swan::connectors::ExtractorError& e) {
    EXPECT_NE(std::string(e.what()).find("Unhandled nodeType change"), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Scrollers

Json Items(int from, int count) {
  Json items = Json::array();
  for (int i = from; i < from + count; ++i) items.push_back(Json::object({{"id", i}}));
  return items;
}

TEST(Scrollers, Offset) {
  LocalApi api;
  api.On("/users", [](const httplib::Request& req, httplib::Response& res) {
    int offset = std::stoi(req.get_param_value("offset"));
    int limit = std::stoi(req.get_param_value("limit"));
    int count = std::max(0, std::min(limit, 5 - offset));
    res.set_content(Items(offset, count).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                     "limit": 2}})"),
                          Json::parse(R"([{"endpoint": "users"}])")),
                   "offset");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Table(r, "b.users"), "\"id\"\n\"0\"\n\"1\"\n\"2\"\n\"3\"\n\"4\"\n");
  EXPECT_EQ(api.requests.load(), 3);
}

TEST(Scrollers, PageNumberStopsOnEmptyPage) {
  LocalApi api;
  api.On("/users", [](const httplib::Request& req, httplib::Response& res) {
    int page = std::stoi(req.get_param_value("page"));
    res.set_content((page <= 2 ? Items(page * 10, 2) : Json::array()).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "pagenum"}})"),
                          Json::parse(R"([{"endpoint": "users"}])")),
                   "pagenum");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Table(r, "b.users"), "\"id\"\n\"10\"\n\"11\"\n\"20\"\n\"21\"\n");
  EXPECT_EQ(api.requests.load(), 3);
}

TEST(Scrollers, Cursor) {
  LocalApi api;
  api.On("/users", [](const httplib::Request& req, httplib::Response& res) {
    int after = req.has_param("since") ? std::stoi(req.get_param_value("since")) : 0;
    Json items = after < 4 ? Items(after + 1, 2) : Json::array();
    res.set_content(Json::object({{"items", items}}).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "cursor",
                                                     "idKey": "id", "param": "since"}})"),
                          Json::parse(R"([{"endpoint": "users", "dataField": "items"}])")),
                   "cursor");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Table(r, "b.users"), "\"id\"\n\"1\"\n\"2\"\n\"3\"\n\"4\"\n");
}

TEST(Scrollers, ResponseUrlAndResponseParam) {
  LocalApi api;
  api.On("/a", [](const httplib::Request& req, httplib::Response& res) {
    bool second = req.has_param("page");
    Json body = {{"items", second ? Items(3, 1) : Items(1, 2)},
                 {"next", second ? Json(nullptr) : Json("/a?page=2")}};
    res.set_content(body.dump(), "application/json");
  });
  api.On("/b", [](const httplib::Request& req, httplib::Response& res) {
    bool second = req.get_param_value("token") == "t2";
    Json body = {{"items", second ? Items(3, 1) : Items(1, 2)},
                 {"scroll", {{"token", second ? "" : "t2"}}}};
    res.set_content(body.dump(), "application/json");
  });
  auto r1 = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "response.url",
                                                      "urlKey": "next"}})"),
                           Json::parse(R"([{"endpoint": "a", "dataField": "items"}])")),
                    "response-url");
  ASSERT_TRUE(r1.status.ok()) << r1.status.ToString();
  EXPECT_EQ(Table(r1, "b.a"), "\"id\"\n\"1\"\n\"2\"\n\"3\"\n");
  auto r2 = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "response.param",
                                                      "responseParam": "scroll.token",
                                                      "queryParam": "token"}})"),
                           Json::parse(R"([{"endpoint": "b", "dataField": "items"}])")),
                    "response-param");
  ASSERT_TRUE(r2.status.ok()) << r2.status.ToString();
  EXPECT_EQ(Table(r2, "b.b"), "\"id\"\n\"1\"\n\"2\"\n\"3\"\n");
}

TEST(Scrollers, ForceStopAndRepeatedPage) {
  LocalApi api;
  api.On("/same", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Items(1, 2).dump(), "application/json");  // every page is the same
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                     "limit": 2}})"),
                          Json::parse(R"([{"endpoint": "same"}])")),
                   "repeat");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(api.requests.load(), 2);  // the second, identical page ends the job
  api.requests = 0;
  api.On("/grow", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(Items(std::stoi(req.get_param_value("offset")), 2).dump(), "application/json");
  });
  auto r2 = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                      "limit": 2, "forceStop": {"pages": 3}}})"),
                           Json::parse(R"([{"endpoint": "grow"}])")),
                    "forcestop");
  ASSERT_TRUE(r2.status.ok()) << r2.status.ToString();
  EXPECT_EQ(api.requests.load(), 3);

  // Pages that differ only in a number's kind or in their keys' order are not the same page
  // (the hashes of arrays of objects come from the records' digests); nor are scalar records
  // 7 and 7.0 (hashed whole).
  const std::vector<std::vector<std::string>> runs = {
      {R"([{"id": 1, "v": 1}])", R"([{"id": 1, "v": 1.0}])", R"([{"id": 1, "v": "1"}])",
       R"([{"v": "1", "id": 1}])", R"([{"v": "1", "id": 1}])"},
      {"[7]", "[7.0]", "[7.0]"}};
  for (const auto& pages : runs) {
    api.requests = 0;
    api.On("/kinds", [&pages](const httplib::Request& req, httplib::Response& res) {
      const size_t at = std::stoul(req.get_param_value("offset"));
      res.set_content(at < pages.size() ? pages[at] : "[]", "application/json");
    });
    auto r3 = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                        "limit": 1}})"),
                             Json::parse(R"([{"endpoint": "kinds"}])")),
                      "kinds");
    ASSERT_TRUE(r3.status.ok()) << r3.status.ToString();
    // Every page differs from the one before but the last, which repeats it and ends the job.
    EXPECT_EQ(api.requests.load(), static_cast<int>(pages.size())) << pages[0];
  }
}

// ---------------------------------------------------------------------------------------------
// Pages fetched ahead (a job without child jobs downloads page N+1 while it parses page N)

// An API whose first page (offset 0) is `first_page` (a full page of 2) and whose next page
// hangs until released (or 10 s); `on_second` runs when the second request arrives.
class HangingSecondPage {
 public:
  HangingSecondPage(const std::string& first_page, std::function<void()> on_second = {}) {
    api.On("/items",
           [this, first_page, on_second](const httplib::Request& req, httplib::Response& res) {
             if (req.get_param_value("offset") == "0") {
               res.set_content(first_page, "application/json");
               return;
             }
             second_arrived = true;
             if (on_second) on_second();
             auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
             while (!released && std::chrono::steady_clock::now() < until) {
               std::this_thread::sleep_for(std::chrono::milliseconds(10));
             }
             res.set_content("[]", "application/json");
           });
  }
  ~HangingSecondPage() { released = true; }
  Json Config() const {
    return ::Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset", "limit": 2},
                                               "retryConfig": {"maxRetries": 0}})"),
                    Json::parse(R"([{"endpoint": "items"}])"));
  }

  std::atomic<bool> second_arrived{false};
  std::atomic<bool> released{false};
  LocalApi api;
};

TEST(PagesAhead, AParseErrorStopsThePageInFlight) {
  HangingSecondPage api(R"([{"color": "red"}, {"color": {"r": 255}}])");
  auto start = std::chrono::steady_clock::now();
  auto r = Extract(api.Config(), "ahead-parse-error");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.code(), swan::StatusCode::kInvalidArgument) << r.status.ToString();
  EXPECT_NE(r.status.message().find("Unhandled nodeType change"), std::string::npos)
      << r.status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(5));  // the hanging page was abandoned, not awaited
  EXPECT_FALSE(fs::exists(r.out / "tables" / "b.items.csv"));
}

TEST(PagesAhead, CancelStopsThePageInFlight) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  HangingSecondPage api(Items(0, 2).dump(), [cancel] { *cancel = true; });
  auto start = std::chrono::steady_clock::now();
  auto r = Extract(api.Config(), "ahead-cancel", [cancel](auto& o) { o.cancel = cancel; });
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.code(), swan::StatusCode::kCancelled) << r.status.ToString();
  EXPECT_TRUE(api.second_arrived.load());
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(PagesAhead, TheRunsTimeStopsThePageInFlight) {
  HangingSecondPage api(Items(0, 2).dump());
  auto start = std::chrono::steady_clock::now();
  auto r = Extract(api.Config(), "ahead-time", [](auto& o) { o.max_run_time_ms = 300; });
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.code(), swan::StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("exceeded its allowed time"), std::string::npos)
      << r.status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(PagesAhead, NoRequestPastThePageLimit) {
  LocalApi api;
  api.On("/full", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(Items(std::stoi(req.get_param_value("offset")), 2).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                     "limit": 2}})"),
                          Json::parse(R"([{"endpoint": "full"}])")),
                   "ahead-limit", [](auto& o) { o.max_pages_per_job = 3; });
  EXPECT_EQ(r.status.code(), swan::StatusCode::kInvalidArgument) << r.status.ToString();
  EXPECT_NE(r.status.message().find("exceeded the limit of 3 pages"), std::string::npos)
      << r.status.message();
  EXPECT_EQ(api.requests.load(), 3);
}

// Pooled documents reuse a released document's buffers (a smaller body in a larger one, a
// larger one growing them), parse exactly as ParseSimd does, refuse what it refuses, and may
// outlive their pool.
TEST(SimdJson, PooledDocumentsAreReusedAndParseAsParseSimd) {
  std::shared_ptr<swan::connectors::SimdDocument> survivor;
  {
    swan::connectors::SimdDocumentPool pool;
    const std::string big = Items(0, 300).dump();
    auto first = pool.Parse(big);
    ASSERT_TRUE(first != nullptr);
    const swan::connectors::SimdDocument* address = first.get();
    first.reset();
    const std::vector<std::string> bodies = {R"([{"a": 1}, "x", null])", big, Items(0, 900).dump(),
                                             R"({"k": [1, 2]})"};
    for (const std::string& body : bodies) {
      auto doc = pool.Parse(body);
      ASSERT_TRUE(doc != nullptr) << body.substr(0, 100);
      EXPECT_EQ(doc.get(), address) << "the released document is used again";
      EXPECT_EQ(doc->body(), body);
      EXPECT_EQ(swan::connectors::SimdSha1Hex(doc->root),
                swan::connectors::SimdSha1Hex(swan::connectors::ParseSimd(body)->root));
    }
    EXPECT_EQ(pool.Parse("[1,]"), nullptr);
    EXPECT_EQ(pool.Parse(std::string(600, '[') + std::string(600, ']')), nullptr);
    // Two alive at once are two documents.
    auto a = pool.Parse("[1]");
    auto b = pool.Parse("[2]");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(swan::connectors::SimdArray(a->root).at(0).get_int64().value(), 1);
    EXPECT_EQ(swan::connectors::SimdArray(b->root).at(0).get_int64().value(), 2);
    survivor = std::move(b);
  }
  EXPECT_EQ(swan::connectors::SimdArray(survivor->root).at(0).get_int64().value(), 2);
}

// The fetching thread counts a page's records without decoding it: exactly the elements of a
// top-level array, and nothing it cannot be sure of.
TEST(PagesAhead, TheByteCountOfAnArrayIsItsLength) {
  using swan::connectors::CountTopLevelArray;
  for (const std::string& body :
       {std::string("[]"), std::string(" [ ] \n"),
        std::string(R"([1, "a,b]", {"x": [1, 2]}, [[]]])"),
        std::string(R"([{"s": "quote \" and \\", "t": "\\\""}, null, true, -1.5e3])"),
        Items(0, 1000).dump()}) {
    const Json parsed = Json::parse(body);
    EXPECT_EQ(CountTopLevelArray(body, 512), std::optional<size_t>(parsed.size())) << body;
  }
  for (const std::string& body :
       {std::string(""), std::string("{}"), std::string("1"), std::string("[1,]"),
        std::string("[,1]"), std::string("[1,,2]"), std::string("[1, 2"),
        std::string(R"([{"a": "cut)"), std::string("[{]}"), std::string("[1] x"),
        std::string("<html>[1]</html>"), std::string("[1, oops]")}) {
    EXPECT_EQ(CountTopLevelArray(body, 512), std::nullopt) << body;
  }
  EXPECT_EQ(CountTopLevelArray("[[[1]]]", 2), std::nullopt);  // deeper than allowed
  EXPECT_EQ(CountTopLevelArray("[[[1]]]", 3), std::optional<size_t>(1));
}

// Requests go out as the pages' records are counted, in order, and exactly those a page-by-page
// run makes: up to the short page that ends the job, with every record loaded once.
TEST(PagesAhead, PipelinedPagesMakeTheSameRequestsInOrder) {
  LocalApi api;
  std::mutex mu;
  std::vector<int> offsets;
  api.On("/items", [&](const httplib::Request& req, httplib::Response& res) {
    const int offset = std::stoi(req.get_param_value("offset"));
    {
      std::lock_guard lock(mu);
      offsets.push_back(offset);
    }
    res.set_content(Items(offset, offset < 40 ? 5 : 2).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                     "limit": 5}})"),
                          Json::parse(R"([{"endpoint": "items"}])")),
                   "pipelined-order");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(offsets, (std::vector<int>{0, 5, 10, 15, 20, 25, 30, 35, 40}));
  std::string ids = Table(r, "b.items");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), '\n'), 1 + 42) << ids;
  EXPECT_NE(ids.find("\"41\""), std::string::npos) << ids;
}

// A page that is not JSON ends the job with its error, and no request follows it.
TEST(PagesAhead, NoRequestAfterAPageThatIsNotJson) {
  LocalApi api;
  api.On("/items", [&](const httplib::Request& req, httplib::Response& res) {
    const int offset = std::stoi(req.get_param_value("offset"));
    res.set_content(offset == 4 ? std::string(R"([{"id": 4}, {"id": 5)") : Items(offset, 2).dump(),
                    "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "offset",
                                                     "limit": 2}})"),
                          Json::parse(R"([{"endpoint": "items"}])")),
                   "pipelined-bad-json");
  EXPECT_NE(r.status.message().find("Invalid JSON response from API"), std::string::npos)
      << r.status.ToString();
  EXPECT_NE(r.status.message().find("offset=4"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(api.requests.load(), 3);
}

// Answers that are objects holding the records are decoded before the next request: the
// scroller gets what it got page by page.
TEST(PagesAhead, RecordsInsideAnObjectArePagedToo) {
  LocalApi api;
  api.On("/items", [&](const httplib::Request& req, httplib::Response& res) {
    const int page = std::stoi(req.get_param_value("page"));
    Json body = {{"data", Items(page * 10, page < 3 ? 3 : 1)}};
    res.set_content(body.dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"pagination": {"method": "pagenum",
                                                     "limit": 3}})"),
                          Json::parse(R"([{"endpoint": "items", "dataField": "data"}])")),
                   "pipelined-object");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(api.requests.load(), 3);
  std::string ids = Table(r, "b.items");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), '\n'), 1 + 3 + 3 + 1) << ids;
}

// ---------------------------------------------------------------------------------------------
// HTTP: retries, errors, timeouts

TEST(Http, RetriesA500ThenSucceeds) {
  LocalApi api;
  std::atomic<int> calls{0};
  api.On("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 500;
      res.set_content("oops", "text/plain");
      return;
    }
    res.set_content(Items(1, 1).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::object(), Json::parse(R"([{"endpoint": "flaky"}])")),
                   "retry500");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(r.sleeps_ms, (std::vector<int64_t>{1000, 2000}));  // exponential backoff
}

// As the Generic Extractor's Guzzle: no Accept-Encoding unless the configuration sends one, and
// an answer compressed anyway is decoded.
TEST(Http, CompressionIsAskedForOnlyByTheConfiguration) {
  LocalApi api;
  std::vector<std::string> asked;
  std::mutex mu;
  api.On("/items", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mu);
      asked.push_back(req.has_header("Accept-Encoding") ? req.get_header_value("Accept-Encoding")
                                                        : "(none)");
    }
    res.set_header("Content-Encoding", "gzip");
    res.set_content(swan::testing::Gzip(Items(1, 2).dump()), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::object(), Json::parse(R"([{"endpoint": "items"}])")),
                   "no-encoding");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(asked, std::vector<std::string>{"(none)"});
  EXPECT_NE(Table(r, "b.items").find("\"2\""), std::string::npos) << Table(r, "b.items");
  asked.clear();
  auto r2 = Extract(Config(api.Url(), Json::parse(R"({"http": {"headers":
                                                      {"Accept-Encoding": "gzip"}}})"),
                           Json::parse(R"([{"endpoint": "items"}])")),
                    "gzip-encoding");
  ASSERT_TRUE(r2.status.ok()) << r2.status.ToString();
  EXPECT_EQ(asked, std::vector<std::string>{"gzip"});
  EXPECT_EQ(Table(r2, "b.items"), Table(r, "b.items"));
}

TEST(Http, HonoursRetryAfterOn429) {
  LocalApi api;
  std::atomic<int> calls{0};
  api.On("/limited", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls == 1) {
      res.status = 429;
      res.set_header("Retry-After", "7");
      return;
    }
    res.set_content(Items(1, 1).dump(), "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::object(), Json::parse(R"([{"endpoint": "limited"}])")),
                   "retry429");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.sleeps_ms, (std::vector<int64_t>{7000}));
}

TEST(Http, GivesUpAfterMaxRetries) {
  LocalApi api;
  api.On("/down", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
  auto r = Extract(Config(api.Url(), Json::parse(R"({"retryConfig": {"maxRetries": 2}})"),
                          Json::parse(R"([{"endpoint": "down"}])")),
                   "giveup");
  EXPECT_EQ(r.status.code(), swan::StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("[503]"), std::string::npos);
  EXPECT_EQ(api.requests.load(), 3);
}

TEST(Http, MalformedJsonNamesTheUrl) {
  LocalApi api;
  api.On("/broken", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"items\": [1, 2", "application/json");
  });
  auto r = Extract(Config(api.Url(), Json::object(), Json::parse(R"([{"endpoint": "broken"}])")),
                   "badjson");
  EXPECT_EQ(r.status.code(), swan::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("Invalid JSON response from API"), std::string::npos);
  EXPECT_NE(r.status.message().find(api.Url() + "broken"), std::string::npos) << r.status.message();
}

TEST(Http, TooDeepJsonIsRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  try {
    swan::connectors::RestClient::DecodeJson(deep, "http://x/deep");
    FAIL() << "a 100000-level answer must be refused";
  } catch (const swan::connectors::ExtractorError& e) {
    EXPECT_NE(std::string(e.what()).find("Maximum stack depth exceeded"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(swan::connectors::RestClient::DecodeJson(
      std::string(500, '[') + std::string(500, ']'), "http://x/ok"));
}

TEST(Http, AHangingServerTimesOut) {
  LocalApi api;
  api.On("/hang", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("[]", "application/json");
  });
  auto start = std::chrono::steady_clock::now();
  auto r = Extract(Config(api.Url(), Json::parse(R"({"retryConfig": {"maxRetries": 0}})"),
                          Json::parse(R"([{"endpoint": "hang"}])")),
                   "hang", [](auto& o) { o.request_timeout_ms = 300; });
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.code(), swan::StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("CURL error 28"), std::string::npos) << r.status.message();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1400));
}

TEST(Config, ErrorsNameTheField) {
  Json c = Json::parse(R"({"parameters": {"api": {"baseUrl": "http://x/"},
                            "config": {"jobs": [{"endpoint": "a", "children": [{"dataField": "x"}]}]}}})");
  swan::Status st = swan::connectors::ValidateGenericExtractorConfig(c);
  EXPECT_EQ(st.code(), swan::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("parameters.config.jobs[0].children[0].endpoint"), std::string::npos)
      << st.message();
}

TEST(Config, NamesCannotLeaveTheTablesFolder) {
  LocalApi api;
  api.On("/users", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Items(1, 1).dump(), "application/json");
  });
  Json c = Config(api.Url(), Json::object(), Json::parse(R"([{"endpoint": "users"}])"));
  c["parameters"]["config"]["mappings"] =
      Json::parse(R"({"users": {"id": {"mapping": {"destination": "id"}},
                       "tags": {"type": "table", "destination": "../escape",
                                "tableMapping": {".": "tag"}}}})");
  auto r = Extract(c, "escape-table");
  EXPECT_EQ(r.status.code(), swan::StatusCode::kInvalidArgument) << r.status.ToString();
  EXPECT_FALSE(fs::exists(r.out / "escape.csv"));
  c["parameters"]["config"].erase("mappings");
  c["parameters"]["config"]["outputBucket"] = "../up";
  auto r2 = Extract(c, "escape-bucket");
  EXPECT_EQ(r2.status.code(), swan::StatusCode::kInvalidArgument) << r2.status.ToString();
  EXPECT_NE(r2.status.message().find("outputBucket"), std::string::npos);
}

TEST(Http, OnlyHttpAndHttpsAreFetched) {
  fs::path secret = FreshDir("file-scheme") / "secret.json";
  std::ofstream(secret) << R"([{"leaked": true}])";
  auto r =
      Extract(Config("http://127.0.0.1:9/", Json::parse(R"({"retryConfig": {"maxRetries": 0}})"),
                     Json::array({Json::object({{"endpoint", "file://" + secret.string()}})})),
              "file-scheme-run");
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("CURL error 1"), std::string::npos) << r.status.message();
  EXPECT_FALSE(fs::exists(r.out / "tables" / "b.file.csv"));
}

TEST(Config, KeyOrderCanBeRestored) {
  std::string stored = R"({"parameters": {"config": {"#token": "sealed", "mappings": {"users":
      {"name": "name", "id": "id", "a": {"z": 1, "b": [{"y": 1, "x": 2}]}}}}}})";
  nlohmann::json opened = nlohmann::json::parse(stored);  // sorts keys
  opened["parameters"]["config"]["#token"] = "opened";
  opened["parameters"]["config"]["extra"] = true;
  Json restored = swan::connectors::WithKeyOrderOf(opened, stored);
  EXPECT_EQ(restored.dump(),
            R"({"parameters":{"config":{"#token":"opened","mappings":{"users":{"name":"name",)"
            R"("id":"id","a":{"z":1,"b":[{"y":1,"x":2}]}}},"extra":true}}})");
}

TEST(Logging, SecretsAreMasked) {
  LocalApi api;
  api.On("/users", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(Items(1, 1).dump(), "application/json");
  });
  Json c = Config(api.Url(), Json::parse(R"({"authentication": {"type": "query",
                     "query": {"key": {"attr": "#token"}}}})"),
                  Json::parse(R"([{"endpoint": "users", "params": {"t": {"attr": "#token"}}}])"));
  c["parameters"]["config"]["#token"] = "SuperSecret123";
  auto r = Extract(c, "mask");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  for (const auto& line : r.log) EXPECT_EQ(line.find("SuperSecret123"), std::string::npos) << line;
}

// ---------------------------------------------------------------------------------------------
// Signatures, checked with the nonce and time recorded in Keboola's examples 102 and 104.

TEST(Auth, OAuth10SignatureMatchesKeboolaRecording) {
  swan::connectors::AuthContext ctx;
  ctx.api_authentication = Json::parse(R"({"type": "oauth10"})");
  ctx.authorization = Json::parse(R"({"oauth_api": {"credentials": {
      "#data": "{\"oauth_token\":\"userToken\",\"oauth_token_secret\":\"tokenSecret\"}",
      "appKey": 1234, "#appSecret": "TopSecret"}}})");
  ctx.functions.now = [] { return int64_t{1492904452} * 1000000; };
  ctx.random_hex = [](size_t) { return std::string("72469d96572dabb4d0ea02b057ea4f246d722b72"); };
  auto auth = swan::connectors::CreateRestAuth(ctx);
  swan::connectors::RestClientOptions o;
  o.base_url = "http://mock-server:80/102-oauth1/";
  swan::connectors::RestClient client(o);
  swan::connectors::HttpRequest req{"GET", "http://mock-server:80/102-oauth1/users", {}, ""};
  auth->Sign(client, req);
  ASSERT_FALSE(req.headers.empty());
  EXPECT_EQ(
      req.headers.back().second,
      "OAuth oauth_consumer_key=\"1234\", "
      "oauth_nonce=\"72469d96572dabb4d0ea02b057ea4f246d722b72\", "
      "oauth_signature=\"zl0y5CyySCPj8IqODV3Egjqgg6Q%3D\", oauth_signature_method=\"HMAC-SHA1\", "
      "oauth_timestamp=\"1492904452\", oauth_token=\"userToken\", oauth_version=\"1.0\"");
}

// Keboola's example 104 (oauth2 MAC): its authentication, its credentials and the header it
// recorded, with the recorded time and nonce.
TEST(Auth, OAuth20MacHeaderMatchesKeboolaRecording) {
  const Json config = Json::parse(R"JSON({
    "authentication": {"type": "oauth20", "format": "json", "headers": {"Authorization": {
      "function": "concat", "args": [
        "MAC id=\"", {"authorization": "data.access_token"},
        "\", ts=\"", {"authorization": "timestamp"},
        "\", nonce=\"", {"authorization": "nonce"},
        "\", mac=\"", {"function": "md5", "args": [{"function": "hash_hmac", "args": ["sha256",
          {"function": "implode", "args": ["\n", [{"authorization": "timestamp"},
            {"authorization": "nonce"}, {"request": "method"}, {"request": "resource"},
            {"request": "hostname"}, {"request": "port"}, "\n"]]},
          {"authorization": "data.mac_secret"}]}]},
        "\""]}}},
    "authorization": {"oauth_api": {"credentials": {
      "#data": "{\"status\": \"ok\",\"access_token\": \"testToken\", \"mac_secret\": \"iAreSoSecret123\"}",
      "appKey": "clientId", "#appSecret": "clientSecret"}}}})JSON");
  swan::connectors::AuthContext ctx;
  ctx.api_authentication = config["authentication"];
  ctx.authorization = config["authorization"];
  ctx.functions.now = [] { return int64_t{1492958193} * 1000000; };
  ctx.random_hex = [](size_t) { return std::string("605cce2a2f687253"); };
  auto auth = swan::connectors::CreateRestAuth(ctx);
  swan::connectors::RestClientOptions o;
  o.base_url = "http://mock-server:80/104-oauth2-hmac/";
  swan::connectors::RestClient client(o);
  swan::connectors::HttpRequest req{"GET", "http://mock-server:80/104-oauth2-hmac/users", {}, ""};
  auth->Sign(client, req);
  ASSERT_FALSE(req.headers.empty());
  EXPECT_EQ(req.headers.back().first, "Authorization");
  EXPECT_EQ(req.headers.back().second,
            "MAC id=\"testToken\", ts=\"1492958193\", nonce=\"605cce2a2f687253\", "
            "mac=\"ae96f93def8f02770f30e858e074b2a7\"");
}

}  // namespace
