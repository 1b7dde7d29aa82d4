// A real PostgreSQL 15 server for tests (Debian's postgresql-15), in its own temporary folder, on
// 127.0.0.1 and a free port. initdb refuses root: under root the server runs as `postgres`.
// TCP logins need the password (scram-sha-256); Psql() uses the local socket (trust).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace swan::testing {

class PgServer {
 public:
  static constexpr const char* kPassword = "pg-test-password";

  PgServer() {
    bin_ = std::filesystem::exists("/usr/lib/postgresql/15/bin/initdb")
               ? "/usr/lib/postgresql/15/bin"
               : "";
    if (bin_.empty()) {
      error_ = "postgresql-15 is not installed (scripts/setup.sh installs it)";
      return;
    }
    dir_ = dir_holder_.path();
    as_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (::geteuid() == 0 && std::system(("chown postgres:postgres " + dir_).c_str()) != 0) {
      error_ = "cannot hand " + dir_ + " to the postgres user";
      return;
    }
    std::ofstream(dir_ + "/pw") << kPassword << "\n";
    if (::geteuid() == 0) (void)std::system(("chown postgres " + dir_ + "/pw").c_str());
    if (Run(as_ + bin_ + "/initdb -D " + dir_ + "/data -U postgres --pwfile=" + dir_ +
            "/pw --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync") !=
        0) {
      error_ = "initdb failed: " + Log();
      return;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      if (Run(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/log -w -t 30 -o \"-c " +
              "listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_ +
              " -c fsync=off\" start") == 0) {
        started_ = true;
        return;
      }
    }
    error_ = "pg_ctl start failed: " + Log();
  }

  ~PgServer() {
    if (started_) (void)Run(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop");
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  // Runs SQL as postgres on database `db` through the local socket; its output (-At), or
  // "ERROR: ..." with the exit status on failure.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const {
    const std::string file = dir_ + "/q.sql";
    std::ofstream(file) << "SET client_min_messages = warning;\n" << sql;
    if (::geteuid() == 0) (void)std::system(("chown postgres " + file).c_str());
    const std::string cmd = as_ + bin_ + "/psql -X -q -v ON_ERROR_STOP=1 -At -h " + dir_ + " -p " +
                            std::to_string(port_) + " -U postgres -d " + db + " -f " + file +
                            " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "ERROR: popen";
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = ::pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return rc == 0 ? out : "ERROR(" + std::to_string(rc) + "): " + out;
  }

  // (Re)creates database `name` in LATIN1 (a server-side encoding other than UTF-8); Psql's output.
  std::string CreateLatin1Database(const std::string& name) const {
    return Psql("DROP DATABASE IF EXISTS " + name + "; CREATE DATABASE " + name +
                " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;");
  }

  std::string Log() const {
    std::ifstream in(dir_ + "/log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

  static int FreePort() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(s);
    return port;
  }

  TempDir dir_holder_;
  std::string dir_, bin_, as_;
  int port_ = 0;
  bool started_ = false;
  std::string error_;
};

}  // namespace swan::testing
