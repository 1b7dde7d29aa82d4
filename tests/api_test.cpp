// End-to-end tests of the REST API (docs/api.md): a real `swan server` child on an ephemeral port,
// driven over HTTP.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/api_client.h"
#include "common/fs.h"
#include "common/limits.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using client::UrlEncode;
using nlohmann::json;

// Every route of docs/api.md's route table, verbatim (method, path template).
const std::vector<std::pair<std::string, std::string>> kDocumentedRoutes = {
    {"GET", "/v1/health"},
    {"GET", "/v1/openapi.json"},
    {"GET", "/v1/token"},
    {"GET", "/v1/projects"},
    {"POST", "/v1/projects"},
    {"GET", "/v1/projects/{project}"},
    {"DELETE", "/v1/projects/{project}"},
    {"GET", "/v1/projects/{project}/buckets"},
    {"POST", "/v1/projects/{project}/buckets"},
    {"GET", "/v1/projects/{project}/buckets/{bucket}"},
    {"DELETE", "/v1/projects/{project}/buckets/{bucket}"},
    {"GET", "/v1/projects/{project}/tables"},
    {"POST", "/v1/projects/{project}/tables"},
    {"GET", "/v1/projects/{project}/tables/{table}"},
    {"DELETE", "/v1/projects/{project}/tables/{table}"},
    {"POST", "/v1/projects/{project}/tables/{table}/import"},
    {"GET", "/v1/projects/{project}/tables/{table}/export"},
    {"GET", "/v1/projects/{project}/tables/{table}/preview"},
    {"GET", "/v1/projects/{project}/tables/{table}/versions"},
    {"POST", "/v1/projects/{project}/tables/{table}/versions/{n}/restore"},
    {"POST", "/v1/projects/{project}/tables/{table}/compact"},
    {"POST", "/v1/projects/{project}/sql"},
    {"GET", "/v1/projects/{project}/tokens"},
    {"POST", "/v1/projects/{project}/tokens"},
    {"DELETE", "/v1/projects/{project}/tokens/{id}"},
    {"GET", "/v1/projects/{project}/events"},
    {"GET", "/v1/events"},
    {"POST", "/v1/maintenance/gc"},
    {"GET", "/v1/components"},
    {"GET", "/v1/components/{id}"},
    {"GET", "/v1/projects/{project}/configs"},
    {"POST", "/v1/projects/{project}/configs"},
    {"GET", "/v1/projects/{project}/configs/{config}"},
    {"POST", "/v1/projects/{project}/configs/{config}"},
    {"DELETE", "/v1/projects/{project}/configs/{config}"},
    {"GET", "/v1/projects/{project}/configs/{config}/versions"},
    {"GET", "/v1/projects/{project}/configs/{config}/versions/{version}"},
    {"GET", "/v1/projects/{project}/configs/{config}/diff"},
    {"POST", "/v1/projects/{project}/configs/{config}/rollback"},
    {"GET", "/v1/projects/{project}/configs/{config}/state"},
    {"POST", "/v1/projects/{project}/configs/{config}/run"},
    {"GET", "/v1/projects/{project}/files"},
    {"GET", "/v1/projects/{project}/files/{id}/download"},
    {"GET", "/v1/projects/{project}/jobs"},
    {"GET", "/v1/projects/{project}/jobs/{id}"},
    {"POST", "/v1/projects/{project}/jobs/{id}/cancel"},
    {"POST", "/v1/projects/{project}/jobs/{id}/rerun"},
    {"GET", "/v1/projects/{project}/jobs/{id}/events"},
    {"GET", "/v1/projects/{project}/schedules"},
    {"GET", "/v1/projects/{project}/schedules/{id}"},
    {"POST", "/v1/schedules/preview"},
    {"GET", "/v1/projects/{project}/triggers"},
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "/a/{x}/b" -> "/a/{}/b": templates compared without their parameter names.
std::string Shape(const std::string& path) {
  return std::regex_replace(path, std::regex("\\{[^}]*\\}"), "{}");
}

json ParseJson(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

std::string Describe(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")") + ": " +
         r.body.substr(0, 600);
}

// The documented error shape {"error":{"code","message","details"}} with the given status and code.
void ExpectError(const HttpResponse& r, long status, const std::string& code,
                 const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.status, status) << Describe(r);
  EXPECT_NE(r.headers.count("content-type") ? r.headers.at("content-type").find("application/json")
                                            : std::string::npos,
            std::string::npos)
      << "content type of an error must be JSON; " << Describe(r);
  json body = ParseJson(r);
  ASSERT_TRUE(body.is_object()) << Describe(r);
  ASSERT_TRUE(body.contains("error") && body["error"].is_object()) << Describe(r);
  const json& e = body["error"];
  ASSERT_TRUE(e.contains("code") && e["code"].is_string()) << Describe(r);
  EXPECT_EQ(e["code"], code) << Describe(r);
  ASSERT_TRUE(e.contains("message") && e["message"].is_string()) << Describe(r);
  EXPECT_FALSE(e["message"].get<std::string>().empty()) << Describe(r);
  ASSERT_TRUE(e.contains("details") && e["details"].is_object()) << Describe(r);
}

bool IsNoRoute(const HttpResponse& r) {
  if (r.status != 404) return false;
  json body = ParseJson(r);
  if (!body.is_object() || !body.contains("error")) return true;  // not even our error shape
  return body["error"].value("code", "") == "not_found" &&
         body["error"].value("message", "").rfind("no route", 0) == 0;
}

// A server shared by the tests of this suite (each test uses its own project).
class ApiTest : public SharedServerTest {
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

  // A call that must succeed with `status`; returns the JSON answer (empty object for 204).
  static json Ok(const std::string& method, const std::string& path, const std::string& token,
                 const json& body = nullptr, long status = 0) {
    HttpResponse r = Call(method, path, token, body.is_null() ? std::string() : body.dump());
    if (status != 0) {
      EXPECT_EQ(r.status, status) << method << " " << path << ": " << Describe(r)
                                  << "\nserver log: " << server_->Log();
    } else {
      EXPECT_TRUE(r.status >= 200 && r.status < 300)
          << method << " " << path << ": " << Describe(r) << "\nserver log: " << server_->Log();
    }
    if (r.body.empty()) return json::object();
    json parsed = ParseJson(r);
    EXPECT_FALSE(parsed.is_discarded()) << method << " " << path << ": " << Describe(r);
    return parsed;
  }

  struct Project {
    std::string name;
    std::string token;  // master token secret
    int64_t token_id = 0;
  };

  static Project CreateProject(const std::string& name) {
    json answer =
        Ok("POST", "/v1/projects", Admin(), {{"name", name}, {"description", "test " + name}}, 201);
    Project p;
    p.name = name;
    if (answer.contains("token")) {
      p.token = answer["token"].value("secret", "");
      p.token_id = answer["token"].value("id", 0);
    }
    EXPECT_EQ(p.token.rfind("swan_", 0), 0u) << answer.dump();
    return p;
  }

  static std::string P(const Project& p) { return "/v1/projects/" + p.name; }
  static std::string T(const Project& p, const std::string& table) {
    return P(p) + "/tables/" + table;
  }

  static HttpResponse Import(const Project& p, const std::string& token, const std::string& table,
                             const std::string& csv, const std::string& query = "") {
    return Call("POST", T(p, table) + "/import" + (query.empty() ? "" : "?" + query), token, csv,
                "text/csv");
  }
  static json ImportOk(const Project& p, const std::string& token, const std::string& table,
                       const std::string& csv, const std::string& query = "") {
    HttpResponse r = Import(p, token, table, csv, query);
    EXPECT_EQ(r.status, 200) << "import " << table << "?" << query << ": " << Describe(r)
                             << "\nserver log: " << server_->Log();
    json parsed = ParseJson(r);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  static HttpResponse Sql(const Project& p, const std::string& token, const json& body) {
    return Call("POST", P(p) + "/sql", token, body.dump());
  }
  static json SqlOk(const Project& p, const std::string& token, const json& body) {
    HttpResponse r = Sql(p, token, body);
    EXPECT_EQ(r.status, 200) << body.dump() << ": " << Describe(r);
    json parsed = ParseJson(r);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  // Creates a token in project `p` (with its master token); returns the answer's token object.
  static json CreateToken(const Project& p, const json& spec) {
    json answer = Ok("POST", P(p) + "/tokens", p.token, spec, 201);
    return answer.value("token", json::object());
  }
};

// ---------------------------------------------------------------------------------------------
// OpenAPI: the document, the docs' route table and the router agree.

TEST_F(ApiTest, OpenApiDocumentListsExactlyTheDocumentedRoutes) {
  HttpResponse r = Call("GET", "/v1/openapi.json", "");  // no auth
  ASSERT_EQ(r.status, 200) << Describe(r);
  json doc = ParseJson(r);
  ASSERT_TRUE(doc.is_object()) << Describe(r);
  ASSERT_TRUE(doc.contains("openapi") && doc["openapi"].is_string());
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u) << doc["openapi"];
  ASSERT_TRUE(doc.contains("paths") && doc["paths"].is_object());

  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [method, path] : kDocumentedRoutes) documented.insert({method, Shape(path)});
  ASSERT_EQ(documented.size(), kDocumentedRoutes.size()) << "duplicate route in the test's list";
  for (const auto& [path, ops] : doc["paths"].items()) {
    ASSERT_TRUE(ops.is_object()) << path;
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      served.insert({m, Shape(path)});
      EXPECT_TRUE(op.contains("responses")) << m << " " << path;
    }
  }
  for (const auto& route : documented) {
    EXPECT_TRUE(served.count(route))
        << "documented route missing from /v1/openapi.json: " << route.first << " " << route.second;
  }
  for (const auto& route : served) {
    EXPECT_TRUE(documented.count(route))
        << "route in /v1/openapi.json that docs/api.md does not document: " << route.first << " "
        << route.second;
  }
}

