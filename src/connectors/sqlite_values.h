// How the SQLite extractor turns SQLite's values into CSV fields of Keboola base types: a
// column's type from its declared type by SQLite's affinity rules, and each value checked against
// that type as it is written (SQLite keeps any value in any column). Used by sqlite_extractor.cpp.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "connectors/db_extractor_config.h"

namespace swan::connectors::sqlite {

enum class Kind { kString, kInteger, kFloat, kNumeric, kBoolean, kDate, kTimestamp };

struct Column {
  std::string name;
  std::string declared;  // the declared type; "" for an expression
  Kind kind = Kind::kString;
  int precision = 0;  // kNumeric: DECIMAL(precision, scale)
  int scale = 0;
};

// A result column from its name and sqlite3_column_decltype (null for an expression): SQLite's
// affinity rules in their order (sqlite.org/datatype3.html, 3.1) — INT... INTEGER; CHAR, CLOB,
// TEXT, BLOB or none STRING; REAL, FLOA, DOUB FLOAT — then, of NUMERIC affinity, BOOL...
// BOOLEAN, DATE, DATETIME / TIMESTAMP, DECIMAL(p,s) / NUMERIC(p,s) with p <= 38; the rest STRING.
Column Describe(const char* name, const char* declared);

// The column's Keboola base type and length for the manifest.
DbColumnType BaseType(const Column& c);

// Appends value `i` of the current row of `s` (`type`: its sqlite3_column_type, read before
// anything converts it) as a CSV field, or returns false, appending nothing, when the value does
// not fit the column's type. NULL is an empty unquoted field; an empty text or blob is "".
// INTEGER: integers only. FLOAT: integers and reals (every digit: the shortest text that reads
// back the same). NUMERIC: numbers under 10^(p-s) once rounded, without an exponent. BOOLEAN:
// 0/1 or the text true/false/t/f, written true/false. DATE: "YYYY-MM-DD" text. TIMESTAMP:
// SQLite's time text ("YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH:MM]"), written
// "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC. STRING: anything, text only as valid UTF-8, blobs as
// lowercase hex.
bool AppendValue(std::string& out, sqlite3_stmt* s, int i, int type, const Column& col);

// Value `i` as its stored text (integers, shortest reals, text, blobs as hex): the state's
// lastFetchedRow, compared with the column again next time.
std::string RawText(sqlite3_stmt* s, int i);

// A value that did not fit, for a message: "the text 'abc'" (cut at 60 bytes), "the integer 2",
// "a blob of 3 bytes", "text that is not valid UTF-8".
std::string ShowValue(sqlite3_stmt* s, int i, int type);

// ASCII case-insensitive equality, as SQLite compares names.
bool SameText(std::string_view a, std::string_view b);

}  // namespace swan::connectors::sqlite
