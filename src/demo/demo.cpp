#include "demo/demo.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "client/api_client.h"
#include "common/fs.h"
#include "engine/duckdb.h"

namespace swan::demo {

using nlohmann::json;

namespace {

constexpr const char* kProject = "demo";

// Writes a sample orders dataset (deterministic, generated here: no download).
Status GenerateOrders(const std::string& path, int rows) {
  ASSIGN_OR_RETURN(auto db, engine::Database::Open({}));
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db));
  std::string sql =
      "COPY (SELECT i AS order_id, DATE '2026-01-01' + CAST(i % 330 AS INTEGER) AS order_date, "
      "['Prague','Berlin','Vienna','Warsaw','Budapest','Brno'][1 + CAST(i % 6 AS INTEGER)] AS "
      "city, "
      "['books','games','garden','music','tools'][1 + CAST((i * 7) % 5 AS INTEGER)] AS category, "
      "round(5 + CAST(hash(i) % 20000 AS DOUBLE) / 100.0, 2) AS amount, "
      "CAST(1 + hash(i * 3) % 5 AS INTEGER) AS quantity "
      "FROM range(1, " +
      std::to_string(rows + 1) + ") AS t(i)) TO " + engine::QuoteLiteral(path) + " (HEADER true)";
  return conn->Execute(sql);
}

Result<std::string> ProjectToken(const client::ApiClient& admin) {
  auto created = admin.Post("/v1/projects",
                            {{"name", kProject}, {"description", "Swan demo: sample sales data"}});
  if (created.ok()) return (*created)["token"]["secret"].get<std::string>();
  if (created.status().code() != StatusCode::kConflict) return created.status();
  // The project exists from an earlier run: issue a fresh master token for it.
  ASSIGN_OR_RETURN(json token,
                   admin.Post(std::string("/v1/projects/") + kProject + "/tokens",
                              {{"kind", "master"}, {"description", "demo master token"}}));
  return token["token"]["secret"].get<std::string>();
}

void PrintRows(const json& result) {
  for (const auto& c : result["columns"])
    std::printf("%-14s", c["name"].get<std::string>().c_str());
  std::printf("\n");
  for (const auto& row : result["rows"]) {
    for (const auto& v : row)
      std::printf("%-14s", v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
    std::printf("\n");
  }
}

Status RunPipeline(const DemoOptions& options, api::Server& server, std::string* token) {
  client::ApiClient admin(server.url(), server.issued_admin_token());
  ASSIGN_OR_RETURN(*token, ProjectToken(admin));
  client::ApiClient api(server.url(), *token);

  std::string dir = options.data_dir + "/demo";
  RETURN_IF_ERROR(fs::MakeDirs(dir));
  std::string csv = dir + "/orders.csv";
  std::printf("1. generating %d sample orders into %s\n", options.rows, csv.c_str());
  RETURN_IF_ERROR(GenerateOrders(csv, options.rows));

  std::printf("2. importing them into table in.sales.orders (primary key order_id)\n");
  ASSIGN_OR_RETURN(
      json imported,
      api.Upload(std::string("/v1/projects/") + kProject +
                     "/tables/in.sales.orders/import?primary_key=order_id&name=orders.csv",
                 csv, nullptr));
  std::printf("   -> version %lld, %lld rows\n",
              static_cast<long long>(imported["version"]["version"].get<int64_t>()),
              static_cast<long long>(imported["version"]["row_count"].get<int64_t>()));

  std::printf("3. aggregating with SQL into table out.sales.revenue_by_city\n");
  const char* sql =
      "SELECT city, category, count(*) AS orders, round(sum(amount * quantity), 2) AS revenue "
      "FROM \"in.sales.orders\" GROUP BY city, category ORDER BY revenue DESC";
  ASSIGN_OR_RETURN(json aggregated,
                   api.Post(std::string("/v1/projects/") + kProject + "/sql",
                            {{"sql", sql}, {"output_table", "out.sales.revenue_by_city"}}));
  std::printf("   -> %lld rows\n",
              static_cast<long long>(aggregated["version"]["row_count"].get<int64_t>()));
  ASSIGN_OR_RETURN(json preview, api.Get(std::string("/v1/projects/") + kProject +
                                         "/tables/out.sales.revenue_by_city/preview?limit=5"));
  std::printf("\nTop 5 of out.sales.revenue_by_city:\n");
  PrintRows(preview);
  return Status::Ok();
}

}  // namespace

int RunDemo(const DemoOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  api::ServerOptions server_options;
  server_options.data_dir = options.data_dir;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.quiet = true;
  server_options.issue_admin_token = true;
  auto server = api::Server::Start(server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "swan: error: %s\n", server.status().message().c_str());
    return 2;
  }
  std::printf("Swan demo: server on %s, data in %s\n\n", (*server)->url().c_str(),
              std::filesystem::absolute(options.data_dir).c_str());
  std::string token;
  Status st = RunPipeline(options, **server, &token);
  if (!st.ok()) {
    std::fprintf(stderr, "swan: error: demo failed: %s\n", st.message().c_str());
    return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kInternal ? 2 : 1;
  }
  std::printf(
      "\nSwan is running.\n"
      "  URL:   %s\n"
      "  token: %s   (master token of project 'demo')\n\n"
      "Try next, in another terminal:\n"
      "  export SWAN_URL=%s SWAN_TOKEN=%s\n"
      "  ./build/swan table list\n"
      "  ./build/swan table preview in.sales.orders --limit 5\n"
      "  ./build/swan sql 'SELECT city, sum(revenue) FROM \"out.sales.revenue_by_city\" GROUP BY "
      "city'\n"
      "  ./build/swan table versions in.sales.orders\n"
      "  curl -H \"Authorization: Bearer $SWAN_TOKEN\" %s/v1/projects/demo/tables\n"
      "(the API is described at %s/v1/openapi.json)\n",
      (*server)->url().c_str(), token.c_str(), (*server)->url().c_str(), token.c_str(),
      (*server)->url().c_str(), (*server)->url().c_str());
  std::fflush(stdout);
  if (options.exit_after) {
    (*server)->Stop();
    return 0;
  }
  std::printf("\nPress Ctrl-C to stop.\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Stop();
  (*server)->Wait();
  return 0;
}

}  // namespace swan::demo
