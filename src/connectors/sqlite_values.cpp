#include "connectors/sqlite_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace swan::connectors::sqlite {
namespace {

// Widest DECIMAL Swan's storage keeps exact as a number; wider ones arrive as text.
constexpr int kMaxNumericPrecision = 38;
// Bytes of a refused text value quoted in a message.
constexpr size_t kShownValueBytes = 60;

// "(p)" or "(p,s)" after DECIMAL / NUMERIC, with 1 <= p <= 38 and s <= p.
bool ParsePrecision(std::string_view t, int* precision, int* scale) {
  size_t i = 0;
  auto spaces = [&] {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
  };
  auto number = [&](int* out) {
    const auto [end, ec] = std::from_chars(t.data() + i, t.data() + t.size(), *out);
    if (ec != std::errc() || end == t.data() + i) return false;
    i = static_cast<size_t>(end - t.data());
    return true;
  };
  spaces();
  if (i >= t.size() || t[i++] != '(') return false;
  spaces();
  if (!number(precision)) return false;
  spaces();
  *scale = 0;
  if (i < t.size() && t[i] == ',') {
    ++i;
    spaces();
    if (!number(scale)) return false;
    spaces();
  }
  if (i >= t.size() || t[i++] != ')') return false;
  spaces();
  return i == t.size() && *precision >= 1 && *precision <= kMaxNumericPrecision && *scale >= 0 &&
         *scale <= *precision;
}

}  // namespace

