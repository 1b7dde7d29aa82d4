// PHP's date() and strtotime() as the Generic Extractor's user functions use them, in UTC (the
// timezone of Keboola's component containers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swan::connectors {

// PHP date($format, $timestamp): all format characters of PHP 8 except the Swatch beat ("B"
// gives "000"); backslash escapes. `micros` fills "u"/"v" (0 for a given timestamp, as PHP).
std::string PhpDate(const std::string& format, int64_t timestamp, int64_t micros = 0);

// PHP strtotime($text, $base): the forms configurations use — "now", "@ts", "today",
// "midnight", "noon", "tomorrow", "yesterday", ISO dates and date-times (with "T", a zone "Z" or
// "+hh:mm"), "YYYY/MM/DD", "MM/DD/YYYY", RFC 1123/2822 dates ("Thu, 21 Dec 2000 16:01:07 +0000",
// "21 Dec 2000"), and relative offsets ("+7 days", "-1 day", "2 weeks ago", "+1 month -2 hours")
// alone or after a date. nullopt where PHP would answer false (or a form not supported here).
std::optional<int64_t> PhpStrtotime(const std::string& text, int64_t base);

// Days since 1970-01-01 for a proleptic Gregorian date (month 1-12; out-of-range days and
// months carry over, as PHP's date arithmetic does).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day);

}  // namespace swan::connectors