// Path templates including their parameter names: the document is generated from the router, so
// a name differing from docs/api.md is a doc/code disagreement a client generator would see.
TEST_F(ApiTest, OpenApiPathParameterNamesMatchTheDocs) {
  HttpResponse r = Call("GET", "/v1/openapi.json", "");
  ASSERT_EQ(r.status, 200) << Describe(r);
  json doc = ParseJson(r);
  ASSERT_TRUE(doc.contains("paths"));
  for (const auto& [method, path] : kDocumentedRoutes) {
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(Lower(method)))
        << "docs/api.md route " << method << " " << path
        << " is not in /v1/openapi.json under that exact template";
  }
}

TEST_F(ApiTest, EveryDocumentedRouteIsRouted) {
  Project p = CreateProject("routes");
  CreateProject("routes-del");
  ImportOk(p, p.token, "in.r.t", "id,name\n1,a\n2,b\n");
  ImportOk(p, p.token, "in.r.t2", "id\n1\n");
  Ok("POST", P(p) + "/buckets", p.token, {{"stage", "in"}, {"name", "r2"}}, 201);
  json token = CreateToken(
      p, {{"description", "to revoke"}, {"scopes", {{{"bucket", "in.r"}, {"access", "read"}}}}});
  const std::string token_id = std::to_string(token.value("id", 0));

  for (const auto& [method, tmpl] : kDocumentedRoutes) {
    std::string path = tmpl;
    auto sub = [&path](const std::string& name, const std::string& value) {
      for (size_t at; (at = path.find(name)) != std::string::npos;)
        path.replace(at, name.size(), value);
    };
    if (method == "DELETE" && tmpl == "/v1/projects/{project}") sub("{project}", "routes-del");
    if (method == "DELETE") sub("{bucket}", "in.r2");
    if (method == "DELETE") sub("{table}", "in.r.t2");
    sub("{project}", "routes");
    sub("{bucket}", "in.r");
    sub("{table}", "in.r.t");
    sub("{n}", "1");
    sub("{version}", "1");
    sub("{id}", token_id);
    std::string body, type = "application/json";
    if (method == "POST") body = "{}";
    if (tmpl.find("/import") != std::string::npos) {
      body = "id,name\n3,c\n";
      type = "text/csv";
    }
    HttpResponse r = Call(method, path, Admin(), body, type);
    EXPECT_FALSE(IsNoRoute(r)) << method << " " << path << " (route " << tmpl
                               << ") is not routed: " << Describe(r);
    EXPECT_NE(r.status, 0) << method << " " << path << ": " << r.error;
  }
  // The router's own answer to an unknown route, for contrast.
  HttpResponse none = Call("GET", "/v1/no/such/route", Admin());
  EXPECT_TRUE(IsNoRoute(none)) << Describe(none);
}

// ---------------------------------------------------------------------------------------------
// Errors: shape and status.

TEST_F(ApiTest, ErrorsHaveTheDocumentedShapeAndStatus) {
  Project p = CreateProject("errors");
  Project other = CreateProject("errors-other");
  ImportOk(p, p.token, "in.a.t", "id,name\n1,a\n");
  ImportOk(other, other.token, "in.a.t", "id,name\n1,a\n");
  Ok("POST", P(p) + "/buckets", p.token, {{"stage", "in"}, {"name", "b"}}, 201);

  // 401: no token, malformed header, unknown token, revoked token, expired token.
  ExpectError(Call("GET", "/v1/projects", ""), 401, "unauthorized", "no token");
  ExpectError(HttpCall("GET", server_->url() + "/v1/projects", {"Authorization: Basic abc"}), 401,
              "unauthorized", "not a bearer header");
  ExpectError(Call("GET", "/v1/projects", "swan_" + std::string(48, '0')), 401, "unauthorized",
              "unknown token");
  ExpectError(Call("GET", P(p) + "/tables", "garbage"), 401, "unauthorized", "garbage token");
  json revoked = CreateToken(p, {{"scopes", {{{"bucket", "in.a"}, {"access", "read"}}}}});
  Ok("GET", P(p) + "/tables", revoked.value("secret", ""));
  Ok("DELETE", P(p) + "/tokens/" + std::to_string(revoked.value("id", 0)), p.token, nullptr, 204);
  ExpectError(Call("GET", P(p) + "/tables", revoked.value("secret", "")), 401, "unauthorized",
              "revoked token");
  json expiring =
      CreateToken(p, {{"scopes", {{{"bucket", "in.a"}, {"access", "read"}}}}, {"expires_in", 1}});
  EXPECT_FALSE(expiring.value("expires_at", json()).is_null()) << expiring.dump();
  Ok("GET", P(p) + "/tables", expiring.value("secret", ""));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ExpectError(Call("GET", P(p) + "/tables", expiring.value("secret", "")), 401, "unauthorized",
              "expired token");

  // 403: a read-scoped token writing; a project token reading another project; admin-only routes.
  json reader = CreateToken(p, {{"scopes", {{{"bucket", "in.a"}, {"access", "read"}}}}});
  ExpectError(Import(p, reader.value("secret", ""), "in.a.t", "id,name\n2,b\n"), 403, "forbidden",
              "read scope importing");
  ExpectError(Call("DELETE", T(p, "in.a.t"), reader.value("secret", "")), 403, "forbidden",
              "read scope deleting");
  ExpectError(Call("GET", T(p, "in.b.t"), reader.value("secret", "")), 403, "forbidden",
              "reading an unscoped bucket");
  ExpectError(Call("GET", P(other) + "/tables", p.token), 403, "forbidden",
              "project token on another project");
  ExpectError(Call("GET", T(other, "in.a.t") + "/preview", p.token), 403, "forbidden",
              "project token previewing another project's table");
  ExpectError(Call("POST", "/v1/projects", p.token, json{{"name", "nope"}}.dump()), 403,
              "forbidden", "master token creating a project");
  ExpectError(Call("POST", "/v1/maintenance/gc", p.token, "{}"), 403, "forbidden",
              "master token running gc");

  // 404: unknown table, bucket, project (admin), route.
  ExpectError(Call("GET", T(p, "in.a.nosuch"), p.token), 404, "not_found", "unknown table");
  ExpectError(Call("GET", T(p, "in.a.nosuch") + "/preview", p.token), 404, "not_found",
              "preview of unknown table");
  ExpectError(Call("GET", T(p, "in.zz.t"), p.token), 404, "not_found", "table of unknown bucket");
  ExpectError(Call("GET", "/v1/projects/nosuchproject", Admin()), 404, "not_found",
              "unknown project (admin)");
  ExpectError(Call("GET", "/v1/nosuch", p.token), 404, "not_found", "unknown route");
  ExpectError(Call("GET", "/nosuch", ""), 404, "not_found", "unknown route outside /v1");
  ExpectError(Call("POST", T(p, "in.a.t") + "/versions/99/restore", p.token), 404, "not_found",
              "unknown version");

  // 409: duplicates.
  ExpectError(Call("POST", "/v1/projects", Admin(), json{{"name", "errors"}}.dump()), 409,
              "conflict", "duplicate project");
  ExpectError(Call("POST", P(p) + "/buckets", p.token, json{{"stage", "in"}, {"name", "b"}}.dump()),
              409, "conflict", "duplicate bucket");

  // 400: invalid names and bodies.
  ExpectError(Call("POST", "/v1/projects", Admin(), json{{"name", "Bad Name"}}.dump()), 400,
              "invalid_argument", "project name with a space and capitals");
  ExpectError(Call("POST", "/v1/projects", Admin(), json{{"name", ""}}.dump()), 400,
              "invalid_argument", "empty project name");
  ExpectError(
      Call("POST", P(p) + "/tables", p.token,
           json{{"id", "in.x.../etc"}, {"columns", {{{"name", "a"}, {"type", "BIGINT"}}}}}.dump()),
      400, "invalid_argument", "table id with dots and a slash");
  ExpectError(Import(p, p.token, "in.x..", "id\n1\n"), 400, "invalid_argument",
              "import into table id in.x..");
  ExpectError(Import(p, p.token, "in.x.a%20b", "id\n1\n"), 400, "invalid_argument",
              "table name with a space");
  ExpectError(Import(p, p.token, "in.x", "id\n1\n"), 400, "invalid_argument",
              "table id without a table name");
  ExpectError(
      Call("POST", P(p) + "/buckets", p.token, json{{"stage", "mid"}, {"name", "x"}}.dump()), 400,
      "invalid_argument", "bucket stage mid");
  ExpectError(
      Call("POST", P(p) + "/buckets", p.token, json{{"stage", "in"}, {"name", "a.b"}}.dump()), 400,
      "invalid_argument", "bucket name with a dot");
  ExpectError(Call("POST", "/v1/projects", Admin(), "this is not json"), 400, "invalid_argument",
              "non-JSON body");
  ExpectError(Call("POST", "/v1/projects", Admin(), "[1,2]"), 400, "invalid_argument",
              "JSON array body");
  ExpectError(Call("POST", P(p) + "/sql", p.token, "{\"sql\": "), 400, "invalid_argument",
              "truncated JSON body");
  ExpectError(Call("POST", P(p) + "/sql", p.token, json{{"sql", 1}}.dump()), 400,
              "invalid_argument", "sql not a string");
  ExpectError(Import(p, p.token, "in.a.t", "id,name\n3,c\n", "mode=sideways"), 400,
              "invalid_argument", "bad mode");
  ExpectError(Call("GET", T(p, "in.a.t") + "/preview?limit=abc", p.token), 400, "invalid_argument",
              "non-numeric limit");
  ExpectError(Call("POST", P(p) + "/tokens", p.token, json{{"scopes", json::array()}}.dump()), 400,
              "invalid_argument", "scoped token without scopes");
}

// ---------------------------------------------------------------------------------------------
// Tokens.

