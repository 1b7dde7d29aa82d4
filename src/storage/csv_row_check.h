// Swan's own check of every CSV row's shape, beside DuckDB's reader.
//
// DuckDB's strict mode lets a row with one extra, empty field through ("1,2," under a header
// "a,b" loads as 1, 2), and a stray quote can swallow a thousand lines into one value. Both load
// rows wrong without an error. This check reads the whole file with the import's dialect and
// finds every row whose field count differs from the header's, every quote that does not close
// (or closes more than kMaxQuotedLines lines later) and every closing quote followed by text. It
// streams (constant memory) and is fed in pieces, so that it can run beside the load on a thread
// of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/csv_dialect.h"

namespace swan::storage {

struct BadRow {
  int64_t line = 0;        // 1-based physical line where the row starts
  int64_t line_count = 1;  // physical lines it spans
  std::string raw;         // its text, cut at kBadRowTextMax bytes
  std::string reason;
};

class CsvRowCheck {
 public:
  static constexpr size_t kBadRowTextMax = 1024;
  // `columns`: the header's field count. `pad_missing`: rows with fewer fields are fine (their
  // missing trailing fields become NULL). Keeps the first `keep_max` bad rows. A light check
  // (`full` false) counts the fields only of rows with quotes or ending in the delimiter: beside
  // DuckDB's strict reader, which refuses every other wrong field count itself, it finds the same
  // bad rows at a fraction of the cost (the import benchmark went 1.10x -> see docs).
  CsvRowCheck(CsvDialect dialect, size_t columns, bool pad_missing, size_t keep_max,
              bool full = true);

  // The file's next bytes (decoded). Not thread-safe.
  void Feed(std::string_view data);
  // After the last byte.
  void Finish();

  int64_t bad_count() const { return bad_count_; }
  const std::vector<BadRow>& bad_rows() const { return bad_; }
  // Every bad row's lines (1-based first line, line count), up to `keep_max` rows.
  const std::vector<std::pair<int64_t, int64_t>>& bad_lines() const { return bad_lines_; }
  int64_t rows() const { return rows_; }

 private:
  // Reads one record at buf_[pos]; false when it is not complete yet (more bytes needed).
  bool Record(std::string_view b, size_t& pos, bool final);
  // The light check of the quote-free whole lines of `data` from `pos` on (advances `pos`).
  void LightScan(std::string_view data, size_t& pos);
  void Bad(std::string_view b, size_t begin, size_t end, int64_t lines, std::string reason);

  CsvDialect d_;
  bool full_;
  size_t quote_free_end_ = 0;  // in the piece being read: no quote character before this
  size_t columns_;
  bool pad_missing_;
  size_t keep_max_;
  char line_end_;  // '\n', or '\r' for files whose lines end with CR alone
  std::string buf_;
  int64_t line_ = 0;  // 0-based physical line at buf_[0]
  int64_t rows_ = 0;
  int64_t bad_count_ = 0;
  std::vector<BadRow> bad_;
  std::vector<std::pair<int64_t, int64_t>> bad_lines_;
};

// Copies `path` (inflated when `gzip`) to `out_path` with the given lines (1-based first line,
// line count) emptied: DuckDB skips empty lines, so the other rows keep their line numbers.
Status CopyWithoutLines(const std::string& path, bool gzip,
                        const std::vector<std::pair<int64_t, int64_t>>& lines, char line_end,
                        const std::string& out_path, const std::string& display_name);

// Feeds the whole file at `path` (inflated when `gzip`, and then checked to its end) to `check`.
// `cancel`, when set, stops early (as `unavailable`).
Status CheckCsvRows(const std::string& path, bool gzip, CsvRowCheck& check,
                    const std::string& display_name, const std::atomic<bool>* cancel = nullptr);

}  // namespace swan::storage
