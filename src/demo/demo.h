// `swan demo`: a whole pipeline end to end on the embedded default.
#pragma once

#include <string>

namespace swan::demo {

struct DemoOptions {
  std::string data_dir = "swan-data";
  std::string host = "127.0.0.1";
  int port = 8080;
  int rows = 100000;        // size of the generated sample dataset
  bool exit_after = false;  // run the pipeline, print, and stop (tests) instead of serving
};

// Starts a server, creates the demo project, imports a generated dataset, aggregates it with
// SQL into a new table, prints URL, token and next steps, then serves until SIGINT/SIGTERM.
int RunDemo(const DemoOptions& options);

}  // namespace swan::demo