std::vector<std::string> AllCatalogText(const std::string& db_path, std::string* error) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    *error = std::string("cannot open ") + db_path + ": " + (db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW)
    tables.push_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  for (const auto& t : tables) {
    std::string sql = "SELECT * FROM \"" + t + "\"";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      *error = "cannot read table " + t + ": " + sqlite3_errmsg(db);
      continue;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        int type = sqlite3_column_type(st, c);
        if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
          const void* data = sqlite3_column_blob(st, c);
          int n = sqlite3_column_bytes(st, c);
          out.push_back(
              t + "." + sqlite3_column_name(st, c) + "=" +
              std::string(static_cast<const char*>(data ? data : ""), static_cast<size_t>(n)));
        }
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST_F(ApiTest, TokensAreStoredOnlyAsHashesListedWithoutSecretsAndRevocable) {
  Project p = CreateProject("tokens");
  std::vector<std::string> secrets = {Admin(), p.token};
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    json t = CreateToken(
        p, {{"description", "scoped " + std::to_string(i)},
            {"scopes",
             {{{"bucket", "in.s" + std::to_string(i)}, {"access", i % 2 ? "write" : "read"}}}}});
    ASSERT_TRUE(t.contains("secret")) << t.dump();
    secrets.push_back(t["secret"]);
    ids.push_back(t.value("id", 0));
  }
  json master2 = CreateToken(p, {{"kind", "master"}, {"description", "second master"}});
  secrets.push_back(master2.value("secret", ""));
  static const std::regex kFormat("swan_[0-9a-f]{48}");
  for (const auto& s : secrets) EXPECT_TRUE(std::regex_match(s, kFormat)) << s;
  // The secrets are used once so any lazily written state (last use etc.) exists too.
  for (const auto& s : secrets) Ok("GET", "/v1/token", s);

  // Stored: the hash is there, the secret (or its hex part) nowhere in the catalog.
  std::string error;
  std::vector<std::string> cells = AllCatalogText(server_->data_dir() + "/catalog.db", &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_FALSE(cells.empty());
  for (const auto& s : secrets) {
    const std::string hex = s.substr(5);
    const std::string hash = fs::Sha256Hex(s);
    bool hash_found = false;
    for (const auto& cell : cells) {
      EXPECT_EQ(cell.find(hex), std::string::npos)
          << "a token secret is stored in the catalog: " << cell;
      if (cell.rfind("tokens.", 0) == 0 && Lower(cell).find(hash) != std::string::npos)
        hash_found = true;
    }
    EXPECT_TRUE(hash_found) << "the SHA-256 of a token is not in the tokens table";
  }
  // Nor in the raw database files (WAL included).
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::string raw = ReadFile(server_->data_dir() + "/catalog.db" + suffix);
    for (const auto& s : secrets)
      EXPECT_EQ(raw.find(s.substr(5)), std::string::npos) << "secret in catalog.db" << suffix;
  }
  // Nor in the server's log.
  for (const auto& s : secrets)
    EXPECT_EQ(server_->Log().find(s), std::string::npos) << "secret in the server log";

  // Listing shows the tokens without secrets.
  json list = Ok("GET", P(p) + "/tokens", p.token);
  ASSERT_TRUE(list.contains("tokens") && list["tokens"].is_array()) << list.dump();
  EXPECT_GE(list["tokens"].size(), 5u) << list.dump();
  std::string dumped = list.dump();
  for (const auto& s : secrets)
    EXPECT_EQ(dumped.find(s.substr(5)), std::string::npos) << "list shows a secret";
  for (const auto& t : list["tokens"]) {
    EXPECT_FALSE(t.contains("secret")) << t.dump();
    EXPECT_FALSE(t.contains("secret_hash")) << t.dump();
    EXPECT_FALSE(t.contains("hash")) << t.dump();
  }
  json me = Ok("GET", "/v1/token", secrets[2]);
  EXPECT_FALSE(me["token"].contains("secret")) << me.dump();
  EXPECT_EQ(me["token"].value("kind", ""), "scoped");
  EXPECT_EQ(me["token"].value("project", json()), "tokens");
  // A scoped token cannot list or create tokens.
  ExpectError(Call("GET", P(p) + "/tokens", secrets[3]), 403, "forbidden",
              "scoped token listing tokens");
  ExpectError(Call("POST", P(p) + "/tokens", secrets[3],
                   json{{"scopes", {{{"bucket", "in.s1"}, {"access", "write"}}}}}.dump()),
              403, "forbidden", "scoped token creating a token");

  // Revoke.
  Ok("DELETE", P(p) + "/tokens/" + std::to_string(ids[0]), p.token, nullptr, 204);
  ExpectError(Call("GET", "/v1/token", secrets[2]), 401, "unauthorized", "revoked token");
  Ok("GET", "/v1/token", secrets[3]);  // the others still work
  list = Ok("GET", P(p) + "/tokens", p.token);
  bool seen = false;
  for (const auto& t : list["tokens"]) {
    if (t.value("id", 0) == ids[0]) {
      seen = true;
      EXPECT_EQ(t.value("revoked", false), true) << t.dump();
    } else if (t.value("id", 0) == ids[1]) {
      EXPECT_EQ(t.value("revoked", true), false) << t.dump();
    }
  }
  EXPECT_TRUE(seen) << list.dump();
  // Revoking a token of another project is not possible through this project.
  Project other = CreateProject("tokens-other");
  ExpectError(Call("DELETE", P(other) + "/tokens/" + std::to_string(ids[1]), other.token), 404,
              "not_found", "revoking another project's token");
  Ok("GET", "/v1/token", secrets[3]);
}

// ---------------------------------------------------------------------------------------------
// Scoped tokens.

TEST_F(ApiTest, ReadScopeReadsItsBucketOnly) {
  Project p = CreateProject("scopes-read");
  ImportOk(p, p.token, "in.a.t", "id,name\n1,a\n2,b\n3,c\n");
  ImportOk(p, p.token, "in.b.t", "id,secret\n1,hidden-value\n");
  json token = CreateToken(p, {{"scopes", {{{"bucket", "in.a"}, {"access", "read"}}}}});
  const std::string rt = token.value("secret", "");

  json preview = Ok("GET", T(p, "in.a.t") + "/preview", rt);
  EXPECT_EQ(preview["rows"].size(), 3u) << preview.dump();
  HttpResponse exported = Call("GET", T(p, "in.a.t") + "/export", rt);
  EXPECT_EQ(exported.status, 200) << Describe(exported);
  EXPECT_EQ(SortedLines(exported.body), SortedLines("id,name\n1,a\n2,b\n3,c\n"));
  json sql = SqlOk(p, rt, {{"sql", "SELECT count(*) AS n FROM \"in.a.t\""}});
  ASSERT_EQ(sql.value("rows", json::array()).size(), 1u) << sql.dump();
  EXPECT_EQ(sql["rows"][0][0], 3) << sql.dump();
  Ok("GET", T(p, "in.a.t") + "/versions", rt);
  Ok("GET", T(p, "in.a.t"), rt);

  // in.b is invisible: not listed, not readable, not in SQL.
  json tables = Ok("GET", P(p) + "/tables", rt);
  ASSERT_TRUE(tables.contains("tables"));
  for (const auto& t : tables["tables"]) EXPECT_EQ(t.value("bucket", ""), "in.a") << t.dump();
  EXPECT_EQ(tables["tables"].size(), 1u) << tables.dump();
  json buckets = Ok("GET", P(p) + "/buckets", rt);
  for (const auto& b : buckets["buckets"]) EXPECT_EQ(b.value("id", ""), "in.a") << b.dump();
  ExpectError(Call("GET", P(p) + "/tables?bucket=in.b", rt), 403, "forbidden",
              "listing tables of in.b");
  ExpectError(Call("GET", P(p) + "/buckets/in.b", rt), 403, "forbidden", "showing bucket in.b");
  ExpectError(Call("GET", T(p, "in.b.t") + "/preview", rt), 403, "forbidden", "previewing in.b.t");
  ExpectError(Call("GET", T(p, "in.b.t") + "/export", rt), 403, "forbidden", "exporting in.b.t");
  // The master token sees it, so the failures below are the scope's doing.
  json master_sql = SqlOk(p, p.token, {{"sql", "SELECT secret FROM \"in.b.t\""}});
  EXPECT_EQ(master_sql["rows"][0][0], "hidden-value");
  for (const std::string q :
       {"SELECT * FROM \"in.b.t\"", "SELECT a.id FROM \"in.a.t\" a JOIN \"in.b.t\" b USING (id)",
        "SELECT * FROM \"in.a.t\" WHERE id IN (SELECT id FROM \"in.b.t\")"}) {
    HttpResponse r = Sql(p, rt, {{"sql", q}});
    ExpectError(r, 400, "invalid_argument", "SQL over in.b.t with an in.a read token: " + q);
    EXPECT_EQ(r.body.find("hidden-value"), std::string::npos) << r.body;
  }
  HttpResponse r = Sql(p, rt, {{"sql", "SELECT * FROM \"in.b.t\""}});
  EXPECT_NE(r.body.find("in.b.t"), std::string::npos)
      << "the error should name the unknown table: " << r.body;

  // Read scope cannot write.
  ExpectError(Import(p, rt, "in.a.t", "id,name\n9,z\n"), 403, "forbidden", "read scope importing");
  ExpectError(Import(p, rt, "in.a.new", "id,name\n9,z\n"), 403, "forbidden",
              "read scope creating a table");
  ExpectError(Call("POST", T(p, "in.a.t") + "/compact", rt), 403, "forbidden",
              "read scope compacting");
  ExpectError(Call("POST", T(p, "in.a.t") + "/versions/1/restore", rt), 403, "forbidden",
              "read scope restoring");
  ExpectError(Sql(p, rt, {{"sql", "SELECT 1 AS x"}, {"output_table", "in.a.out"}}), 403,
              "forbidden", "read scope writing SQL output");
  ExpectError(Call("POST", P(p) + "/buckets", rt, json{{"stage", "in"}, {"name", "c"}}.dump()), 403,
              "forbidden", "scoped token creating a bucket");
  json after = Ok("GET", T(p, "in.a.t"), p.token);
  EXPECT_EQ(after["table"].value("version", 0), 1) << after.dump();
  EXPECT_EQ(after["table"].value("row_count", 0), 3) << after.dump();
  json list_after = Ok("GET", P(p) + "/tables", p.token);
  EXPECT_EQ(list_after["tables"].size(), 2u) << list_after.dump();
}

