#include "storage/csv_row_check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "common/gzip_check.h"

namespace swan::storage {
namespace {

constexpr size_t kReadChunk = 1 << 20;

// Called for every byte of a row with quotes: one-character tokens (nearly every dialect) are
// compared as characters (a string compare per byte was 15% of a 5M-row load's CPU).
inline bool At(std::string_view s, size_t i, std::string_view token) {
  if (token.size() == 1) return i < s.size() && s[i] == token[0];
  return !token.empty() && i + token.size() <= s.size() && s.compare(i, token.size(), token) == 0;
}

size_t CountToken(std::string_view text, std::string_view token) {
  if (token.size() == 1) return static_cast<size_t>(std::count(text.begin(), text.end(), token[0]));
  size_t n = 0;
  for (size_t i = text.find(token); i != std::string_view::npos;
       i = text.find(token, i + token.size()))
    ++n;
  return n;
}

// Reads `path` in chunks, inflating gzip, and hands each piece to `sink`.
Status ReadDecoded(const std::string& path, bool gzip, const std::string& display_name,
                   const std::function<void(std::string_view)>& sink,
                   const std::atomic<bool>* cancel = nullptr) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Internal(display_name + ": cannot read the uploaded file");
  struct stat info;
  if (!gzip && ::fstat(fd, &info) == 0 && info.st_size > 0) {
    // Mapped, not read: the bytes are in the page cache (just uploaded) and a read() would copy
    // them all once more (a third of this check's time on a 400 MB file).
    const size_t size = static_cast<size_t>(info.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return Status::Internal(display_name + ": cannot map the uploaded file");
    ::madvise(map, size, MADV_SEQUENTIAL);
    const char* data = static_cast<const char*>(map);
    constexpr size_t kPiece = 8 << 20;
    Status st;
    for (size_t off = 0; off < size; off += kPiece) {
      if (cancel && cancel->load()) {
        st = Status::Unavailable(display_name + ": check cancelled");
        break;
      }
      const size_t piece = std::min(kPiece, size - off);
      sink(std::string_view(data + off, piece));
      // Read pages leave this process's memory (they stay in the page cache).
      ::madvise(const_cast<char*>(data) + off, piece, MADV_DONTNEED);
    }
    ::munmap(map, size);
    return st;
  }
  std::unique_ptr<gzip::Inflater> inflater;
  if (gzip) {
    auto created =
        gzip::Inflater::Create(display_name, gzip::Limits{}, [&](const char* p, size_t n) {
          sink(std::string_view(p, n));
          return true;
        });
    if (!created.ok()) {
      ::close(fd);
      return created.status();
    }
    inflater = std::move(*created);
  }
  std::string chunk(kReadChunk, '\0');
  Status st;
  while (true) {
    if (cancel && cancel->load()) {
      st = Status::Unavailable(display_name + ": check cancelled");
      break;
    }
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Status::Internal(display_name + ": reading the uploaded file failed");
      break;
    }
    if (n == 0) break;
    if (inflater) {
      st = inflater->Update(chunk.data(), static_cast<size_t>(n));
      if (!st.ok()) break;
    } else {
      sink(std::string_view(chunk.data(), static_cast<size_t>(n)));
    }
  }
  ::close(fd);
  if (st.ok() && inflater) st = inflater->Finish();
  return st;
}

}  // namespace

CsvRowCheck::CsvRowCheck(CsvDialect dialect, size_t columns, bool pad_missing, size_t keep_max,
                         bool full)
    : d_(std::move(dialect)),
      full_(full),
      columns_(columns),
      pad_missing_(pad_missing),
      keep_max_(keep_max),
      line_end_(d_.newline == "\r" ? '\r' : '\n') {}

void CsvRowCheck::Bad(std::string_view b, size_t begin, size_t end, int64_t lines,
                      std::string reason) {
  ++bad_count_;
  if (bad_.size() >= keep_max_) return;
  BadRow row;
  row.line = line_ + 1;
  row.line_count = lines;
  std::string_view text(b.data() + begin, end - begin);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  row.raw = std::string(text.substr(0, kBadRowTextMax));
  row.reason = std::move(reason);
  bad_lines_.emplace_back(row.line, lines);
  bad_.push_back(std::move(row));
}

