#include "orchestration/time_zone.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "common/fs.h"
#include "orchestration/posix_tz_rule.h"

namespace swan::orchestration {

namespace {

struct LocalType {
  int32_t utc_offset_s = 0;
  bool is_dst = false;
  std::string abbreviation;
};

// Bounds-checked big-endian reads over the bytes of a TZif file.
class TzifReader {
 public:
  explicit TzifReader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(size_t n) const { return bytes_.size() - pos_ >= n; }
  size_t pos() const { return pos_; }
  void Skip(size_t n) { pos_ += n; }
  std::string_view Take(size_t n) {
    const std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint8_t U8() { return static_cast<uint8_t>(bytes_[pos_++]); }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | U8();
    return v;
  }
  int64_t I64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | U8();
    return static_cast<int64_t>(v);
  }
  std::string_view Rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

// The 44-byte header (RFC 8536 section 3.1).
std::optional<TzifHeader> ReadHeader(TzifReader& in) {
  if (!in.Has(44) || in.Take(4) != "TZif") return std::nullopt;
  TzifHeader h;
  h.version = static_cast<char>(in.U8());
  in.Skip(15);
  h.isutcnt = in.U32();
  h.isstdcnt = in.U32();
  h.leapcnt = in.U32();
  h.timecnt = in.U32();
  h.typecnt = in.U32();
  h.charcnt = in.U32();
  return h;
}

// Bytes of a data block with `time_bytes`-byte times, or nothing when the counts are absurd.
std::optional<uint64_t> DataBytes(const TzifHeader& h, uint64_t time_bytes) {
  constexpr uint32_t kCountMax = 1 << 20;  // far above any real file, far below overflow
  for (uint32_t c : {h.isutcnt, h.isstdcnt, h.leapcnt, h.timecnt, h.typecnt, h.charcnt})
    if (c > kCountMax) return std::nullopt;
  return h.timecnt * time_bytes + h.timecnt + h.typecnt * uint64_t{6} + h.charcnt +
         h.leapcnt * (time_bytes + 4) + h.isstdcnt + h.isutcnt;
}

Status BadName(std::string_view name, const std::string& why) {
  return Status::InvalidArgument("unknown time zone '" + std::string(name) + "': " + why);
}

Status CheckZoneName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("time zone name is empty");
  if (name.size() > kZoneNameBytesMax)
    return Status::InvalidArgument("time zone name is longer than " +
                                   std::to_string(kZoneNameBytesMax) + " bytes");
  if (name.front() == '/')
    return BadName(name, "an absolute path is not a zone name (write e.g. Europe/Prague)");
  // Every IANA name starts with a capital (Europe/Prague, UTC, Etc/GMT+5); the lower-case
  // entries of the zoneinfo folder are not zones (localtime, posixrules, right/..., zone.tab).
  if (name.front() < 'A' || name.front() > 'Z')
    return BadName(name, "a zone name starts with a capital letter (e.g. Europe/Prague)");
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return BadName(name, std::string("character '") + c + "' is not in any zone name");
  }
  size_t begin = 0;
  while (begin <= name.size()) {
    size_t slash = name.find('/', begin);
    if (slash == std::string_view::npos) slash = name.size();
    const std::string_view part = name.substr(begin, slash - begin);
    if (part.empty() || part == "." || part == "..")
      return BadName(name, "empty, '.' and '..' parts are not zone names");
    begin = slash + 1;
  }
  return Status::Ok();
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<int64_t> transitions_s;     // ascending
  std::vector<uint8_t> transition_types;  // index into types, one per transition
  std::vector<LocalType> types;           // at least one; types[0] rules before the first
  std::optional<PosixTzRule> footer;      // after the last transition, when the file has one
  int32_t min_offset_s = 0;
  int32_t max_offset_s = 0;

  void ComputeOffsetBounds() {
    min_offset_s = max_offset_s = types.front().utc_offset_s;
    auto widen = [&](int32_t o) {
      min_offset_s = std::min(min_offset_s, o);
      max_offset_s = std::max(max_offset_s, o);
    };
    for (const LocalType& t : types) widen(t.utc_offset_s);
    if (footer) {
      widen(footer->std_offset_s());
      widen(footer->dst_offset_s());
    }
  }
};

