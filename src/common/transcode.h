// Text encodings of CSV/JSON imports: everything is converted to UTF-8 before DuckDB reads it.
//
// DuckDB reads UTF-8 only. A file in another encoding is streamed once through a converter into
// a UTF-8 copy (constant memory, any size), and an undecodable byte stops the import with the
// line and column where it sits instead of a row of mojibake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace swan::transcode {

// Encodings a CSV/JSON import may be given in; everything is converted to UTF-8 for DuckDB.
enum class Encoding { kUtf8, kUtf16Le, kUtf16Be, kLatin1, kWindows1250, kWindows1252 };

// Parses a user's encoding name, case-insensitive: utf-8 | utf8, utf-16 | utf16 (kUtf16Le; the
// byte order then comes from the file's BOM, see TranscodeToUtf8), utf-16le, utf-16be,
// latin-1 | latin1 | iso-8859-1, windows-1250 | cp1250, windows-1252 | cp1252. Anything else is
// invalid_argument (detail field=encoding) whose message lists the accepted names.
Result<Encoding> ParseEncoding(std::string_view name);

// The canonical name: "utf-8", "utf-16le", "utf-16be", "latin-1", "windows-1250", "windows-1252".
std::string_view EncodingName(Encoding e);

// The encoding a file's first bytes show by their byte-order mark: kUtf16Le for FF FE, kUtf16Be
// for FE FF; nullopt otherwise (a UTF-8 BOM is no reason to transcode: DuckDB skips it).
std::optional<Encoding> EncodingFromBom(std::string_view head);

// Bounds of TranscodeToUtf8's fixed buffers (its memory does not grow with the file).
inline constexpr size_t kTranscodeInputBytes = 1 << 20;         // decoded source bytes per step
inline constexpr size_t kTranscodeOutputBytes = 1 << 20;        // UTF-8 bytes per write
inline constexpr size_t kTranscodeCompressedBytes = 256 << 10;  // gzip bytes per read

// Converts the file at `in_path` from `from` to UTF-8 into `out_path` (created or truncated,
// mode 0600) and returns the number of bytes written.
//
// - `gzip`: `in_path` is a gzip (or zlib) stream, inflated with zlib as it is read; several
//   concatenated members are one stream. A cut or corrupt stream is invalid_argument.
// - A leading BOM of the source encoding is dropped (UTF-8 EF BB BF; UTF-16 FF FE / FE FF).
//   For kUtf16Le and kUtf16Be a BOM decides the byte order: a file labelled utf-16le that starts
//   with FE FF is read as UTF-16 BE (read as LE it would start with the noncharacter U+FFFE).
// - UTF-8 input is validated strictly (Unicode table 3-7: no overlongs, surrogates or code points
//   past U+10FFFF) and copied; the other encodings go through glibc iconv.
// - Bytes that do not decode (an undefined byte such as 0x81 in windows-1252, an unpaired UTF-16
//   surrogate, a broken UTF-8 sequence) and a multibyte sequence cut by the end of the input are
//   invalid_argument: "<display_name>: line L, column C: bytes that are not valid <encoding>
//   (0x.. 0x..)" with details file, line and column (1-based; the column counts the characters of
//   that line decoded before the bad bytes, not bytes).
// - Failures to read, write or set up the converter are `internal`.
// On any failure `out_path` is removed. Thread-safe (no shared state); blocking I/O.
Result<uint64_t> TranscodeToUtf8(const std::string& in_path, bool gzip, Encoding from,
                                 const std::string& out_path, const std::string& display_name);

// Checks that `data` (a prefix of a file) is valid UTF-8 (Unicode table 3-7) and returns the
// byte offset of the first invalid sequence, or nullopt. A sequence cut by the end of `data` is
// not an error when its bytes so far can begin a valid sequence (`data` is a prefix).
std::optional<size_t> FirstInvalidUtf8(std::string_view data);

// `text` with every invalid UTF-8 sequence (a cut one at the end too) replaced by U+FFFD.
std::string ValidUtf8(std::string_view text);

// Appends code point `cp` (at most U+10FFFF) to `out` as UTF-8.
void AppendUtf8(char32_t cp, std::string& out);
// Code points of UTF-8 text (continuation bytes are not counted).
size_t Utf8CodePoints(std::string_view text);

}  // namespace swan::transcode