// SQLite's affinity rules, in their order (sqlite.org/datatype3.html, 3.1), then the names of
// NUMERIC affinity that Keboola has a base type for.
Column Describe(const char* name, const char* declared) {
  Column c;
  c.name = name ? name : "";
  c.declared = declared ? declared : "";
  std::string t = c.declared;
  for (char& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto has = [&](const char* part) { return t.find(part) != std::string::npos; };
  if (has("INT")) {
    c.kind = Kind::kInteger;
    return c;
  }
  if (has("CHAR") || has("CLOB") || has("TEXT") || has("BLOB") || t.empty()) return c;
  if (has("REAL") || has("FLOA") || has("DOUB")) {
    c.kind = Kind::kFloat;
    return c;
  }
  const size_t start = std::min(t.find_first_not_of(" \t\r\n"), t.size());
  size_t end = start;
  while (end < t.size() && std::isalpha(static_cast<unsigned char>(t[end]))) ++end;
  const std::string word = t.substr(start, end - start);
  if (word.starts_with("BOOL")) {
    c.kind = Kind::kBoolean;
  } else if (word == "DATE") {
    c.kind = Kind::kDate;
  } else if (word == "DATETIME" || word == "TIMESTAMP") {
    c.kind = Kind::kTimestamp;
  } else if ((word == "DECIMAL" || word == "NUMERIC") &&
             ParsePrecision(std::string_view(t).substr(end), &c.precision, &c.scale)) {
    c.kind = Kind::kNumeric;
  }
  return c;
}

DbColumnType BaseType(const Column& c) {
  switch (c.kind) {
    case Kind::kInteger:
      return {c.name, "INTEGER", ""};
    case Kind::kFloat:
      return {c.name, "FLOAT", ""};
    case Kind::kNumeric:
      return {c.name, "NUMERIC", std::to_string(c.precision) + "," + std::to_string(c.scale)};
    case Kind::kBoolean:
      return {c.name, "BOOLEAN", ""};
    case Kind::kDate:
      return {c.name, "DATE", ""};
    case Kind::kTimestamp:
      return {c.name, "TIMESTAMP", ""};
    case Kind::kString:
      break;
  }
  return {c.name, "STRING", ""};
}

namespace {

void AppendInteger(std::string& out, int64_t v) {
  char b[24];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

// The shortest text that reads back as the same double (SQLite's own text keeps 15 digits);
// `fixed`: without an exponent, as a DECIMAL is read.
void AppendReal(std::string& out, double v, bool fixed = false) {
  char b[512];  // a fixed double under 1e38 (a DECIMAL's) takes at most ~350
  const auto r = fixed ? std::to_chars(b, b + sizeof b, v, std::chars_format::fixed)
                       : std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ec == std::errc() ? r.ptr : b);
}

void AppendHex(std::string& out, const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (size == 0) out += "\"\"";  // an empty blob is not NULL
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
}

bool ValidUtf8(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

bool Digits(std::string_view t, size_t at, size_t n, int* v) {
  if (at + n > t.size()) return false;
  int x = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = t[at + k];
    if (c < '0' || c > '9') return false;
    x = x * 10 + (c - '0');
  }
  *v = x;
  return true;
}

bool ParseDate(std::string_view t, std::chrono::year_month_day* ymd) {
  int y = 0, m = 0, d = 0;
  if (!Digits(t, 0, 4, &y) || t.size() < 10 || t[4] != '-' || !Digits(t, 5, 2, &m) || t[7] != '-' ||
      !Digits(t, 8, 2, &d))
    return false;
  *ymd = std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(m)} /
         std::chrono::day{static_cast<unsigned>(d)};
  return ymd->ok();
}

// SQLite's date and time text (sqlite.org/lang_datefunc.html, "Time Values" 1-7 with an optional
// "Z" or "+HH:MM"): YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z|(+|-)HH:MM]. Writes
// "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC (a finer fraction is cut to microseconds).
bool Timestamp(std::string_view t, std::string* out) {
  using namespace std::chrono;
  year_month_day ymd;
  if (!ParseDate(t, &ymd)) return false;
  int h = 0, mi = 0, sec = 0, offset_min = 0;
  std::string_view fraction;
  size_t at = 10;
  if (at < t.size() && (t[at] == ' ' || t[at] == 'T')) {
    if (!Digits(t, at + 1, 2, &h) || at + 3 >= t.size() || t[at + 3] != ':' ||
        !Digits(t, at + 4, 2, &mi))
      return false;
    at += 6;
    if (at < t.size() && t[at] == ':') {
      if (!Digits(t, at + 1, 2, &sec)) return false;
      at += 3;
      if (at < t.size() && t[at] == '.') {
        size_t end = at + 1;
        while (end < t.size() && t[end] >= '0' && t[end] <= '9') ++end;
        if (end == at + 1) return false;
        fraction = t.substr(at + 1, std::min<size_t>(end - at - 1, 6));
        at = end;
      }
    }
    if (at < t.size() && t[at] == 'Z') {
      ++at;
    } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
      int oh = 0, om = 0;
      if (!Digits(t, at + 1, 2, &oh) || at + 3 >= t.size() || t[at + 3] != ':' ||
          !Digits(t, at + 4, 2, &om) || oh > 23 || om > 59)
        return false;
      offset_min = (t[at] == '-' ? -1 : 1) * (oh * 60 + om);
      at += 6;
    }
  }
  if (at != t.size() || h > 23 || mi > 59 || sec > 59) return false;
  const sys_seconds when =
      sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - minutes{offset_min};
  const sys_days day = floor<days>(when);
  const year_month_day utc{day};
  const hh_mm_ss<seconds> clock{when - day};
  const int year = static_cast<int>(utc.year());
  if (year < 0 || year > 9999) return false;
  char b[32];
  std::snprintf(b, sizeof b, "%04d-%02u-%02u %02d:%02d:%02d", year,
                static_cast<unsigned>(utc.month()), static_cast<unsigned>(utc.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  *out = b;
  if (!fraction.empty()) *out += "." + std::string(fraction);
  return true;
}

// Whether a number fits DECIMAL(p,s) once rounded to s decimals: |v| < 10^(p-s).
bool FitsDecimal(int64_t v, const Column& c) {
  const int digits = c.precision - c.scale;
  if (digits >= 19) return true;
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  uint64_t bound = 1;
  for (int k = 0; k < digits; ++k) bound *= 10;
  return magnitude < bound;
}

bool FitsDecimal(double v, const Column& c) {
  return std::isfinite(v) &&
         std::round(std::fabs(v) * std::pow(10.0, c.scale)) < std::pow(10.0, c.precision);
}

}  // namespace

bool SameText(std::string_view a, std::string_view b) {  // ASCII, case-insensitive
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

namespace {

std::string_view TextOf(sqlite3_stmt* s, int i) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return {text ? text : "", static_cast<size_t>(sqlite3_column_bytes(s, i))};
}

}  // namespace

// Appends value `i` of the current row (`type`: its storage class) as a CSV field, or returns
// false when it does not fit the column's type. NULL is an empty unquoted field.
bool AppendValue(std::string& out, sqlite3_stmt* s, int i, int type, const Column& col) {
  if (type == SQLITE_NULL) return true;
  switch (col.kind) {
    case Kind::kString:
      if (type == SQLITE_INTEGER) {
        AppendInteger(out, sqlite3_column_int64(s, i));
      } else if (type == SQLITE_FLOAT) {
        AppendReal(out, sqlite3_column_double(s, i));
      } else if (type == SQLITE_BLOB) {
        const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(s, i));
        AppendHex(out, data, static_cast<size_t>(sqlite3_column_bytes(s, i)));
      } else {
        const std::string_view text = TextOf(s, i);
        if (!ValidUtf8(reinterpret_cast<const unsigned char*>(text.data()), text.size()))
          return false;
        AppendCsvField(out, text.data(), text.size());
      }
      return true;
    case Kind::kInteger:
      if (type != SQLITE_INTEGER) return false;
      AppendInteger(out, sqlite3_column_int64(s, i));
      return true;
    case Kind::kFloat:
      if (type == SQLITE_INTEGER) {
        AppendInteger(out, sqlite3_column_int64(s, i));
        return true;
      }
      if (type != SQLITE_FLOAT) return false;
      AppendReal(out, sqlite3_column_double(s, i));
      return true;
    case Kind::kNumeric:
      if (type == SQLITE_INTEGER) {
        const int64_t v = sqlite3_column_int64(s, i);
        if (!FitsDecimal(v, col)) return false;
        AppendInteger(out, v);
        return true;
      }
      if (type == SQLITE_FLOAT) {
        const double v = sqlite3_column_double(s, i);
        if (!FitsDecimal(v, col)) return false;
        AppendReal(out, v, true);
        return true;
      }
      return false;
    case Kind::kBoolean:
      if (type == SQLITE_INTEGER) {
        const int64_t v = sqlite3_column_int64(s, i);
        if (v != 0 && v != 1) return false;
        out += v ? "true" : "false";
        return true;
      }
      if (type == SQLITE_TEXT) {  // as some libraries write them
        const std::string_view text = TextOf(s, i);
        const bool yes = SameText(text, "true") || SameText(text, "t");
        if (!yes && !SameText(text, "false") && !SameText(text, "f")) return false;
        out += yes ? "true" : "false";
        return true;
      }
      return false;
    case Kind::kDate: {
      if (type != SQLITE_TEXT) return false;  // a number: julian day or unix time? Unsaid.
      const std::string_view text = TextOf(s, i);
      std::chrono::year_month_day ymd;
      if (text.size() != 10 || !ParseDate(text, &ymd)) return false;
      out += text;
      return true;
    }
    case Kind::kTimestamp: {
      if (type != SQLITE_TEXT) return false;
      std::string normalized;
      if (!Timestamp(TextOf(s, i), &normalized)) return false;
      out += normalized;
      return true;
    }
  }
  return false;
}

