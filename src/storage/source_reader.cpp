#include "storage/source_reader.h"

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "common/gzip_check.h"
#include "common/names.h"
#include "common/transcode.h"
#include "engine/duckdb.h"

namespace swan::storage {

using engine::QuoteLiteral;

namespace {

bool IsGzip(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char magic[2] = {0, 0};
  size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// The first character of a JSON document after a UTF-8 BOM and white space; 0 when there is none.
Result<char> FirstJsonChar(const ImportRequest& r) {
  ASSIGN_OR_RETURN(std::string head, gzip::ReadDecodedPrefix(r.file_path, 64 * 1024));
  size_t i = head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
    ++i;
  return i < head.size() ? head[i] : '\0';
}

std::string DescribeJsonStart(char c) {
  if (c == '\0') return "nothing (it is empty)";
  if (c == '"') return "a string";
  if (c == '-' || (c >= '0' && c <= '9')) return "a number";
  if (c == 't' || c == 'f') return "a boolean";
  if (c == 'n') return "null";
  return std::string("'") + c + "', which is not JSON";
}

}  // namespace

Result<std::string> SourceFunctionSql(const ImportRequest& r) {
  std::string path = QuoteLiteral(r.file_path);
  switch (r.format) {
    case FileFormat::kParquet:
      return "read_parquet(" + path + ")";
    case FileFormat::kJsonLines:
    case FileFormat::kJson: {
      std::string compression =
          r.csv.compression == "auto" ? (IsGzip(r.file_path) ? "gzip" : "none") : r.csv.compression;
      ASSIGN_OR_RETURN(char first, FirstJsonChar(r));
      std::string layout;
      if (first == '[') {
        if (r.format == FileFormat::kJsonLines) {
          // Read as lines, the whole array would be one row.
          return Status::InvalidArgument(
                     r.display_name +
                     ": the file is one JSON array, not JSON Lines (one object per line); "
                     "import it with format json")
              .WithDetail("file", r.display_name)
              .WithDetail("field", "format");
        }
        layout = "array";
      } else if (first == '{') {
        layout = r.format == FileFormat::kJsonLines ? "newline_delimited" : "auto";
      } else {
        return Status::InvalidArgument(
                   r.display_name + ": the file starts with " + DescribeJsonStart(first) +
                   "; a JSON import needs an array of objects or objects one per line")
            .WithDetail("file", r.display_name);
      }
      return "read_json(" + path + ", format = " + QuoteLiteral(layout) +
             ", records = true, compression = " +
             QuoteLiteral(compression == "gzip" ? "gzip" : "uncompressed") + ")";
    }
    case FileFormat::kCsv:
      break;
  }
  return Status::Internal("CSV sources are read by CsvReadSql");
}

namespace {

// Reads a JSON string at s[i] (at its opening quote); returns false when it does not end.
bool ReadJsonString(std::string_view s, size_t& i, std::string* out) {
  ++i;
  while (i < s.size()) {
    char c = s[i++];
    if (c == '"') return true;
    if (c != '\\') {
      if (out) *out += c;
      continue;
    }
    if (i >= s.size()) return false;
    char e = s[i++];
    if (e == 'u') {
      if (i + 4 > s.size()) return false;
      const std::string hex(s.substr(i, 4));
      char* end = nullptr;
      unsigned long cp = std::strtoul(hex.c_str(), &end, 16);
      if (end != hex.c_str() + 4) return false;  // not \uXXXX: not a key to read
      i += 4;
      if (out) transcode::AppendUtf8(static_cast<char32_t>(cp), *out);  // within the BMP
      continue;
    }
    if (out) *out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
  }
  return false;
}

}  // namespace

std::vector<std::string> FirstJsonKeys(const ImportRequest& r) {
  auto head = gzip::ReadDecodedPrefix(r.file_path, 1 << 20);
  if (!head.ok()) return {};
  std::string_view s = *head;
  size_t i = s.find('{');
  if (i == std::string_view::npos) return {};
  ++i;
  std::vector<std::string> keys;
  auto skip_space = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  };
  while (true) {
    skip_space();
    if (i >= s.size()) return {};
    if (s[i] == '}') return keys;
    if (s[i] != '"') return {};
    std::string key;
    if (!ReadJsonString(s, i, &key)) return {};
    keys.push_back(std::move(key));
    skip_space();
    if (i >= s.size() || s[i] != ':') return {};
    ++i;
    // Skip the value: nested objects and arrays by depth, strings whole.
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        if (!ReadJsonString(s, i, nullptr)) return {};
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      }
      if (c == ',' && depth == 0) break;
      ++i;
    }
    if (i >= s.size()) return {};
    if (s[i] == ',') ++i;
  }
}

bool ReadsGzip(const ImportRequest& r) {
  if (r.format == FileFormat::kParquet) return false;
  return r.csv.compression == "gzip" || (r.csv.compression == "auto" && IsGzip(r.file_path));
}

