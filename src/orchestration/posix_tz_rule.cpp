#include "orchestration/posix_tz_rule.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "orchestration/civil_time.h"

namespace swan::orchestration {

// A recursive-descent reader of one POSIX TZ string, position by position.
class PosixTzParser {
 public:
  explicit PosixTzParser(std::string_view text) : text_(text) {}

  Result<PosixTzRule> Run() {
    PosixTzRule rule;
    rule.text_ = std::string(text_);
    ASSIGN_OR_RETURN(rule.std_name_, Name());
    ASSIGN_OR_RETURN(const int32_t std_west_s, Offset(24));
    rule.std_offset_s_ = -std_west_s;  // POSIX counts hours west of Greenwich
    if (AtEnd()) return rule;
    ASSIGN_OR_RETURN(rule.dst_name_, Name());
    rule.has_dst_ = true;
    rule.dst_offset_s_ = rule.std_offset_s_ + 3600;
    if (!AtEnd() && text_[pos_] != ',') {
      ASSIGN_OR_RETURN(const int32_t dst_west_s, Offset(24));
      rule.dst_offset_s_ = -dst_west_s;
    }
    if (AtEnd()) {
      // No dates: POSIX leaves them to the implementation; tzcode uses the US rules.
      rule.start_ = {PosixTzRule::DateRule::Kind::kMonthWeekDay, 0, 3, 2, 0, 2 * 3600};
      rule.end_ = {PosixTzRule::DateRule::Kind::kMonthWeekDay, 0, 11, 1, 0, 2 * 3600};
      return rule;
    }
    RETURN_IF_ERROR(Expect(','));
    ASSIGN_OR_RETURN(rule.start_, Date());
    RETURN_IF_ERROR(Expect(','));
    ASSIGN_OR_RETURN(rule.end_, Date());
    if (!AtEnd()) return Error("unexpected text");
    return rule;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("POSIX TZ rule '" + std::string(text_) + "': " + what +
                                   " at position " + std::to_string(pos_ + 1));
  }

  Status Expect(char c) {
    if (AtEnd() || text_[pos_] != c) return Error(std::string("expected '") + c + "'");
    ++pos_;
    return Status::Ok();
  }

  // "EST" (3+ letters) or "<+0530>" (3+ of letters, digits, + and -).
  Result<std::string> Name() {
    const size_t start = pos_;
    if (!AtEnd() && text_[pos_] == '<') {
      ++pos_;
      while (!AtEnd() && text_[pos_] != '>') {
        const char c = text_[pos_];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-')
          return Error("bad character in a quoted zone name");
        ++pos_;
      }
      if (AtEnd()) return Error("quoted zone name without '>'");
      ++pos_;
      if (pos_ - start < 5) return Error("zone name shorter than 3 characters");
      return std::string(text_.substr(start + 1, pos_ - start - 2));
    }
    while (!AtEnd() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ - start < 3) return Error("zone name shorter than 3 letters");
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<int> Number(size_t digits_max) {
    const size_t start = pos_;
    int value = 0;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(text_[pos_])) &&
           pos_ - start < digits_max)
      value = value * 10 + (text_[pos_++] - '0');
    if (pos_ == start) return Error("expected a number");
    return value;
  }

  // [+-]hh[:mm[:ss]] with hours up to hours_max, as signed seconds.
  Result<int32_t> Offset(int hours_max) {
    int sign = 1;
    if (!AtEnd() && (text_[pos_] == '+' || text_[pos_] == '-'))
      sign = text_[pos_++] == '-' ? -1 : 1;
    ASSIGN_OR_RETURN(const int hours, Number(3));
    if (hours > hours_max) return Error("hours out of range");
    int seconds = hours * 3600;
    for (int part = 0; part < 2 && !AtEnd() && text_[pos_] == ':'; ++part) {
      ++pos_;
      ASSIGN_OR_RETURN(const int v, Number(2));
      if (v > 59) return Error("minutes or seconds out of range");
      seconds += part == 0 ? v * 60 : v;
    }
    return sign * seconds;
  }

