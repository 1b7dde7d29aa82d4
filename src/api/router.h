// The API's routing table: one list of routes serves the requests, writes the audit events and
// generates the OpenAPI document, so the document cannot drift from the routes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/request_limits.h"
#include "catalog/model.h"
#include "common/background_writer.h"
#include "common/limits.h"
#include "common/status.h"
#include "service/caller.h"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace swan::service {
class Runtime;
}

namespace swan::api {

class Router;

// Limits on what a request may send (common/limits.h).
constexpr size_t kJsonBodyBytesMax = limits::kJsonBodyBytesMax;
constexpr uint64_t kUploadBytesMax = limits::kUploadBytesMax;

struct RequestContext {
  const httplib::Request& req;
  httplib::Response& res;
  const httplib::ContentReader* reader = nullptr;  // POST bodies are read through it
  service::Runtime& runtime;
  const Router& router;
  std::map<std::string, std::string> params = {};  // path parameters by name
  catalog::Token token = {};                       // the caller (when the route needs auth)
  // Audit of a refused or failed mutation: the object acted on. (A mutation that succeeds is
  // audited by its service, in the transaction of the change.)
  std::string event_object = {};
  std::optional<int64_t> event_project_id = {};
  bool body_read = false;           // JsonBody or BodyToFile consumed the whole body
  std::string json_body_text = {};  // what JsonBody parsed, as sent (key order included)
  std::chrono::steady_clock::time_point received_at = {};  // when the request head was parsed

  // The caller for service calls: the token and the client's address.
  service::Caller Caller() const;
  const std::string& Param(const std::string& name) const;
  std::optional<std::string> Query(const std::string& name) const;
  // Reads the request body as JSON (at most kJsonBodyBytesMax); empty body = {}.
  Result<nlohmann::json> JsonBody();
  // Streams the request body to a file (at most kUploadBytesMax); returns bytes written. A body
  // with Content-Encoding gzip is decoded within the bounds above; other encodings are refused.
  Result<uint64_t> BodyToFile(const std::string& path, fs::BackgroundWriter::Mode mode =
                                                           fs::BackgroundWriter::Mode::kTruncate);

  void Json(int status, const nlohmann::json& body);
  void NoContent();
  void Text(int status, std::string body, const std::string& content_type);
  void Header(const std::string& name, const std::string& value);
  // Streams a file as the response and deletes it afterwards.
  void SendFile(const std::string& path, const std::string& content_type,
                const std::string& download_name);
};

using RouteHandler = std::function<Status(RequestContext&)>;

// An OpenAPI requestBody: a JSON object with these properties ({"name": {"type": ...}, ...}).
nlohmann::json JsonRequestBody(nlohmann::json properties, std::vector<std::string> required = {});

struct Route {
  std::string method;   // GET | POST | DELETE
  std::string path;     // OpenAPI form: /v1/projects/{project}
  std::string summary;  // one line for the OpenAPI document
  std::string action;   // audit action for mutating routes ("table.import"); empty for reads
  bool auth = true;
  nlohmann::json query_params = nlohmann::json::array();  // [{"name","description"}]
  nlohmann::json request_body;                            // OpenAPI requestBody (or null)
  int success_status = 200;
  RouteHandler handler;
  // Long-running (SQL, imports): bounded per token and in all (api/request_limits.h), answered
  // 429 or 503 with Retry-After past the bound.
  bool heavy = false;
};

class Router {
 public:
  void Add(Route route);
  void Install(httplib::Server& server, service::Runtime& runtime);
  nlohmann::json OpenApiDocument() const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  HeavyRequestLimiter heavy_requests_;
};

// Route registration, one function per resource family.
void AddMetaRoutes(Router& router);
void AddProjectRoutes(Router& router);
void AddTableRoutes(Router& router);
void AddSqlRoutes(Router& router);
void AddTokenRoutes(Router& router);
void AddPipelineRoutes(Router& router);
void AddScheduleRoutes(Router& router);

// The JSON error body for a Status (its HTTP status: HttpStatusFor in common/status.h).
nlohmann::json ErrorBody(const Status& status);

}  // namespace swan::api
