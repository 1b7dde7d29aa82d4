// Gzip data checked to its end: every member's CRC-32 and length trailer (RFC 1952), with bounds
// on how far it may expand.
//
// DuckDB reads .gz files itself and stops without error where a truncated stream ends: a gzipped
// CSV cut at 60% committed 60% of its rows, the last value cut (issue 8, 10d). And a small gzip
// body can expand a thousandfold (issue 8, 10e). Swan therefore inflates every gzip input once
// with zlib, either while it arrives (Content-Encoding bodies, api/router.cpp) or beside DuckDB's
// load (uploaded .gz files, storage/source_check.*), and commits nothing unless it ends whole.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace swan::gzip {

// How far gzip data may expand. Past `ratio_free_bytes` of output, the output may be at most
// `ratio_max` times the compressed bytes read so far (0: no ratio bound).
struct Limits {
  uint64_t expanded_bytes_max = UINT64_MAX;
  uint64_t ratio_max = 0;
  uint64_t ratio_free_bytes = 0;
};

// Inflates gzip data fed piece by piece: one member or several concatenated (as `gzip` writes
// them when files are joined), nothing after the last one. Not thread-safe.
class Inflater {
 public:
  // Receives the expanded bytes; returns false to stop (Update then fails as `internal`).
  using Sink = std::function<bool(const char* data, size_t size)>;

  // `name` labels error messages (the user's file name). A null `sink` discards the output.
  static Result<std::unique_ptr<Inflater>> Create(std::string name, Limits limits,
                                                  Sink sink = nullptr);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // The next compressed bytes. Fails as invalid_argument ("NAME: gzip CRC mismatch ...",
  // "NAME: not gzip data at byte N") or payload_too_large (a bound of `limits`); after a failure
  // every call fails the same way.
  Status Update(const char* data, size_t size);
  // After the last byte: fails unless the last member ended with its trailer
  // ("NAME: gzip stream truncated at byte N").
  Status Finish();

  uint64_t compressed_bytes() const { return compressed_; }
  uint64_t expanded_bytes() const { return expanded_; }

 private:
  struct State;
  Inflater(std::string name, Limits limits, Sink sink);

  std::string name_;
  Limits limits_;
  Sink sink_;
  std::unique_ptr<State> state_;
  uint64_t compressed_ = 0;
  uint64_t expanded_ = 0;
  uint64_t members_ = 0;       // members that ended with a valid trailer
  uint64_t member_start_ = 0;  // offset of the current member's first byte
  bool in_member_ = false;     // a member has started and not yet ended with its trailer
  Status failed_;
};

// Reads the file at `path` through an Inflater (output discarded). `cancel`, when set, stops the
// check early (with an `unavailable` status). Thread-safe.
Status CheckFile(const std::string& path, const std::string& name, const Limits& limits,
                 const std::atomic<bool>* cancel = nullptr);

// The first `max_bytes` bytes of a file as a reader sees them: decompressed when it is gzip,
// as they are otherwise. Fewer when the file is shorter; an error when it cannot be read.
Result<std::string> ReadDecodedPrefix(const std::string& path, size_t max_bytes);

}  // namespace swan::gzip
