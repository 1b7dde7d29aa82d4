#include "storage/csv_dialect.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

namespace swan::storage {
namespace {

constexpr size_t kMaxSampleRecords = 1000;

struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;      // 0-based physical line of its first character
  int64_t end_line = 0;  // the physical line after it
  size_t begin = 0;      // offset of its first byte
  bool blank = false;
  bool comment = false;
  bool broken = false;    // a closing quote followed by something other than a delimiter
  bool unclosed = false;  // a quote that never closes: read as its line alone
  int64_t quoted = 0;     // values in quotes
};

struct Parsed {
  std::vector<Record> records;
  std::string newline;  // the first record terminator seen
  bool mixed_newlines = false;
};

struct Candidate {
  std::string delimiter, quote, escape;
};

bool At(std::string_view s, size_t i, std::string_view token) {
  return !token.empty() && s.compare(i, token.size(), token) == 0;
}

// Parses records the way DuckDB's reader does: a quote is special only at the start of a value;
// inside quotes, the escape (or a doubled quote) makes a quote literal; \n, \r\n and \r end a
// record.
Parsed Parse(std::string_view s, const Candidate& c, const std::string& comment, bool whole,
             size_t max_records) {
  Parsed out;
  size_t i = 0;
  int64_t line = 0;
  const std::string& d = c.delimiter;
  auto newline_at = [&](size_t k) -> size_t {  // length of a line end at k, 0 if none
    if (s[k] == '\n') return 1;
    if (s[k] == '\r') return k + 1 < s.size() && s[k + 1] == '\n' ? 2 : 1;
    return 0;
  };
  while (i < s.size() && out.records.size() < max_records) {
    Record r;
    r.line = line;
    r.begin = i;
    if (size_t nl = newline_at(i)) {  // an empty line: DuckDB skips it
      if (out.newline.empty()) out.newline = std::string(s.substr(i, nl));
      r.blank = true;
      i += nl;
      ++line;
      r.end_line = line;
      out.records.push_back(std::move(r));
      continue;
    }
    if (!comment.empty() && At(s, i, comment)) r.comment = true;
    std::string field;
    bool ended = false;  // the record's line end was read
    while (i < s.size()) {
      if (!c.quote.empty() && field.empty() && At(s, i, c.quote)) {
        // A quoted value.
        int64_t opened_line = line;
        i += c.quote.size();
        bool closed = false;
        while (i < s.size()) {
          if (!c.escape.empty() && c.escape != c.quote && At(s, i, c.escape) &&
              i + c.escape.size() < s.size()) {
            i += c.escape.size();
            field += s[i++];
            continue;
          }
          if (At(s, i, c.quote)) {
            if (c.escape == c.quote && At(s, i + c.quote.size(), c.quote)) {
              field += c.quote;
              i += 2 * c.quote.size();
              continue;
            }
            i += c.quote.size();
            closed = true;
            break;
          }
          if (size_t nl = newline_at(i)) {
            ++line;
            if (line - opened_line > kMaxQuotedLines) break;
            field += std::string(s.substr(i, nl));
            i += nl;
            continue;
          }
          field += s[i++];
        }
        if (!closed) {
          if (!whole && line - opened_line <= kMaxQuotedLines) return out;  // cut by the sample
          // A quote that never closes: its line is a broken record, reading goes on at the next
          // line (as the row check does).
          r.unclosed = true;
          i = s.find_first_of("\r\n", r.begin);
          i = i == std::string_view::npos ? s.size() : i + newline_at(i);
          line = r.line + 1;
          ended = true;
          break;
        }
        // After a closing quote: a delimiter, a line end or the end of the data.
        if (i < s.size() && !At(s, i, d) && !newline_at(i)) {
          r.broken = true;
          while (i < s.size() && !At(s, i, d) && !newline_at(i)) field += s[i++];
        }
        ++r.quoted;
        continue;
      }
      if (At(s, i, d)) {
        r.fields.push_back(std::move(field));
        field.clear();
        i += d.size();
        continue;
      }
      if (size_t nl = newline_at(i)) {
        if (out.newline.empty()) out.newline = std::string(s.substr(i, nl));
        if (out.newline != s.substr(i, nl)) out.mixed_newlines = true;
        i += nl;
        ++line;
        ended = true;
        break;
      }
      field += s[i++];
    }
    r.fields.push_back(std::move(field));
    if (!ended && !whole) break;  // the sample cut this record
    r.end_line = ended ? line : line + 1;
    out.records.push_back(std::move(r));
  }
  return out;
}

enum class Kind { kEmpty, kInt, kNumber, kDate, kTimestamp, kBool, kText };

Kind Classify(const std::string& v) {
  if (v.empty()) return Kind::kEmpty;
  size_t i = v[0] == '-' || v[0] == '+' ? 1 : 0;
  size_t digits = 0, dots = 0;
  bool other = false;
  for (size_t k = i; k < v.size(); ++k) {
    if (v[k] >= '0' && v[k] <= '9') {
      ++digits;
    } else if (v[k] == '.') {
      ++dots;
    } else {
      other = true;
      break;
    }
  }
  if (!other && digits > 0 && dots == 0) return digits <= 18 ? Kind::kInt : Kind::kText;
  if (!other && digits > 0 && dots == 1) return Kind::kNumber;
  if (v.size() >= 10 && v[4] == '-' && v[7] == '-' && std::isdigit((unsigned char)v[0]) &&
      std::isdigit((unsigned char)v[5]) && std::isdigit((unsigned char)v[8]))
    return v.size() == 10                                                     ? Kind::kDate
           : v.size() >= 16 && (v[10] == ' ' || v[10] == 'T') && v[13] == ':' ? Kind::kTimestamp
                                                                              : Kind::kText;
  std::string lower = v;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "true" || lower == "false") return Kind::kBool;
  return Kind::kText;
}

