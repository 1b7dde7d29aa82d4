#include "api/router.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "api/buffered_http_server.h"
#include "api/request_head.h"
#include "common/background_writer.h"
#include "common/gzip_check.h"
#include "service/access.h"
#include "service/runtime.h"

namespace swan::api {

using nlohmann::json;

namespace {

// Bytes received per read of a gzip body (then inflated in 256 KiB pieces).
constexpr size_t kGzipReceiveBytes = 1 << 20;

}  // namespace

json ErrorBody(const Status& status) {
  json details = json::object();
  for (const auto& [k, v] : status.details()) details[k] = v;
  return {{"error",
           {{
                "code",
                StatusCodeName(status.code()),
            },
            {"message", status.message()},
            {"details", details}}}};
}

service::Caller RequestContext::Caller() const { return {token, req.remote_addr}; }

const std::string& RequestContext::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

std::optional<std::string> RequestContext::Query(const std::string& name) const {
  if (!req.has_param(name.c_str())) return std::nullopt;
  return req.get_param_value(name.c_str());
}

Result<json> RequestContext::JsonBody() {
  std::string body = req.body;
  if (reader) {
    bool too_large = false;
    body_read = (*reader)([&](const char* data, size_t n) {
      if (body.size() + n > kJsonBodyBytesMax) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_large)
      return Status::PayloadTooLarge("JSON body larger than " + std::to_string(kJsonBodyBytesMax) +
                                     " bytes");
  }
  if (body.empty()) return json::object();
  json_body_text = body;
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  return parsed;
}

namespace {
// The server's own failure to store an upload, never the request's; the message names no server
// path (the log has it).
Status UploadStoreError(const Status& st) {
  spdlog::error("cannot store an upload: {}", st.message());
  if (st.code() == StatusCode::kUnavailable)
    return Status::Unavailable("cannot store the upload: the server's disk is full");
  return Status::Internal("cannot store the upload (see the server's log)");
}
}  // namespace

Result<uint64_t> RequestContext::BodyToFile(const std::string& path,
                                            fs::BackgroundWriter::Mode mode) {
  // Receiving and writing overlap: the writer thread does the page-cache copies while this thread
  // does the socket ones, and a plain body with a Content-Length is received straight into the
  // writer's buffers (docs/architecture.md, "HTTP transport").
  const std::string encoding = req.get_header_value("Content-Encoding");
  const bool gzip = encoding == "gzip" || encoding == "x-gzip";
  if (!gzip && !encoding.empty() && encoding != "identity") {
    return Status::InvalidArgument("Content-Encoding " + encoding.substr(0, 40) +
                                   " is not supported (gzip or none)")
        .WithDetail("field", "Content-Encoding");
  }
  auto created = fs::BackgroundWriter::Create(path, mode);
  if (!created.ok()) return UploadStoreError(created.status());
  std::unique_ptr<fs::BackgroundWriter> writer = std::move(*created);
  uint64_t written = 0;
  bool failed = false, too_large = false;
  // A gzip body is decoded here, not by httplib (which decodes without bounds or end checks).
  std::unique_ptr<gzip::Inflater> inflater;
  Status decoded;
  if (gzip) {
    gzip::Limits bounds;
    bounds.expanded_bytes_max = kUploadBytesMax;
    bounds.ratio_max = limits::kGzipBodyRatioMax;
    bounds.ratio_free_bytes = limits::kGzipBodyRatioFreeBytes;
    ASSIGN_OR_RETURN(inflater, gzip::Inflater::Create("request body (Content-Encoding: gzip)",
                                                      bounds, [&](const char* data, size_t n) {
                                                        written += n;
                                                        return writer->Append(data, n);
                                                      }));
    const_cast<httplib::Request&>(req).headers.erase("Content-Encoding");
  }
  // Takes received bytes; false stops receiving.
  auto take = [&](const char* data, size_t n) {
    if (inflater) {
      decoded = inflater->Update(data, n);
      return decoded.ok();
    }
    if (written + n > kUploadBytesMax) {
      too_large = true;
      return false;
    }
    if (!writer->Append(data, n)) {
      failed = true;
      return false;
    }
    written += n;
    return true;
  };
  bool ok = true;
  RequestBody* direct = nullptr;
  uint64_t length = 0;
  // Straight from the connection for a body of known length; chunked bodies go through httplib.
  if (reader && req.get_header_value("Transfer-Encoding").empty()) {
    const std::string header = req.get_header_value("Content-Length");
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), length);
    if (!header.empty() && ec == std::errc() && end == header.data() + header.size())
      direct = RequestBody::Current();
  }
  if (direct != nullptr && inflater) {
    std::vector<char> buffer(std::min<uint64_t>(length, kGzipReceiveBytes));
    for (uint64_t received = 0; received < length;) {
      ssize_t n =
          direct->ReadSome(buffer.data(), std::min<uint64_t>(buffer.size(), length - received));
      if (n <= 0) {
        ok = false;
        break;
      }
      received += static_cast<uint64_t>(n);
      if (!take(buffer.data(), static_cast<size_t>(n))) break;
    }
  } else if (direct != nullptr) {
    too_large = length > kUploadBytesMax;
    while (!too_large && written < length) {
      auto [space, room] = writer->Space();
      ssize_t n = direct->ReadSome(space, std::min<uint64_t>(room, length - written));
      if (n <= 0) {
        ok = false;
        break;
      }
      written += static_cast<uint64_t>(n);
      if (!writer->Commit(static_cast<size_t>(n))) {
        failed = true;
        break;
      }
    }
  } else if (reader) {
    ok = (*reader)(take);
  } else {
    ok = take(req.body.data(), req.body.size());
  }
  if (inflater && ok && decoded.ok()) decoded = inflater->Finish();
  Status closed = writer->Close();
  body_read = ok && !too_large && !failed && decoded.ok();
  if (!decoded.ok() && decoded.code() != StatusCode::kInternal) return decoded;
  if (too_large)
    return Status::PayloadTooLarge("upload larger than the limit of " +
                                   std::to_string(kUploadBytesMax) + " bytes");
  if (failed || !decoded.ok() || !closed.ok()) return UploadStoreError(closed);
  if (!ok) return Status::InvalidArgument("upload was interrupted");
  return written;
}

