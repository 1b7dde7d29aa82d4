// The Swan HTTP server: REST API /v1 over a data directory.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace swan::api {

struct ServerOptions {
  std::string data_dir = "swan-data";
  std::string host = "127.0.0.1";
  int port = 8080;     // 0 = pick a free port
  bool quiet = false;  // no access log on stderr
  // Issue a fresh admin token at this start (the demo uses it); see Server::issued_admin_token.
  bool issue_admin_token = false;
  std::string memory_limit =
      "";  // DuckDB memory limit per operation; empty = SWAN_MEMORY_LIMIT or 1GB
};

// A running server. Start() opens (or initialises) the data directory, binds, and serves on a
// background thread. On first initialisation the admin token is printed once to stdout.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options);
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