TEST_F(ApiTest, WriteScopeImportsIntoItsBucketOnly) {
  Project p = CreateProject("scopes-write");
  ImportOk(p, p.token, "in.a.t", "id,name\n1,a\n");
  ImportOk(p, p.token, "in.b.t", "id,name\n1,a\n");
  json token = CreateToken(p, {{"scopes", {{{"bucket", "in.a"}, {"access", "write"}}}}});
  const std::string wt = token.value("secret", "");

  json imported = ImportOk(p, wt, "in.a.t", "id,name\n1,a\n2,b\n");
  EXPECT_EQ(imported["table"].value("row_count", 0), 2) << imported.dump();
  EXPECT_EQ(imported["table"].value("version", 0), 2) << imported.dump();
  ImportOk(p, wt, "in.a.t2", "id\n5\n");  // a new table in its bucket
  Ok("POST", T(p, "in.a.t") + "/compact", wt);
  ExpectError(Import(p, wt, "in.b.t", "id,name\n2,b\n"), 403, "forbidden",
              "write scope on in.a importing into in.b");
  ExpectError(Import(p, wt, "in.c.t", "id,name\n2,b\n"), 403, "forbidden",
              "write scope creating a bucket by import");
  ExpectError(Call("GET", T(p, "in.b.t"), wt), 403, "forbidden", "write scope reading in.b");
  Ok("DELETE", T(p, "in.a.t2"), wt, nullptr, 204);
  json versions = Ok("GET", T(p, "in.a.t") + "/versions", wt);
  ASSERT_FALSE(versions["versions"].empty());
  EXPECT_EQ(versions["versions"][0].value("token_id", 0), token.value("id", -1)) << versions.dump();
  json b = Ok("GET", T(p, "in.b.t"), p.token);
  EXPECT_EQ(b["table"].value("version", 0), 1) << b.dump();
}

// ---------------------------------------------------------------------------------------------
// Audit events.

TEST_F(ApiTest, EveryMutationWritesAnAuditEvent) {
  const int64_t admin_id = Ok("GET", "/v1/token", Admin())["token"].value("id", 0);
  Project p = CreateProject("audit");
  const std::string tt = "in.au.t";
  Ok("POST", P(p) + "/buckets", p.token, {{"stage", "in"}, {"name", "au"}}, 201);
  ImportOk(p, p.token, tt, "id,name\n1,a\n");
  ImportOk(p, p.token, tt, "id,name\n2,b\n", "mode=incremental");
  Ok("POST", T(p, tt) + "/versions/1/restore", p.token);
  Ok("POST", T(p, tt) + "/compact", p.token);
  SqlOk(p, p.token, {{"sql", "SELECT count(*) FROM \"in.au.t\""}});
  Ok("POST", P(p) + "/tables", p.token,
     {{"id", "in.au.empty"}, {"columns", {{{"name", "a"}, {"type", "BIGINT"}}}}}, 201);
  json token = CreateToken(p, {{"scopes", {{{"bucket", "in.au"}, {"access", "read"}}}}});
  const std::string token_object = "token:" + std::to_string(token.value("id", 0));
  Ok("DELETE", P(p) + "/tokens/" + std::to_string(token.value("id", 0)), p.token, nullptr, 204);
  Ok("DELETE", T(p, tt), p.token, nullptr, 204);
  Ok("DELETE", P(p) + "/buckets/in.au?force=true", p.token, nullptr, 204);
  // A denied write is audited too.
  json reader = CreateToken(p, {{"scopes", {{{"bucket", "in.zz"}, {"access", "read"}}}}});
  ExpectError(Import(p, reader.value("secret", ""), "in.zz.t", "id\n1\n"), 403, "forbidden",
              "denied import");

  json events = Ok("GET", P(p) + "/events?limit=1000", p.token);
  ASSERT_TRUE(events.contains("events") && events["events"].is_array()) << events.dump();
  struct Expected {
    std::string action, object;
    int64_t token_id;
  };
  const std::vector<Expected> expected = {
      {"project.create", "audit", admin_id},
      {"bucket.create", "in.au", p.token_id},
      {"table.import", tt, p.token_id},
      {"table.restore", tt, p.token_id},
      {"table.compact", tt, p.token_id},
      {"sql.run", "sql", p.token_id},
      {"table.create", "in.au.empty", p.token_id},
      {"token.create", token_object, p.token_id},
      {"token.revoke", token_object, p.token_id},
      {"table.delete", tt, p.token_id},
      {"bucket.delete", "in.au", p.token_id},
  };
  for (const auto& e : expected) {
    bool found = false;
    for (const auto& ev : events["events"]) {
      if (ev.value("action", "") != e.action || ev.value("object", "") != e.object) continue;
      found = true;
      EXPECT_EQ(ev.value("token_id", json()), e.token_id) << ev.dump();
      EXPECT_EQ(ev.value("client_address", ""), "127.0.0.1") << ev.dump();
      EXPECT_TRUE(ev.contains("created_at") && ev["created_at"].is_string()) << ev.dump();
      EXPECT_TRUE(ev.contains("details") && ev["details"].is_object()) << ev.dump();
      if (ev.contains("details") && ev["details"].is_object() && ev["details"].contains("status")) {
        EXPECT_LT(ev["details"]["status"].get<int>(), 300) << ev.dump();
      }
    }
    EXPECT_TRUE(found) << "no audit event " << e.action << " on " << e.object << " in "
                       << events.dump(1);
  }
  int imports = 0;
  for (const auto& ev : events["events"]) {
    if (ev.value("action", "") == "table.import" && ev.value("object", "") == tt) ++imports;
  }
  EXPECT_EQ(imports, 2) << "one event per import";
  bool denied = false;
  for (const auto& ev : events["events"]) {
    if (ev.value("action", "") == "table.import" && ev.value("object", "") == "in.zz.t") {
      denied = true;
      EXPECT_EQ(ev.value("token_id", json()), reader.value("id", json())) << ev.dump();
      EXPECT_EQ(ev["details"].value("status", 0), 403) << ev.dump();
    }
  }
  EXPECT_TRUE(denied) << "the denied import is not audited";
  // Newest first.
  for (size_t i = 1; i < events["events"].size(); ++i) {
    EXPECT_GT(events["events"][i - 1].value("id", 0), events["events"][i].value("id", 0));
  }
  json limited = Ok("GET", P(p) + "/events?limit=3", p.token);
  EXPECT_EQ(limited["events"].size(), 3u);
  // A scoped token cannot read the audit log.
  ExpectError(Call("GET", P(p) + "/events", reader.value("secret", "")), 403, "forbidden",
              "scoped token reading events");
}

// ---------------------------------------------------------------------------------------------
// Import and export.

