#include "storage/csv_source.h"

#include <unistd.h>

#include <atomic>
#include <sstream>

#include "common/column_names.h"
#include "common/gzip_check.h"
#include "common/names.h"
#include "common/transcode.h"
#include "engine/duckdb.h"
#include "storage/source_reader.h"

namespace swan::storage {

using engine::QuoteLiteral;

namespace {

// DuckDB's default CSV buffer makes a load's memory grow with the file (222 MB peak for a 200 MB
// CSV); 4 MiB keeps it flat (110 MB) at the same speed. It must stay above max_line_size (2 MB).
constexpr int64_t kCsvBufferBytes = 4 << 20;

// 1-based line and column (in characters) of byte `offset` of `text`.
std::pair<int64_t, int64_t> LineColumn(std::string_view text, size_t offset) {
  int64_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

Status CheckToken(const std::optional<std::string>& value, const char* what, size_t max_bytes,
                  bool allow_empty) {
  if (!value) return Status::Ok();
  if ((allow_empty || !value->empty()) && value->size() <= max_bytes &&
      value->find_first_of("\r\n") == std::string::npos)
    return Status::Ok();
  return Status::InvalidArgument(std::string(what) + " must be " +
                                 (max_bytes == 1 ? "one character" : "1 to 4 characters") +
                                 (allow_empty ? " or empty" : "") + ", got '" +
                                 value->substr(0, 10) + "'")
      .WithDetail("field", what);
}

// The source of a file Swan's own writer made (CsvOptions::swan_written), or nothing when the
// request does not have that file's shape (then it is read like any upload).
std::unique_ptr<CsvSource> SwanWrittenSource(const ImportRequest& r, bool gzip) {
  const CsvOptions& o = r.csv;
  if (!o.swan_written || o.column_names.empty() || o.given.header.value_or(false) ||
      o.given.skip_lines.value_or(0) != 0 || !o.encoding.empty() || gzip)
    return nullptr;
  for (const auto& n : o.column_names) {
    if (!names::ValidateColumn(n).ok()) return nullptr;
  }
  auto source = std::make_unique<CsvSource>();
  source->path = r.file_path;
  source->encoding = "utf-8";
  source->swan_written = true;
  CsvDialect& d = source->dialect;
  d.delimiter = o.given.delimiter.value_or(",");
  d.quote = o.given.quote.value_or("\"");
  d.escape = o.given.escape.value_or(d.quote);
  d.comment = "";
  d.header = false;
  d.labels.assign(o.column_names.size(), "");
  source->names = o.column_names;
  source->labels = d.labels;
  return source;
}

}  // namespace

CsvSource::~CsvSource() {
  for (const auto& f : temp_files) ::unlink(f.c_str());
}

std::string CsvSource::TempPath(const std::string& suffix) {
  static std::atomic<uint64_t> counter{0};
  std::string p =
      path + "." + std::to_string(::getpid()) + "." + std::to_string(++counter) + suffix;
  temp_files.push_back(p);
  return p;
}

Result<std::unique_ptr<CsvSource>> PrepareCsv(const ImportRequest& r) {
  const CsvOptions& o = r.csv;
  RETURN_IF_ERROR(CheckToken(o.given.delimiter, "delimiter", 4, false));
  RETURN_IF_ERROR(CheckToken(o.given.quote, "enclosure", 1, true));
  RETURN_IF_ERROR(CheckToken(o.given.escape, "escape", 1, true));
  RETURN_IF_ERROR(CheckToken(o.given.comment, "comment", 1, true));
  if (o.compression != "auto" && o.compression != "gzip" && o.compression != "none") {
    return Status::InvalidArgument("compression must be auto, none or gzip")
        .WithDetail("field", "compression");
  }
  if (auto own = SwanWrittenSource(r, ReadsGzip(r))) return own;
  auto source = std::make_unique<CsvSource>();
  source->path = r.file_path;
  source->gzip = ReadsGzip(r);
  std::optional<transcode::Encoding> encoding;
  if (!o.encoding.empty()) {
    ASSIGN_OR_RETURN(encoding, transcode::ParseEncoding(o.encoding));
  }
  auto read_head = gzip::ReadDecodedPrefix(source->path, kCsvSampleBytes);
  if (!read_head.ok() && source->gzip) {
    // Name the gzip fault exactly (a CRC mismatch, a cut stream).
    RETURN_IF_ERROR(gzip::CheckFile(source->path, r.display_name, gzip::Limits{}));
  }
  if (!read_head.ok()) return read_head.status();
  std::string head = std::move(*read_head);
  bool utf16_bom = false;
  if (!encoding) {
    auto from_bom = transcode::EncodingFromBom(head);
    utf16_bom = from_bom.has_value();
    encoding = from_bom.value_or(transcode::Encoding::kUtf8);
  }
  source->encoding = std::string(transcode::EncodingName(*encoding));
  if (*encoding != transcode::Encoding::kUtf8) {
    std::string converted = source->TempPath(".utf8");
    ASSIGN_OR_RETURN(uint64_t bytes,
                     transcode::TranscodeToUtf8(source->path, source->gzip, *encoding, converted,
                                                r.display_name));
    (void)bytes;
    source->path = converted;
    source->gzip = false;
    ASSIGN_OR_RETURN(head, gzip::ReadDecodedPrefix(source->path, kCsvSampleBytes));
  }
  if (auto bad = transcode::FirstInvalidUtf8(head)) {
    auto [line, column] = LineColumn(head, *bad);
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(head[*bad]));
    return Status::InvalidArgument(
               r.display_name + ": line " + std::to_string(line) + ", column " +
               std::to_string(column) + ": byte " + hex +
               " is not UTF-8; if the file is in another encoding, import it with encoding="
               "windows-1252 (Western Europe), windows-1250 (Central Europe), latin-1 or utf-16")
        .WithDetail("file", r.display_name)
        .WithDetail("line", std::to_string(line))
        .WithDetail("column", std::to_string(column));
  }
  const bool whole = head.size() < kCsvSampleBytes;
  ASSIGN_OR_RETURN(source->dialect, DetectCsvDialect(head, whole, o.given, r.display_name));
  if (utf16_bom) source->dialect.bom = true;
  const size_t columns = source->dialect.labels.size();
  if (!o.column_names.empty()) {
    if (o.column_names.size() != columns) {
      return Status::InvalidArgument(r.display_name + ": " + std::to_string(o.column_names.size()) +
                                     " column names given but the file has " +
                                     std::to_string(columns) + " columns")
          .WithDetail("file", r.display_name)
          .WithDetail("field", "columns");
    }
    for (const auto& n : o.column_names) RETURN_IF_ERROR(names::ValidateColumn(n));
    source->names = o.column_names;
    source->labels.assign(columns, "");
    if (source->dialect.header) source->labels = source->dialect.labels;
  } else if (source->dialect.header) {
    source->labels = source->dialect.labels;
    source->names = names::SqlFriendlyColumns(source->labels);
  } else {
    source->labels.assign(columns, "");
    source->names = names::SqlFriendlyColumns(source->labels);  // column_1, column_2...
  }
  return source;
}

Result<std::string> CsvReadSql(const CsvSource& s, const ImportRequest& r,
                               const std::map<std::string, std::string>& types,
                               const CsvReadMode& mode,
                               const std::vector<catalog::ColumnDef>* exact) {
  const CsvDialect& d = s.dialect;
  std::ostringstream sql;
  sql << "read_csv(" << QuoteLiteral(s.path) << ", auto_detect = " << (exact ? "false" : "true")
      << ", delim = " << QuoteLiteral(d.delimiter) << ", quote = " << QuoteLiteral(d.quote)
      << ", escape = " << QuoteLiteral(d.escape) << ", comment = " << QuoteLiteral(d.comment)
      << ", header = false, skip = " << d.data_line - d.comment_lines_before_data
      << ", compression = "
      << (s.gzip ? "'gzip'" : "'none'")
      // Swan's row check does what strict mode would (field counts, quotes) where DuckDB's strict
      // reader cannot read the file at all: rows ending in LF and CRLF mixed.
      << ", strict_mode = " << (d.mixed_newlines ? "false" : "true")
      << ", null_padding = " << (r.csv.pad_missing_trailing ? "true" : "false")
      << ", buffer_size = " << kCsvBufferBytes;
  if (mode.ignore_errors) {
    sql << ", ignore_errors = true, store_rejects = true, rejects_table = "
        << QuoteLiteral(kCsvRejectsTable)
        << ", rejects_scan = " << QuoteLiteral(kCsvRejectScansTable);
  }
  if (exact) {
    sql << ", columns = {";
    for (size_t i = 0; i < exact->size(); ++i) {
      RETURN_IF_ERROR(names::ValidateColumn((*exact)[i].name));
      RETURN_IF_ERROR(names::ValidateTypeName((*exact)[i].type));
      sql << (i ? ", " : "") << QuoteLiteral((*exact)[i].name) << ": "
          << QuoteLiteral((*exact)[i].type);
    }
    sql << "})";
    return sql.str();
  }
  if (mode.sample_all) sql << ", sample_size = -1";
  sql << ", names = [";
  for (size_t i = 0; i < s.names.size(); ++i) sql << (i ? ", " : "") << QuoteLiteral(s.names[i]);
  sql << "]";
  bool first = true;
  for (const auto& name : s.names) {
    auto it = types.find(name);
    if (it == types.end()) continue;
    RETURN_IF_ERROR(names::ValidateTypeName(it->second));
    sql << (first ? ", types = {" : ", ") << QuoteLiteral(name) << ": " << QuoteLiteral(it->second);
    first = false;
  }
  if (!first) sql << "}";
  sql << ")";
  return sql.str();
}

}  // namespace swan::storage