// The column's kind from its values: kText when they disagree.
Kind ColumnKind(const std::vector<const Record*>& rows, size_t col) {
  Kind kind = Kind::kEmpty;
  for (const Record* r : rows) {
    if (col >= r->fields.size()) continue;
    Kind k = Classify(r->fields[col]);
    if (k == Kind::kEmpty) continue;
    if (kind == Kind::kEmpty) {
      kind = k;
    } else if ((kind == Kind::kInt && k == Kind::kNumber) ||
               (kind == Kind::kNumber && k == Kind::kInt)) {
      kind = Kind::kNumber;
    } else if (kind != k) {
      return Kind::kText;
    }
  }
  return kind;
}

bool Fits(Kind value, Kind column) {
  if (value == Kind::kEmpty || column == Kind::kText || column == Kind::kEmpty) return true;
  if (column == Kind::kNumber) return value == Kind::kInt || value == Kind::kNumber;
  return value == column;
}

struct Shape {
  std::vector<const Record*> rows;  // non-blank, non-comment records
  size_t columns = 0;               // the most common field count
  size_t start = 0;                 // index in rows of the first record with that count
  size_t agreeing = 0;              // records from start with that count
};

// `skip_lines` given (0 included): the records start right there, whatever their field counts;
// otherwise at the first record of the most common count (a preamble is skipped).
Shape ShapeOf(const Parsed& p, std::optional<int64_t> given_skip) {
  const int64_t skip_lines = given_skip.value_or(0);
  Shape shape;
  for (const auto& r : p.records) {
    if (r.blank || r.comment || r.unclosed || r.line < skip_lines) continue;
    shape.rows.push_back(&r);
  }
  if (shape.rows.empty()) return shape;
  std::map<size_t, size_t> counts;
  for (const Record* r : shape.rows) ++counts[r->fields.size()];
  size_t best = 0;
  for (const auto& [n, count] : counts) {
    if (count >= best) {  // ties: the larger field count
      best = count;
      shape.columns = n;
    }
  }
  if (given_skip) {
    shape.start = 0;
  } else {
    while (shape.start < shape.rows.size() &&
           shape.rows[shape.start]->fields.size() != shape.columns)
      ++shape.start;
  }
  for (size_t k = shape.start; k < shape.rows.size(); ++k) {
    if (shape.rows[k]->fields.size() == shape.columns) ++shape.agreeing;
  }
  return shape;
}

std::string Shown(const std::string& token) {
  if (token == "\t") return "tab";
  if (token.empty()) return "none";
  return "'" + token + "'";
}