TEST_F(ApiTest, ImportExportTimeTravelRestoreCompactDelete) {
  Project p = CreateProject("imports");
  const std::string t = "in.sales.orders";
  const std::string v1 = "id,name,amount\n1,apple,10\n2,pear,20\n3,plum,30\n";
  json a1 = ImportOk(p, p.token, t, v1, "primary_key=id");
  ASSERT_TRUE(a1.contains("table") && a1.contains("version")) << a1.dump();
  EXPECT_EQ(a1["table"].value("row_count", 0), 3);
  EXPECT_EQ(a1["table"]["primary_key"], json::array({"id"}));
  EXPECT_EQ(a1["version"].value("operation", ""), "import_full");
  const int64_t n1 = a1["version"].value("version", 0);
  json cols = a1["table"]["columns"];
  ASSERT_EQ(cols.size(), 3u) << cols.dump();
  EXPECT_EQ(cols[0].value("name", ""), "id");
  EXPECT_EQ(cols[2].value("type", ""), "BIGINT") << cols.dump();

  // Incremental upsert: 2 changes, 4 is new; the last row of the batch wins for key 4.
  const std::string delta = "id,name,amount\n2,pear,25\n4,kiwi,1\n4,kiwi,40\n";
  json a2 = ImportOk(p, p.token, t, delta, "mode=incremental&primary_key=id");
  EXPECT_EQ(a2["table"].value("row_count", 0), 4) << a2.dump();
  EXPECT_EQ(a2["version"].value("operation", ""), "import_incremental");
  const int64_t n2 = a2["version"].value("version", 0);
  EXPECT_GT(n2, n1);
  const std::string merged = "id,name,amount\n1,apple,10\n2,pear,25\n3,plum,30\n4,kiwi,40\n";
  HttpResponse head = Call("GET", T(p, t) + "/export", p.token);
  ASSERT_EQ(head.status, 200) << Describe(head);
  EXPECT_EQ(SortedLines(head.body), SortedLines(merged));
  json count =
      SqlOk(p, p.token, {{"sql", "SELECT count(*), sum(amount)::BIGINT FROM \"in.sales.orders\""}});
  EXPECT_EQ(count["rows"], json::parse("[[4, 105]]")) << count.dump();
  // A primary key that does not match the table's is refused.
  ExpectError(Import(p, p.token, t, delta, "mode=incremental&primary_key=name"), 400,
              "invalid_argument", "different primary key");

  // Versions, newest first.
  json versions = Ok("GET", T(p, t) + "/versions", p.token);
  ASSERT_EQ(versions["versions"].size(), 2u) << versions.dump();
  EXPECT_EQ(versions["versions"][0].value("version", 0), n2);
  EXPECT_EQ(versions["versions"][0].value("row_count", 0), 4);
  EXPECT_EQ(versions["versions"][1].value("version", 0), n1);
  EXPECT_EQ(versions["versions"][1].value("row_count", 0), 3);
  EXPECT_EQ(versions["versions"][1].value("operation", ""), "import_full");
  EXPECT_EQ(versions["versions"][0].value("token_id", 0), p.token_id);

  // Time travel: the old version exports what was imported then.
  HttpResponse old = Call("GET", T(p, t) + "/export?version=" + std::to_string(n1), p.token);
  ASSERT_EQ(old.status, 200) << Describe(old);
  EXPECT_EQ(SortedLines(old.body), SortedLines(v1));
  json old_preview = Ok("GET", T(p, t) + "/preview?version=" + std::to_string(n1), p.token);
  EXPECT_EQ(old_preview["rows"].size(), 3u) << old_preview.dump();
  ExpectError(Call("GET", T(p, t) + "/export?version=77", p.token), 404, "not_found",
              "export of a missing version");
  HttpResponse filtered =
      Call("GET", T(p, t) + "/export?columns=id,name&where_column=id&where_values=1,4", p.token);
  ASSERT_EQ(filtered.status, 200) << Describe(filtered);
  EXPECT_EQ(SortedLines(filtered.body), SortedLines("id,name\n1,apple\n4,kiwi\n"));

  // Parquet export, read back by importing it.
  HttpResponse parquet = Call("GET", T(p, t) + "/export?format=parquet", p.token);
  ASSERT_EQ(parquet.status, 200) << Describe(parquet);
  ASSERT_GE(parquet.body.size(), 8u);
  EXPECT_EQ(parquet.body.substr(0, 4), "PAR1");
  EXPECT_EQ(parquet.body.substr(parquet.body.size() - 4), "PAR1");
  json back = ImportOk(p, p.token, "in.sales.from_parquet", parquet.body, "format=parquet");
  EXPECT_EQ(back["table"].value("row_count", 0), 4) << back.dump();
  HttpResponse back_csv = Call("GET", T(p, "in.sales.from_parquet") + "/export", p.token);
  EXPECT_EQ(SortedLines(back_csv.body), SortedLines(merged));

  // Gzip CSV export: gzip magic bytes; imports back (compression auto-detected).
  HttpResponse gz = Call("GET", T(p, t) + "/export?gzip=true", p.token);
  ASSERT_EQ(gz.status, 200) << Describe(gz);
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  json back_gz = ImportOk(p, p.token, "in.sales.from_gzip", gz.body);
  EXPECT_EQ(back_gz["table"].value("row_count", 0), 4) << back_gz.dump();
  HttpResponse back_gz_csv = Call("GET", T(p, "in.sales.from_gzip") + "/export", p.token);
  EXPECT_EQ(SortedLines(back_gz_csv.body), SortedLines(merged));

  // Preview: limit and truncated.
  json pv = Ok("GET", T(p, t) + "/preview?limit=2", p.token);
  EXPECT_EQ(pv["rows"].size(), 2u) << pv.dump();
  EXPECT_EQ(pv.value("truncated", false), true) << pv.dump();
  EXPECT_EQ(pv["columns"].size(), 3u) << pv.dump();
  pv = Ok("GET", T(p, t) + "/preview?limit=4", p.token);
  EXPECT_EQ(pv["rows"].size(), 4u) << pv.dump();
  EXPECT_EQ(pv.value("truncated", true), false) << pv.dump();
  pv = Ok("GET", T(p, t) + "/preview", p.token);
  EXPECT_EQ(pv["rows"].size(), 4u) << pv.dump();
  EXPECT_TRUE(pv["rows"][0][0].is_number_integer()) << pv.dump();
  ExpectError(Call("GET", T(p, t) + "/preview?limit=1001", p.token), 400, "invalid_argument",
              "preview limit 1001");

  // Restore version 1 as a new head.
  json restored = Ok("POST", T(p, t) + "/versions/" + std::to_string(n1) + "/restore", p.token);
  const int64_t n3 = restored["version"].value("version", 0);
  EXPECT_GT(n3, n2) << restored.dump();
  EXPECT_EQ(restored["version"].value("operation", ""), "restore");
  EXPECT_EQ(restored["table"].value("row_count", 0), 3);
  HttpResponse after_restore = Call("GET", T(p, t) + "/export", p.token);
  EXPECT_EQ(SortedLines(after_restore.body), SortedLines(v1));

  // Another upsert, then compact: same rows, one segment.
  ImportOk(p, p.token, t, "id,name,amount\n3,plum,33\n5,fig,50\n", "mode=incremental");
  json before_compact = Ok("GET", T(p, t), p.token);
  EXPECT_GE(before_compact["table"].value("segments", 0), 2) << before_compact.dump();
  json compacted = Ok("POST", T(p, t) + "/compact", p.token);
  EXPECT_EQ(compacted["version"].value("operation", ""), "compact") << compacted.dump();
  EXPECT_EQ(compacted["table"].value("segments", 0), 1) << compacted.dump();
  EXPECT_EQ(compacted["table"].value("row_count", 0), 4) << compacted.dump();
  HttpResponse after_compact = Call("GET", T(p, t) + "/export", p.token);
  EXPECT_EQ(SortedLines(after_compact.body),
            SortedLines("id,name,amount\n1,apple,10\n2,pear,20\n3,plum,33\n5,fig,50\n"));
  versions = Ok("GET", T(p, t) + "/versions", p.token);
  for (size_t i = 1; i < versions["versions"].size(); ++i) {
    EXPECT_GT(versions["versions"][i - 1].value("version", 0),
              versions["versions"][i].value("version", 0));
  }

  // Delete: the table is gone.
  Ok("DELETE", T(p, t), p.token, nullptr, 204);
  ExpectError(Call("GET", T(p, t), p.token), 404, "not_found", "deleted table");
  ExpectError(Call("GET", T(p, t) + "/export", p.token), 404, "not_found",
              "export of a deleted table");
  ExpectError(Call("GET", T(p, t) + "/versions", p.token), 404, "not_found",
              "versions of a deleted table");
  json tables = Ok("GET", P(p) + "/tables", p.token);
  for (const auto& x : tables["tables"]) EXPECT_NE(x.value("id", ""), t);
}

TEST_F(ApiTest, FailedImportLeavesTheTableAtItsVersion) {
  Project p = CreateProject("import-errors");
  const std::string t = "in.x.t";
  ImportOk(p, p.token, t, "id,amount\n1,10\n2,20\n");
  // A type conflict: amount is BIGINT in the table.
  HttpResponse bad =
      Import(p, p.token, t, "id,amount\n3,not-a-number\n", "mode=incremental&types=amount:VARCHAR");
  EXPECT_GE(bad.status, 400) << Describe(bad);
  EXPECT_LT(bad.status, 500) << Describe(bad);
  json table = Ok("GET", T(p, t), p.token);
  EXPECT_EQ(table["table"].value("version", 0), 1) << table.dump();
  EXPECT_EQ(table["table"].value("row_count", 0), 2) << table.dump();
  // A primary key column that is not in the file.
  HttpResponse no_key = Import(p, p.token, "in.x.u", "a,b\n1,2\n", "primary_key=id");
  ExpectError(no_key, 400, "invalid_argument", "primary key not in the file");
  ExpectError(Call("GET", T(p, "in.x.u"), p.token), 404, "not_found",
              "table of a failed first import");
}

// Upload files are kept between imports and written over (storage/upload_spool.h): a short
// upload right after a long one, from another project, gets exactly its own rows; nothing of the
// long one's bytes reaches it.
TEST_F(ApiTest, AKeptUploadFileCarriesNothingIntoTheNextImport) {
  Project a = CreateProject("spool-a");
  Project b = CreateProject("spool-b");
  std::string long_csv = "id,name\n";
  for (int i = 0; i < 20000; ++i)
    long_csv += std::to_string(i) + ",secret-of-a-" + std::to_string(i) + "\n";
  ImportOk(a, a.token, "in.x.long", long_csv);
  json imported = ImportOk(b, b.token, "in.x.short", "id,name\n1,b\n2,c\n");
  EXPECT_EQ(imported["table"].value("row_count", 0), 2) << imported.dump();
  HttpResponse exported = Call("GET", T(b, "in.x.short") + "/export", b.token);
  EXPECT_EQ(exported.status, 200) << Describe(exported);
  EXPECT_EQ(SortedLines(exported.body), SortedLines("id,name\n1,b\n2,c\n"));
  // And back: a's next, shorter import over the file b's upload used.
  json again = ImportOk(a, a.token, "in.x.long", "id,name\n7,z\n");
  EXPECT_EQ(again["table"].value("row_count", 0), 1) << again.dump();
}

