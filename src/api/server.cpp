#include "api/server.h"

#include <httplib.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/buffered_http_server.h"
#include "api/router.h"
#include "service/access.h"
#include "service/runtime.h"

namespace swan::api {

namespace {

class HttpServer final : public Server {
 public:
  // Opens a runtime of its own (owned) or serves a borrowed one.
  Status Init(const ServerOptions& options, service::Runtime* borrowed) {
    options_ = options;
    bool created = false;
    if (borrowed == nullptr) {
      service::RuntimeOptions runtime_options;
      runtime_options.data_dir = options.data_dir;
      runtime_options.memory_limit = options.memory_limit;
      runtime_options.sql_worker_exe = options.sql_worker_exe;
      ASSIGN_OR_RETURN(owned_, service::Runtime::Open(runtime_options, &created));
      runtime_ = owned_.get();
    } else {
      runtime_ = borrowed;
    }
    if (created || options.issue_admin_token) {
      catalog::Token spec;
      spec.kind = "admin";
      spec.description =
          created ? "organization admin (created at init)" : "organization admin (demo)";
      ASSIGN_OR_RETURN(auto issued, service::IssueToken(runtime_->catalog(), spec));
      admin_token_ = issued.secret;
      if (created && !options.issue_admin_token) {
        std::printf("admin token: %s\n(shown once: keep it; only its hash is stored)\n",
                    admin_token_.c_str());
        std::fflush(stdout);
      }
    }
    AddMetaRoutes(router_);
    AddProjectRoutes(router_);
    AddTableRoutes(router_);
    AddSqlRoutes(router_);
    AddTokenRoutes(router_);
    AddPipelineRoutes(router_);
    AddScheduleRoutes(router_);
    router_.Install(http_, *runtime_);
    http_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                    httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      Status st = res.status == 404 ? Status::NotFound("no route " + req.method + " " + req.path)
                                    : Status(StatusCode::kInvalidArgument, "bad request");
      res.set_content(ErrorBody(st).dump(), "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }));
    if (!options.quiet) {
      http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        spdlog::info("{} {} {} {}", req.remote_addr, req.method, req.path, res.status);
      });
    }
    http_.set_read_timeout(300, 0);
    http_.set_write_timeout(300, 0);
    http_.set_body_bytes_max(kUploadBytesMax);

    if (options.port == 0) {
      port_ = http_.bind_to_any_port(options.host);
      if (port_ <= 0) return Status::Unavailable("cannot bind " + options.host + ": no free port");
    } else {
      if (!http_.bind_to_port(options.host, options.port)) {
        return Status::Unavailable("cannot listen on " + options.host + ":" +
                                   std::to_string(options.port) +
                                   " (in use? pick another with --listen HOST:PORT)");
      }
      port_ = options.port;
    }
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    return Status::Ok();
  }

  ~HttpServer() override {
    Stop();
    if (thread_.joinable()) thread_.join();
  }
  HttpServer() = default;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const override { return port_; }
  std::string url() const override {
    return "http://" + options_.host + ":" + std::to_string(port_);
  }
  void Stop() override { http_.stop(); }
  void Wait() override {
    if (thread_.joinable()) thread_.join();
  }
  std::string issued_admin_token() const override { return admin_token_; }

 private:
  ServerOptions options_;
  std::unique_ptr<service::Runtime> owned_;  // destroyed after the HTTP server below stops
  service::Runtime* runtime_ = nullptr;
  Router router_;
  BufferedHttpServer http_;
  std::thread thread_;
  int port_ = 0;
  std::string admin_token_;
};

}  // namespace

namespace {

Result<std::unique_ptr<Server>> StartServer(service::Runtime* runtime,
                                            const ServerOptions& options) {
  // Logs go to stderr: stdout carries what the user must read (the admin token, the URL).
  static const bool logger_set = [] {
    spdlog::set_default_logger(spdlog::stderr_color_mt("swan"));
    return true;
  }();
  (void)logger_set;
  auto server = std::make_unique<HttpServer>();
  Status st = server->Init(options, runtime);
  if (!st.ok()) return st;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  return StartServer(nullptr, options);
}

Result<std::unique_ptr<Server>> Server::Start(service::Runtime& runtime,
                                              const ServerOptions& options) {
  return StartServer(&runtime, options);
}

int RunServer(const ServerOptions& options) {
  if (const char* level = std::getenv("SWAN_LOG_LEVEL"))
    spdlog::set_level(spdlog::level::from_str(level));
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = Server::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "swan: error: %s\n", server.status().message().c_str());
    return 1;
  }
  std::printf("swan server listening on %s (data: %s)\n", (*server)->url().c_str(),
              options.data_dir.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("stopping (signal {})", sig);
  (*server)->Stop();
  (*server)->Wait();
  return 0;
}

}  // namespace swan::api
