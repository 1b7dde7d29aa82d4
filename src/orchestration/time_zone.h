// IANA time zones ("Europe/Prague"), read from the system's compiled tz database (TZif files,
// RFC 8536, under /usr/share/zoneinfo from Debian's tzdata). The 64-bit table of version 2+
// files gives the listed transitions; the POSIX TZ rule of the file's footer gives every instant
// after the last one, so slim files and instants past 2037 work (docs/architecture.md,
// "Orchestration", says why Swan reads the files itself).
//
// Thread-safety: a TimeZone is an immutable value sharing its data; const methods may be called
// from any thread. Load reads a file and may run on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "orchestration/zone_period.h"

namespace swan::orchestration {

inline constexpr const char* kZoneinfoDir = "/usr/share/zoneinfo";
// Longer zone names are refused (the longest IANA name, America/Argentina/ComodRivadavia, is 32).
inline constexpr size_t kZoneNameBytesMax = 128;
// TZif files larger than this are refused (the largest in tzdata 2025 is under 4 KiB).
inline constexpr int64_t kTzifBytesMax = int64_t{1} << 20;

// What one local wall-clock time stands for in a zone.
struct LocalTimeInstants {
  enum class Kind {
    kUnique,    // one instant: first_s
    kRepeated,  // clocks went back: first_s (before the change), then second_s (after)
    kSkipped,   // clocks went forward over it: first_s is the change, the first instant after
  };
  Kind kind = Kind::kUnique;
  int64_t first_s = 0;
  int64_t second_s = 0;  // == first_s unless kRepeated
};

class TimeZone {
 public:
  // The zone "UTC", built in: it needs no file.
  static TimeZone Utc();

  // The zone `name` ("Europe/Prague", "UTC"). invalid_argument for a name that is not a zone:
  // empty, too long, absolute, not starting with a capital letter (so not "../x", "localtime",
  // "right/..."), with empty parts or characters outside [A-Za-z0-9_+-/] (so no "." or ".."), no
  // regular file under zoneinfo_dir, or a file that is not a TZif file of version 2 or later or
  // counts leap seconds. zoneinfo_dir is for tests.
  static Result<TimeZone> Load(std::string_view name,
                               const std::string& zoneinfo_dir = kZoneinfoDir);

  // A zone from the bytes of a TZif file (version 2 or later). invalid_argument when they are
  // not one; `name` only names the zone in messages and name().
  static Result<TimeZone> FromTzif(std::string_view name, std::string_view tzif);

  // A zone given by a POSIX TZ rule alone ("EST5EDT,M3.2.0,M11.1.0").
  static Result<TimeZone> FromPosixRule(std::string_view rule);

  const std::string& name() const;

  // The period (offset, abbreviation, bounds) holding the UTC instant `utc_s` (Unix seconds).
  ZonePeriod PeriodAt(int64_t utc_s) const;
  int32_t OffsetAt(int64_t utc_s) const { return PeriodAt(utc_s).utc_offset_s; }

  // The instants a local wall-clock time (seconds since 1970-01-01 00:00 of the civil calendar,
  // civil_time.h) stands for.
  LocalTimeInstants FromLocal(int64_t local_s) const;

  // The smallest and largest UTC offset the zone ever uses: a local time L is an instant within
  // [L - max_offset_s, L - min_offset_s], which bounds every search by wall-clock time.
  int32_t min_offset_s() const;
  int32_t max_offset_s() const;

 private:
  struct Data;
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

  std::shared_ptr<const Data> data_;
};

}  // namespace swan::orchestration