// JSON files (issue 9.7): an array of objects, pretty-printed or on one line, and objects one per
// line, with `format=json` or a `.json` name; nested objects become STRUCT columns, arrays LIST.
// A document that is not records is a clear error, never a one-row table.
TEST_F(ApiTest, JsonArraysAndObjectsImportAsRecords) {
  Project p = CreateProject("json-files");
  const std::string movies =
      "[\n  {\"title\": \"Alien\", \"year\": 1979, \"cast\": [\"Weaver\", \"Hurt\"],\n"
      "   \"studio\": {\"name\": \"Fox\", \"city\": \"LA\"}},\n"
      "  {\"title\": \"Heat\", \"year\": 1995, \"cast\": [\"Pacino\"],\n"
      "   \"studio\": {\"name\": \"WB\", \"city\": \"Burbank\"}},\n"
      "  {\"title\": \"Up\", \"year\": 2009, \"cast\": [],\n"
      "   \"studio\": {\"name\": \"Pixar\", \"city\": \"Emeryville\"}}\n]\n";
  json m = ImportOk(p, p.token, "in.j.movies", movies, "name=movies.json");
  EXPECT_EQ(m["table"].value("row_count", 0), 3) << m.dump();
  EXPECT_EQ(m["import"].value("format", ""), "json") << m.dump();
  EXPECT_EQ(m["import"].value("format_from", ""), "file name") << m.dump();
  std::map<std::string, std::string> types;
  for (const auto& c : m["table"]["columns"]) types[c.value("name", "")] = c.value("type", "");
  EXPECT_EQ(types["year"], "BIGINT") << m.dump();
  EXPECT_EQ(types["cast"], "VARCHAR[]") << m.dump();
  EXPECT_EQ(types["studio"].rfind("STRUCT(", 0), 0u) << m.dump();
  json cities =
      SqlOk(p, p.token, {{"sql", "SELECT studio.city FROM \"in.j.movies\" ORDER BY year"}});
  EXPECT_EQ(cities["rows"], json::parse(R"([["LA"],["Burbank"],["Emeryville"]])")) << cities.dump();

  // One line holding an array of 2,000 objects: 2,000 rows (read as lines, it was 1).
  std::string flights = "[";
  for (int i = 0; i < 2000; ++i)
    flights += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) +
               ",\"delay\":" + std::to_string(i % 60) + "}";
  flights += "]";
  json f = ImportOk(p, p.token, "in.j.flights", flights, "format=json");
  EXPECT_EQ(f["table"].value("row_count", 0), 2000) << f.dump();
  ExpectError(Import(p, p.token, "in.j.flights_lines", flights, "format=jsonl"), 400,
              "invalid_argument", "an array read as JSON Lines");
  HttpResponse as_lines = Import(p, p.token, "in.j.flights_lines", flights, "format=jsonl");
  EXPECT_NE(as_lines.body.find("format json"), std::string::npos) << Describe(as_lines);

  // Objects one per line, as json.
  json nd = ImportOk(p, p.token, "in.j.events", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", "format=json");
  EXPECT_EQ(nd["table"].value("row_count", 0), 3) << nd.dump();

  // Not records: a bare scalar, an object of columns, an array of numbers, a cut document.
  HttpResponse scalar = Import(p, p.token, "in.j.bad", "42\n", "name=n.json");
  ExpectError(scalar, 400, "invalid_argument", "a bare number");
  EXPECT_NE(scalar.body.find("a number"), std::string::npos) << Describe(scalar);
  HttpResponse columns =
      Import(p, p.token, "in.j.bad", "{\"a\": [1, 2, 3], \"b\": [4, 5, 6]}", "name=c.json");
  ExpectError(columns, 400, "invalid_argument", "an object of columns");
  EXPECT_NE(columns.body.find("object of columns"), std::string::npos) << Describe(columns);
  HttpResponse numbers = Import(p, p.token, "in.j.bad", "[1, 2, 3]", "name=a.json");
  ExpectError(numbers, 400, "invalid_argument", "an array of numbers");
  EXPECT_NE(numbers.body.find("not an object"), std::string::npos) << Describe(numbers);
  EXPECT_EQ(numbers.body.find("records="), std::string::npos) << Describe(numbers);
  HttpResponse cut = Import(p, p.token, "in.j.bad", "[{\"a\": 1}, {\"a\": ", "name=cut.json");
  ExpectError(cut, 400, "invalid_argument", "a cut JSON array");
  EXPECT_EQ(cut.body.find(".upload"), std::string::npos) << Describe(cut);
  EXPECT_EQ(cut.body.find("/tmp/"), std::string::npos) << Describe(cut);
  EXPECT_NE(cut.body.find("malformed JSON at byte"), std::string::npos) << Describe(cut);
  ExpectError(Call("GET", T(p, "in.j.bad"), p.token), 404, "not_found",
              "a table no failed JSON import created");
}

// ---------------------------------------------------------------------------------------------
// SQL.

TEST_F(ApiTest, SqlJsonTypingCsvFormatAndLimit) {
  Project p = CreateProject("sql");
  ImportOk(p, p.token, "in.s.t", "id,name,price\n1,a,1.5\n2,b,2.25\n3,\"c,d\",3\n");
  json r = SqlOk(
      p, p.token,
      {{"sql",
        "SELECT 1 AS i, 2.5::DOUBLE AS d, 'x' AS s, true AS b, NULL AS n, 42::BIGINT AS big"}});
  ASSERT_TRUE(r.contains("columns") && r.contains("rows") && r.contains("truncated") &&
              r.contains("elapsed_ms"))
      << r.dump();
  ASSERT_EQ(r["rows"].size(), 1u);
  const json& row = r["rows"][0];
  EXPECT_TRUE(row[0].is_number_integer() && row[0] == 1) << r.dump();
  EXPECT_TRUE(row[1].is_number_float() && row[1] == 2.5) << r.dump();
  EXPECT_TRUE(row[2].is_string() && row[2] == "x") << r.dump();
  EXPECT_TRUE(row[3].is_boolean() && row[3] == true) << r.dump();
  EXPECT_TRUE(row[4].is_null()) << r.dump();
  EXPECT_TRUE(row[5].is_number_integer() && row[5] == 42) << r.dump();
  EXPECT_EQ(r["columns"][0].value("name", ""), "i");
  EXPECT_EQ(r.value("truncated", true), false);
  EXPECT_TRUE(r["elapsed_ms"].is_number());

  json over = SqlOk(p, p.token, {{"sql", "SELECT id, name, price FROM \"in.s.t\" ORDER BY id"}});
  ASSERT_EQ(over["rows"].size(), 3u) << over.dump();
  EXPECT_EQ(over["rows"][0][0], 1);
  EXPECT_EQ(over["rows"][0][2], 1.5);
  EXPECT_EQ(over["rows"][2][1], "c,d");

  // CSV format.
  HttpResponse csv =
      Sql(p, p.token, {{"sql", "SELECT id, name FROM \"in.s.t\" ORDER BY id"}, {"format", "csv"}});
  ASSERT_EQ(csv.status, 200) << Describe(csv);
  EXPECT_NE(csv.headers["content-type"].find("text/csv"), std::string::npos);
  EXPECT_EQ(csv.body, "id,name\n1,a\n2,b\n3,\"c,d\"\n");

  // Limit and truncated.
  json limited = SqlOk(p, p.token, {{"sql", "SELECT range AS i FROM range(10)"}, {"limit", 4}});
  EXPECT_EQ(limited["rows"].size(), 4u) << limited.dump();
  EXPECT_EQ(limited.value("truncated", false), true);
  json exact = SqlOk(p, p.token, {{"sql", "SELECT range AS i FROM range(4)"}, {"limit", 4}});
  EXPECT_EQ(exact["rows"].size(), 4u);
  EXPECT_EQ(exact.value("truncated", true), false);
  HttpResponse csv_limited = Sql(
      p, p.token, {{"sql", "SELECT range AS i FROM range(10)"}, {"limit", 2}, {"format", "csv"}});
  EXPECT_EQ(csv_limited.body, "i\n0\n1\n") << Describe(csv_limited);
  // A trailing semicolon is fine.
  SqlOk(p, p.token, {{"sql", "SELECT 1;"}});
  ExpectError(Sql(p, p.token, {{"sql", "SELECT 1"}, {"format", "xml"}}), 400, "invalid_argument",
              "format xml");
  ExpectError(Sql(p, p.token, {{"sql", "SELEC 1"}}), 400, "invalid_argument", "syntax error");
  ExpectError(Sql(p, p.token, {{"sql", "SELECT * FROM \"in.s.nosuch\""}}), 400, "invalid_argument",
              "unknown table");
}

// Aggregates over integer and decimal columns are numbers too (sum() of BIGINT is HUGEINT, a
// literal like 2.5 is DECIMAL): the JSON answer must not turn them into strings.
TEST_F(ApiTest, SqlJsonNumbersForHugeintAndDecimal) {
  Project p = CreateProject("sql-numbers");
  ImportOk(p, p.token, "in.s.t", "id,amount\n1,10\n2,20\n");
  json r = SqlOk(
      p, p.token,
      {{"sql", "SELECT sum(amount) AS total, 2.5 AS dec, avg(amount) AS mean FROM \"in.s.t\""}});
  ASSERT_EQ(r["rows"].size(), 1u) << r.dump();
  EXPECT_TRUE(r["rows"][0][0].is_number())
      << "sum(BIGINT) (HUGEINT) should be a JSON number: " << r.dump();
  EXPECT_TRUE(r["rows"][0][1].is_number()) << "a DECIMAL should be a JSON number: " << r.dump();
  EXPECT_TRUE(r["rows"][0][2].is_number()) << r.dump();
}

TEST_F(ApiTest, SqlRejectsEverythingButOneSelectWithoutEffect) {
  Project p = CreateProject("sql-reject");
  ImportOk(p, p.token, "in.s.t", "id\n1\n");
  Project other = CreateProject("sql-reject-other");
  ImportOk(other, other.token, "in.s.secret", "id,v\n1,top-secret\n");
  TempDir dir;
  const std::string copy_target = dir.path() + "/x";
  const std::string attach_target = dir.path() + "/evil.db";
  // A segment file of the other project's table, found on disk.
  std::string foreign_segment;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(server_->data_dir() + "/segments")) {
    if (e.is_regular_file()) foreign_segment = e.path().string();
  }
  std::vector<std::string> statements = {
      "CREATE TABLE x AS SELECT 1",
      "COPY (SELECT 1) TO '" + copy_target + "'",
      "COPY \"in.s.t\" TO '" + copy_target + "'",
      "SELECT 1; SELECT 2",
      "SELECT 1; COPY (SELECT 1) TO '" + copy_target + "'",
      "INSTALL httpfs",
      "LOAD httpfs",
      "ATTACH '" + attach_target + "' AS evil",
      "SET enable_external_access = true",
      "PRAGMA version",
      "DROP VIEW \"in.s.t\"",
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_text('/etc/passwd')",
      "SELECT * FROM read_csv_auto('" + server_->data_dir() + "/catalog.db')",
      "SELECT * FROM glob('" + server_->data_dir() + "/**')",
      "SELECT * FROM read_parquet('" + foreign_segment + "')",
      "SELECT * FROM read_parquet('" + server_->data_dir() + "/segments/*/*.parquet')",
      "WITH a AS (SELECT 1) SELECT * FROM read_csv('/etc/passwd')",
  };
  for (const auto& sql : statements) {
    HttpResponse r = Sql(p, p.token, {{"sql", sql}});
    ExpectError(r, 400, "invalid_argument", sql);
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << sql << ": " << r.body;
    EXPECT_EQ(r.body.find("top-secret"), std::string::npos) << sql << ": " << r.body;
  }
  // Through output_table too.
  HttpResponse r =
      Sql(p, p.token,
          {{"sql", "COPY (SELECT 1) TO '" + copy_target + "'"}, {"output_table", "out.o.t"}});
  ExpectError(r, 400, "invalid_argument", "COPY with output_table");
  EXPECT_FALSE(std::filesystem::exists(copy_target)) << "COPY wrote a file";
  EXPECT_FALSE(std::filesystem::exists(copy_target + ".csv"));
  EXPECT_FALSE(std::filesystem::exists(attach_target)) << "ATTACH created a database";
  // No effect: the project's tables are as they were.
  json tables = Ok("GET", P(p) + "/tables", p.token);
  ASSERT_EQ(tables["tables"].size(), 1u) << tables.dump();
  EXPECT_EQ(tables["tables"][0].value("id", ""), "in.s.t");
  json still = SqlOk(p, p.token, {{"sql", "SELECT count(*) FROM \"in.s.t\""}});
  EXPECT_EQ(still["rows"], json::parse("[[1]]"));
  // Naming another project's table reaches nothing.
  ExpectError(Sql(p, p.token, {{"sql", "SELECT * FROM \"in.s.secret\""}}), 400, "invalid_argument",
              "another project's table");
}

