// Detects a CSV file's dialect from its first bytes: delimiter, quote, escape, comment lines,
// lines to skip, header rows and their text.
//
// DuckDB's own sniffer is not used for the dialect: it guessed ';' and dropped the header of a
// one-column file whose values hold "; ", and it cannot tell a preamble or a broken header (one
// delimiter short) from data. Swan decides the dialect here, tells DuckDB exactly, and lets DuckDB
// sniff only the column types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace swan::storage {

// What the user gave; every given option wins over detection.
struct CsvDialectHints {
  std::optional<std::string> delimiter;  // 1-4 bytes
  std::optional<std::string> quote;      // "" = no quoting
  std::optional<std::string> escape;     // "" = none
  std::optional<std::string> comment;    // "" = none
  std::optional<bool> header;
  std::optional<int64_t> skip_lines;   // lines before the header (or the first row)
  std::optional<int64_t> header_rows;  // when there is a header: how many rows it spans
};

struct CsvDialect {
  std::string delimiter = ",";
  std::string quote = "\"";
  std::string escape = "\"";
  std::string comment;
  bool header = true;
  int64_t skip_lines = 0;   // physical lines before the header (blank and comment lines too)
  int64_t header_rows = 1;  // meaningful when header
  std::string newline = "\n";
  bool mixed_newlines = false;  // LF and CRLF both end rows (DuckDB's strict reader refuses that)
  bool bom = false;
  // One label per column: the header's text (header rows joined with a space), or empty strings
  // when there is no header.
  std::vector<std::string> labels;
  // The physical lines before the first data row (preamble and header rows).
  int64_t data_line = 0;
  // Of those, comment lines (DuckDB's skip counts lines other than comments).
  int64_t comment_lines_before_data = 0;
  // A DuckDB type per column guessed from the sampled rows (BIGINT, DOUBLE, DATE, TIMESTAMP,
  // BOOLEAN, VARCHAR): for files DuckDB's own type detection cannot read (rows of different
  // lengths with pad_missing_trailing).
  std::vector<std::string> sample_types;
};

// Longest quoted value, in lines, before a quote is taken for a stray one (a row's value that
// opens a quote and never closes it would otherwise swallow the rest of the file).
// (A real value of 1 MB text with 1,200 line breaks exists in the test corpus; DuckDB's
// max_line_size bounds a row to 2 MB anyway.)
constexpr int64_t kMaxQuotedLines = 10000;

// `sample` is the file's first bytes, decoded to UTF-8 (a UTF-8 BOM may lead); `whole` says it
// is the whole file (else its last, cut record is ignored). Errors name `display_name` and a line:
// an empty file, a header whose field count differs from the rows below it, a quote that does
// not close.
Result<CsvDialect> DetectCsvDialect(std::string_view sample, bool whole,
                                    const CsvDialectHints& given, const std::string& display_name);

// The fields of one CSV record (for tests and the header text): `text` is one whole record.
std::vector<std::string> SplitCsvRecord(std::string_view text, const CsvDialect& dialect);

}  // namespace swan::storage