  Result<PosixTzRule::DateRule> Date() {
    PosixTzRule::DateRule rule;
    using Kind = PosixTzRule::DateRule::Kind;
    if (!AtEnd() && text_[pos_] == 'J') {
      ++pos_;
      rule.kind = Kind::kJulianNoLeap;
      ASSIGN_OR_RETURN(rule.day, Number(3));
      if (rule.day < 1 || rule.day > 365) return Error("Jn day out of range 1-365");
    } else if (!AtEnd() && text_[pos_] == 'M') {
      ++pos_;
      rule.kind = Kind::kMonthWeekDay;
      ASSIGN_OR_RETURN(rule.month, Number(2));
      RETURN_IF_ERROR(Expect('.'));
      ASSIGN_OR_RETURN(rule.week, Number(1));
      RETURN_IF_ERROR(Expect('.'));
      ASSIGN_OR_RETURN(rule.weekday, Number(1));
      if (rule.month < 1 || rule.month > 12 || rule.week < 1 || rule.week > 5 || rule.weekday > 6)
        return Error("Mm.w.d out of range");
    } else {
      rule.kind = Kind::kZeroBased;
      ASSIGN_OR_RETURN(rule.day, Number(3));
      if (rule.day > 365) return Error("day out of range 0-365");
    }
    if (!AtEnd() && text_[pos_] == '/') {
      ++pos_;
      ASSIGN_OR_RETURN(rule.time_s, Offset(167));
    }
    return rule;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Result<PosixTzRule> PosixTzRule::Parse(std::string_view text) { return PosixTzParser(text).Run(); }

int64_t PosixTzRule::LocalTransition(int64_t year, const DateRule& rule) {
  int64_t days = 0;
  switch (rule.kind) {
    case DateRule::Kind::kJulianNoLeap:
      days = DaysFromCivil(year, 1, 1) + rule.day - 1 + (IsLeapYear(year) && rule.day >= 60);
      break;
    case DateRule::Kind::kZeroBased:
      days = DaysFromCivil(year, 1, 1) + rule.day;
      break;
    case DateRule::Kind::kMonthWeekDay: {
      const int64_t first = DaysFromCivil(year, rule.month, 1);
      int day = (rule.weekday - WeekdayFromDays(first) + 7) % 7 + (rule.week - 1) * 7;
      while (day >= DaysInMonth(year, rule.month)) day -= 7;  // week 5: the last such weekday
      days = first + day;
      break;
    }
  }
  return days * kSecondsPerDay + rule.time_s;
}

ZonePeriod PosixTzRule::PeriodAt(int64_t utc_s) const {
  if (!has_dst_) return {kUnboundedPastS, kUnboundedFutureS, std_offset_s_, false, std_name_};
  struct Change {
    int64_t at_s;
    bool into_dst;
  };
  // Two years either side: a transition time may lie up to 167 hours from its date, so the
  // changes of the year before always hold one at or before utc_s.
  std::array<Change, 10> changes;
  const int64_t year = CivilFromDays(FloorDiv(utc_s, kSecondsPerDay)).year;
  for (int i = 0; i < 5; ++i) {
    changes[2 * i] = {LocalTransition(year - 2 + i, start_) - std_offset_s_, true};
    changes[2 * i + 1] = {LocalTransition(year - 2 + i, end_) - dst_offset_s_, false};
  }
  // Ties (daylight saving time all year: "EST5EDT,0/0,J365/25") end before they start again.
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return a.at_s != b.at_s ? a.at_s < b.at_s : a.into_dst < b.into_dst;
  });
  ZonePeriod period;
  bool dst = false;
  for (const Change& c : changes) {
    if (c.at_s <= utc_s) {
      period.begin_s = c.at_s;
      dst = c.into_dst;
    } else {
      period.end_s = c.at_s;
      break;
    }
  }
  period.is_dst = dst;
  period.utc_offset_s = dst ? dst_offset_s_ : std_offset_s_;
  period.abbreviation = dst ? dst_name_ : std_name_;
  return period;
}

}  // namespace swan::orchestration
