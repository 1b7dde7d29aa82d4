// A test HTTP server written in Python (tests/servers/*.py) as a child process: it prints
// "port N" once it listens on 127.0.0.1; killed with the object.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace swan::testing {

class PythonServer {
 public:
  // `script`: a file name under tests/servers; `args`: its arguments.
  PythonServer(const std::string& script, std::vector<std::string> args = {}) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const std::string file = __FILE__;
    const std::string path = file.substr(0, file.rfind('/')) + "/servers/" + script;
    std::vector<std::string> all = {"/usr/bin/python3", "-u", path};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    FILE* out = ::fdopen(fds[0], "r");
    int port = 0;
    if (out && std::fscanf(out, "port %d", &port) == 1) port_ = port;
    if (out) std::fclose(out);
  }
  ~PythonServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace swan::testing
