// Human-readable output of the `swan` CLI: aligned text tables and a progress bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace swan::cli {

// Cells longer than this (in characters) are cut with "..." so a table stays readable.
inline constexpr size_t kCellCharsMax = 60;

// A table printed with columns aligned by padding:
//   ID               ROWS  BYTES
//   in.sales.orders   100  2.0 KiB
// Not thread-safe.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers);

  // Right-aligns column `index` (numbers). Out of range indexes are ignored.
  void AlignRight(size_t index);
  // Adds a row; missing cells are empty, extra cells are dropped. Cells are cut to
  // kCellCharsMax characters and control characters are shown as spaces.
  void AddRow(std::vector<std::string> cells);
  size_t row_count() const { return rows_.size(); }

  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "1.5 KiB", "12 B", "3.2 GiB".
std::string FormatBytes(uint64_t bytes);

// The text of one JSON value in a table cell: strings as is, null as "NULL", booleans as
// true/false, numbers and nested values as JSON.
std::string CellText(const nlohmann::json& value);

// A value or "-" when the key is missing or null.
std::string FieldText(const nlohmann::json& object, std::string_view key);

// True when a SQL type name is numeric (so its column is right-aligned).
bool IsNumericType(std::string_view type);

// Prints a result grid {"columns":[{"name","type"}],"rows":[[...]],"truncated":bool}: a table, a
// row count line and "(truncated)" when the server cut the result.
void PrintResultGrid(const nlohmann::json& result, std::ostream& out);

// True when stderr is a terminal (the progress bar is only drawn then).
bool StderrIsTerminal();

// A one-line progress bar redrawn on stderr with '\r', at most every 100 ms:
//   importing orders.csv [#########           ]  45%  1.2 GiB / 2.6 GiB  35.2 MiB/s
// When the total is unknown (0) only the bytes and rate are shown. Disabled (no output at all)
// when constructed with enabled=false. Not thread-safe.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();  // calls Finish()

  void Update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line; idempotent.
  void Finish();

 private:
  void Draw();

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace swan::cli
