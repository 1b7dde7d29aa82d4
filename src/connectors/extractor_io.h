// What an in-process extractor gets from the job that runs it, as a component gets its data
// folder: where to write out/tables (CSV + Keboola manifests), the state handed in, a place for
// the new state, a log, and the job's cancel flag.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "connectors/extractor_log.h"

namespace swan::connectors {

struct ExtractorIo {
  std::string out_dir{};                                  // tables go to <out_dir>/tables
  nlohmann::json input_state = nlohmann::json::object();  // in/state.json
  nlohmann::json* output_state = nullptr;                 // receives out/state.json; may be null
  LogFn log{};                                            // never given secret values
  std::shared_ptr<const std::atomic<bool>> cancel{};      // set: stop as soon as possible
  int64_t timeout_ms = 0;                                 // 0: none (the source's own limits)
  // Set by a job that loads slices while the extractor runs: slice `path` of out/tables/<source>
  // is closed for good (the source's manifest was written before its first slice). May be empty.
  std::function<void(const std::string& source, const std::string& path)> slice_done{};
};

}  // namespace swan::connectors
