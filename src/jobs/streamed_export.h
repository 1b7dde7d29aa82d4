// An input table's rows streamed as CSV through a pipe: DuckDB exports them in a thread while
// the caller reads, so an in-process writer's upload overlaps the export instead of waiting for
// a whole file in in/tables (measured: the 5M-row PostgreSQL write spent 4.3 s exporting first).
#pragma once

#include <atomic>
#include <memory>

#include "connectors/csv_source.h"
#include "jobs/table_mapping.h"
#include "storage/table_store.h"

namespace swan::jobs {

// What a stream delivered, readable once its source is finished or destroyed.
struct StreamedUsage {
  std::atomic<int64_t> rows{0};   // exported (valid after Finish succeeded)
  std::atomic<int64_t> bytes{0};  // read by the consumer
};

// Starts exporting `input` (the version the mapping resolved, with its columns and filters).
// The source's destructor stops an export the reader abandoned and waits for it.
Result<std::unique_ptr<connectors::CsvSource>> StreamInputTable(
    storage::TableStore& store, const InputTable& input, std::shared_ptr<StreamedUsage> usage);

}  // namespace swan::jobs
