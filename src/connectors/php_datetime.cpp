#include "connectors/php_datetime.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

namespace swan::connectors {

namespace {

const std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                             "May",       "June",     "July",     "August",
                                             "September", "October",  "November", "December"};
const std::array<const char*, 7> kDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};

struct Civil {
  int64_t year = 0;
  int64_t month = 0;  // 1-12
  int64_t day = 0;    // 1-31
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {m <= 2 ? y + 1 : y, m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t DaysInMonth(int64_t y, int64_t m) {
  static const int kDim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDim[m - 1];
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string Pad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  return buf;
}

// ISO-8601 week number and week-based year.
void IsoWeek(int64_t days, int64_t& iso_year, int64_t& week) {
  Civil c = CivilFromDays(days);
  int64_t wday = ((days % 7) + 10) % 7;  // 0 = Monday
  int64_t thursday = days - wday + 3;
  Civil tc = CivilFromDays(thursday);
  iso_year = tc.year;
  int64_t jan1 = DaysFromCivil(tc.year, 1, 1);
  week = (thursday - jan1) / 7 + 1;
  (void)c;
}

struct Parser {
  std::string s;
  size_t i = 0;

  void SkipSpaces() {
    while (i < s.size() && (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ',')) ++i;
  }
  bool Done() {
    SkipSpaces();
    return i >= s.size();
  }
  bool ReadInt(int64_t& v, size_t min_digits, size_t max_digits) {
    size_t start = i;
    v = 0;
    while (i < s.size() && i - start < max_digits &&
           std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      ++i;
    }
    if (i - start < min_digits) {
      i = start;
      return false;
    }
    return true;
  }
  std::string ReadWord() {
    size_t start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(start, i - start);
  }
};

int MonthFromName(const std::string& w) {
  for (size_t m = 0; m < kMonths.size(); ++m) {
    std::string full = kMonths[m];
    for (auto& ch : full) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (w == full ||
        (w.size() >= 3 && full.compare(0, w.size(), w) == 0 && w.size() <= full.size()))
      return static_cast<int>(m) + 1;
  }
  if (w == "sept") return 9;
  return 0;
}

bool IsDayName(const std::string& w) {
  for (const char* d : kDays) {
    std::string full = d;
    for (auto& ch : full) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (w == full || (w.size() == 3 && full.compare(0, 3, w) == 0)) return true;
  }
  return false;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  // Normalise the month first (PHP carries months over into years).
  y += FloorDiv(m - 1, 12);
  m = (m - 1) - FloorDiv(m - 1, 12) * 12 + 1;
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

std::string PhpDate(const std::string& format, int64_t ts, int64_t micros) {
  int64_t days = FloorDiv(ts, 86400);
  int64_t secs = ts - days * 86400;
  Civil c = CivilFromDays(days);
  int64_t hour = secs / 3600, minute = (secs / 60) % 60, second = secs % 60;
  int64_t wday = ((days % 7) + 10) % 7;  // 0 = Monday
  int64_t w = (wday + 1) % 7;            // 0 = Sunday
  int64_t yday = days - DaysFromCivil(c.year, 1, 1);
  std::string out;
  for (size_t k = 0; k < format.size(); ++k) {
    char f = format[k];
    switch (f) {
      case 'd':
        out += Pad(c.day, 2);
        break;
      case 'D':
        out += std::string(kDays[w]).substr(0, 3);
        break;
      case 'j':
        out += std::to_string(c.day);
        break;
      case 'l':
        out += kDays[w];
        break;
      case 'N':
        out += std::to_string(wday + 1);
        break;
      case 'S': {
        int64_t d = c.day;
        if (d % 10 == 1 && d != 11)
          out += "st";
        else if (d % 10 == 2 && d != 12)
          out += "nd";
        else if (d % 10 == 3 && d != 13)
          out += "rd";
        else
          out += "th";
        break;
      }
      case 'w':
        out += std::to_string(w);
        break;
      case 'z':
        out += std::to_string(yday);
        break;
      case 'W': {
        int64_t iy = 0, wk = 0;
        IsoWeek(days, iy, wk);
        out += Pad(wk, 2);
        break;
      }
      case 'o': {
        int64_t iy = 0, wk = 0;
        IsoWeek(days, iy, wk);
        out += std::to_string(iy);
        break;
      }
      case 'F':
        out += kMonths[c.month - 1];
        break;
      case 'M':
        out += std::string(kMonths[c.month - 1]).substr(0, 3);
        break;
      case 'm':
        out += Pad(c.month, 2);
        break;
      case 'n':
        out += std::to_string(c.month);
        break;
      case 't':
        out += std::to_string(DaysInMonth(c.year, c.month));
        break;
      case 'L':
        out += IsLeap(c.year) ? "1" : "0";
        break;
      case 'Y':
        out += c.year < 0 ? "-" + Pad(-c.year, 4) : Pad(c.year, 4);
        break;
      case 'y':
        out += Pad(((c.year % 100) + 100) % 100, 2);
        break;
      case 'a':
        out += hour < 12 ? "am" : "pm";
        break;
      case 'A':
        out += hour < 12 ? "AM" : "PM";
        break;
      case 'B':
        out += Pad(((secs + 3600) % 86400) * 10 / 864, 3);
        break;
      case 'g':
        out += std::to_string(hour % 12 == 0 ? 12 : hour % 12);
        break;
      case 'G':
        out += std::to_string(hour);
        break;
      case 'h':
        out += Pad(hour % 12 == 0 ? 12 : hour % 12, 2);
        break;
      case 'H':
        out += Pad(hour, 2);
        break;
      case 'i':
        out += Pad(minute, 2);
        break;
      case 's':
        out += Pad(second, 2);
        break;
      case 'u':
        out += Pad(micros, 6);
        break;
      case 'v':
        out += Pad(micros / 1000, 3);
        break;
      case 'e':
        out += "UTC";
        break;
      case 'I':
        out += "0";
        break;
      case 'O':
        out += "+0000";
        break;
      case 'P':
        out += "+00:00";
        break;
      case 'p':
        out += "Z";
        break;
      case 'T':
        out += "UTC";
        break;
      case 'Z':
        out += "0";
        break;
      case 'c':
        out += PhpDate("Y-m-d\\TH:i:sP", ts, micros);
        break;
      case 'r':
        out += PhpDate("D, d M Y H:i:s O", ts, micros);
        break;
      case 'U':
        out += std::to_string(ts);
        break;
      case '\\':
        if (k + 1 < format.size()) out.push_back(format[++k]);
        break;
      default:
        out.push_back(f);
    }
  }
  return out;
}

std::optional<int64_t> PhpStrtotime(const std::string& text, int64_t base) {
  Parser p;
  for (char ch : text)
    p.s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  int64_t base_days = FloorDiv(base, 86400);
  Civil date = CivilFromDays(base_days);
  int64_t secs = base - base_days * 86400;
  int64_t hour = secs / 3600, minute = (secs / 60) % 60, second = secs % 60;
  int64_t zone_offset = 0;
  int64_t rel_y = 0, rel_m = 0, rel_d = 0, rel_s = 0;
  bool any = false;

  if (p.Done()) return base;
  if (p.s[p.i] == '@') {
    ++p.i;
    bool neg = false;
    if (p.i < p.s.size() && p.s[p.i] == '-') neg = true, ++p.i;
    int64_t v = 0;
    if (!p.ReadInt(v, 1, 19)) return std::nullopt;
    if (!p.Done()) return std::nullopt;
    return neg ? -v : v;
  }

  auto read_time = [&](Parser& q) -> bool {
    size_t save = q.i;
    int64_t h = 0, mi = 0, s = 0;
    if (!q.ReadInt(h, 1, 2) || q.i >= q.s.size() || q.s[q.i] != ':') {
      q.i = save;
      return false;
    }
    ++q.i;
    if (!q.ReadInt(mi, 2, 2)) {
      q.i = save;
      return false;
    }
    if (q.i < q.s.size() && q.s[q.i] == ':') {
      ++q.i;
      if (!q.ReadInt(s, 2, 2)) {
        q.i = save;
        return false;
      }
      if (q.i < q.s.size() && (q.s[q.i] == '.' || q.s[q.i] == ',')) {
        ++q.i;
        int64_t frac = 0;
        q.ReadInt(frac, 1, 9);
      }
    }
    hour = h, minute = mi, second = s;
    // A zone: "z", "utc", "gmt", "+hh:mm", "+hhmm".
    size_t zs = q.i;
    while (q.i < q.s.size() && q.s[q.i] == ' ') ++q.i;
    if (q.i < q.s.size() && (q.s[q.i] == '+' || q.s[q.i] == '-') && q.i + 1 < q.s.size() &&
        std::isdigit(static_cast<unsigned char>(q.s[q.i + 1]))) {
      size_t zstart = q.i;
      int sign = q.s[q.i] == '-' ? -1 : 1;
      ++q.i;
      int64_t zh = 0, zm = 0;
      size_t d0 = q.i;
      q.ReadInt(zh, 1, 4);
      if (q.i - d0 > 2) {
        zm = zh % 100;
        zh /= 100;
      } else if (q.i < q.s.size() && q.s[q.i] == ':') {
        ++q.i;
        q.ReadInt(zm, 2, 2);
      }
      // "+7 days" after a time is a relative offset, not a zone.
      size_t look = q.i;
      while (look < q.s.size() && q.s[look] == ' ') ++look;
      if (look < q.s.size() && std::isalpha(static_cast<unsigned char>(q.s[look]))) {
        q.i = zstart;
      } else {
        zone_offset = sign * (zh * 3600 + zm * 60);
      }
    } else if (q.i < q.s.size() && q.s[q.i] == 'z' &&
               (q.i + 1 == q.s.size() || !std::isalpha(static_cast<unsigned char>(q.s[q.i + 1])))) {
      ++q.i;
    } else if (q.s.compare(q.i, 3, "utc") == 0 || q.s.compare(q.i, 3, "gmt") == 0) {
      q.i += 3;
    } else {
      q.i = zs;
    }
    return true;
  };

  while (!p.Done()) {
    size_t start = p.i;
    char ch = p.s[p.i];
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      // A date: YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY, DD-MM-YYYY, DD Mon YYYY; or a time; or
      // a relative number ("3 days").
      int64_t a = 0;
      size_t d0 = p.i;
      p.ReadInt(a, 1, 9);
      size_t len = p.i - d0;
      char sep = p.i < p.s.size() ? p.s[p.i] : '\0';
      if (len == 4 && (sep == '-' || sep == '/')) {
        int64_t m = 0, d = 0;
        ++p.i;
        if (!p.ReadInt(m, 1, 2) || p.i >= p.s.size() || p.s[p.i] != sep) return std::nullopt;
        ++p.i;
        if (!p.ReadInt(d, 1, 2)) return std::nullopt;
        date = {a, m, d};
        hour = minute = second = 0;
        if (p.i < p.s.size() && p.s[p.i] == 't') ++p.i;
        while (p.i < p.s.size() && p.s[p.i] == ' ') ++p.i;
        read_time(p);
        any = true;
        continue;
      }
      if (len <= 2 && sep == '/') {
        int64_t d = 0, y = 0;
        ++p.i;
        if (!p.ReadInt(d, 1, 2) || p.i >= p.s.size() || p.s[p.i] != '/') return std::nullopt;
        ++p.i;
        if (!p.ReadInt(y, 4, 4)) return std::nullopt;
        date = {y, a, d};
        hour = minute = second = 0;
        while (p.i < p.s.size() && p.s[p.i] == ' ') ++p.i;
        read_time(p);
        any = true;
        continue;
      }
      if (len <= 2 && (sep == '-' || sep == '.') && p.i + 1 < p.s.size() &&
          std::isdigit(static_cast<unsigned char>(p.s[p.i + 1]))) {
        int64_t m = 0, y = 0;
        ++p.i;
        if (!p.ReadInt(m, 1, 2) || p.i >= p.s.size() || p.s[p.i] != sep) return std::nullopt;
        ++p.i;
        if (!p.ReadInt(y, 4, 4)) return std::nullopt;
        date = {y, m, a};
        hour = minute = second = 0;
        while (p.i < p.s.size() && p.s[p.i] == ' ') ++p.i;
        read_time(p);
        any = true;
        continue;
      }
      if (len <= 2 && sep == ':') {
        p.i = start;
        if (!read_time(p)) return std::nullopt;
        any = true;
        continue;
      }
      if (len <= 2) {
        // "21 Dec 2000"
        size_t save = p.i;
        p.SkipSpaces();
        std::string word = p.ReadWord();
        int month = MonthFromName(word);
        if (month > 0) {
          p.SkipSpaces();
          int64_t y = date.year;
          size_t ys = p.i;
          if (!p.ReadInt(y, 4, 4)) {
            p.i = ys;
            y = date.year;
          }
          date = {y, month, a};
          hour = minute = second = 0;
          p.SkipSpaces();
          read_time(p);
          any = true;
          continue;
        }
        p.i = save;
      }
      // A bare number: relative ("3 days") handled below.
      p.i = start;
    }
    if (ch == '+' || ch == '-' || std::isdigit(static_cast<unsigned char>(ch))) {
      int sign = 1;
      if (ch == '+' || ch == '-') {
        sign = ch == '-' ? -1 : 1;
        ++p.i;
        while (p.i < p.s.size() && p.s[p.i] == ' ') ++p.i;
      }
      int64_t n = 0;
      if (!p.ReadInt(n, 1, 12)) return std::nullopt;
      while (p.i < p.s.size() && p.s[p.i] == ' ') ++p.i;
      std::string unit = p.ReadWord();
      int64_t v = sign * n;
      // "ago" after the unit inverts this offset.
      size_t save = p.i;
      p.SkipSpaces();
      if (p.ReadWord() == "ago") {
        v = -v;
      } else {
        p.i = save;
      }
      if (unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
        rel_s += v;
      else if (unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
        rel_s += v * 60;
      else if (unit == "hour" || unit == "hours")
        rel_s += v * 3600;
      else if (unit == "day" || unit == "days")
        rel_d += v;
      else if (unit == "week" || unit == "weeks")
        rel_d += 7 * v;
      else if (unit == "fortnight" || unit == "fortnights")
        rel_d += 14 * v;
      else if (unit == "month" || unit == "months")
        rel_m += v;
      else if (unit == "year" || unit == "years")
        rel_y += v;
      else
        return std::nullopt;
      any = true;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(ch))) {
      std::string word = p.ReadWord();
      if (word == "now") {
      } else if (word == "today" || word == "midnight") {
        hour = minute = second = 0;
      } else if (word == "noon") {
        hour = 12, minute = second = 0;
      } else if (word == "tomorrow") {
        rel_d += 1;
        hour = minute = second = 0;
      } else if (word == "yesterday") {
        rel_d -= 1;
        hour = minute = second = 0;
      } else if (word == "t") {
        read_time(p);
      } else if (word == "utc" || word == "gmt" || word == "z") {
      } else if (IsDayName(word)) {
        // A weekday name in an RFC date ("Thu, 21 Dec 2000") carries no information.
      } else if (int month = MonthFromName(word); month > 0) {
        // "Dec 21 2000" / "December 2000"
        p.SkipSpaces();
        int64_t d = 1, y = date.year;
        size_t ds = p.i;
        if (p.ReadInt(d, 1, 2)) {
          p.SkipSpaces();
          size_t ys = p.i;
          if (!p.ReadInt(y, 4, 4)) p.i = ys;
        } else {
          p.i = ds;
          if (!p.ReadInt(y, 4, 4)) p.i = ds;
        }
        date = {y, month, d};
        hour = minute = second = 0;
        p.SkipSpaces();
        read_time(p);
      } else {
        return std::nullopt;
      }
      any = true;
      continue;
    }
    return std::nullopt;
  }
  if (!any) return std::nullopt;
  int64_t days = DaysFromCivil(date.year + rel_y, date.month + rel_m, date.day) + rel_d;
  return days * 86400 + hour * 3600 + minute * 60 + second + rel_s - zone_offset;
}

}  // namespace swan::connectors