TEST_F(ApiTest, SqlTimeoutStopsAHeavyQuery) {
  Project p = CreateProject("sql-timeout");
  const auto start = std::chrono::steady_clock::now();
  HttpResponse r =
      Sql(p, p.token, {{"sql", "SELECT count(*) FROM range(10000000000)"}, {"timeout_ms", 200}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectError(r, 400, "invalid_argument", "timeout");
  EXPECT_NE(ParseJson(r)["error"].value("message", "").find("time limit"), std::string::npos)
      << Describe(r);
  EXPECT_LT(seconds, 5.0) << "the query was not stopped near its time limit";
  // The server is fine afterwards.
  SqlOk(p, p.token, {{"sql", "SELECT 1"}});
  ExpectError(Sql(p, p.token, {{"sql", "SELECT 1"}, {"timeout_ms", 0}}), 400, "invalid_argument",
              "timeout_ms 0");
  ExpectError(Sql(p, p.token, {{"sql", "SELECT 1"}, {"limit", -1}}), 400, "invalid_argument",
              "limit -1");
}

TEST_F(ApiTest, SqlOutputTableWritesANewTable) {
  Project p = CreateProject("sql-output");
  ImportOk(p, p.token, "in.s.t", "id,amount\n1,10\n2,20\n3,30\n");
  json a = SqlOk(p, p.token,
                 {{"sql", "SELECT id, amount * 2 AS doubled FROM \"in.s.t\" WHERE id >= 2"},
                  {"output_table", "out.r.t"}});
  ASSERT_TRUE(a.contains("table") && a.contains("version")) << a.dump();
  EXPECT_EQ(a["table"].value("id", ""), "out.r.t");
  EXPECT_EQ(a["table"].value("row_count", 0), 2);
  EXPECT_EQ(a["version"].value("operation", ""), "sql");
  HttpResponse out = Call("GET", T(p, "out.r.t") + "/export", p.token);
  EXPECT_EQ(SortedLines(out.body), SortedLines("id,doubled\n2,40\n3,60\n")) << Describe(out);
  json b = SqlOk(p, p.token,
                 {{"sql", "SELECT id, amount AS doubled FROM \"in.s.t\" WHERE id = 1"},
                  {"output_table", "out.r.t"},
                  {"mode", "incremental"}});
  EXPECT_EQ(b["table"].value("row_count", 0), 3) << b.dump();
  json c = SqlOk(p, p.token, {{"sql", "SELECT 7 AS id"}, {"output_table", "out.r.t"}});
  EXPECT_EQ(c["table"].value("row_count", 0), 1) << c.dump();
  json versions = Ok("GET", T(p, "out.r.t") + "/versions", p.token);
  EXPECT_EQ(versions["versions"].size(), 3u) << versions.dump();
  json buckets = Ok("GET", P(p) + "/buckets", p.token);
  bool out_bucket = false;
  for (const auto& bk : buckets["buckets"]) out_bucket |= bk.value("id", "") == "out.r";
  EXPECT_TRUE(out_bucket) << buckets.dump();
}

// ---------------------------------------------------------------------------------------------
// Streaming: a large upload does not pass through memory.

// Writes a CSV of about `bytes` bytes; returns its row count.
int64_t WriteLargeCsv(const std::string& path, uint64_t bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return -1;
  std::fputs("id,name,amount,payload\n", f);
  const std::string payload(60, 'x');
  std::string chunk;
  uint64_t written = 0;
  int64_t rows = 0;
  char line[256];
  while (written < bytes) {
    chunk.clear();
    for (int i = 0; i < 10000; ++i, ++rows) {
      int n = std::snprintf(line, sizeof(line), "%lld,name%lld,%lld,%s\n",
                            static_cast<long long>(rows), static_cast<long long>(rows % 1000),
                            static_cast<long long>(rows % 977), payload.c_str());
      chunk.append(line, static_cast<size_t>(n));
    }
    std::fwrite(chunk.data(), 1, chunk.size(), f);
    written += chunk.size();
  }
  std::fclose(f);
  return rows;
}

// Raw-socket helpers for the transport tests: HTTP/1.1 exactly as bytes on the wire.
int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string ReceiveUntilClosed(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++count;
  return count;
}

// The server reads each connection through its own buffered stream: bytes of the next request
// that arrive with the current one must be kept for it, and a body may arrive in any pieces.
TEST(ApiTransportTest, PipelinedRequestsOnOneConnectionAreAllAnswered) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  int fd = ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string get = "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(
      SendAll(fd, get + get + "GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  const std::string answer = ReceiveUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(Count(answer, "HTTP/1.1 200 OK"), 3u) << answer;
}

TEST(ApiTransportTest, BodyArrivingInSmallPiecesIsReadWhole) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  int fd = ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string body = R"({"name": "dribbled", "description": "sent a few bytes at a time"})";
  const std::string head =
      "POST /v1/projects HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + server.admin_token() +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n";
  const std::string bytes = head + body;
  for (size_t off = 0; off < bytes.size(); off += 7) {
    ASSERT_TRUE(SendAll(fd, bytes.substr(off, 7)));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const std::string answer = ReceiveUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 201", 0), 0u) << answer;
  auto shown = HttpCall("GET", server.url() + "/v1/projects/dribbled",
                        {"Authorization: Bearer " + server.admin_token()});
  EXPECT_EQ(shown.status, 200) << shown.body;
  EXPECT_NE(shown.body.find("sent a few bytes at a time"), std::string::npos) << shown.body;
}

TEST(ApiTransportTest, UploadBodyInPiecesAndTruncatedUpload) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  ASSERT_EQ(
      HttpCall("POST", server.url() + "/v1/projects",
               {"Authorization: Bearer " + server.admin_token(), "Content-Type: application/json"},
               R"({"name": "p"})")
          .status,
      201);
  const std::string csv = "id,name\n1,a\n2,b\n3,c\n";
  auto request = [&](const std::string& table, size_t declared) {
    return "POST /v1/projects/p/tables/" + table + "/import HTTP/1.1\r\nHost: t\r\n" +
           "Authorization: Bearer " + server.admin_token() +
           "\r\nContent-Length: " + std::to_string(declared) + "\r\nConnection: close\r\n\r\n";
  };
  // Head and body in 3-byte pieces: the route reads the body straight from the connection.
  int fd = ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string bytes = request("in.b.whole", csv.size()) + csv;
  for (size_t off = 0; off < bytes.size(); off += 3) {
    ASSERT_TRUE(SendAll(fd, bytes.substr(off, 3)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string answer = ReceiveUntilClosed(fd);
  ::close(fd);
  ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"row_count\":3"), std::string::npos) << answer;

  // A body that ends before its Content-Length: nothing is imported.
  fd = ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, request("in.b.cut", csv.size() + 100) + csv));
  ::shutdown(fd, SHUT_WR);
  answer = ReceiveUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  auto cut = HttpCall("GET", server.url() + "/v1/projects/p/tables/in.b.cut",
                      {"Authorization: Bearer " + server.admin_token()});
  EXPECT_EQ(cut.status, 404) << cut.body;
}

TEST(ApiTransportTest, EarlyAnswerClosesTheConnectionInsteadOfParsingTheBody) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  // Keep-alive request whose body the server does not read (bad token), then a second request on
  // the same connection. The body must not be parsed as requests; the connection closes after
  // the 401 (the client retries on a new one).
  const std::string body = "id,name\nGET /v1/health HTTP/1.1\nHost: x\n\n";
  const std::string bytes =
      "POST /v1/projects/p/tables/in.b.t/import HTTP/1.1\r\nHost: t\r\n"
      "Authorization: Bearer swan_bad\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body +
      "GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  int fd = ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, bytes));
  const std::string answer = ReceiveUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
  EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
}

TEST(ApiTransportTest, GzipContentEncodedUploadIsDecoded) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  TempDir dir;
  WriteFile(dir.path() + "/t.csv", "id,name\n1,a\n2,b\n");
  auto zipped = RunCommand("gzip -c " + ShellQuote(dir.path() + "/t.csv") + " > " +
                           ShellQuote(dir.path() + "/t.csv.gz"));
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
  ASSERT_EQ(
      HttpCall("POST", server.url() + "/v1/projects",
               {"Authorization: Bearer " + server.admin_token(), "Content-Type: application/json"},
               R"({"name": "p"})")
          .status,
      201);
  auto r = HttpCall("POST", server.url() + "/v1/projects/p/tables/in.b.t/import",
                    {"Authorization: Bearer " + server.admin_token(), "Content-Encoding: gzip",
                     "Content-Type: text/csv"},
                    ReadFile(dir.path() + "/t.csv.gz"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"row_count\":2"), std::string::npos) << r.body;
}

// Uploads go out with sendfile(2) to plain-http servers and through libcurl otherwise
// (SWAN_NO_SENDFILE=1): both must give the same answers, including an error the server sends
// before it has read the body of a large upload.
class UploadTransportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      setenv("SWAN_NO_SENDFILE", "1", 1);
    } else {
      unsetenv("SWAN_NO_SENDFILE");
    }
  }
  void TearDown() override { unsetenv("SWAN_NO_SENDFILE"); }
};

