#include "demo/demo.h"

#include <sqlite3.h>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
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

// The shop's own database, which the flow's extract phase reads: an SQLite file with the cities
// the orders come from (the project's import folder, where swan.ex-db-sqlite reads).
Status WriteShopDatabase(const std::string& path) {
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Internal("cannot create " + path + ": " + error);
  }
  char* error = nullptr;
  const int rc = sqlite3_exec(
      db,
      "CREATE TABLE cities (city TEXT PRIMARY KEY, country TEXT NOT NULL, population INTEGER);"
      "INSERT INTO cities VALUES ('Prague', 'Czechia', 1384732), ('Brno', 'Czechia', 402739),"
      "('Berlin', 'Germany', 3878100), ('Vienna', 'Austria', 2005760),"
      "('Warsaw', 'Poland', 1862402), ('Budapest', 'Hungary', 1686222);",
      nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return Status::Internal("cannot write " + path + ": " + message);
  return Status::Ok();
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

std::string ProjectPath(const std::string& suffix) {
  return std::string("/v1/projects/") + kProject + suffix;
}

// Creates the configuration, or saves the demo's body as its next version when it exists.
Status SaveConfig(client::ApiClient& api, const std::string& component, const std::string& id,
                  const std::string& name, const json& configuration) {
  auto created = api.Post(ProjectPath("/configs"), {{"component_id", component},
                                                    {"id", id},
                                                    {"name", name},
                                                    {"configuration", configuration},
                                                    {"message", "created by swan demo"}});
  if (created.ok()) return Status::Ok();
  if (created.status().code() != StatusCode::kConflict) return created.status();
  return api
      .Post(ProjectPath("/configs/" + id),
            {{"configuration", configuration}, {"message", "saved again by swan demo"}})
      .status();
}

// Runs the configuration as a job and prints its events as they come, until it ends.
Status RunJob(client::ApiClient& api, const std::string& config_id) {
  ASSIGN_OR_RETURN(json run,
                   api.Post(ProjectPath("/configs/" + config_id + "/run"), json::object()));
  const std::string job = std::to_string(run["job"]["id"].get<int64_t>());
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(
        json answer,
        api.Get(ProjectPath("/jobs/" + job + "/events?wait=10&after=" + std::to_string(after))));
    for (const auto& e : answer["events"]) {
      std::printf("   [job %s] %s\n", job.c_str(), e["message"].get<std::string>().c_str());
      after = e["id"].get<int64_t>();
    }
    if (answer["finished"].get<bool>() && answer["events"].empty()) break;
  }
  ASSIGN_OR_RETURN(json done, api.Get(ProjectPath("/jobs/" + job)));
  const std::string status = done["job"]["status"].get<std::string>();
  std::printf("   -> job %s %s in %lld ms\n", job.c_str(), status.c_str(),
              static_cast<long long>(done["job"]["usage"]["wall_ms"].get<int64_t>()));
  if (status != "success" && status != "warning")
    return Status::Internal("job " + job + " ended " + status + ": " +
                            done["job"]["message"].get<std::string>());
  return Status::Ok();
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

  // The import root swan.ex-db-sqlite reads: $SWAN_IMPORT_DIR, default <data>/imports.
  const char* import_root = std::getenv("SWAN_IMPORT_DIR");
  const std::string shop =
      (import_root && *import_root ? std::string(import_root) : options.data_dir + "/imports") +
      "/" + kProject + "/shop";
  RETURN_IF_ERROR(fs::MakeDirs(shop));
  RETURN_IF_ERROR(WriteShopDatabase(shop + "/shop.sqlite"));
  std::printf(
      "3. an extractor (configuration shop-cities): the shop's SQLite database %s/shop.sqlite "
      "into in.shop.cities\n",
      shop.c_str());
  const json extract_config = {{"parameters",
                                {{"db", {{"path", "shop/shop.sqlite"}}},
                                 {"table", {{"tableName", "cities"}}},
                                 {"outputTable", "in.shop.cities"},
                                 {"primaryKey", {"city"}}}}};
  RETURN_IF_ERROR(SaveConfig(api, "swan.ex-db-sqlite", "shop-cities",
                             "Cities from the shop's database", extract_config));
  RETURN_IF_ERROR(RunJob(api, "shop-cities"));

  std::printf("4. a SQL transformation (configuration revenue-by-city) run as a job\n");
  const json sql_config = {
      {"storage",
       {{"input",
         {{"tables",
           {{{"source", "in.sales.orders"}, {"destination", "orders"}},
            {{"source", "in.shop.cities"}, {"destination", "cities"}}}}}},
        {"output",
         {{"tables",
           {{{"source", "revenue_by_city"}, {"destination", "out.sales.revenue_by_city"}}}}}}}},
      {"parameters",
       {{"blocks",
         {{{"name", "Revenue"},
           {"codes",
            {{{"name", "By city and category"},
              {"script",
               {"CREATE TABLE revenue_by_city AS SELECT o.city, c.country, o.category, "
                "count(*) AS orders, round(sum(o.amount * o.quantity), 2) AS revenue FROM orders o "
                "LEFT JOIN cities c ON c.city = o.city GROUP BY ALL ORDER BY revenue "
                "DESC"}}}}}}}}}}};
  RETURN_IF_ERROR(SaveConfig(api, "swan.sql-transformation", "revenue-by-city",
                             "Revenue by city and category", sql_config));
  RETURN_IF_ERROR(RunJob(api, "revenue-by-city"));

  std::printf("5. a Python transformation (configuration city-totals) run as a job\n");
  const json py_config = {
      {"storage",
       {{"input",
         {{"tables", {{{"source", "out.sales.revenue_by_city"}, {"destination", "revenue.csv"}}}}}},
        {"output",
         {{"tables",
           {{{"source", "city_totals.csv"},
             {"destination", "out.sales.city_totals"},
             {"primary_key", {"city"}}}}}}}}},
      {"parameters",
       {{"blocks",
         {{{"name", "Totals"},
           {"codes",
            {{{"name", "Sum per city"},
              {"script",
               {"import csv\n"
                "totals = {}\n"
                "with open('in/tables/revenue.csv') as f:\n"
                "    for row in csv.DictReader(f):\n"
                "        totals[row['city']] = totals.get(row['city'], 0) + float(row['revenue'])\n"
                "with open('out/tables/city_totals.csv', 'w', newline='') as f:\n"
                "    w = csv.writer(f)\n"
                "    w.writerow(['city', 'revenue'])\n"
                "    for city, total in sorted(totals.items()):\n"
                "        w.writerow([city, round(total, 2)])\n"
                "print(f'{len(totals)} cities written')\n"}}}}}}}}}}};
  RETURN_IF_ERROR(SaveConfig(api, "keboola.python-transformation-v2", "city-totals",
                             "Revenue per city (Python)", py_config));
  RETURN_IF_ERROR(RunJob(api, "city-totals"));

  std::printf(
      "6. a flow (configuration daily-sales): extract -> transform -> refine -> deliver, run as "
      "one job whose tasks are jobs\n");
  const json export_config = {
      {"storage",
       {{"input",
         {{"tables",
           {{{"source", "out.sales.city_totals"}, {"destination", "city_totals.csv"}}}}}}}},
      {"parameters", {{"path", "reports"}, {"format", "csv"}}}};
  RETURN_IF_ERROR(SaveConfig(api, "swan.wr-file", "export-city-totals", "City totals to a CSV file",
                             export_config));
  const json flow_config = {
      {"phases",
       {{{"id", 1}, {"name", "Extract"}, {"dependsOn", json::array()}},
        {{"id", 2}, {"name", "Transform"}, {"dependsOn", {1}}},
        {{"id", 3}, {"name", "Refine"}, {"dependsOn", {2}}},
        {{"id", 4}, {"name", "Deliver"}, {"dependsOn", {3}}}}},
      {"tasks",
       {{{"id", "extract-cities"},
         {"name", "shop cities"},
         {"phase", 1},
         {"task", {{"componentId", "swan.ex-db-sqlite"}, {"configId", "shop-cities"}}}},
        {{"id", 1},
         {"name", "revenue by city"},
         {"phase", 2},
         {"task", {{"componentId", "swan.sql-transformation"}, {"configId", "revenue-by-city"}}}},
        {{"id", 2},
         {"name", "city totals"},
         {"phase", 3},
         {"task",
          {{"componentId", "keboola.python-transformation-v2"}, {"configId", "city-totals"}}}},
        {{"id", 3},
         {"name", "export"},
         {"phase", 4},
         {"task", {{"componentId", "swan.wr-file"}, {"configId", "export-city-totals"}}}}}}};
  RETURN_IF_ERROR(
      SaveConfig(api, "keboola.orchestrator", "daily-sales", "Daily sales pipeline", flow_config));
  RETURN_IF_ERROR(RunJob(api, "daily-sales"));
  std::printf("   -> the report file: %s/exports/%s/reports/city_totals.csv\n",
              std::filesystem::absolute(options.data_dir).c_str(), kProject);

  std::printf(
      "7. a schedule (configuration daily-sales-nightly): the flow every day at 06:00 UTC\n");
  const json schedule_config = {
      {"schedule", {{"cronTab", "0 6 * * *"}, {"timezone", "UTC"}, {"state", "enabled"}}},
      {"target", {{"componentId", "keboola.orchestrator"}, {"configurationId", "daily-sales"}}}};
  RETURN_IF_ERROR(SaveConfig(api, "keboola.scheduler", "daily-sales-nightly",
                             "Daily sales, every morning", schedule_config));
  ASSIGN_OR_RETURN(json schedule, api.Get(ProjectPath("/schedules/daily-sales-nightly?next=3")));
  std::printf("   next runs:");
  for (const auto& t : schedule["schedule"].value("next_runs", json::array()))
    std::printf(" %s", t.get<std::string>().c_str());
  std::printf("\n");

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
  server_options.sql_worker_exe = "/proc/self/exe";
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
      "  ./build/swan job list                   (the demo's transformation jobs)\n"
      "  ./build/swan job logs <ID>              (a job's events; -f follows a running one)\n"
      "  ./build/swan config show revenue-by-city\n"
      "  ./build/swan run revenue-by-city --wait (run the SQL transformation again)\n"
      "  ./build/swan flow run daily-sales --wait  (the whole pipeline as one flow)\n"
      "  ./build/swan flow show <ID>               (a flow's job and its tasks' jobs)\n"
      "  ./build/swan flow graph daily-sales       (the flow as a Mermaid chart)\n"
      "  ./build/swan schedule list                (when the flow runs next; the server runs it)\n"
      "  ./build/swan job list --config daily-sales  (watch the scheduled runs come)\n"
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