bool CsvRowCheck::Record(std::string_view b, size_t& pos, bool final) {
  const char* start = b.data() + pos;
  const size_t avail = b.size() - pos;
  const char* nl = static_cast<const char*>(std::memchr(start, line_end_, avail));
  if (!nl && !final) return false;
  const size_t line_len = nl ? static_cast<size_t>(nl - start) : avail;
  const size_t next = pos + line_len + (nl ? 1 : 0);
  std::string_view text(start, line_len);
  if (line_end_ == '\n' && !text.empty() && text.back() == '\r') text.remove_suffix(1);
  // Preamble and header lines, empty lines and comments are not rows.
  if (line_ < d_.data_line || text.empty() ||
      (!d_.comment.empty() && text.starts_with(d_.comment))) {
    pos = next;
    ++line_;
    return true;
  }
  const std::string& q = d_.quote;
  const std::string& delim = d_.delimiter;
  size_t fields = 0;
  int64_t lines = 1;
  std::string reason;
  size_t end = next;
  const bool quote_free =
      q.empty() || pos + line_len <= quote_free_end_ || text.find(q[0]) == std::string_view::npos;
  if (quote_free && !full_ && !text.ends_with(delim)) {
    // Light check: DuckDB's strict reader refuses every other wrong field count itself.
    fields = columns_;
  } else if (quote_free) {
    fields = CountToken(text, delim) + 1;
  } else {
    // A row with quotes: read it value by value; it may span lines.
    const std::string& e = d_.escape;
    size_t i = pos;
    bool at_start = true;
    fields = 1;
    lines = 0;
    while (true) {
      if (i >= b.size()) {
        if (!final) return false;
        ++lines;
        break;
      }
      if (at_start && At(b, i, q)) {
        i += q.size();
        const int64_t opened = lines;
        bool closed = false;
        // No escape other than the doubled quote: jump to the next quote character, counting
        // the lines the value spans on the way.
        const bool plain = q.size() == 1 && (e.empty() || e == q);
        while (i < b.size()) {
          if (plain && b[i] != q[0]) {
            const char* from = b.data() + i;
            const char* found = static_cast<const char*>(std::memchr(from, q[0], b.size() - i));
            const size_t stop = found ? static_cast<size_t>(found - b.data()) : b.size();
            const int64_t spanned = std::count(from, b.data() + stop, line_end_);
            if (lines + spanned - opened > kMaxQuotedLines) {
              // Where the old byte walk stopped: at the line past the limit.
              while (b[i] != line_end_ || ++lines - opened <= kMaxQuotedLines) ++i;
              break;
            }
            lines += spanned;
            i = stop;
            continue;
          }
          if (!e.empty() && e != q && At(b, i, e) && i + e.size() < b.size()) {
            i += e.size() + 1;
            continue;
          }
          if (At(b, i, q)) {
            if (e == q && At(b, i + q.size(), q)) {
              i += 2 * q.size();
              continue;
            }
            i += q.size();
            closed = true;
            break;
          }
          if (b[i] == line_end_ && ++lines - opened > kMaxQuotedLines) break;
          ++i;
        }
        if (!closed) {
          if (i >= b.size() && !final) return false;
          // The opening line alone is the bad row; reading goes on at the next line.
          Bad(b, pos, next, 1,
              i >= b.size() ? "a quoted value does not close before the end of the file"
                            : "a quoted value does not close within " +
                                  std::to_string(kMaxQuotedLines) + " lines (a stray quote?)");
          pos = next;
          ++line_;
          return true;
        }
        at_start = false;
        if (i < b.size() && !At(b, i, delim) && b[i] != line_end_ &&
            !(b[i] == '\r' && line_end_ == '\n') && reason.empty()) {
          reason = "text after a closing quote in field " + std::to_string(fields) +
                   " (a quote inside a value must be doubled)";
        }
        continue;
      }
      if (At(b, i, delim)) {
        ++fields;
        i += delim.size();
        at_start = true;
        continue;
      }
      if (b[i] == line_end_) {
        ++i;
        ++lines;
        break;
      }
      at_start = false;
      ++i;
    }
    end = i;
  }
  if (reason.empty() && fields > columns_) {
    reason = "the row has " + std::to_string(fields) + " fields but the header has " +
             std::to_string(columns_);
    if (fields == columns_ + 1) {
      std::string_view row(b.data() + pos, end - pos);
      while (!row.empty() && (row.back() == '\n' || row.back() == '\r')) row.remove_suffix(1);
      if (row.ends_with(delim)) reason += " (an extra delimiter at its end)";
    }
  } else if (reason.empty() && fields < columns_ && !pad_missing_) {
    reason = "the row has " + std::to_string(fields) + " fields but the header has " +
             std::to_string(columns_) +
             "; if only empty trailing fields are missing (Excel drops them), import with "
             "pad_missing_trailing=true";
  }
  if (!reason.empty()) Bad(b, pos, end, lines, std::move(reason));
  ++rows_;
  pos = end;
  line_ += lines;
  return true;
}