// A value as its text: the state's lastFetchedRow, compared with the column again next time.
std::string RawText(sqlite3_stmt* s, int i) {
  std::string out;
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      AppendInteger(out, sqlite3_column_int64(s, i));
      break;
    case SQLITE_FLOAT:
      AppendReal(out, sqlite3_column_double(s, i));
      break;
    case SQLITE_BLOB:
      AppendHex(out, static_cast<const unsigned char*>(sqlite3_column_blob(s, i)),
                static_cast<size_t>(sqlite3_column_bytes(s, i)));
      break;
    default:
      out = std::string(TextOf(s, i));
  }
  return out;
}

// A refused value, for the message.
std::string ShowValue(sqlite3_stmt* s, int i, int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "the integer " + RawText(s, i);
    case SQLITE_FLOAT:
      return "the real " + RawText(s, i);
    case SQLITE_BLOB:
      return "a blob of " + std::to_string(sqlite3_column_bytes(s, i)) + " bytes";
    default: {
      const std::string_view text = TextOf(s, i);
      if (!ValidUtf8(reinterpret_cast<const unsigned char*>(text.data()), text.size()))
        return "text that is not valid UTF-8";
      size_t cut = std::min(text.size(), kShownValueBytes);
      while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
        --cut;  // not inside a character
      return "the text '" + std::string(text.substr(0, cut)) + (cut < text.size() ? "...'" : "'");
    }
  }
}

}  // namespace swan::connectors::sqlite
