#include "orchestration/cron_expression.h"

#include <array>
#include <cctype>
#include <vector>

#include "orchestration/civil_time.h"

namespace swan::orchestration {
namespace {

struct FieldSpec {
  int number;        // 1-5, as the error messages count
  const char* name;  // "hour"
  int min;
  int max;                                   // 7 for day-of-week: 7 is Sunday too
  const std::array<const char*, 13>* names;  // names[value], nullptr where a value has none
  const char* names_hint;                    // "a month name (JAN-DEC)"
};

constexpr std::array<const char*, 13> kMonthNames = {
    nullptr, "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 13> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kFields[5] = {
    {1, "minute", 0, 59, nullptr, nullptr},
    {2, "hour", 0, 23, nullptr, nullptr},
    {3, "day-of-month", 1, 31, nullptr, nullptr},
    {4, "month", 1, 12, &kMonthNames, "a month name (JAN-DEC)"},
    {5, "day-of-week", 0, 7, &kDayNames, "a day name (SUN-SAT)"},
};

struct Shortcut {
  const char* name;
  const char* expansion;
};
constexpr Shortcut kShortcuts[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

// A value that cannot be a field of any range: long digit strings stop here, before overflow.
constexpr size_t kNumberDigitsMax = 4;

Status FieldError(const FieldSpec& field, const std::string& what) {
  return Status::InvalidArgument("cron field " + std::to_string(field.number) + " (" + field.name +
                                 "): " + what);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string RangeText(const FieldSpec& field) {
  return std::to_string(field.min) + "-" + std::to_string(field.max);
}

// One number or name of a field, checked against the field's range.
Result<int> ParseValue(const FieldSpec& field, std::string_view token) {
  if (AllDigits(token)) {
    if (token.size() > kNumberDigitsMax)
      return FieldError(field, std::string(token) + " is out of range " + RangeText(field));
    const int value = std::stoi(std::string(token));
    if (value < field.min || value > field.max)
      return FieldError(field, std::string(token) + " is out of range " + RangeText(field));
    return value;
  }
  if (field.names != nullptr) {
    const std::string upper = Upper(token);
    for (size_t v = 0; v < field.names->size(); ++v) {
      const char* name = (*field.names)[v];
      if (name != nullptr && upper == name) return static_cast<int>(v);
    }
  }
  if (token.empty()) return FieldError(field, "a value is missing");
  if (token == "?") return FieldError(field, "? (Quartz) is not cron syntax: write * for \"any\"");
  return FieldError(field, std::string(token) + " is not a number" +
                               (field.names_hint ? std::string(" or ") + field.names_hint : ""));
}

// One item of a list: `*`, `v`, `a-b`, `*/n`, `a-b/n`. Sets its values in `bits`.
Status ParseItem(const FieldSpec& field, std::string_view item, uint64_t& bits) {
  std::string_view base = item;
  int step = 1;
  if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    const int span = field.max - field.min + 1;
    if (!AllDigits(step_text))
      return FieldError(field, "step " + std::string(step_text) + " in " + std::string(item) +
                                   " is not a number");
    if (step_text.size() > kNumberDigitsMax || std::stoi(std::string(step_text)) > span)
      return FieldError(field, "step " + std::string(step_text) + " in " + std::string(item) +
                                   " is larger than the field's range " + RangeText(field));
    step = std::stoi(std::string(step_text));
    if (step == 0)
      return FieldError(field, "step 0 in " + std::string(item) + " must be at least 1");
  }
  int first = 0;
  int last = 0;
  if (base == "*") {
    first = field.min;
    last = field.number == 5 ? 6 : field.max;  // 7 is Sunday again: 0-6 covers the week
  } else if (const size_t dash = base.find('-'); dash != std::string_view::npos) {
    ASSIGN_OR_RETURN(first, ParseValue(field, base.substr(0, dash)));
    ASSIGN_OR_RETURN(last, ParseValue(field, base.substr(dash + 1)));
    // FRI-SUN: SUN is 0 by name, but as a range end it means 7.
    if (field.number == 5 && last == 0 && first > 0) last = 7;
    if (first > last)
      return FieldError(field, "range " + std::string(base) + " starts after it ends");
  } else {
    ASSIGN_OR_RETURN(first, ParseValue(field, base));
    if (base.size() != item.size())
      return FieldError(field, std::string(item) + ": a step needs * or a range before it (write " +
                                   std::string(base) + "-" + std::to_string(field.max) +
                                   std::string(item.substr(base.size())) + ")");
    last = first;
  }
  for (int v = first; v <= last; v += step) bits |= uint64_t{1} << (field.number == 5 ? v % 7 : v);
  return Status::Ok();
}

Result<uint64_t> ParseField(const FieldSpec& field, std::string_view text) {
  uint64_t bits = 0;
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    const std::string_view item = text.substr(
        begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
    if (item.empty()) return FieldError(field, "empty item in the list " + std::string(text));
    RETURN_IF_ERROR(ParseItem(field, item, bits));
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return bits;
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  text = Trim(text);
  if (text.size() > kCronExpressionBytesMax)
    return Status::InvalidArgument("cron expression is " + std::to_string(text.size()) +
                                   " bytes, more than the " +
                                   std::to_string(kCronExpressionBytesMax) + " allowed");
  std::string_view fields_text = text;
  if (!text.empty() && text.front() == '@') {
    const std::string lower = [&] {
      std::string s(text);
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    }();
    fields_text = {};
    for (const Shortcut& s : kShortcuts)
      if (lower == s.name) fields_text = s.expansion;
    if (fields_text.empty())
      return Status::InvalidArgument(
          "unknown cron shortcut " + std::string(text) +
          " (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
  }
  const std::vector<std::string_view> fields = SplitFields(fields_text);
  if (fields.size() != 5)
    return Status::InvalidArgument(
        "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()) + (text.empty() ? "" : ": " + std::string(text)));

  CronExpression expr;
  expr.text_ = std::string(text);
  uint64_t bits[5];
  for (int i = 0; i < 5; ++i) {
    ASSIGN_OR_RETURN(bits[i], ParseField(kFields[i], fields[i]));
  }
  expr.minutes_ = std::bitset<60>(bits[0]);
  expr.hours_ = std::bitset<24>(bits[1]);
  expr.days_of_month_ = std::bitset<32>(bits[2]);
  expr.months_ = std::bitset<13>(bits[3]);
  expr.days_of_week_ = std::bitset<7>(bits[4]);
  expr.wildcard_ = fields[0].front() == '*' || fields[1].front() == '*';
  expr.day_of_month_star_ = fields[2].front() == '*';
  expr.day_of_week_star_ = fields[4].front() == '*';

  // With the day fields ANDed, a day-of-month that no chosen month has never comes (31 2, 30 2,
  // 31 4): refuse it here rather than search for it (a leap year's 29 February does come).
  if (expr.day_of_month_star_ || expr.day_of_week_star_) {
    bool fires = false;
    for (int month = 1; month <= 12 && !fires; ++month) {
      if (!expr.months_.test(month)) continue;
      const int days = DaysInMonth(2000, month);  // a leap year: 29 February counts
      for (int day = 1; day <= days && !fires; ++day) fires = expr.days_of_month_.test(day);
    }
    if (!fires)
      return Status::InvalidArgument("cron expression never fires: no month of field 4 (" +
                                     std::string(fields[3]) + ") has a day of field 3 (" +
                                     std::string(fields[2]) + ")");
  }
  return expr;
}

bool CronExpression::MatchesDay(int day_of_month, int weekday) const {
  const bool dom = days_of_month_.test(day_of_month);
  const bool dow = days_of_week_.test(weekday);
  if (day_of_month_star_ || day_of_week_star_) return dom && dow;
  return dom || dow;
}

}  // namespace swan::orchestration
