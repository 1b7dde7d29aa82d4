// Crash safety: imports are cut by `kill -9` of the server at random moments; after each restart
// every table must be exactly at a state some committed import produced, its catalog numbers
// must match its rows, and garbage collection must clean up what the crashes left behind.
//
// SWAN_CRASH_ROUNDS (default 8) sets the number of kills; SWAN_CRASH_SEED fixes the randomness.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;

constexpr int kDefaultRounds = 8;
constexpr int64_t kMaxId = 400000;  // ids of upserts lie in [0, kMaxId)
constexpr int kMaxKillDelayMs = 400;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::atoi(v);
}

// What a table's rows add up to; computed client-side and with SQL on the server.
struct Fingerprint {
  int64_t count = 0;
  int64_t sum_id = 0;
  int64_t sum_v = 0;
  int64_t sum_mix = 0;  // sum((id * 31 + v) % 1000003)
  bool operator==(const Fingerprint&) const = default;
  void Add(int64_t id, int64_t v) {
    ++count;
    sum_id += id;
    sum_v += v;
    sum_mix += (id * 31 + v) % 1000003;
  }
  std::string ToString() const {
    return "{count " + std::to_string(count) + ", sum_id " + std::to_string(sum_id) + ", sum_v " +
           std::to_string(sum_v) + ", mix " + std::to_string(sum_mix) + "}";
  }
};

enum class Kind { kFull, kUpsert, kAppend };

// The client's model of one table: the rows as of the last import whose answer arrived, and the
// rows an import cut by the kill would have produced.
struct TableModel {
  std::string id;
  Kind kind = Kind::kFull;
  bool exists = false;                      // an import of it was acknowledged
  Fingerprint rows;                         // acknowledged state
  std::vector<int64_t> upsert_values;       // kUpsert: v by id, -1 = absent
  int64_t head_version = 0;                 // acknowledged head version number
  std::map<int64_t, int64_t> version_rows;  // acknowledged version number -> row count
  // The import in flight when the server was killed (committed or not).
  std::optional<Fingerprint> pending;
  std::vector<int64_t> pending_upsert_values;
  int acknowledged = 0, uncertain = 0;
};

struct Batch {
  int64_t start = 0, n = 0, tag = 0;
  std::string csv;
};

Batch MakeBatch(std::mt19937_64& rng, Kind kind, int64_t tag) {
  Batch b;
  b.tag = tag;
  b.n = std::uniform_int_distribution<int64_t>(50000, 200000)(rng);
  b.start =
      kind == Kind::kUpsert ? std::uniform_int_distribution<int64_t>(0, kMaxId - b.n)(rng) : 0;
  b.csv.reserve(static_cast<size_t>(b.n) * 32);
  b.csv = "id,v,s\n";
  char line[96];
  for (int64_t id = b.start; id < b.start + b.n; ++id) {
    int len = std::snprintf(line, sizeof(line), "%lld,%lld,r%lld_%lld\n",
                            static_cast<long long>(id), static_cast<long long>(tag),
                            static_cast<long long>(tag), static_cast<long long>(id));
    b.csv.append(line, static_cast<size_t>(len));
  }
  return b;
}

Fingerprint OfValues(const std::vector<int64_t>& values) {
  Fingerprint f;
  for (int64_t id = 0; id < static_cast<int64_t>(values.size()); ++id) {
    if (values[id] >= 0) f.Add(id, values[id]);
  }
  return f;
}

// The state after `batch` is applied to `t` (in `values` for upserts).
Fingerprint Apply(const TableModel& t, const Batch& b, std::vector<int64_t>* values) {
  Fingerprint f;
  switch (t.kind) {
    case Kind::kFull:
      for (int64_t id = b.start; id < b.start + b.n; ++id) f.Add(id, b.tag);
      return f;
    case Kind::kAppend:
      f = t.rows;
      for (int64_t id = b.start; id < b.start + b.n; ++id) f.Add(id, b.tag);
      return f;
    case Kind::kUpsert:
      *values = t.upsert_values;
      for (int64_t id = b.start; id < b.start + b.n; ++id) (*values)[id] = b.tag;
      return OfValues(*values);
  }
  return f;
}

std::string ImportQuery(Kind kind) {
  switch (kind) {
    case Kind::kFull:
      return "mode=full";
    case Kind::kUpsert:
      return "mode=incremental&primary_key=id";
    case Kind::kAppend:
      return "mode=incremental";
  }
  return "";
}