void RequestContext::Json(int status, const json& body) {
  res.status = status;
  // Text from outside (a component's output, file names) may hold invalid UTF-8: replaced, never
  // a 500 for a whole listing.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void RequestContext::NoContent() { res.status = 204; }

void RequestContext::Text(int status, std::string body, const std::string& content_type) {
  res.status = status;
  res.set_content(std::move(body), content_type.c_str());
}

void RequestContext::Header(const std::string& name, const std::string& value) {
  res.set_header(name, value);
}

void RequestContext::SendFile(const std::string& path, const std::string& content_type,
                              const std::string& download_name) {
  Env& env = runtime.env();
  Result<int64_t> size = env.FileSize(path);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!size.ok() || !f) {
    if (f) std::fclose(f);
    Json(500, ErrorBody(Status::Internal("export file vanished")));
    return;
  }
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + download_name + "\"");
  auto file = std::shared_ptr<FILE>(f, [path, &env](FILE* p) {
    std::fclose(p);
    (void)env.RemoveFile(path);
  });
  res.set_content_provider(
      static_cast<size_t>(*size), content_type,
      [file](size_t offset, size_t length, httplib::DataSink& sink) {
        static constexpr size_t kChunk = 1 << 20;
        std::vector<char> buf(std::min(length, kChunk));
        if (std::fseek(file.get(), static_cast<long>(offset), SEEK_SET) != 0) return false;
        size_t n = std::fread(buf.data(), 1, buf.size(), file.get());
        if (n == 0) return false;
        return sink.write(buf.data(), n);
      },
      [file](bool) {});
}

json JsonRequestBody(json properties, std::vector<std::string> required) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = required;
  return {{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

namespace {

std::string PathRegex(const std::string& path, std::vector<std::string>* names) {
  static const std::regex param_re("\\{([a-z_]+)\\}");
  std::string out;
  auto begin = std::sregex_iterator(path.begin(), path.end(), param_re);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += path.substr(last, it->position() - last);
    out += "([^/]+)";
    names->push_back((*it)[1]);
    last = it->position() + it->length();
  }
  return out + path.substr(last);
}

bool IsMutating(const std::string& method) { return method != "GET"; }

bool RequestHasBody(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  return !req.get_header_value("Transfer-Encoding").empty() || (!length.empty() && length != "0");
}

// The body arrives while the handler runs (the transport did not read it ahead): the sender's
// pace decides how long the request holds its worker.
bool BodyStreamsIn(const httplib::Request& req) {
  if (!req.get_header_value("Transfer-Encoding").empty()) return true;
  const std::string header = req.get_header_value("Content-Length");
  uint64_t length = 0;
  std::from_chars(header.data(), header.data() + header.size(), length);
  return length > kPrereadBodyBytesMax ||
         (length > 0 && req.has_header("Expect"));  // not pre-read: see RequestHead
}

void Dispatch(const Route& route, const std::vector<std::string>& names, const Router& router,
              service::Runtime& runtime, HeavyRequestLimiter& heavy_requests,
              const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader* reader) {
  RequestContext ctx{req, res, reader, runtime, router};
  ctx.received_at = std::chrono::steady_clock::now();
  for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); ++i) {
    ctx.params[names[i]] = httplib::detail::decode_url(req.matches[i + 1].str(), false);
  }
  Status st;
  bool authed = false;
  if (route.auth) {
    auto token = service::Authenticate(runtime.catalog(), runtime.clock(),
                                       req.get_header_value("Authorization"));
    if (token.ok()) {
      ctx.token = *token;
      authed = true;
    } else {
      st = token.status();
    }
  }
  // Long work is bounded per token and in all, so that it cannot hold every worker.
  HeavyRequestLimiter::Slot heavy_slot;
  int refused_status = 0;
  if (st.ok() && authed && (route.heavy || BodyStreamsIn(req))) {
    HeavyRequestLimiter::Refusal refusal;
    heavy_slot = heavy_requests.TryAcquire(ctx.token.id, &refusal);
    if (!heavy_slot.ok()) {
      st = Status::Unavailable(refusal.message);
      refused_status = refusal.http_status;
      ctx.Header("Retry-After", std::to_string(kHeavyRetryAfterSeconds));
    }
  }
  if (st.ok()) {
    try {
      st = route.handler(ctx);
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("unexpected error: ") + e.what());
    }
  }
  if (reader != nullptr && !ctx.body_read && RequestHasBody(req)) {
    res.set_header("Connection", "close");
    if (RequestBody* body = RequestBody::Current()) body->CloseAfterAnswer();
  }
  if (!st.ok()) {
    if (st.code() == StatusCode::kInternal)
      spdlog::error("{} {}: {}", req.method, req.path, st.message());
    if (auto it = st.details().find(kRetryAfterSecondsDetail); it != st.details().end())
      res.set_header("Retry-After", it->second);
    ctx.Json(refused_status != 0 ? refused_status : HttpStatusFor(st.code()), ErrorBody(st));
  }
  // A successful mutation was audited by its service, with the change; a refused or failed one
  // is audited here.
  if (IsMutating(route.method) && !route.action.empty() && authed && !st.ok()) {
    catalog::Event e = service::AuditEvent(ctx.Caller(), ctx.event_project_id, route.action,
                                           ctx.event_object.empty() ? req.path : ctx.event_object,
                                           {{"status", res.status}, {"error", st.message()}});
    Status logged = runtime.catalog().AppendEvent(e);
    if (!logged.ok()) spdlog::error("cannot write audit event: {}", logged.ToString());
  }
}

}  // namespace

