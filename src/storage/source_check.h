// Checks, beside DuckDB's load, that a gzip-compressed import source is whole.
//
// DuckDB decompresses .gz inputs itself and ends the load without error where a truncated stream
// stops (issue 8, 10d: a gzipped CSV cut at 60% committed 60% of its rows). The check inflates the
// file once more with zlib, on a thread of its own so that it overlaps the load (DuckDB reads a
// gzip stream on one thread), and the import commits only if the check passes. Sources that are
// not gzip cost one 2-byte read.
#pragma once

#include <atomic>
#include <thread>

#include "common/status.h"
#include "storage/csv_row_check.h"
#include "storage/load_options.h"

namespace swan::storage {

class SourceCheck {
 public:
  // Starts checking `request.file_path` when DuckDB will read it as gzip.
  explicit SourceCheck(const ImportRequest& request);
  // Feeds the file at `path` (inflated and checked to its end when `gzip`) to `rows`, which must
  // outlive this check; read rows' verdict after Wait().
  SourceCheck(const std::string& path, bool gzip, CsvRowCheck* rows,
              const std::string& display_name);
  ~SourceCheck();  // stops an unfinished check and waits for its thread
  SourceCheck(const SourceCheck&) = delete;
  SourceCheck& operator=(const SourceCheck&) = delete;

  // The verdict, once the check has finished (waits for it): OK for a whole gzip stream or a
  // source that is not gzip; invalid_argument naming the file otherwise ("orders.csv.gz: gzip
  // stream truncated at byte N"). Not thread-safe; may be called again.
  Status Wait();

 private:
  std::atomic<bool> cancel_{false};
  std::thread thread_;
  Status verdict_;
};

}  // namespace swan::storage