TimeZone TimeZone::Utc() {
  static const std::shared_ptr<const Data> utc = [] {
    auto d = std::make_shared<Data>();
    d->name = "UTC";
    d->types.push_back({0, false, "UTC"});
    return d;
  }();
  return TimeZone(utc);
}

Result<TimeZone> TimeZone::Load(std::string_view name, const std::string& zoneinfo_dir) {
  RETURN_IF_ERROR(CheckZoneName(name));
  if (name == "UTC") return Utc();
  const std::string path = zoneinfo_dir + "/" + std::string(name);
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))  // follows links; "Europe" is a folder
    return BadName(name, "no such zone in " + zoneinfo_dir);
  Result<std::string> bytes = fs::ReadFileText(path, kTzifBytesMax);
  if (!bytes.ok()) return BadName(name, bytes.status().message());
  Result<TimeZone> zone = FromTzif(name, *bytes);
  if (!zone.ok()) return BadName(name, zone.status().message());
  return zone;
}

Result<TimeZone> TimeZone::FromTzif(std::string_view name, std::string_view tzif) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("not a TZif file of version 2 or later (" + why + ")");
  };
  TzifReader in(tzif);
  const std::optional<TzifHeader> v1 = ReadHeader(in);
  if (!v1) return bad("no TZif header");
  if (v1->version < '2') return bad("version 1 has no 64-bit data");
  const std::optional<uint64_t> v1_bytes = DataBytes(*v1, 4);
  if (!v1_bytes || !in.Has(*v1_bytes)) return bad("truncated version 1 data");
  in.Skip(*v1_bytes);
  const std::optional<TzifHeader> h = ReadHeader(in);
  if (!h) return bad("no second header");
  const std::optional<uint64_t> data_bytes = DataBytes(*h, 8);
  if (!data_bytes || !in.Has(*data_bytes)) return bad("truncated data");
  if (h->leapcnt != 0)
    return Status::InvalidArgument("counts leap seconds (the right/ zones are not supported)");
  if (h->typecnt == 0 || h->charcnt == 0) return bad("no local time types");
  if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
      (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
    return bad("inconsistent counts");

  auto d = std::make_shared<Data>();
  d->name = std::string(name);
  d->transitions_s.reserve(h->timecnt);
  for (uint32_t i = 0; i < h->timecnt; ++i) {
    d->transitions_s.push_back(in.I64());
    if (i > 0 && d->transitions_s[i] <= d->transitions_s[i - 1])
      return bad("transitions out of order");
  }
  for (uint32_t i = 0; i < h->timecnt; ++i) {
    d->transition_types.push_back(in.U8());
    if (d->transition_types.back() >= h->typecnt) return bad("transition to a missing type");
  }
  struct RawType {
    int32_t utoff;
    bool dst;
    uint8_t desigidx;
  };
  std::vector<RawType> raw(h->typecnt);
  for (RawType& t : raw) {
    t.utoff = static_cast<int32_t>(in.U32());
    t.dst = in.U8() != 0;
    t.desigidx = in.U8();
    // RFC 8536: -2^31 is not an offset; real ones stay within a day.
    if (t.utoff <= -25 * 3600 || t.utoff >= 26 * 3600) return bad("offset out of range");
    if (t.desigidx >= h->charcnt) return bad("abbreviation out of range");
  }
  const std::string_view chars = in.Take(h->charcnt);
  for (const RawType& t : raw) {
    const std::string_view rest = chars.substr(t.desigidx);
    d->types.push_back({t.utoff, t.dst, std::string(rest.substr(0, rest.find('\0')))});
  }
  in.Skip(h->isstdcnt + h->isutcnt);  // leapcnt is 0; these only matter to POSIX-rule fallback

  // Footer: "\n" + POSIX TZ rule (maybe empty) + "\n".
  const std::string_view rest = in.Rest();
  if (rest.size() < 2 || rest.front() != '\n') return bad("no footer");
  const size_t end = rest.find('\n', 1);
  if (end == std::string_view::npos) return bad("unterminated footer");
  const std::string_view rule = rest.substr(1, end - 1);
  if (!rule.empty()) {
    Result<PosixTzRule> parsed = PosixTzRule::Parse(rule);
    if (!parsed.ok()) return parsed.status();
    d->footer = std::move(parsed).value();
  }
  d->ComputeOffsetBounds();
  return TimeZone(std::move(d));
}