void Router::Install(httplib::Server& server, service::Runtime& runtime) {
  for (const Route& route : routes_) {
    std::vector<std::string> names;
    std::string pattern = PathRegex(route.path, &names);
    const Route* r = &route;
    service::Runtime* rt = &runtime;
    HeavyRequestLimiter* h = &heavy_requests_;
    if (route.method == "GET") {
      server.Get(pattern,
                 [this, r, names, rt, h](const httplib::Request& req, httplib::Response& res) {
                   Dispatch(*r, names, *this, *rt, *h, req, res, nullptr);
                 });
    } else if (route.method == "POST") {
      server.Post(pattern,
                  [this, r, names, rt, h](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
                    Dispatch(*r, names, *this, *rt, *h, req, res, &reader);
                  });
    } else if (route.method == "DELETE") {
      server.Delete(pattern,
                    [this, r, names, rt, h](const httplib::Request& req, httplib::Response& res) {
                      Dispatch(*r, names, *this, *rt, *h, req, res, nullptr);
                    });
    }
  }
  // A POST no route matches: httplib would read its whole body into memory (any size, from
  // anyone) before answering 404. Answered at once instead, the body left unread.
  server.Post(
      ".*", [](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
        res.status = 404;  // the server's error handler writes the body
        if (RequestHasBody(req)) {
          res.set_header("Connection", "close");
          if (RequestBody* body = RequestBody::Current()) body->CloseAfterAnswer();
        }
      });
}

json Router::OpenApiDocument() const {
  json paths = json::object();
  for (const Route& r : routes_) {
    json op;
    op["summary"] = r.summary;
    op["operationId"] = r.action.empty() ? (r.method + " " + r.path) : r.action;
    json parameters = json::array();
    std::vector<std::string> names;
    PathRegex(r.path, &names);
    for (const auto& n : names) {
      parameters.push_back(
          {{"name", n}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    for (const auto& q : r.query_params) {
      parameters.push_back({{"name", q.at("name")},
                            {"in", "query"},
                            {"required", false},
                            {"description", q.value("description", "")},
                            {"schema", {{"type", "string"}}}});
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!r.request_body.is_null()) op["requestBody"] = r.request_body;
    if (r.auth) op["security"] = json::array({{{"bearer", json::array()}}});
    op["responses"] = {
        {std::to_string(r.success_status), {{"description", "success"}}},
        {"default",
         {{"description", "error"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    paths[r.path][method] = op;
  }
  json error_schema = {{"type", "object"},
                       {"required", {"error"}},
                       {"properties",
                        {{"error",
                          {{"type", "object"},
                           {"required", {"code", "message", "details"}},
                           {"properties",
                            {{"code", {{"type", "string"}}},
                             {"message", {{"type", "string"}}},
                             {"details", {{"type", "object"}}}}}}}}}};
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Swan API"}, {"version", SWAN_VERSION}}},
          {"paths", paths},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas", {{"Error", error_schema}}}}}};
}

}  // namespace swan::api
