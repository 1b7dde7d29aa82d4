// Writes an extracted table as Keboola's sliced CSV: out/tables/<name> is a folder of headerless
// slices (part-00000.csv, part-00001.csv, ...) whose manifest lists the columns. A slice is
// closed once it passes its size and announced through ExtractorIo::slice_done, so that the job
// loads it while the next one is written.
//
// Slice size: 64 MiB (SWAN_EXTRACT_SLICE_BYTES overrides it, at least 4 KiB), then an eighth of
// what was written so far, so that a table of any size has few slices (about 30 for 10 GB) and
// the last one, loaded after the download, stays small beside the whole.
//
// Thread-safety: one writer per table, on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace swan::connectors {

class CsvSliceWriter {
 public:
  using SliceDone = std::function<void(const std::string& source, const std::string& path)>;
  // `folder` is out/tables/<source>; it is made by Open. `done` may be empty. `first_slice_bytes`:
  // 0 for the default above, or the first slice's size for a writer of smaller tables
  // (SWAN_EXTRACT_SLICE_BYTES overrides either).
  CsvSliceWriter(std::string folder, std::string source, SliceDone done,
                 int64_t first_slice_bytes = 0);
  ~CsvSliceWriter();
  CsvSliceWriter(const CsvSliceWriter&) = delete;
  CsvSliceWriter& operator=(const CsvSliceWriter&) = delete;

  Status Open();
  // Appends whole rows (each ending in a newline); a new slice may start after them.
  Status Append(const char* data, size_t size);
  // Closes and announces the last slice (an empty table leaves one empty slice).
  Status Finish();

  int64_t bytes() const { return written_; }

 private:
  Status OpenSlice();
  Status Flush();
  Status CloseSlice();

  std::string folder_, source_;
  SliceDone done_;
  int64_t first_slice_bytes_;
  int fd_ = -1;
  std::string path_;
  int index_ = 0;
  int64_t slice_bytes_ = 0;  // in the open slice
  int64_t written_ = 0;      // in all slices
  std::string buffer_;
};

}  // namespace swan::connectors