Result<TimeZone> TimeZone::FromPosixRule(std::string_view rule) {
  ASSIGN_OR_RETURN(PosixTzRule parsed, PosixTzRule::Parse(rule));
  auto d = std::make_shared<Data>();
  d->name = std::string(rule);
  const ZonePeriod first = parsed.PeriodAt(0);
  d->types.push_back({parsed.std_offset_s(), false, first.abbreviation});
  d->footer = std::move(parsed);
  d->ComputeOffsetBounds();
  return TimeZone(std::move(d));
}

const std::string& TimeZone::name() const { return data_->name; }
int32_t TimeZone::min_offset_s() const { return data_->min_offset_s; }
int32_t TimeZone::max_offset_s() const { return data_->max_offset_s; }

ZonePeriod TimeZone::PeriodAt(int64_t utc_s) const {
  const Data& d = *data_;
  const std::vector<int64_t>& t = d.transitions_s;
  if (t.empty() || utc_s >= t.back()) {
    const int64_t floor_s = t.empty() ? kUnboundedPastS : t.back();
    if (d.footer) {
      ZonePeriod p = d.footer->PeriodAt(utc_s);
      p.begin_s = std::max(p.begin_s, floor_s);
      return p;
    }
    const LocalType& type = t.empty() ? d.types.front() : d.types[d.transition_types.back()];
    return {floor_s, kUnboundedFutureS, type.utc_offset_s, type.is_dst, type.abbreviation};
  }
  if (utc_s < t.front()) {
    const LocalType& type = d.types.front();
    return {kUnboundedPastS, t.front(), type.utc_offset_s, type.is_dst, type.abbreviation};
  }
  const size_t i = static_cast<size_t>(std::upper_bound(t.begin(), t.end(), utc_s) - t.begin()) - 1;
  const LocalType& type = d.types[d.transition_types[i]];
  return {t[i], t[i + 1], type.utc_offset_s, type.is_dst, type.abbreviation};
}

LocalTimeInstants TimeZone::FromLocal(int64_t local_s) const {
  // Every instant local_s can stand for lies in [lo, hi]; walk the periods over that window.
  const int64_t lo = local_s - data_->max_offset_s;
  const int64_t hi = local_s - data_->min_offset_s;
  constexpr int kPeriodsMax = 16;  // a window of at most ~2 days holds a few changes
  std::vector<int64_t> instants;
  std::optional<int64_t> gap_end_s;
  ZonePeriod period = PeriodAt(lo);
  for (int i = 0; i < kPeriodsMax; ++i) {
    const int64_t u = local_s - period.utc_offset_s;
    if (u >= period.begin_s && u < period.end_s) instants.push_back(u);
    if (period.end_s > hi || period.end_s >= kUnboundedFutureS) break;
    const ZonePeriod next = PeriodAt(period.end_s);
    const int64_t change_s = period.end_s;
    // Clocks jumped from change + old offset to change + new offset: local_s fell between.
    if (!gap_end_s && change_s + period.utc_offset_s <= local_s &&
        local_s < change_s + next.utc_offset_s)
      gap_end_s = change_s;
    period = next;
  }
  LocalTimeInstants out;
  if (instants.size() >= 2) {
    out.kind = LocalTimeInstants::Kind::kRepeated;
    out.first_s = instants[0];
    out.second_s = instants[1];
  } else if (instants.size() == 1) {
    out.first_s = out.second_s = instants[0];
  } else {
    out.kind = LocalTimeInstants::Kind::kSkipped;
    out.first_s = out.second_s = gap_end_s.value_or(hi);
  }
  return out;
}

}  // namespace swan::orchestration
