// A real MariaDB server for tests (Debian's mariadb-server), in its own temporary folder, on
// 127.0.0.1 and a free port. Under root the server runs as `mysql` (mariadbd refuses root).
// TCP logins as kUser need kPassword; Sql() runs as root through the local socket.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace swan::testing {

class MysqlServer {
 public:
  static constexpr const char* kUser = "swan";
  static constexpr const char* kPassword = "mysql-test-password";
  static constexpr const char* kDatabase = "swan_test";

  MysqlServer() {
    if (!std::filesystem::exists("/usr/sbin/mariadbd") ||
        !std::filesystem::exists("/usr/bin/mariadb-install-db")) {
      error_ = "mariadb-server is not installed (scripts/setup.sh installs it)";
      return;
    }
    dir_ = dir_holder_.path();
    as_root_ = ::geteuid() == 0;
    if (as_root_ && std::system(("chown mysql:mysql " + dir_).c_str()) != 0) {
      error_ = "cannot hand " + dir_ + " to the mysql user";
      return;
    }
    if (Run(As() + "/usr/bin/mariadb-install-db --no-defaults --datadir=" + dir_ +
            "/data --auth-root-authentication-method=normal --skip-test-db") != 0) {
      error_ = "mariadb-install-db failed";
      return;
    }
    for (int attempt = 0; attempt < 5 && !started_; ++attempt) {
      port_ = FreePort();
      if (Start()) started_ = true;
    }
    if (!started_) {
      error_ = "mariadbd did not start: " + Log();
      return;
    }
    const std::string setup = std::string("CREATE DATABASE ") + kDatabase + "; CREATE USER '" +
                              kUser + "'@'%' IDENTIFIED BY '" + kPassword +
                              "'; GRANT ALL ON *.* TO '" + kUser + "'@'%';";
    if (const std::string out = Sql(setup, ""); !out.empty()) error_ = "setup failed: " + out;
  }

  ~MysqlServer() {
    if (pid_ <= 0) return;
    (void)Run("/usr/bin/mariadb-admin --no-defaults -S " + dir_ + "/sock -uroot shutdown");
    for (int i = 0; i < 300; ++i) {  // up to 30 s
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Stop(pid_);
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  // Runs SQL as root on `db` through the local socket; its output (tab-separated, no header),
  // or "ERROR(...): ..." on failure.
  std::string Sql(const std::string& sql, const std::string& db = kDatabase) const {
    const std::string file =
        dir_ + "/q-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) + ".sql";
    std::ofstream(file) << sql;
    const std::string cmd = "/usr/bin/mariadb --no-defaults -N -B -S " + dir_ + "/sock -uroot " +
                            db + " < " + file + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "ERROR: popen";
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = ::pclose(p);
    std::filesystem::remove(file);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return rc == 0 ? out : "ERROR(" + std::to_string(rc) + "): " + out;
  }

  std::string Log() const {
    std::ifstream in(dir_ + "/err.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string As() const { return as_root_ ? "runuser -u mysql -- " : ""; }

  static int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

  // Starts mariadbd on port_ and waits until it answers; false when it exits (a taken port).
  bool Start() {
    std::filesystem::remove(dir_ + "/err.log");
    std::vector<std::string> args;
    if (as_root_) args = {"/usr/sbin/runuser", "-u", "mysql", "--"};
    for (std::string a : std::initializer_list<std::string>{
             "/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + dir_ + "/data",
             "--socket=" + dir_ + "/sock", "--port=" + std::to_string(port_),
             "--bind-address=127.0.0.1", "--pid-file=" + dir_ + "/pid",
             "--log-error=" + dir_ + "/err.log", "--skip-name-resolve", "--skip-log-bin",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
             "--innodb-flush-log-at-trx-commit=0", "--max-connections=50"})
      args.push_back(a);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const int null_fd = ::open("/dev/null", O_WRONLY);  // its early warnings: not the test's
      if (null_fd >= 0) {
        ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(null_fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 600; ++i) {  // up to 60 s
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
      if (Run("/usr/bin/mariadb-admin --no-defaults -S " + dir_ + "/sock -uroot ping") == 0) {
        pid_ = pid;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Stop(pid);
    return false;
  }

  // SIGTERM (runuser passes it on: mariadbd shuts down), then SIGKILL after 10 s.
  static void Stop(pid_t pid) {
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

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
  std::string dir_;
  bool as_root_ = false;
  pid_t pid_ = 0;
  int port_ = 0;
  bool started_ = false;
  std::string error_;
};

}  // namespace swan::testing
