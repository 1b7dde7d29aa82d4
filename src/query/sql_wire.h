// The messages between the server and a SQL worker process (query/sql_worker.h): one request,
// one answer, each a length-prefixed frame on a local socket. The encoding is private to one
// binary talking to itself (the worker is the same executable), so it has no version field.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "query/sql_runner.h"

namespace swan::query::wire {

enum class Kind : uint8_t { kQuery = 1, kToParquet = 2 };

struct Request {
  Kind kind = Kind::kQuery;
  std::string sql;
  int64_t row_limit = 0;
  int64_t timeout_ms = 0;  // what is left of the request's time limit when it is sent
  uint64_t answer_bytes_max = 0;
  std::string out_path;  // kToParquet: the file to write
  std::vector<SqlTable> tables;
};

struct Answer {
  Status status;
  SqlResult result;          // kQuery
  int64_t parquet_rows = 0;  // kToParquet
};

std::string Encode(const Request& r);
std::string Encode(const Answer& a);
// Errors: internal (a malformed frame: a bug, never the user's input).
Result<Request> DecodeRequest(const std::string& frame);
// An answer of more than `rows_max` rows is malformed too.
Result<Answer> DecodeAnswer(const std::string& frame, uint64_t rows_max = UINT64_MAX);

// Writes one frame (8-byte length, then the payload), retrying on EINTR and partial writes.
Status WriteFrame(int fd, const std::string& payload);

// Reads one frame of at most `bytes_max` bytes (internal error beyond; the buffer grows as bytes
// arrive, never from the length alone). Blocks until it is whole, the peer closes (unavailable,
// "closed"), `deadline` passes (cancelled, detail "reason" = "deadline"), or `stop` answers true
// (cancelled, detail "reason" = "stop"; asked every few milliseconds; empty = never).
Result<std::string> ReadFrame(int fd, std::chrono::steady_clock::time_point deadline,
                              const std::function<bool()>& stop = {},
                              uint64_t bytes_max = uint64_t{1} << 30);

}  // namespace swan::query::wire
