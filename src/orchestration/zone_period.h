// One stretch of a time zone's history with a single UTC offset.
#pragma once

#include <cstdint>
#include <string>

namespace swan::orchestration {

// Period bounds that mean "since always" and "for ever": far outside any instant a schedule
// uses, yet far enough from int64's edges that adding an offset cannot overflow.
inline constexpr int64_t kUnboundedPastS = -(int64_t{1} << 60);
inline constexpr int64_t kUnboundedFutureS = int64_t{1} << 60;

// The UTC offset in force over the UTC instants [begin_s, end_s) (Unix seconds).
struct ZonePeriod {
  int64_t begin_s = kUnboundedPastS;
  int64_t end_s = kUnboundedFutureS;
  int32_t utc_offset_s = 0;  // local = UTC + offset: +3600 for CET, -18000 for EST
  bool is_dst = false;
  std::string abbreviation;  // "CEST", "+0530"
};

}  // namespace swan::orchestration
