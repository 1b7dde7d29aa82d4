// Swan's Generic REST API extractor: runs a Keboola Generic Extractor configuration
// (component keboola.ex-generic-v2) unchanged and writes what that component writes — CSV
// tables with Keboola manifests under <out_dir>/tables and the component state.
//
//   parameters.api     baseUrl (string or user function), pagination, authentication,
//                      retryConfig, http {headers, requiredHeaders, defaultOptions,
//                      ignoreErrors, connectTimeout, requestTimeout}, caCertificate,
//                      #clientCertificate, name
//   parameters.config  jobs (endpoint, method, params, headers, dataField, dataType,
//                      responseFilter(+Delimiter), children with placeholders and
//                      recursionFilter, scroller, userData), outputBucket, mappings,
//                      incrementalOutput, userData, http.headers, compatLevel, any attribute
//                      user functions read ({"attr": "..."})
//   parameters.iterations  the run repeated with attributes replaced per iteration
//
// Output: <out_dir>/tables/<bucket>.<table>.csv (header row, RFC 4180, UTF-8) and
// <bucket>.<table>.csv.manifest {"destination": "in.c-<bucket>.<table>", "incremental": bool,
// "primary_key": [...]} (bucket = outputBucket; without one, <table>.csv and no destination).
// State: {"time": {"previousStart": <unix s>}, "json_parser.struct": ...,
// "json_parser.structVersion": 3}.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "connectors/extractor_log.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

// Keboola's id of the Generic Extractor, under which the jobs layer registers this runner.
inline constexpr const char* kGenericExtractorComponentId = "keboola.ex-generic-v2";

struct GenericExtractorOptions {
  // Upper bounds on the configuration's own timeouts (api.http.connectTimeout/requestTimeout,
  // defaults 30 s / 300 s); 0: the configuration's.
  int64_t connect_timeout_ms = 0;
  int64_t request_timeout_ms = 0;
  int64_t max_pages_per_job = 1000000;  // a job stops with an error past this
  int64_t max_response_bytes = int64_t{256} << 20;
  int64_t max_run_time_ms = 0;  // 0: unlimited; else the run fails past it
  // Set: the run stops as soon as possible, a request in flight or a retry wait included, and
  // RunGenericExtractor returns cancelled.
  std::shared_ptr<const std::atomic<bool>> cancel{};
  int max_retries_cap = 10;                 // retryConfig.maxRetries is capped to this
  std::string proxy{};                      // HTTP proxy for every request; empty: none
  std::function<int64_t()> now_micros{};    // clock; empty: the system clock
  std::function<void(int64_t ms)> sleep{};  // retry waits; empty: real sleep
};

struct GenericExtractorIo {
  std::string out_dir{};   // the component's out folder: tables go to <out_dir>/tables
  std::string work_dir{};  // scratch (spooled pages); empty: <out_dir>/.generic-extractor-tmp
  Json input_state = Json::object();  // in/state.json (null or {} when none)
  Json* output_state = nullptr;       // receives out/state.json; may be null
  LogFn log{};                        // info/warning/debug lines; secret values are masked
  GenericExtractorOptions options{};
  // Set by a job that loads slices while the extractor runs (ExtractorIo::slice_done): tables
  // whose rows are written as pages arrive are then written as sliced CSV, and each slice is
  // announced once closed. May be empty.
  std::function<void(const std::string& source, const std::string& path)> slice_done{};
};

// `values` (e.g. a configuration whose secrets were opened, held in a key-sorting
// nlohmann::json) with the key order of `order_source` (the configuration's stored JSON text):
// key order decides column and query-parameter order, and nlohmann::json sorts keys. Keys
// missing from `order_source` follow in `values`' order; an unparsable source keeps `values`'.
Json WithKeyOrderOf(const nlohmann::json& values, const std::string& order_source);

// Runs the whole configuration (config.json: {"parameters": ..., "authorization": ...}).
// invalid_argument: the configuration or the API's data is at fault (the message names the
// field or the URL); unavailable: the API could not be reached or kept failing, or the run
// exceeded max_run_time_ms; cancelled: options.cancel was set; internal: a local I/O error. Tables
// already written are left in place on failure.
Status RunGenericExtractor(const Json& config, const GenericExtractorIo& io);
// The same from config.json's text (parsed keeping key order, which fixes column order).
Status RunGenericExtractor(const std::string& config_json, const GenericExtractorIo& io);

}  // namespace swan::connectors