class Crash {
 public:
  Crash(std::string data_dir, uint64_t seed) : data_dir_(std::move(data_dir)), rng_(seed) {
    for (auto [id, kind] :
         {std::pair{"in.c.full", Kind::kFull}, std::pair{"in.c.upsert", Kind::kUpsert},
          std::pair{"in.c.append", Kind::kAppend}}) {
      TableModel t;
      t.id = id;
      t.kind = kind;
      tables_.push_back(std::move(t));
    }
    tables_[1].upsert_values.assign(kMaxId, -1);
  }

  // Starts the server: initialises the data directory the first time, restarts it afterwards.
  void Start() {
    if (admin_token_.empty()) {
      server_ = std::make_unique<ServerProcess>(data_dir_);
      ASSERT_TRUE(server_->ok()) << server_->error();
      admin_token_ = server_->admin_token();
      HttpResponse r = Call("POST", "/v1/projects", admin_token_, json{{"name", "crash"}}.dump());
      ASSERT_EQ(r.status, 201) << r.body;
      master_token_ = json::parse(r.body)["token"]["secret"];
    } else {
      server_ = std::make_unique<ServerProcess>(data_dir_, admin_token_);
      ASSERT_TRUE(server_->ok()) << server_->error();
    }
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = std::string(),
                    const std::string& type = "application/json") const {
    std::vector<std::string> headers = {"Authorization: Bearer " + token};
    if (!body.empty() || method == "POST") headers.push_back("Content-Type: " + type);
    return HttpCall(method, server_->url() + path, headers, body, 120);
  }

  json GetOk(const std::string& path) const {
    HttpResponse r = Call("GET", path, master_token_);
    EXPECT_EQ(r.status, 200) << "GET " << path << ": " << r.body << r.error
                             << "\nserver log: " << server_->Log();
    json parsed = json::parse(r.body, nullptr, false);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  Fingerprint ServerFingerprint(const std::string& table) const {
    const std::string sql =
        "SELECT count(*), coalesce(sum(id), 0)::BIGINT, coalesce(sum(v), 0)::BIGINT, "
        "coalesce(sum((id * 31 + v) % 1000003), 0)::BIGINT FROM \"" +
        table + "\"";
    HttpResponse r =
        Call("POST", "/v1/projects/crash/sql", master_token_, json{{"sql", sql}}.dump());
    EXPECT_EQ(r.status, 200) << sql << ": " << r.body << r.error
                             << "\nserver log: " << server_->Log();
    json rows = json::parse(r.body, nullptr, false);
    Fingerprint f;
    if (rows.is_discarded() || !rows.contains("rows") || rows["rows"].size() != 1) {
      ADD_FAILURE() << "unexpected SQL answer " << r.body;
      return f;
    }
    const json& row = rows["rows"][0];
    f.count = row[0];
    f.sum_id = row[1];
    f.sum_v = row[2];
    f.sum_mix = row[3];
    return f;
  }

  // Checks every table against the model (and folds a committed in-flight import into it).
  void Verify(const std::string& when) {
    SCOPED_TRACE(when);
    // Leftover uploads of the killed process are gone.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data_dir_ + "/tmp", ec)) {
      EXPECT_NE(e.path().extension(), ".upload")
          << "upload left in tmp/ after restart: " << e.path();
    }
    for (auto& t : tables_) {
      SCOPED_TRACE(t.id);
      HttpResponse got = Call("GET", "/v1/projects/crash/tables/" + t.id, master_token_);
      if (got.status == 404) {
        EXPECT_FALSE(t.exists) << "an acknowledged table vanished: " << got.body;
        t.pending.reset();
        continue;
      }
      ASSERT_EQ(got.status, 200) << got.body << got.error << "\nserver log: " << server_->Log();
      json table = json::parse(got.body)["table"];
      const int64_t head = table["version"];
      const int64_t head_rows = table["row_count"];

      // The versions list: newest first, strictly decreasing, head = max.
      json versions = GetOk("/v1/projects/crash/tables/" + t.id + "/versions")["versions"];
      ASSERT_FALSE(versions.empty());
      EXPECT_EQ(versions[0]["version"], head) << versions.dump();
      std::map<int64_t, int64_t> listed;
      for (size_t i = 0; i < versions.size(); ++i) {
        listed[versions[i]["version"]] = versions[i]["row_count"];
        if (i > 0) {
          EXPECT_LT(versions[i]["version"].get<int64_t>(),
                    versions[i - 1]["version"].get<int64_t>());
        }
      }
      EXPECT_EQ(listed.rbegin()->first, head);
      EXPECT_EQ(listed[head], head_rows);
      // Every acknowledged version is still there with its row count.
      for (const auto& [number, rows] : t.version_rows) {
        auto it = listed.find(number);
        if (it == listed.end()) {
          ADD_FAILURE() << "acknowledged version " << number << " is missing: " << versions.dump();
        } else {
          EXPECT_EQ(it->second, rows) << "row count of version " << number;
        }
      }

      // The rows: the catalog's count is the real count, and they are the acknowledged state or
      // the state of the import the kill cut.
      const Fingerprint actual = ServerFingerprint(t.id);
      EXPECT_EQ(actual.count, head_rows)
          << "head version " << head << "'s row_count differs from count(*)";
      if (t.exists && actual == t.rows) {
        EXPECT_EQ(head, t.head_version) << "rows as acknowledged, but the head moved";
      } else if (t.pending && actual == *t.pending) {
        EXPECT_GT(head, t.head_version) << "rows of the cut import, but the head did not move";
        t.rows = *t.pending;
        t.upsert_values = t.pending_upsert_values;
        t.head_version = head;
        t.version_rows[head] = head_rows;
        t.exists = true;
        ++committed_cut_imports_;
      } else {
        ADD_FAILURE() << "rows " << actual.ToString() << " are neither the acknowledged state "
                      << (t.exists ? t.rows.ToString() : "(no table)") << " nor the cut import's "
                      << (t.pending ? t.pending->ToString() : "(none)") << "; head version "
                      << head;
        // Continue from what the server has, so one failure does not cascade.
        t.rows = actual;
        t.head_version = head;
        t.exists = true;
      }
      t.pending.reset();
    }
  }

