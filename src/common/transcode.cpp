#include "common/transcode.h"

#include <fcntl.h>
#include <iconv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace swan::transcode {

namespace {

constexpr std::string_view kAcceptedNames =
    "utf-8, utf-16 (byte order from the BOM, default little-endian), utf-16le, utf-16be, "
    "latin-1 (iso-8859-1), windows-1250, windows-1252";
constexpr size_t kEchoedNameMax = 40;  // of an unknown name, in the error message
constexpr size_t kShownBytesMax = 4;   // undecodable bytes quoted in the error message
constexpr size_t kBomBytesMax = 3;     // the longest BOM handled (UTF-8's)

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// One UTF-8 sequence at the start of [p, p + n), by Unicode table 3-7 (well-formed sequences).
struct Utf8Step {
  enum Kind { kValid, kInvalid, kIncomplete } kind;
  size_t length;  // kValid: the sequence; kInvalid: its maximal ill-formed subpart (>= 1)
};

Utf8Step DecodeUtf8(const unsigned char* p, size_t n) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return {Utf8Step::kValid, 1};
  size_t need;                         // continuation bytes
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return {Utf8Step::kInvalid, 1};  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  for (size_t i = 1; i <= need; ++i) {
    if (i >= n) return {Utf8Step::kIncomplete, i};
    const unsigned char b = p[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return {Utf8Step::kInvalid, i};
  }
  return {Utf8Step::kValid, need + 1};
}

std::string HexBytes(const char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (i > 0) s += ' ';
    s += "0x";
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

// How many bytes at `p` (of `n` left) make up the sequence the decoder refused, for the message.
size_t RefusedLength(Encoding e, const char* p, size_t n) {
  size_t len = 1;
  switch (e) {
    case Encoding::kUtf8:
      len = DecodeUtf8(reinterpret_cast<const unsigned char*>(p), n).length;
      break;
    case Encoding::kUtf16Le:
    case Encoding::kUtf16Be: {
      len = 2;
      if (n >= 2) {
        // A high surrogate is refused for the unit after it: show the pair.
        const auto high = static_cast<unsigned char>(e == Encoding::kUtf16Le ? p[1] : p[0]);
        if (high >= 0xD8 && high <= 0xDB) len = 4;
      }
      break;
    }
    case Encoding::kLatin1:
    case Encoding::kWindows1250:
    case Encoding::kWindows1252:
      len = 1;
      break;
  }
  return std::min({len, n, kShownBytesMax});
}

const char* IconvName(Encoding e) {
  switch (e) {
    case Encoding::kUtf8:
      return "UTF-8";
    case Encoding::kUtf16Le:
      return "UTF-16LE";
    case Encoding::kUtf16Be:
      return "UTF-16BE";
    case Encoding::kLatin1:
      return "ISO-8859-1";
    case Encoding::kWindows1250:
      return "CP1250";
    case Encoding::kWindows1252:
      return "CP1252";
  }
  return "UTF-8";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now; the result of close(2) (a deferred write error shows here).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// The source's bytes as the converter reads them: the file's, or inflated from gzip.
class ByteSource {
 public:
  ByteSource(int fd, bool gzip, std::string name) : fd_(fd), gzip_(gzip), name_(std::move(name)) {}
  ~ByteSource() {
    if (zlib_ready_) inflateEnd(&zs_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  Status Init() {
    if (!gzip_) return Status::Ok();
    // 15 + 32: a gzip or zlib header, detected; gzip's CRC-32 and length trailer are checked.
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) return Status::Internal("cannot initialise zlib");
    zlib_ready_ = true;
    compressed_.resize(kTranscodeCompressedBytes);
    return Status::Ok();
  }

  // Up to `cap` (> 0) bytes into `dst`; 0 at the end of the source.
  Result<size_t> Read(char* dst, size_t cap) {
    if (!gzip_) return ReadFile(dst, cap);
    for (;;) {
      if (zs_.avail_in == 0 && !file_done_) {
        ASSIGN_OR_RETURN(size_t n, ReadFile(compressed_.data(), compressed_.size()));
        if (n == 0) file_done_ = true;
        zs_.next_in = reinterpret_cast<Bytef*>(compressed_.data());
        zs_.avail_in = static_cast<uInt>(n);
        compressed_bytes_ += n;
      }
      if (zs_.avail_in == 0) {  // the whole file is read
        if (compressed_bytes_ == 0) return GzipError("empty gzip stream");
        if (in_member_) {
          return GzipError("gzip stream truncated at byte " + std::to_string(compressed_bytes_));
        }
        return size_t{0};
      }
      if (!in_member_) {  // another member follows a complete one
        if (members_ > 0 && inflateReset(&zs_) != Z_OK) return Status::Internal("zlib reset");
        in_member_ = true;
        member_start_ = compressed_bytes_ - zs_.avail_in;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(dst);
      zs_.avail_out = static_cast<uInt>(cap);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const size_t produced = cap - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        in_member_ = false;
        ++members_;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        const uint64_t at = compressed_bytes_ - zs_.avail_in;
        const std::string what = zs_.msg != nullptr ? zs_.msg : "error " + std::to_string(rc);
        if (what == "incorrect header check" || what == "unknown compression method") {
          return GzipError("not gzip data at byte " + std::to_string(member_start_));
        }
        return GzipError("corrupt gzip data at byte " + std::to_string(at) + " (" + what + ")");
      }
      if (produced > 0) return produced;
    }
  }

 private:
  Result<size_t> ReadFile(char* dst, size_t cap) {
    for (;;) {
      const ssize_t n = ::read(fd_, dst, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        return Status::Internal(name_ + ": cannot read the file: " + std::strerror(errno));
      }
    }
  }

  Status GzipError(const std::string& what) const {
    return Status::InvalidArgument(name_ + ": " + what).WithDetail("file", name_);
  }

  int fd_;
  bool gzip_;
  std::string name_;
  z_stream zs_{};
  bool zlib_ready_ = false;
  std::vector<char> compressed_;
  uint64_t compressed_bytes_ = 0;
  uint64_t members_ = 0;       // members that ended with their trailer
  uint64_t member_start_ = 0;  // offset of the current member's first byte
  bool in_member_ = false;
  bool file_done_ = false;
};

// One conversion step's outcome, iconv's errno cases as values.
enum class Step { kDone, kOutputFull, kIncomplete, kInvalid };

// Decodes `from` into UTF-8: glibc iconv, except UTF-8 itself, which is validated and copied
// (glibc's UTF-8 decoder accepts F4 90.. through 6-byte forms, code points past U+10FFFF, and
// writes them back out: its output would not be valid UTF-8).
class Converter {
 public:
  explicit Converter(Encoding from) : from_(from) {}
  ~Converter() {
    if (cd_ != kNoIconv) iconv_close(cd_);
  }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  Status Init() {
    if (from_ == Encoding::kUtf8) return Status::Ok();
    cd_ = iconv_open("UTF-8", IconvName(from_));
    if (cd_ == kNoIconv) {
      // glibc loads CP125x from gconv modules: a runtime image without them fails here.
      return Status::Internal(std::string("iconv cannot convert from ") + IconvName(from_) + ": " +
                              std::strerror(errno));
    }
    return Status::Ok();
  }

  // Converts from *in, advancing *in / *out and lowering the counts like iconv(3).
  Step Convert(char** in, size_t* in_left, char** out, size_t* out_left) {
    if (from_ == Encoding::kUtf8) return CopyUtf8(in, in_left, out, out_left);
    if (iconv(cd_, in, in_left, out, out_left) != static_cast<size_t>(-1)) return Step::kDone;
    switch (errno) {
      case E2BIG:
        return Step::kOutputFull;
      case EINVAL:
        return Step::kIncomplete;
      default:  // EILSEQ
        return Step::kInvalid;
    }
  }

 private:
  static Step CopyUtf8(char** in, size_t* in_left, char** out, size_t* out_left) {
    const auto* p = reinterpret_cast<const unsigned char*>(*in);
    const size_t n = *in_left;
    const size_t limit = std::min(n, *out_left);
    size_t i = 0;
    Step step = Step::kDone;
    while (i < limit) {
      if (p[i] < 0x80) {
        ++i;
        continue;
      }
      const Utf8Step s = DecodeUtf8(p + i, n - i);
      if (s.kind == Utf8Step::kInvalid) {
        step = Step::kInvalid;
        break;
      }
      if (s.kind == Utf8Step::kIncomplete) {
        step = Step::kIncomplete;
        break;
      }
      if (i + s.length > limit) break;  // the output is full (limit < n)
      i += s.length;
    }
    std::memcpy(*out, *in, i);
    *in += i;
    *in_left -= i;
    *out += i;
    *out_left -= i;
    if (step == Step::kDone && *in_left > 0) step = Step::kOutputFull;
    return step;
  }

  static inline const iconv_t kNoIconv = reinterpret_cast<iconv_t>(-1);
  Encoding from_;
  iconv_t cd_ = kNoIconv;
};

// Line and column of the UTF-8 written so far.
struct Position {
  uint64_t line = 1;
  uint64_t chars_in_line = 0;  // code points after the last '\n'

  void Advance(const char* p, size_t n) {
    const char* end = p + n;
    const char* last_newline = static_cast<const char*>(memrchr(p, '\n', n));
    if (last_newline != nullptr) {
      line += static_cast<uint64_t>(std::count(p, last_newline + 1, '\n'));
      chars_in_line = 0;
      p = last_newline + 1;
    }
    for (; p < end; ++p) {
      if ((static_cast<unsigned char>(*p) & 0xC0) != 0x80) ++chars_in_line;
    }
  }
};

Status WriteAll(int fd, const char* p, size_t n, const std::string& name) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      return Status::Internal(name + ": cannot write the UTF-8 copy: " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Result<uint64_t> Transcode(int in_fd, bool gzip, Encoding from, int out_fd,
                           const std::string& name) {
  ByteSource source(in_fd, gzip, name);
  RETURN_IF_ERROR(source.Init());
  std::vector<char> in(kTranscodeInputBytes);
  std::vector<char> out(kTranscodeOutputBytes);

  // The first bytes, for the BOM.
  size_t have = 0;
  bool eof = false;
  while (have < kBomBytesMax && !eof) {
    ASSIGN_OR_RETURN(size_t n, source.Read(in.data() + have, in.size() - have));
    have += n;
    eof = n == 0;
  }
  const std::string_view head(in.data(), have);
  size_t start = 0;
  if (from == Encoding::kUtf8 && head.starts_with("\xEF\xBB\xBF")) {
    start = 3;
  } else if (from == Encoding::kUtf16Le || from == Encoding::kUtf16Be) {
    if (std::optional<Encoding> bom = EncodingFromBom(head)) {
      from = *bom;
      start = 2;
    }
  }
  Converter converter(from);
  RETURN_IF_ERROR(converter.Init());

  Position pos;
  uint64_t written = 0;
  auto emit = [&](const char* p, size_t n) -> Status {
    pos.Advance(p, n);
    written += n;
    return WriteAll(out_fd, p, n, name);
  };
  auto refused = [&](const char* p, size_t n) {
    const std::string line = std::to_string(pos.line);
    const std::string column = std::to_string(pos.chars_in_line + 1);
    return Status::InvalidArgument(name + ": line " + line + ", column " + column +
                                   ": bytes that are not valid " + std::string(EncodingName(from)) +
                                   " (" + HexBytes(p, RefusedLength(from, p, n)) + ")")
        .WithDetail("file", name)
        .WithDetail("line", line)
        .WithDetail("column", column);
  };

  for (;;) {
    char* in_ptr = in.data() + start;
    size_t in_left = have - start;
    while (in_left > 0) {
      char* out_ptr = out.data();
      size_t out_left = out.size();
      const Step step = converter.Convert(&in_ptr, &in_left, &out_ptr, &out_left);
      RETURN_IF_ERROR(emit(out.data(), out.size() - out_left));
      if (step == Step::kInvalid) return refused(in_ptr, in_left);
      if (step == Step::kIncomplete) break;  // carried into the next read
    }
    // in_left bytes begin a sequence that the next read completes (at most a few bytes).
    if (eof) {
      if (in_left > 0) return refused(in_ptr, in_left);  // cut by the end of the input
      break;
    }
    std::memmove(in.data(), in_ptr, in_left);
    have = in_left;
    start = 0;
    ASSIGN_OR_RETURN(size_t n, source.Read(in.data() + have, in.size() - have));
    have += n;
    eof = n == 0;
  }
  return written;
}

}  // namespace

Result<Encoding> ParseEncoding(std::string_view name) {
  struct Alias {
    std::string_view name;
    Encoding encoding;
  };
  static constexpr Alias kAliases[] = {
      {"utf-8", Encoding::kUtf8},         {"utf8", Encoding::kUtf8},
      {"utf-16", Encoding::kUtf16Le},     {"utf16", Encoding::kUtf16Le},
      {"utf-16le", Encoding::kUtf16Le},   {"utf-16be", Encoding::kUtf16Be},
      {"latin-1", Encoding::kLatin1},     {"latin1", Encoding::kLatin1},
      {"iso-8859-1", Encoding::kLatin1},  {"windows-1250", Encoding::kWindows1250},
      {"cp1250", Encoding::kWindows1250}, {"windows-1252", Encoding::kWindows1252},
      {"cp1252", Encoding::kWindows1252},
  };
  for (const Alias& a : kAliases) {
    if (EqualsIgnoreCase(name, a.name)) return a.encoding;
  }
  // The user's text echoed printable and bounded.
  std::string shown;
  for (char c : name.substr(0, kEchoedNameMax)) shown += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (name.size() > kEchoedNameMax) shown += "...";
  return Status::InvalidArgument("unknown encoding '" + shown + "': use one of " +
                                 std::string(kAcceptedNames))
      .WithDetail("field", "encoding");
}

std::string_view EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kUtf8:
      return "utf-8";
    case Encoding::kUtf16Le:
      return "utf-16le";
    case Encoding::kUtf16Be:
      return "utf-16be";
    case Encoding::kLatin1:
      return "latin-1";
    case Encoding::kWindows1250:
      return "windows-1250";
    case Encoding::kWindows1252:
      return "windows-1252";
  }
  return "utf-8";
}

std::optional<Encoding> EncodingFromBom(std::string_view head) {
  if (head.starts_with("\xFF\xFE")) return Encoding::kUtf16Le;
  if (head.starts_with("\xFE\xFF")) return Encoding::kUtf16Be;
  return std::nullopt;
}

Result<uint64_t> TranscodeToUtf8(const std::string& in_path, bool gzip, Encoding from,
                                 const std::string& out_path, const std::string& display_name) {
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    return Status::Internal(display_name + ": cannot open the file: " + std::strerror(errno));
  }
  ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.get() < 0) {
    return Status::Internal(display_name +
                            ": cannot create the UTF-8 copy: " + std::strerror(errno));
  }
  Result<uint64_t> written = Status::Internal("not run");
  if (::fchmod(out.get(), 0600) != 0) {  // an existing file keeps its mode through O_TRUNC
    written = Status::Internal(display_name +
                               ": cannot restrict the UTF-8 copy: " + std::strerror(errno));
  } else {
    written = Transcode(in.get(), gzip, from, out.get(), display_name);
  }
  if (out.Close() != 0 && written.ok()) {
    written =
        Status::Internal(display_name + ": cannot write the UTF-8 copy: " + std::strerror(errno));
  }
  if (!written.ok()) ::unlink(out_path.c_str());
  return written;
}

std::optional<size_t> FirstInvalidUtf8(std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step s = DecodeUtf8(p + i, n - i);
    if (s.kind == Utf8Step::kInvalid) return i;
    if (s.kind == Utf8Step::kIncomplete) return std::nullopt;  // cut by the end of the prefix
    i += s.length;
  }
  return std::nullopt;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t Utf8CodePoints(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  while (true) {
    std::optional<size_t> bad = FirstInvalidUtf8(text);
    // A sequence cut by the end is valid as a prefix: replaced too, the text ends here.
    if (!bad) {
      size_t keep = text.size();
      size_t back = 0;
      while (back < 4 && back < keep &&
             (static_cast<unsigned char>(text[keep - 1 - back]) & 0xC0) == 0x80)
        ++back;
      if (back < keep) {
        const auto lead = static_cast<unsigned char>(text[keep - 1 - back]);
        const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (need > back + 1) {
          out.append(text.substr(0, keep - 1 - back));
          out += "\xEF\xBF\xBD";
          return out;
        }
      }
      out.append(text);
      return out;
    }
    out.append(text.substr(0, *bad));
    out += "\xEF\xBF\xBD";
    text.remove_prefix(*bad + 1);
  }
}

}  // namespace swan::transcode
