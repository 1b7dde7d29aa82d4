#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

namespace swan::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 24;
constexpr int kColumnGap = 2;

// Display width in characters: counts UTF-8 code points (not bytes).
size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

// Cuts to `max_chars` code points, ending with "..." when cut; control characters become spaces.
std::string Clean(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  if (DisplayWidth(text) <= kCellCharsMax) return text;
  size_t chars = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == kCellCharsMax - 3) break;
      ++chars;
    }
  }
  text.resize(i);
  return text + "...";
}

}  // namespace

TextTable::TextTable(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void TextTable::AlignRight(size_t index) {
  if (index < right_.size()) right_[index] = true;
}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) cell = Clean(std::move(cell));
  rows_.push_back(std::move(cells));
}

void TextTable::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = DisplayWidth(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      const size_t pad = widths[i] - DisplayWidth(cells[i]);
      const bool last = i + 1 == cells.size();
      if (right_[i]) {
        line.append(pad, ' ');
        line += cells[i];
      } else {
        line += cells[i];
        if (!last) line.append(pad, ' ');
      }
      if (!last) line.append(kColumnGap, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f %s", value, kUnits[unit]);
  return buffer;
}

std::string CellText(const nlohmann::json& value) {
  if (value.is_null()) return "NULL";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

std::string FieldText(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return "-";
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  return CellText(*it);
}

bool IsNumericType(std::string_view type) {
  static constexpr std::string_view kPrefixes[] = {
      "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
      "UBIGINT", "UHUGEINT", "FLOAT",   "DOUBLE", "DECIMAL", "REAL",     "INT",       "NUMERIC"};
  for (std::string_view prefix : kPrefixes) {
    if (type.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

void PrintResultGrid(const nlohmann::json& result, std::ostream& out) {
  std::vector<std::string> headers;
  std::vector<size_t> numeric;
  if (result.contains("columns") && result["columns"].is_array()) {
    for (const auto& column : result["columns"]) {
      headers.push_back(column.is_object() ? FieldText(column, "name") : CellText(column));
      if (column.is_object() && IsNumericType(FieldText(column, "type"))) {
        numeric.push_back(headers.size() - 1);
      }
    }
  }
  TextTable table(headers);
  for (size_t index : numeric) table.AlignRight(index);
  if (result.contains("rows") && result["rows"].is_array()) {
    for (const auto& row : result["rows"]) {
      std::vector<std::string> cells;
      if (row.is_array()) {
        for (const auto& value : row) cells.push_back(CellText(value));
      }
      table.AddRow(std::move(cells));
    }
  }
  table.Print(out);
  const size_t rows = table.row_count();
  out << "(" << rows << (rows == 1 ? " row" : " rows");
  if (result.contains("elapsed_ms") && result["elapsed_ms"].is_number()) {
    out << ", " << result["elapsed_ms"].dump() << " ms";
  }
  out << ")";
  if (result.value("truncated", false)) out << " (truncated)";
  out << '\n';
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || finished_) return;
  done_ = done;
  total_ = total;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (!drawn_) return;  // nothing was shown: stay silent for quick transfers
  Draw();
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ProgressBar::Draw() {
  drawn_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const uint64_t rate =
      seconds > 0 ? static_cast<uint64_t>(static_cast<double>(done_) / seconds) : 0;
  std::string line = "\r" + label_ + " ";
  if (total_ > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(fraction * kBarWidth);
    line += "[" + std::string(filled, '#') + std::string(kBarWidth - filled, ' ') + "] ";
    char percent[8];
    std::snprintf(percent, sizeof(percent), "%3d%%", static_cast<int>(fraction * 100));
    line += percent;
    line += "  " + FormatBytes(done_) + " / " + FormatBytes(total_);
  } else {
    line += FormatBytes(done_);
  }
  line += "  " + FormatBytes(rate) + "/s";
  line += "\x1b[K";  // clear the rest of a longer previous line
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace swan::cli
