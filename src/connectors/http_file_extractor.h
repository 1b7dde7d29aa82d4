// HTTP file extractor (component swan.ex-http): one file by URL into one table, streamed to disk
// (constant memory), then loaded by the job's output mapping like any output.
//
//   parameters.url           http(s)://... (no other protocol; redirects stay on HTTP(S))
//   parameters.format        csv | tsv | jsonl | json | parquet; default from the URL's path
//                            (.csv, .tsv, .jsonl, .ndjson, .json, .parquet, each optionally .gz),
//                            else csv
//   parameters.headers       {"Name": "value"}; a name starting with '#' is a secret header
//                            ({"#X-Api-Key": "..."} sends X-Api-Key, sealed at rest)
//   parameters.auth          {"type": "basic", "user": "...", "#password": "..."}
//                            | {"type": "bearer", "#token": "..."}
//   parameters.outputTable   e.g. "in.c-http.rates"; incremental, primaryKey as for a manifest
//   parameters.maxBytes      refuse a body larger than this (default: no limit)
//   parameters.retries       on 429 and 5xx, honouring Retry-After (default 3; backoff 1, 2, 4 s)
//
// A gzip body (the file itself, or Content-Encoding: gzip) is kept compressed: the load
// inflates it and checks it to its end (CRC and length), so a cut transfer is never data.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/extractor_io.h"

namespace swan::connectors {

inline constexpr const char* kHttpFileExtractorComponentId = "swan.ex-http";

struct DownloadedTable {
  std::string path;        // under <out_dir>/tables
  std::string format;      // csv | jsonl | json | parquet
  std::string delimiter;   // "\t" for tsv; empty otherwise
  nlohmann::json mapping;  // {source, destination, incremental, primary_key}
  int64_t bytes = 0;       // as received (compressed when gzip)
};

struct HttpFileOptions {
  std::function<void(int64_t ms)> sleep{};  // retry waits; empty: real sleep
};

// invalid_argument: the configuration, or an answer the source gave (4xx, too large); unavailable:
// the source could not be reached or kept failing (5xx, 429 past the retries, a stalled
// transfer); cancelled when io.cancel was set.
Result<DownloadedTable> RunHttpFileExtractor(const nlohmann::json& config, const ExtractorIo& io,
                                             const HttpFileOptions& options = {});

}  // namespace swan::connectors
