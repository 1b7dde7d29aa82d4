// The CSV a writer reads once, front to back: a file on disk, or rows a producer writes while
// they are read (a Swan table exported through a pipe, so the export overlaps the upload).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

namespace swan::connectors {

class CsvSource {
 public:
  virtual ~CsvSource() = default;  // stops and waits for a producer that is still writing
  // Up to `size` bytes into `buffer`; 0 at the end of the data.
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
  // After Read gave 0: whether the data ended because the producer finished it whole (an export
  // that failed midway also ends the stream, and must not be committed as the whole table).
  virtual Status Finish() = 0;
};

// A file with a header row.
Result<std::unique_ptr<CsvSource>> OpenCsvFile(const std::string& path);

}  // namespace swan::connectors
