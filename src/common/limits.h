// Every limit and default of Swan, in one place (TigerBeetle: a limit on everything). Routes, the
// CLI's --help, the services and the docs read these names; nothing spells the values again.
// docs/api.md ("Limits") lists them for users; tests check each at both edges.
#pragma once

#include <cstddef>
#include <cstdint>

namespace swan::limits {

// Where `swan server` and `swan demo` keep their data when --data is not given.
inline constexpr const char* kDefaultDataDir = "swan-data";
// DuckDB memory limit of each engine instance (imports, exports, each SQL sandbox), when neither
// --memory-limit nor SWAN_MEMORY_LIMIT says otherwise.
inline constexpr const char* kDefaultMemoryLimit = "512MB";

// Table preview: rows per answer.
inline constexpr int64_t kPreviewRowsDefault = 100;
inline constexpr int64_t kPreviewRowsMax = 1000;
// max_bad_rows of an import at most: bad rows are kept in memory (1 KiB of text each) until they
// are written to the quarantine table.
inline constexpr int64_t kMaxBadRowsMax = 100000;

// Read-only SQL: rows per answer, time per query (counted from the request's start), SQL text.
inline constexpr int64_t kSqlRowsDefault = 1000;
inline constexpr int64_t kSqlRowsMax = 100000;
inline constexpr int64_t kSqlTimeoutMsDefault = 30000;
inline constexpr int64_t kSqlTimeoutMsMax = 3600 * 1000;
// Longer SQL text is refused (413): DuckDB plans a 1 MiB IN list in about 3 s, and planning is
// the one step no interrupt reaches.
inline constexpr size_t kSqlTextBytesMax = size_t{1} << 20;  // 1 MiB of SQL text
// Rendered bytes of one SQL answer (JSON or CSV): past this, rows stop and the answer says
// truncated: true. The server holds an answer about three times over while rendering it (rows as
// text, the JSON document, the body), so 32 MiB keeps one answer near 100 MB.
inline constexpr size_t kSqlAnswerBytesMax = size_t{32} << 20;
// SQL sandboxes (each may use up to the memory limit) running at once in one process; past this
// the answer is `unavailable` with Retry-After.
inline constexpr int kSqlSandboxesMax = 4;
// How long a query waits for a free sandbox (within its time limit) before that answer.
inline constexpr int64_t kSqlSandboxWaitMs = 1000;
inline constexpr int kRetryAfterSecondsDefault = 1;

// Audit events per answer.
inline constexpr int kEventsDefault = 100;
inline constexpr int kEventsMax = 1000;

// Garbage collection keeps versions and files younger than this.
inline constexpr int64_t kRetentionSecondsDefault = 7 * 24 * 3600;

// Request bodies.
inline constexpr size_t kJsonBodyBytesMax = size_t{8} << 20;
inline constexpr uint64_t kUploadBytesMax = uint64_t{1} << 40;  // 1 TiB
// A "Content-Encoding: gzip" upload, decoded while it arrives: past its first
// kGzipBodyRatioFreeBytes, at most kGzipBodyRatioMax times the compressed bytes received so far
// (CSV compresses 3-15x, a decompression bomb ~1000x), and at most kUploadBytesMax in all; past
// either bound the answer is 413 at once.
inline constexpr uint64_t kGzipBodyRatioMax = 100;
inline constexpr uint64_t kGzipBodyRatioFreeBytes = uint64_t{1} << 20;

// Upload files kept between imports (storage/upload_spool.h): at most this many, each at most
// this large, and only while the disk has this many times the file's size free.
inline constexpr size_t kUploadSpoolFilesKept = 2;
inline constexpr uint64_t kUploadSpoolFileBytesMax = uint64_t{2} << 30;  // 2 GiB
inline constexpr uint64_t kUploadSpoolFreeDiskFactor = 8;

// Heavy requests (SQL, imports, and any request whose body streams in after its head) running at
// once: per token (past it 429) and in the whole server (past it 503), both with Retry-After. The
// server bound stays well below the HTTP worker threads (api/buffered_http_server.h), so that
// light requests always find one.
inline constexpr int kHeavyRequestsPerTokenMax = 4;
inline constexpr int kHeavyRequestsMax = 32;

}  // namespace swan::limits