Status DialectError(const std::string& display_name, int64_t line, const std::string& what) {
  return Status::InvalidArgument(display_name + ": line " + std::to_string(line) + ": " + what)
      .WithDetail("file", display_name)
      .WithDetail("line", std::to_string(line));
}

}  // namespace

std::vector<std::string> SplitCsvRecord(std::string_view text, const CsvDialect& dialect) {
  Parsed p = Parse(text, {dialect.delimiter, dialect.quote, dialect.escape}, "", true, 1);
  return p.records.empty() ? std::vector<std::string>{""} : p.records[0].fields;
}

Result<CsvDialect> DetectCsvDialect(std::string_view sample, bool whole,
                                    const CsvDialectHints& given, const std::string& display_name) {
  CsvDialect d;
  if (sample.substr(0, 3) == "\xEF\xBB\xBF") {
    d.bom = true;
    sample.remove_prefix(3);
  }
  std::vector<std::string> delimiters = {",", ";", "\t", "|", " ", ", ", "; ", "| "};
  std::vector<std::string> quotes = {"\"", "'", ""};
  if (given.delimiter) delimiters = {*given.delimiter};
  if (given.quote) quotes = {*given.quote};
  std::vector<Candidate> candidates;
  for (const auto& delim : delimiters) {
    for (const auto& q : quotes) {
      if (!q.empty() && delim.find(q) != std::string::npos) continue;
      std::vector<std::string> escapes;
      if (given.escape) {
        escapes = {*given.escape};
      } else if (q.empty()) {
        escapes = {""};
      } else {
        escapes = {q, "\\"};
      }
      for (const auto& e : escapes) candidates.push_back({delim, q, e});
    }
  }
  std::string comment = given.comment.value_or("");
  const int64_t skip = given.skip_lines.value_or(0);

  // Scores each reading: (more than one column, records agreeing on the field count, fewer broken
  // quotes, field count, longer delimiter, candidate order).
  using Score = std::tuple<bool, size_t, int64_t, int64_t, size_t, size_t, int64_t>;
  // A space splits text too, so it is the delimiter only when no other candidate reads the
  // sample as a table of more than one column.
  struct Choice {
    std::optional<Score> score;
    Candidate candidate;
    Parsed parsed;
    std::string comment;
  };
  // Round one ranks every candidate on the first kRankRecords records; round two reads the
  // leaders on kMaxSampleRecords (42 candidates on 1,000 records cost 37 ms of each import).
  auto evaluate = [&](size_t ci, size_t max_records, Choice* out) -> bool {
    const Candidate& c = candidates[ci];
    Parsed p = Parse(sample, c, comment, whole, max_records);
    std::string used_comment = comment;
    if (!given.comment) {
      // Lines starting with '#' that do not have the row's shape are comments.
      Shape plain = ShapeOf(p, given.skip_lines);
      bool has_comments = false;
      for (size_t k = plain.start; k < plain.rows.size(); ++k) {
        const Record* r = plain.rows[k];
        if (!r->fields.empty() && !r->fields[0].empty() && r->fields[0][0] == '#' &&
            r->fields.size() != plain.columns)
          has_comments = true;
      }
      if (has_comments) {
        used_comment = "#";
        p = Parse(sample, c, used_comment, whole, max_records);
      }
    }
    Shape shape = ShapeOf(p, given.skip_lines);
    int64_t broken = 0, quoted = 0;
    // A quote that never closes counts for its reading (as agreeing): read without quotes, the
    // same line would agree, and win, hiding the stray quote.
    size_t unclosed = 0;
    for (const auto& r : p.records) unclosed += r.unclosed ? 1 : 0;
    for (const Record* r : shape.rows) {
      broken += r->broken ? 1 : 0;
      quoted += r->quoted;
    }
    // "2024-01-05 10:30" is one value, not two split on the space.
    if (c.delimiter == " ") {
      for (const Record* r : shape.rows) {
        for (size_t k = 0; k + 1 < r->fields.size(); ++k) {
          if (Classify(r->fields[k]) == Kind::kDate && r->fields[k + 1].size() >= 5 &&
              r->fields[k + 1][2] == ':')
            return false;
        }
      }
    }
    out->score =
        Score{shape.columns > 1,  shape.agreeing + unclosed, -broken, quoted, shape.columns,
              c.delimiter.size(), -static_cast<int64_t>(ci)};
    out->candidate = c;
    out->parsed = std::move(p);
    out->comment = used_comment;
    return true;
  };
  constexpr size_t kRankRecords = 100;
  constexpr size_t kLeaders = 6;
  std::vector<std::pair<Score, size_t>> ranked;
  for (size_t ci = 0; ci < candidates.size(); ++ci) {
    Choice round_one;
    if (evaluate(ci, kRankRecords, &round_one)) ranked.emplace_back(*round_one.score, ci);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<size_t> leaders;
  size_t not_space_leaders = 0;
  for (const auto& [score, ci] : ranked) {
    bool space = candidates[ci].delimiter == " ";
    if (leaders.size() < kLeaders || (!space && not_space_leaders < 2)) {
      leaders.push_back(ci);
      if (!space) ++not_space_leaders;
    }
  }
  Choice any, not_space;
  for (size_t ci : leaders) {
    Choice choice;
    if (!evaluate(ci, kMaxSampleRecords, &choice)) continue;
    for (Choice* best : {&any, &not_space}) {
      if (best == &not_space && choice.candidate.delimiter == " ") continue;
      if (!best->score || *choice.score > *best->score) *best = choice;
    }
  }
  const bool prefer_not_space = not_space.score && std::get<0>(*not_space.score);
  Choice& chosen = prefer_not_space ? not_space : any;
  const Candidate& best = chosen.candidate;
  Parsed& best_parsed = chosen.parsed;
  const std::string& best_comment = chosen.comment;
  d.mixed_newlines = best_parsed.mixed_newlines;
  d.delimiter = best.delimiter;
  d.quote = best.quote;
  d.escape = best.escape;
  if (!best_parsed.newline.empty()) d.newline = best_parsed.newline;
  d.comment = best_comment;
  // A quote that never closes is not an error here: the row check reports its row (a bad row
  // that on_bad_rows=skip can leave out).
  Shape shape = ShapeOf(best_parsed, given.skip_lines);
  if (shape.rows.empty()) {
    return Status::InvalidArgument(display_name + ": the file has no rows" +
                                   (skip > 0 ? " after the skipped lines" : ""))
        .WithDetail("file", display_name);
  }
  // Records before the first one of the common shape are a preamble (titles, notes), unless the
  // one right above it has a delimiter: then it is a header with a different field count.
  if (!given.skip_lines && shape.start > 0) {
    const Record* above = shape.rows[shape.start - 1];
    const Record* first = shape.rows[shape.start];
    if (above->fields.size() > 1) {
      return DialectError(
          display_name, above->line + 1,
          "this line has " + std::to_string(above->fields.size()) + " fields (split on " +
              Shown(d.delimiter) + ") but the rows below it have " + std::to_string(shape.columns) +
              ": if it is the header, it lacks or adds a column name; if it is a title line, "
              "import with skip_lines=" +
              std::to_string(first->line));
    }
    d.skip_lines = first->line;
  } else {
    d.skip_lines = skip;
  }
  std::vector<const Record*> rows(shape.rows.begin() + shape.start, shape.rows.end());
  // A first row whose field count differs from every row below it, which agree among themselves,
  // is a broken header ("a,b,c,\n1,2,3\n": a tie the common shape cannot settle).
  if (!given.skip_lines && given.header.value_or(true) && rows.size() >= 2 &&
      std::all_of(rows.begin() + 1, rows.end(),
                  [&](const Record* r) { return r->fields.size() == rows[1]->fields.size(); }) &&
      rows[1]->fields.size() != rows[0]->fields.size()) {
    return DialectError(display_name, rows[0]->line + 1,
                        "the header has " + std::to_string(rows[0]->fields.size()) +
                            " fields (split on " + Shown(d.delimiter) +
                            ") but the rows below it have " +
                            std::to_string(rows[1]->fields.size()) +
                            ": it lacks or adds a column name (a delimiter too many or too few)");
  }

  // Header: a first row whose values do not fit the types of the rows below it; with no types
  // to tell (all text), a header is assumed, as most files have one.
  auto kinds_below = [&](size_t from) {
    std::vector<const Record*> below(rows.begin() + std::min(from, rows.size()), rows.end());
    std::vector<Kind> kinds;
    for (size_t col = 0; col < shape.columns; ++col) kinds.push_back(ColumnKind(below, col));
    return kinds;
  };
  if (given.header) {
    d.header = *given.header;
  } else {
    std::vector<Kind> kinds = kinds_below(1);
    bool typed = false, misfit = false;
    for (size_t col = 0; col < shape.columns; ++col) {
      if (kinds[col] == Kind::kText || kinds[col] == Kind::kEmpty) continue;
      typed = true;
      if (col < rows[0]->fields.size() && !Fits(Classify(rows[0]->fields[col]), kinds[col]))
        misfit = true;
    }
    // A first row with no value in any typed column is a header too (one with empty cells).
    bool typed_value = false;
    for (size_t col = 0; col < shape.columns && col < rows[0]->fields.size(); ++col) {
      if (kinds[col] != Kind::kText && kinds[col] != Kind::kEmpty && !rows[0]->fields[col].empty())
        typed_value = true;
    }
    d.header = rows.size() == 1 || !typed || misfit || !typed_value;
  }
  d.header_rows = d.header ? given.header_rows.value_or(1) : 0;
  if (d.header && !given.header_rows) {
    // More header rows: rows right below the header none of whose values fits a typed column
    // (a dirty data row has other values that fit, and stays data).
    // Types from the rows below the header rows to be tested (at most 3), leaving some rows.
    std::vector<Kind> kinds =
        kinds_below(std::min<size_t>(4, std::max<size_t>(2, rows.size() - 2)));
    for (size_t k = 1; k < rows.size() && k <= 3 && rows.size() > k + 1; ++k) {
      bool misfit = false, fits = false;
      for (size_t col = 0; col < shape.columns && col < rows[k]->fields.size(); ++col) {
        if (kinds[col] == Kind::kText || kinds[col] == Kind::kEmpty) continue;
        Kind v = Classify(rows[k]->fields[col]);
        if (v == Kind::kEmpty) continue;
        (Fits(v, kinds[col]) ? fits : misfit) = true;
      }
      if (!misfit || fits) break;
      d.header_rows = static_cast<int64_t>(k) + 1;
    }
  }
  if (d.header && d.header_rows > static_cast<int64_t>(rows.size())) {
    return Status::InvalidArgument(display_name + ": the file has fewer rows than header rows")
        .WithDetail("file", display_name);
  }
  d.labels.assign(shape.columns, "");
  if (d.header) {
    for (int64_t h = 0; h < d.header_rows; ++h) {
      const Record* r = rows[static_cast<size_t>(h)];
      if (r->fields.size() != shape.columns) {
        return DialectError(display_name, r->line + 1,
                            "the header has " + std::to_string(r->fields.size()) +
                                " fields but the rows below it have " +
                                std::to_string(shape.columns));
      }
      std::string left;  // an upper row's empty cell belongs to the merged cell on its left
      for (size_t col = 0; col < shape.columns; ++col) {
        std::string cell = r->fields[col];
        bool upper = h + 1 < d.header_rows;
        if (upper && cell.empty()) cell = left;
        if (upper) left = cell;
        if (cell.empty()) continue;
        d.labels[col] += (d.labels[col].empty() ? "" : " ") + cell;
      }
    }
    // The physical lines the header rows take, whatever quoted line breaks they hold.
    d.data_line = rows[static_cast<size_t>(d.header_rows - 1)]->end_line;
  } else {
    d.data_line = d.skip_lines;
  }
  for (const auto& r : best_parsed.records) {
    if (r.comment && r.line < d.data_line) ++d.comment_lines_before_data;
  }
  std::vector<Kind> kinds = kinds_below(d.header ? static_cast<size_t>(d.header_rows) : 0);
  for (Kind k : kinds) {
    d.sample_types.push_back(k == Kind::kInt         ? "BIGINT"
                             : k == Kind::kNumber    ? "DOUBLE"
                             : k == Kind::kDate      ? "DATE"
                             : k == Kind::kTimestamp ? "TIMESTAMP"
                             : k == Kind::kBool      ? "BOOLEAN"
                                                     : "VARCHAR");
  }
  return d;
}

}  // namespace swan::storage