  // Runs one import loop per table until the server goes away or `stop` is set.
  void ImportLoop(TableModel* t, uint64_t seed, const std::atomic<bool>* stop) {
    std::mt19937_64 rng(seed);
    while (!stop->load()) {
      const int64_t tag = next_tag_.fetch_add(1);
      std::vector<int64_t> values;
      Batch b = MakeBatch(rng, t->kind, tag);
      Fingerprint after = Apply(*t, b, &values);
      HttpResponse r =
          Call("POST", "/v1/projects/crash/tables/" + t->id + "/import?" + ImportQuery(t->kind),
               master_token_, b.csv, "text/csv");
      if (!r.error.empty()) {
        // Cut by the kill (or the server was already gone): committed or not, we cannot know.
        t->pending = after;
        t->pending_upsert_values = std::move(values);
        ++t->uncertain;
        return;
      }
      if (r.status != 200) {
        std::lock_guard lock(mu_);
        errors_.push_back(t->id + ": import answered " + std::to_string(r.status) + ": " + r.body);
        return;
      }
      json answer = json::parse(r.body, nullptr, false);
      if (answer.is_discarded() || !answer.contains("table")) {
        std::lock_guard lock(mu_);
        errors_.push_back(t->id + ": bad import answer " + r.body);
        return;
      }
      const int64_t rows = answer["table"]["row_count"];
      const int64_t version = answer["table"]["version"];
      if (rows != after.count) {
        std::lock_guard lock(mu_);
        errors_.push_back(t->id + ": import answered row_count " + std::to_string(rows) +
                          ", expected " + std::to_string(after.count));
      }
      t->rows = after;
      t->upsert_values = std::move(values);
      t->head_version = version;
      t->version_rows[version] = rows;
      if (answer.contains("version"))
        t->version_rows[answer["version"]["version"]] = answer["version"]["row_count"];
      t->exists = true;
      ++t->acknowledged;
      ++acks_;
    }
  }