void CsvRowCheck::Feed(std::string_view data) {
  if (!buf_.empty()) {
    // Complete the record the last piece cut, with this piece's bytes up to its first line end.
    const char* nl = static_cast<const char*>(std::memchr(data.data(), line_end_, data.size()));
    size_t take = nl ? static_cast<size_t>(nl - data.data()) + 1 : data.size();
    buf_.append(data.substr(0, take));
    data.remove_prefix(take);
    size_t pos = 0;
    quote_free_end_ = 0;
    while (pos < buf_.size() && Record(buf_, pos, false)) {
    }
    buf_.erase(0, pos);
    if (!buf_.empty()) {  // a quoted value goes on: read on from the buffer
      buf_.append(data);
      pos = 0;
      while (pos < buf_.size() && Record(buf_, pos, false)) {
      }
      buf_.erase(0, pos);
      return;
    }
  }
  // The rest in place: lines before the piece's first quote character need no quote search.
  const char* first_quote =
      d_.quote.empty()
          ? nullptr
          : static_cast<const char*>(std::memchr(data.data(), d_.quote[0], data.size()));
  quote_free_end_ = first_quote ? static_cast<size_t>(first_quote - data.data()) : data.size();
  size_t pos = 0;
  while (pos < data.size()) {
    if (!full_ && line_ >= d_.data_line && d_.delimiter.size() == 1 && d_.comment.empty() &&
        pos < quote_free_end_) {
      LightScan(data, pos);
      if (pos >= data.size()) break;
    }
    if (!Record(data, pos, false)) break;
  }
  buf_.assign(data.substr(pos));
}

void CsvRowCheck::LightScan(std::string_view data, size_t& pos) {
  // The whole lines before the first quote character: 16 bytes at a time, looking only at line
  // ends (about one in 80 bytes) and the bytes before them.
  const char* base = data.data();
  const char* last_end =
      static_cast<const char*>(memrchr(base + pos, line_end_, quote_free_end_ - pos));
  if (last_end == nullptr) return;
  const size_t end = static_cast<size_t>(last_end - base) + 1;
  const char delim = d_.delimiter[0];
  const __m128i ends = _mm_set1_epi8(line_end_);
  size_t line_start = pos;
  size_t i = pos;
  auto at_line_end = [&](size_t e) {  // data[e] ends a line
    size_t k = e;
    if (line_end_ == '\n' && k > line_start && base[k - 1] == '\r') --k;
    if (k > line_start && base[k - 1] == delim) {
      std::string_view text(base + line_start, k - line_start);
      size_t fields = CountToken(text, d_.delimiter) + 1;
      if (fields != columns_ && !(fields < columns_ && pad_missing_)) {
        std::string reason = "the row has " + std::to_string(fields) +
                             " fields but the header has " + std::to_string(columns_);
        if (fields == columns_ + 1) reason += " (an extra delimiter at its end)";
        Bad(data, line_start, e + 1, 1, std::move(reason));
      }
    }
    if (k > line_start) ++rows_;  // an empty line is not a row (DuckDB skips it)
    ++line_;
    line_start = e + 1;
  };
  for (; i + 16 <= end; i += 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, ends)));
    while (mask != 0) {
      at_line_end(i + static_cast<size_t>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
  for (; i < end; ++i) {
    if (base[i] == line_end_) at_line_end(i);
  }
  pos = end;
}

void CsvRowCheck::Finish() {
  size_t pos = 0;
  quote_free_end_ = 0;
  while (pos < buf_.size() && Record(buf_, pos, true)) {
  }
  buf_.clear();
}

Status CheckCsvRows(const std::string& path, bool gzip, CsvRowCheck& check,
                    const std::string& display_name, const std::atomic<bool>* cancel) {
  RETURN_IF_ERROR(ReadDecoded(
      path, gzip, display_name, [&](std::string_view piece) { check.Feed(piece); }, cancel));
  check.Finish();
  return Status::Ok();
}

Status CopyWithoutLines(const std::string& path, bool gzip,
                        const std::vector<std::pair<int64_t, int64_t>>& lines, char line_end,
                        const std::string& out_path, const std::string& display_name) {
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return Status::Unavailable("cannot write a temporary file for the import");
  std::string pending;
  Status write_status;
  auto flush = [&] {
    size_t off = 0;
    while (off < pending.size() && write_status.ok()) {
      ssize_t n = ::write(out, pending.data() + off, pending.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        write_status = Status::Unavailable("writing a temporary file for the import failed");
      else
        off += static_cast<size_t>(n);
    }
    pending.clear();
  };
  int64_t line = 1;  // the line at the start of the next byte
  size_t next = 0;   // index in `lines` of the next range to empty
  Status st = ReadDecoded(path, gzip, display_name, [&](std::string_view piece) {
    size_t i = 0;
    while (i < piece.size()) {
      while (next < lines.size() && line >= lines[next].first + lines[next].second) ++next;
      bool drop = next < lines.size() && line >= lines[next].first;
      const char* nl =
          static_cast<const char*>(std::memchr(piece.data() + i, line_end, piece.size() - i));
      size_t len = nl ? static_cast<size_t>(nl - (piece.data() + i)) + 1 : piece.size() - i;
      if (drop) {
        if (nl) pending += line_end;  // keep the line, empty
      } else {
        pending.append(piece.data() + i, len);
      }
      if (nl) ++line;
      i += len;
      if (pending.size() >= kReadChunk) flush();
    }
  });
  flush();
  if (::close(out) != 0 && write_status.ok())
    write_status = Status::Unavailable("writing a temporary file for the import failed");
  if (!st.ok() || !write_status.ok()) {
    ::unlink(out_path.c_str());
    return st.ok() ? write_status : st;
  }
  return Status::Ok();
}

}  // namespace swan::storage
