// Helpers for tests that drive the real `swan` binary (SWAN_BINARY) as a child process.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace swan::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // the exit status, or 128 + signal when killed by a signal
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
};

// Runs `cmd` with /bin/sh -c and waits for it. Stdout and stderr are captured separately.
CommandResult RunCommand(const std::string& cmd);

// Whole-file read and write (binary), and the non-empty lines of a text sorted (CR stripped).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);
std::vector<std::string> SortedLines(const std::string& text);

// Quotes one shell word ('...' with embedded quotes escaped).
std::string ShellQuote(const std::string& word);

// `data` as one gzip member (what `gzip` writes), at zlib's compression `level`.
std::string Gzip(const std::string& data, int level = 6);

// A `SWAN_BINARY server --data DIR --listen 127.0.0.1:PORT` child on a free port. The constructor
// starts it and waits (up to 60 s) for its `admin token: swan_...` line on stdout and for the
// port to accept connections; check ok() / error(). The destructor kills it.
class ServerProcess {
 public:
  ServerProcess();                               // in its own TempDir
  explicit ServerProcess(std::string data_dir);  // in a given data directory
  // Restarts on an existing (already initialised) data directory whose admin token is known: the
  // server prints no token line then, so this waits only for the port.
  ServerProcess(std::string data_dir, std::string admin_token);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& data_dir() const { return data_dir_; }
  // The child's process id (-1 when not running).
  pid_t pid() const { return pid_; }
  // The server's stderr so far (for failure messages).
  std::string Log() const;

  // SIGTERM, then SIGKILL after 10 s; waits for the child. Idempotent.
  void Kill();
  // SIGKILL at once (a crash: no shutdown code runs); waits for the child. Idempotent.
  void KillHard();

 private:
  bool StartOnce(int port);

  TempDir dir_;  // data (unless given), stdout and stderr captures
  std::string data_dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string admin_token_;
  std::string error_;
};

// A fixture whose tests share one server (starting one costs about a second); each test uses its
// own project. The server starts before the suite's first test and stops after its last.
class SharedServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ServerProcess(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->error(); }

  static inline ServerProcess* server_ = nullptr;
};

// One HTTP exchange over libcurl, for tests that need the raw answer (status, headers, body).
struct HttpResponse {
  long status = 0;  // 0 when no answer arrived
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;  // transport error; empty when a complete answer arrived
};

// `method` GET | POST | DELETE | ...; `headers` like "Authorization: Bearer x"; a non-empty
// `body` (or any POST) is sent as the request body.
HttpResponse HttpCall(const std::string& method, const std::string& url,
                      const std::vector<std::string>& headers,
                      const std::string& body = std::string(), long timeout_seconds = 300);

// /proc/<pid>/status field in KiB (e.g. "VmRSS", "VmHWM"); -1 when unreadable.
long ProcStatusKib(pid_t pid, const std::string& field);

}  // namespace swan::testing
