// The Swan HTTP server: REST API /v1 over a data directory.
#pragma once

#include <memory>
#include <string>

#include "common/limits.h"
#include "common/status.h"

namespace swan::service {
class Runtime;
}

namespace swan::api {

struct ServerOptions {
  std::string data_dir = limits::kDefaultDataDir;
  std::string host = "127.0.0.1";
  int port = 8080;     // 0 = pick a free port
  bool quiet = false;  // no access log on stderr
  // Issue a fresh admin token at this start (the demo uses it); see Server::issued_admin_token.
  bool issue_admin_token = false;
  // DuckDB memory limit per engine instance; empty = $SWAN_MEMORY_LIMIT or
  // limits::kDefaultMemoryLimit.
  std::string memory_limit;
  // Not empty: SQL queries run in worker processes started from this executable, each capped in
  // memory (query/sql_worker.h). `swan server` and `swan demo` pass /proc/self/exe.
  std::string sql_worker_exe;
};

// A running server: an HTTP front over a service::Runtime. Start() opens (or initialises) the
// data directory as a runtime it owns, binds, and serves on a background thread; the second form
// borrows a runtime the caller owns (and keeps alive until the server is destroyed), ignoring
// options.data_dir and options.memory_limit. On first initialisation the admin token is printed
// once to stdout.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options);
  static Result<std::unique_ptr<Server>> Start(service::Runtime& runtime,
                                               const ServerOptions& options);
  virtual ~Server() = default;
  virtual int port() const = 0;
  virtual std::string url() const = 0;
  virtual void Stop() = 0;  // stops serving; Wait() returns
  virtual void Wait() = 0;  // blocks until Stop()
  // The admin token secret issued at this start (at first initialisation, or when asked), or "".
  virtual std::string issued_admin_token() const = 0;
};

// `swan server`: starts, blocks until SIGINT/SIGTERM, returns the process exit code.
int RunServer(const ServerOptions& options);

}  // namespace swan::api
