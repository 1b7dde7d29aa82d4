// Helpers for tests that run components as jobs on a real `swan server` child (ServerProcess):
// one project driven over the REST API with its master token, configurations, jobs run to their
// end, and tables read back. Failures are gtest failures (EXPECT) with the server's log; the
// functions return empty values then, so a test goes on to report what else is wrong.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace swan::testing {

// How long a job may take in these tests before the test gives up on it.
inline constexpr auto kJobWaitMax = std::chrono::seconds(60);

inline std::string DescribeResponse(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")") + ": " +
         r.body.substr(0, 2000);
}

// One project on `server`, created by the constructor (check ok()).
class ProjectApi {
 public:
  ProjectApi(const ServerProcess& server, const std::string& name) : server_(server), name_(name) {
    nlohmann::json answer = Call("POST", "/v1/projects", server.admin_token(),
                                 {{"name", name}, {"description", "component test"}}, 201);
    if (answer.contains("project")) id_ = answer["project"].value("id", int64_t{0});
    if (answer.contains("token")) token_ = answer["token"].value("secret", "");
  }

  bool ok() const { return !token_.empty() && id_ > 0; }
  const std::string& name() const { return name_; }
  int64_t id() const { return id_; }
  const std::string& token() const { return token_; }
  std::string Path(const std::string& rest = "") const { return "/v1/projects/" + name_ + rest; }

  // A call with this project's master token that must answer `status` (any 2xx when 0); the JSON
  // answer, an empty object for an empty body.
  nlohmann::json Ok(const std::string& method, const std::string& path,
                    const nlohmann::json& body = nullptr, long status = 0) const {
    return Call(method, path, token_, body, status);
  }

  // Imports `csv` into `table` (created if missing); `query` like "mode=incremental".
  void ImportCsv(const std::string& table, const std::string& csv,
                 const std::string& query = "") const {
    HttpResponse r = HttpCall(
        "POST",
        server_.url() + Path("/tables/" + table + "/import") + (query.empty() ? "" : "?" + query),
        {"Authorization: Bearer " + token_, "Content-Type: text/csv"}, csv);
    EXPECT_EQ(r.status, 200) << "import " << table << ": " << DescribeResponse(r);
  }

  // The table (GET tables/{id}), or an empty object with a failure.
  nlohmann::json Table(const std::string& table) const {
    return Ok("GET", Path("/tables/" + table)).value("table", nlohmann::json::object());
  }

  // The table's rows as text, each row's values in the table's column order, rows sorted. Values
  // that are not strings are their JSON text (12, true, null).
  std::vector<std::vector<std::string>> SortedRows(const std::string& table) const {
    nlohmann::json preview = Ok("GET", Path("/tables/" + table + "/preview?limit=1000"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : preview.value("rows", nlohmann::json::array())) {
      std::vector<std::string> values;
      for (const auto& v : row) values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      rows.push_back(std::move(values));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // The table's column names in order.
  std::vector<std::string> Columns(const std::string& table) const {
    std::vector<std::string> out;
    for (const auto& c : Table(table).value("columns", nlohmann::json::array()))
      out.push_back(c.value("name", ""));
    return out;
  }

  void CreateConfig(const std::string& id, const std::string& component_id,
                    const nlohmann::json& configuration) const {
    Ok("POST", Path("/configs"),
       {{"id", id}, {"component_id", component_id}, {"configuration", configuration}}, 201);
  }

  // Runs the configuration (POST .../run with `run_body`) and follows its events until the job
  // ends; returns the final job (an empty object with a failure when it did not end in time).
  nlohmann::json RunJob(const std::string& config_id,
                        const nlohmann::json& run_body = nlohmann::json::object()) const {
    nlohmann::json started = Ok("POST", Path("/configs/" + config_id + "/run"), run_body, 201);
    if (!started.contains("job")) return nlohmann::json::object();
    const int64_t job_id = started["job"].value("id", int64_t{0});
    const auto deadline = std::chrono::steady_clock::now() + kJobWaitMax;
    int64_t after = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json page = Ok("GET", Path("/jobs/" + std::to_string(job_id) +
                                           "/events?after=" + std::to_string(after) + "&wait=5"));
      for (const auto& e : page.value("events", nlohmann::json::array()))
        after = std::max(after, e.value("id", int64_t{0}));
      if (page.value("finished", false) || page.is_discarded() || page.empty()) break;
    }
    nlohmann::json job =
        Ok("GET", Path("/jobs/" + std::to_string(job_id))).value("job", nlohmann::json());
    EXPECT_TRUE(job.is_object()) << "job " << job_id;
    if (!job.is_object()) return nlohmann::json::object();
    const std::string status = job.value("status", "");
    EXPECT_TRUE(status != "waiting" && status != "processing" && status != "created")
        << "job " << job_id << " did not end within " << kJobWaitMax.count() << " s";
    return job;
  }

  // The job's events as "level source: message" lines.
  std::string JobLog(int64_t job_id) const {
    nlohmann::json page = Ok("GET", Path("/jobs/" + std::to_string(job_id) + "/events?limit=1000"));
    std::string out;
    for (const auto& e : page.value("events", nlohmann::json::array())) {
      out +=
          e.value("level", "") + " " + e.value("source", "") + ": " + e.value("message", "") + "\n";
    }
    return out;
  }

  // The stored state of a configuration (GET .../state).
  nlohmann::json State(const std::string& config_id) const {
    return Ok("GET", Path("/configs/" + config_id + "/state")).value("state", nlohmann::json());
  }

 private:
  nlohmann::json Call(const std::string& method, const std::string& path, const std::string& token,
                      const nlohmann::json& body, long status) const {
    std::vector<std::string> headers = {"Authorization: Bearer " + token};
    if (!body.is_null() || method == "POST") headers.push_back("Content-Type: application/json");
    HttpResponse r = HttpCall(method, server_.url() + path, headers,
                              body.is_null() ? std::string() : body.dump());
    if (status != 0) {
      EXPECT_EQ(r.status, status) << method << " " << path << ": " << DescribeResponse(r)
                                  << "\nserver log: " << server_.Log();
    } else {
      EXPECT_TRUE(r.status >= 200 && r.status < 300)
          << method << " " << path << ": " << DescribeResponse(r)
          << "\nserver log: " << server_.Log();
    }
    if (r.body.empty()) return nlohmann::json::object();
    nlohmann::json parsed = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << method << " " << path << ": " << DescribeResponse(r);
    return parsed.is_discarded() ? nlohmann::json::object() : parsed;
  }

  const ServerProcess& server_;
  std::string name_;
  int64_t id_ = 0;
  std::string token_;
};

// Describes a job for failure messages: status, message and its events.
inline std::string DescribeJob(const ProjectApi& project, const nlohmann::json& job) {
  if (!job.is_object() || !job.contains("id")) return "no job";
  return "job " + std::to_string(job.value("id", int64_t{0})) + " " + job.value("status", "") +
         " (" +
         (job.contains("error_kind") && job["error_kind"].is_string()
              ? job["error_kind"].get<std::string>()
              : "-") +
         "): " + job.value("message", "") + "\nevents:\n" +
         project.JobLog(job.value("id", int64_t{0}));
}

}  // namespace swan::testing