Status CheckJsonRecords(engine::Connection& conn, const std::string& source,
                        const std::vector<std::string>& types, const std::string& display_name) {
  if (types.empty()) return Status::Ok();
  for (const auto& t : types) {
    if (t.size() < 2 || t.compare(t.size() - 2, 2, "[]") != 0) return Status::Ok();
  }
  // Every column is a list: one row means one object of columns (a cheap check: two rows at most).
  auto rows = conn.QueryInt("SELECT count(*) FROM (SELECT 1 FROM " + source + " LIMIT 2)");
  if (!rows.ok()) return LoadError(display_name, rows.status());
  if (*rows != 1) return Status::Ok();
  return Status::InvalidArgument(display_name +
                                 ": the file is one JSON object whose values are all lists (an "
                                 "object of columns), not records; a JSON import needs an array "
                                 "of objects or objects one per line, one per row")
      .WithDetail("file", display_name);
}

bool IsInferredCastError(const std::string& raw) {
  return raw.find("Could not convert") != std::string::npos &&
         (raw.find("sniff") != std::string::npos || raw.find("auto-detect") != std::string::npos ||
          raw.find("sample_size") != std::string::npos);
}

Status LoadError(const std::string& display_name, const Status& engine_error) {
  if (engine_error.code() != StatusCode::kInvalidArgument) return engine_error.Prefix(display_name);
  return LoadError(display_name, engine_error.message());
}

Status LoadError(const std::string& display_name, const std::string& raw) {
  std::smatch m;
  std::string line, column;
  static const std::regex line_re("[Ll]ine:? ([0-9]+)");
  static const std::regex column_re("[Cc]olumn:? \"?([A-Za-z0-9_ .-]+?)\"?(\\s|$|,|\\.)");
  if (std::regex_search(raw, m, line_re)) line = m[1];
  if (std::regex_search(raw, m, column_re)) column = m[1];
  // Keep DuckDB's descriptive lines, drop its hints and the echo of the offending line.
  std::string what;
  std::istringstream in(raw);
  std::string l;
  // DuckDB echoes the offending row after "Original Line" (several lines when a quoted value holds
  // line breaks); the echo ends at a blank line or at the next line of DuckDB's own text.
  static const std::regex echo_end_re(
      "^(Expected Number of Columns|Possible fixes|Error when converting|Value with unterminated "
      "quote|Invalid unicode|Could not convert|Maximum line size|Column|The Column types)");
  bool in_echo = false;
  while (std::getline(in, l)) {
    if (l.rfind("Original Line", 0) == 0) {
      in_echo = true;
      continue;
    }
    if (in_echo) {
      if (!l.empty() && !std::regex_search(l, echo_end_re)) continue;
      in_echo = false;
    }
    static const std::regex columns_re("^Expected Number of Columns: ([0-9]+) Found: ([0-9]+)");
    l = std::regex_replace(l, columns_re, "expected $1 columns, found $2");
    if (l.empty() || l.rfind("Original Line", 0) == 0 || l.rfind("Possible fixes", 0) == 0 ||
        l[0] == '*' || l.rfind("  ", 0) == 0 || l.rfind("LINE ", 0) == 0 ||
        l.rfind("Possible Solution", 0) == 0 || l.rfind("file=", 0) == 0 ||
        l.find("delimiter =") != std::string::npos ||
        l.find("Parser options") != std::string::npos || l.find("sniff") != std::string::npos ||
        l.rfind("The search space", 0) == 0 || l.rfind("Delimiter Candidates", 0) == 0 ||
        l.rfind("Quote/Escape Candidates", 0) == 0 || l.rfind("Comment Candidates", 0) == 0 ||
        l.rfind("Encoding:", 0) == 0) {
      continue;
    }
    static const std::regex prefix_re(
        "^(Invalid Input Error|Conversion Error|IO Error|Parser Error|Binder Error): ");
    l = std::regex_replace(l, prefix_re, "");
    static const std::regex csv_line_re("^CSV Error on Line: [0-9]+$");
    if (std::regex_match(l, csv_line_re)) continue;
    if (!what.empty()) what += "; ";
    what += l;
    if (what.size() > 400) break;
  }
  if (what.empty()) what = raw.substr(0, 400);
  if (what.find("not possible to automatically detect the CSV parsing dialect") !=
      std::string::npos) {
    what =
        "the rows could not be read with the detected dialect; give the delimiter, enclosure "
        "and header explicitly, or import with on_bad_rows=skip to see the bad rows";
  }
  // DuckDB's JSON reader, in the words of the import (its hints name read_json's options).
  if (what.find("expected records, but got non-record JSON") != std::string::npos) {
    what =
        "found a value that is not an object, or an empty array; a JSON import needs objects, one "
        "per row (an array of objects, or objects one after another)";
  }
  static const std::regex json_file_re(
      "Malformed JSON in file \"[^\"]*\", at byte ([0-9]+) in "
      "record/value ([0-9]+): ");
  what = std::regex_replace(what, json_file_re, "malformed JSON at byte $1 of value $2: ");
  if (what.find("nvalid unicode") != std::string::npos ||
      what.find("not valid UTF-8") != std::string::npos) {
    what =
        "bytes that are not UTF-8; if the file is in another encoding, import it with "
        "encoding=windows-1252 (Western Europe), windows-1250 (Central Europe), latin-1 or "
        "utf-16";
  }
  std::string where = display_name;
  if (!line.empty()) where += ": line " + line;
  if (!column.empty()) where += ", column " + column;
  Status st = Status::InvalidArgument(where + ": " + what);
  st = st.WithDetail("file", display_name);
  if (!line.empty()) st = st.WithDetail("line", line);
  if (!column.empty()) st = st.WithDetail("column", column);
  return st;
}

}  // namespace swan::storage