TEST_P(UploadTransportTest, ImportsAndEarlyErrorsArriveWhole) {
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  TempDir dir;
  const std::string csv = dir.path() + "/t.csv";
  const int64_t rows = WriteLargeCsv(csv, 48ull << 20);  // far more than the socket buffers
  ASSERT_GT(rows, 0);
  client::ApiClient admin(server.url(), server.admin_token());
  auto project = admin.Post("/v1/projects", {{"name", "up"}});
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  client::ApiClient api(server.url(), (*project)["token"]["secret"].get<std::string>());

  auto answer = api.Upload("/v1/projects/up/tables/in.b.t/import", csv, {});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString() << "\n" << server.Log();
  EXPECT_EQ((*answer)["table"].value("row_count", int64_t{0}), rows);

  client::ApiClient stranger(server.url(), "swan_0000000000000000000000000000000000000000");
  auto refused = stranger.Upload("/v1/projects/up/tables/in.b.t/import", csv, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthorized) << refused.status().ToString();

  auto missing = admin.Upload("/v1/projects/nope/tables/in.b.t/import", csv, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos)
      << missing.status().ToString();

  // The connection of a refused upload does not disturb the next one.
  auto again = api.Upload("/v1/projects/up/tables/in.b.t/import?mode=incremental", csv, {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["table"].value("row_count", int64_t{0}), 2 * rows);
}

INSTANTIATE_TEST_SUITE_P(Transports, UploadTransportTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Libcurl") : std::string("Sendfile");
                         });

// An upload the server cannot store (its files limited to 8 MB by RLIMIT_FSIZE, inherited from
// this process with SIGXFSZ ignored) is the server's failure: 500, a message with no server path,
// the table at its version, and the server still answering.
TEST(ApiStreamingTest, AnUploadTheServerCannotStoreIsItsOwnError) {
  struct rlimit saved {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  const struct rlimit limited = {8u << 20, saved.rlim_max};
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  ServerProcess server;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(server.ok()) << server.error();
  TempDir dir;
  const std::string csv = dir.path() + "/big.csv";
  ASSERT_GT(WriteLargeCsv(csv, 20ull << 20), 0);
  WriteFile(dir.path() + "/s.csv", "id,name\n1,a\n");
  client::ApiClient admin(server.url(), server.admin_token());
  auto project = admin.Post("/v1/projects", {{"name", "capped"}});
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  client::ApiClient api(server.url(), (*project)["token"]["secret"].get<std::string>());
  const std::string import = "/v1/projects/capped/tables/in.w.t/import";
  ASSERT_TRUE(api.Upload(import, dir.path() + "/s.csv", {}).ok());
  auto big = api.Upload(import, csv, {});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInternal) << big.status().ToString();
  EXPECT_EQ(big.status().message().find(server.data_dir()), std::string::npos)
      << big.status().ToString();
  EXPECT_EQ(big.status().message().find(".upload"), std::string::npos) << big.status().ToString();
  auto table = api.Get("/v1/projects/capped/tables/in.w.t");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ((*table)["table"].value("version", 0), 1) << table->dump();
  EXPECT_EQ((*table)["table"].value("row_count", 0), 1) << table->dump();
}

TEST(ApiStreamingTest, LargeUploadKeepsServerMemoryFlat) {
  // Under ASan, freed memory waits in a quarantine (256 MB by default) and counts as the server's
  // growth (+131-153 MB measured, against +65 MB without ASan); a small quarantine measures the
  // server instead of the sanitizer. Builds without ASan ignore the variable.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
  setenv("ASAN_OPTIONS", (asan_options + "quarantine_size_mb=8").c_str(), 1);
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  TempDir dir;
  const std::string csv = dir.path() + "/big.csv";
  const int64_t rows = WriteLargeCsv(csv, 200ull << 20);
  ASSERT_GT(rows, 0);
  const uint64_t size = std::filesystem::file_size(csv);

  client::ApiClient admin(server.url(), server.admin_token());
  auto project = admin.Post("/v1/projects", {{"name", "big"}});
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  client::ApiClient api(server.url(), (*project)["token"]["secret"].get<std::string>());
  // Warm up (DuckDB and the catalog allocate on first use), then take the idle RSS.
  ASSERT_TRUE(api.Post("/v1/projects/big/sql", {{"sql", "SELECT 1"}}).ok());
  TempDir small;
  WriteFile(small.path() + "/s.csv", "id,name\n1,a\n");
  ASSERT_TRUE(
      api.Upload("/v1/projects/big/tables/in.w.t/import", small.path() + "/s.csv", {}).ok());
  const long idle_kib = ProcStatusKib(server.pid(), "VmRSS");
  ASSERT_GT(idle_kib, 0);

  const auto start = std::chrono::steady_clock::now();
  auto answer = api.Upload("/v1/projects/big/tables/in.big.t/import", csv, {});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(answer.ok()) << answer.status().ToString() << "\n" << server.Log();
  const long peak_kib = ProcStatusKib(server.pid(), "VmHWM");
  EXPECT_EQ((*answer)["table"].value("row_count", int64_t{0}), rows);
  const double growth_mb = (peak_kib - idle_kib) / 1024.0;
  std::printf(
      "upload of %.0f MB (%lld rows) in %.1f s; server idle RSS %.0f MB, peak %.0f MB (+%.0f MB)\n",
      size / 1048576.0, static_cast<long long>(rows), seconds, idle_kib / 1024.0, peak_kib / 1024.0,
      growth_mb);
  EXPECT_LT(growth_mb, 150.0) << "the server's peak RSS grew by " << growth_mb << " MB for a "
                              << size / 1048576 << " MB upload";
  auto count = api.Post("/v1/projects/big/sql", {{"sql", "SELECT count(*) FROM \"in.big.t\""}});
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ((*count)["rows"][0][0], rows);
  // The upload's file is kept for the next import (storage/upload_spool.h), readable by the
  // server's user only, and deleted when the server stops.
  auto uploads = [&] {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(server.data_dir() + "/tmp"))
      if (e.path().extension() == ".upload") found.push_back(e.path());
    return found;
  };
  EXPECT_LE(uploads().size(), limits::kUploadSpoolFilesKept);
  for (const auto& path : uploads()) {
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << path;
  }
  server.Kill();
  EXPECT_TRUE(uploads().empty()) << uploads().front();
}

}  // namespace
}  // namespace swan::testing

namespace swan::testing {
namespace {

TEST_F(ApiTest, ImportFormatFollowsTheFileNameUnlessGiven) {
  Project p = CreateProject("formats");
  ImportOk(p, p.token, "in.f.src", "id,name\n1,a\n2,b\n");
  HttpResponse parquet = Call("GET", T(p, "in.f.src") + "/export?format=parquet", p.token);
  ASSERT_EQ(parquet.status, 200) << Describe(parquet);
  ASSERT_EQ(parquet.body.substr(0, 4), "PAR1");
  // No format given: the name's extension decides, and the answer says so.
  json pq = ImportOk(p, p.token, "in.f.pq", parquet.body, "name=flights.parquet");
  EXPECT_EQ(pq["import"].value("format", ""), "parquet") << pq.dump();
  EXPECT_EQ(pq["import"].value("format_from", ""), "file name") << pq.dump();
  EXPECT_EQ(pq["version"].value("row_count", 0), 2) << pq.dump();
  json tsv = ImportOk(p, p.token, "in.f.tsv", "id\tname\n1\tx y\n", "name=data.tsv");
  EXPECT_EQ(tsv["import"].value("delimiter", ""), "\t") << tsv.dump();
  EXPECT_EQ(tsv["table"]["columns"].size(), 2u) << tsv.dump();
  json jl = ImportOk(p, p.token, "in.f.jl", "{\"id\": 1}\n{\"id\": 2}\n", "name=events.ndjson");
  EXPECT_EQ(jl["import"].value("format", ""), "jsonl") << jl.dump();
  // An unknown extension falls back to CSV; a given format always wins.
  json txt = ImportOk(p, p.token, "in.f.txt", "id\n1\n", "name=data.txt");
  EXPECT_EQ(txt["import"].value("format_from", ""), "default") << txt.dump();
  ExpectError(Import(p, p.token, "in.f.bad", parquet.body, "name=x.parquet&format=csv"), 400,
              "invalid_argument", "parquet bytes read as the given csv");
  json given = ImportOk(p, p.token, "in.f.given", "id\n5\n", "name=x.parquet&format=csv");
  EXPECT_EQ(given["import"].value("format_from", ""), "given") << given.dump();
}

}  // namespace
}  // namespace swan::testing

namespace swan::testing {
namespace {

TEST_F(ApiTest, PreviewLimitHoldsAtBothEdges) {
  Project p = CreateProject("edges");
  std::string csv = "id\n";
  for (int i = 1; i <= limits::kPreviewRowsMax + 1; ++i) csv += std::to_string(i) + "\n";
  ImportOk(p, p.token, "in.e.t", csv);
  const std::string max = std::to_string(limits::kPreviewRowsMax);
  json at_max = Ok("GET", T(p, "in.e.t") + "/preview?limit=" + max, p.token);
  EXPECT_EQ(at_max["rows"].size(), static_cast<size_t>(limits::kPreviewRowsMax));
  EXPECT_EQ(at_max.value("truncated", false), true);  // one more row exists
  json one = Ok("GET", T(p, "in.e.t") + "/preview?limit=1", p.token);
  EXPECT_EQ(one["rows"].size(), 1u);
  json dflt = Ok("GET", T(p, "in.e.t") + "/preview", p.token);
  EXPECT_EQ(dflt["rows"].size(), static_cast<size_t>(limits::kPreviewRowsDefault));
  ExpectError(
      Call("GET", T(p, "in.e.t") + "/preview?limit=" + std::to_string(limits::kPreviewRowsMax + 1),
           p.token),
      400, "invalid_argument", "preview past the maximum");
  ExpectError(Call("GET", T(p, "in.e.t") + "/preview?limit=0", p.token), 400, "invalid_argument",
              "preview of zero rows");
}

}  // namespace
}  // namespace swan::testing
