#include "query/sql_wire.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace swan::query::wire {

namespace {

using Clock = std::chrono::steady_clock;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void I64(int64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  void Str(const std::string& s) {
    I64(static_cast<int64_t>(s.size()));
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  bool U8(uint8_t& v) {
    if (pos_ + 1 > in_.size()) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool I64(int64_t& v) {
    if (pos_ + 8 > in_.size()) return false;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Str(std::string& s) {
    int64_t n = 0;
    if (!I64(n) || n < 0 || static_cast<uint64_t>(n) > in_.size() - pos_) return false;
    s.assign(in_, pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // A count of items that take at least `min_bytes` each: bounded by what is left.
  bool Count(size_t& n, size_t min_bytes) {
    int64_t v = 0;
    if (!I64(v) || v < 0 || static_cast<uint64_t>(v) > (in_.size() - pos_) / min_bytes)
      return false;
    n = static_cast<size_t>(v);
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  const std::string& in_;
  size_t pos_ = 0;
};

Status Malformed(const char* what) {
  return Status::Internal(std::string("malformed SQL worker ") + what);
}

}  // namespace

std::string Encode(const Request& r) {
  Writer w;
  w.U8(static_cast<uint8_t>(r.kind));
  w.Str(r.sql);
  w.I64(r.row_limit);
  w.I64(r.timeout_ms);
  w.I64(static_cast<int64_t>(r.answer_bytes_max));
  w.Str(r.out_path);
  w.I64(static_cast<int64_t>(r.tables.size()));
  for (const auto& t : r.tables) {
    w.Str(t.full_id);
    w.Str(t.select_sql);
    w.I64(static_cast<int64_t>(t.files.size()));
    for (const auto& f : t.files) w.Str(f);
  }
  return w.Take();
}

Result<Request> DecodeRequest(const std::string& frame) {
  Reader in(frame);
  Request r;
  uint8_t kind = 0;
  int64_t bytes_max = 0;
  size_t tables = 0;
  if (!in.U8(kind) || (kind != 1 && kind != 2) || !in.Str(r.sql) || !in.I64(r.row_limit) ||
      !in.I64(r.timeout_ms) || !in.I64(bytes_max) || bytes_max < 0 || !in.Str(r.out_path) ||
      !in.Count(tables, 24)) {
    return Malformed("request");
  }
  r.kind = static_cast<Kind>(kind);
  r.answer_bytes_max = static_cast<uint64_t>(bytes_max);
  r.tables.resize(tables);
  for (auto& t : r.tables) {
    size_t files = 0;
    if (!in.Str(t.full_id) || !in.Str(t.select_sql) || !in.Count(files, 8))
      return Malformed("request");
    t.files.resize(files);
    for (auto& f : t.files) {
      if (!in.Str(f)) return Malformed("request");
    }
  }
  if (!in.AtEnd()) return Malformed("request");
  return r;
}

std::string Encode(const Answer& a) {
  Writer w;
  w.I64(static_cast<int64_t>(a.status.code()));
  w.Str(a.status.ok() ? std::string() : a.status.message());
  w.I64(static_cast<int64_t>(a.status.details().size()));
  for (const auto& [k, v] : a.status.details()) {
    w.Str(k);
    w.Str(v);
  }
  const auto& rows = a.result.rows;
  w.I64(static_cast<int64_t>(rows.columns.size()));
  for (const auto& c : rows.columns) {
    w.Str(c.name);
    w.Str(c.type);
  }
  w.I64(static_cast<int64_t>(rows.rows.size()));
  for (const auto& row : rows.rows) {
    for (size_t i = 0; i < rows.columns.size(); ++i) {
      const auto& v = i < row.size() ? row[i] : std::nullopt;
      w.U8(v ? 1 : 0);
      if (v) w.Str(*v);
    }
  }
  w.U8(a.result.truncated ? 1 : 0);
  w.I64(a.parquet_rows);
  return w.Take();
}

Result<Answer> DecodeAnswer(const std::string& frame, uint64_t rows_max) {
  Reader in(frame);
  Answer a;
  int64_t code = 0;
  std::string message;
  size_t details = 0;
  if (!in.I64(code) || code < 0 || code > static_cast<int64_t>(StatusCode::kCancelled) ||
      !in.Str(message) || !in.Count(details, 16)) {
    return Malformed("answer");
  }
  Status st = code == 0 ? Status::Ok() : Status(static_cast<StatusCode>(code), message);
  for (size_t i = 0; i < details; ++i) {
    std::string k, v;
    if (!in.Str(k) || !in.Str(v)) return Malformed("answer");
    st = st.WithDetail(k, std::move(v));
  }
  a.status = std::move(st);
  size_t columns = 0, rows = 0;
  if (!in.Count(columns, 16)) return Malformed("answer");
  auto& out = a.result.rows;
  out.columns.resize(columns);
  for (auto& c : out.columns) {
    if (!in.Str(c.name) || !in.Str(c.type)) return Malformed("answer");
  }
  if (!in.Count(rows, columns == 0 ? 1 : columns) || rows > rows_max) return Malformed("answer");
  out.rows.resize(rows);
  for (auto& row : out.rows) {
    row.resize(columns);
    for (auto& v : row) {
      uint8_t present = 0;
      if (!in.U8(present)) return Malformed("answer");
      if (present) {
        v.emplace();
        if (!in.Str(*v)) return Malformed("answer");
      }
    }
  }
  uint8_t truncated = 0;
  if (!in.U8(truncated) || !in.I64(a.parquet_rows) || !in.AtEnd()) return Malformed("answer");
  a.result.truncated = truncated != 0;
  return a;
}

Status WriteFrame(int fd, const std::string& payload) {
  std::string frame(8, '\0');
  const uint64_t n = payload.size();
  std::memcpy(frame.data(), &n, 8);
  const std::string* parts[] = {&frame, &payload};
  for (const std::string* part : parts) {
    size_t done = 0;
    while (done < part->size()) {
      ssize_t w = ::send(fd, part->data() + done, part->size() - done, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::Unavailable(std::string("SQL worker channel: ") + std::strerror(errno));
      }
      done += static_cast<size_t>(w);
    }
  }
  return Status::Ok();
}

Result<std::string> ReadFrame(int fd, Clock::time_point deadline, const std::function<bool()>& stop,
                              uint64_t bytes_max) {
  constexpr auto kSlice = std::chrono::milliseconds(20);
  constexpr size_t kChunk = size_t{1} << 20;
  char header[8];
  size_t header_done = 0;
  uint64_t length = 0;
  std::string payload;
  while (header_done < 8 || payload.size() < length) {
    if (stop && stop()) return Status::Cancelled("stopped").WithDetail("reason", "stop");
    const auto now = Clock::now();
    if (now >= deadline) return Status::Cancelled("deadline").WithDetail("reason", "deadline");
    const auto wait = std::min<Clock::duration>(deadline - now, kSlice);
    pollfd p{fd, POLLIN, 0};
    int ready =
        ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    if (ready < 0 && errno != EINTR) {
      return Status::Unavailable(std::string("SQL worker channel: ") + std::strerror(errno));
    }
    if (ready <= 0) continue;
    ssize_t r = 0;
    if (header_done < 8) {
      r = ::read(fd, header + header_done, 8 - header_done);
    } else {
      // Grows as bytes arrive: a length alone commits no memory.
      const size_t old = payload.size();
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length - old, kChunk));
      payload.resize(old + want);
      r = ::read(fd, payload.data() + old, want);
      payload.resize(old + static_cast<size_t>(std::max<ssize_t>(r, 0)));
    }
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Unavailable(std::string("SQL worker channel: ") + std::strerror(errno));
    }
    if (r == 0) return Status::Unavailable("closed");
    if (header_done < 8) {
      header_done += static_cast<size_t>(r);
      if (header_done == 8) {
        std::memcpy(&length, header, 8);
        if (length > bytes_max) return Malformed("frame length");
      }
    }
  }
  return payload;
}

}  // namespace swan::query::wire