  // Starts imports on all tables, kills the server at a random moment, waits for the clients.
  void ImportAndKill() {
    std::atomic<bool> stop{false};
    acks_ = 0;
    std::vector<std::thread> threads;
    for (auto& t : tables_) {
      const uint64_t seed = rng_();
      threads.emplace_back([this, &t, seed, &stop] { ImportLoop(&t, seed, &stop); });
    }
    // Let a few imports commit first, so the kill also lands on tables with history.
    const int target = std::uniform_int_distribution<int>(1, 4)(rng_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (acks_.load() < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(acks_.load(), target) << "imports did not commit within 60 s";
    const int delay = std::uniform_int_distribution<int>(0, kMaxKillDelayMs)(rng_);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    server_->KillHard();
    stop = true;
    for (auto& th : threads) th.join();
    std::lock_guard lock(mu_);
    for (const auto& e : errors_) ADD_FAILURE() << e;
    errors_.clear();
  }

  // GC with retention 0: only the heads' files remain and every table still reads.
  void CollectGarbageAndCheck() {
    auto count_files = [this] {
      int64_t n = 0;
      std::error_code ec;
      for (const auto& e :
           std::filesystem::recursive_directory_iterator(data_dir_ + "/segments", ec)) {
        if (e.is_regular_file()) ++n;
      }
      return n;
    };
    const int64_t before = count_files();
    HttpResponse r =
        Call("POST", "/v1/maintenance/gc", admin_token_, json{{"retention_seconds", 0}}.dump());
    ASSERT_EQ(r.status, 200) << r.body << r.error << "\nserver log: " << server_->Log();
    json gc = json::parse(r.body);
    std::printf("gc: %s (segment files before: %lld)\n", gc.dump().c_str(),
                static_cast<long long>(before));
    int64_t head_segments = 0;
    for (auto& t : tables_) {
      SCOPED_TRACE(t.id);
      HttpResponse got = Call("GET", "/v1/projects/crash/tables/" + t.id, master_token_);
      if (!t.exists) {
        EXPECT_EQ(got.status, 404) << got.body;
        continue;
      }
      ASSERT_EQ(got.status, 200) << got.body;
      json table = json::parse(got.body)["table"];
      head_segments += table["segments"].get<int64_t>();
      EXPECT_EQ(table["version"], t.head_version);
      // Older versions may be gone now (retention 0); the head stays.
      std::map<int64_t, int64_t> head_only;
      if (t.version_rows.count(t.head_version))
        head_only[t.head_version] = t.version_rows[t.head_version];
      t.version_rows = head_only;
      EXPECT_EQ(ServerFingerprint(t.id), t.rows) << "rows changed by gc";
      // Every version still listed reads completely.
      json versions = GetOk("/v1/projects/crash/tables/" + t.id + "/versions")["versions"];
      for (const auto& v : versions) {
        const int64_t number = v["version"];
        HttpResponse exported = Call("GET",
                                     "/v1/projects/crash/tables/" + t.id +
                                         "/export?columns=id&version=" + std::to_string(number),
                                     master_token_);
        ASSERT_EQ(exported.status, 200)
            << "export of version " << number << ": " << exported.body.substr(0, 300);
        int64_t lines = 0;
        for (char c : exported.body) lines += c == '\n';
        EXPECT_EQ(lines - 1, v["row_count"].get<int64_t>())
            << "rows exported from version " << number;
      }
    }
    const int64_t after = count_files();
    EXPECT_EQ(after, head_segments)
        << "segment files left after gc with retention 0 (orphans of the kills, or "
           "files of deleted versions); the heads reference "
        << head_segments;
    EXPECT_LE(after, before);
  }

  const std::vector<TableModel>& tables() const { return tables_; }
  int committed_cut_imports() const { return committed_cut_imports_; }
  ServerProcess* server() { return server_.get(); }

 private:
  std::string data_dir_;
  std::mt19937_64 rng_;
  std::unique_ptr<ServerProcess> server_;
  std::string admin_token_, master_token_;
  std::vector<TableModel> tables_;
  std::atomic<int64_t> next_tag_{1};
  std::atomic<int> acks_{0};  // imports acknowledged in this round
  std::mutex mu_;
  std::vector<std::string> errors_;
  int committed_cut_imports_ = 0;
};

TEST(CrashTest, KilledImportsLeaveTablesAtACommittedState) {
  const int rounds = EnvInt("SWAN_CRASH_ROUNDS", kDefaultRounds);
  const uint64_t seed = static_cast<uint64_t>(
      EnvInt("SWAN_CRASH_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  std::printf("crash test: %d rounds, SWAN_CRASH_SEED=%llu\n", rounds,
              static_cast<unsigned long long>(seed));
  TempDir dir;
  Crash crash(dir.path() + "/data", seed);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " (SWAN_CRASH_SEED=" + std::to_string(seed) +
                 ")");
    crash.Start();
    if (::testing::Test::HasFatalFailure()) return;
    crash.Verify("after restart " + std::to_string(round));
    if (::testing::Test::HasFatalFailure()) return;
    crash.ImportAndKill();
  }
  crash.Start();
  if (::testing::Test::HasFatalFailure()) return;
  crash.Verify("after the last restart");
  if (::testing::Test::HasFatalFailure()) return;
  crash.CollectGarbageAndCheck();
  // The data directory survives a clean restart after gc, too.
  crash.server()->Kill();
  crash.Start();
  if (::testing::Test::HasFatalFailure()) return;
  crash.Verify("after gc and a clean restart");
  for (const auto& t : crash.tables()) {
    std::printf("%s: %d imports acknowledged, %d cut by a kill; head version %lld, %lld rows\n",
                t.id.c_str(), t.acknowledged, t.uncertain, static_cast<long long>(t.head_version),
                static_cast<long long>(t.rows.count));
  }
  std::printf("cut imports found committed after restart: %d\n", crash.committed_cut_imports());
}

}  // namespace
}  // namespace swan::testing
