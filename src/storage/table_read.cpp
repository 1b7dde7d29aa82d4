// Reads of a table version: the filtered SELECT, export to a file, preview.
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/fs.h"
#include "common/limits.h"
#include "storage/read_plan.h"
#include "storage/table_store.h"

namespace swan::storage {

using engine::QuoteIdent;
using engine::QuoteLiteral;

namespace {

bool HasColumn(const catalog::TableVersion& v, const std::string& name) {
  return std::any_of(v.columns.begin(), v.columns.end(),
                     [&](const catalog::ColumnDef& c) { return c.name == name; });
}

}  // namespace

Result<std::string> TableStore::SelectSql(const catalog::Table& table,
                                          const catalog::TableVersion& version,
                                          const ReadRequest& r) {
  std::string cols;
  if (r.columns.empty()) {
    for (const auto& c : version.columns) cols += (cols.empty() ? "" : ", ") + QuoteIdent(c.name);
  } else {
    for (const auto& c : r.columns) {
      if (!HasColumn(version, c)) {
        return Status::InvalidArgument("column '" + c + "' is not in table " + table.FullId())
            .WithDetail("field", "columns");
      }
      cols += (cols.empty() ? "" : ", ") + QuoteIdent(c);
    }
  }
  std::string where;
  if (!r.where_column.empty()) {
    if (!HasColumn(version, r.where_column)) {
      return Status::InvalidArgument("where column '" + r.where_column + "' is not in table " +
                                     table.FullId())
          .WithDetail("field", "where_column");
    }
    if (r.where_operator != "eq" && r.where_operator != "ne") {
      return Status::InvalidArgument("where_operator must be eq or ne")
          .WithDetail("field", "where_operator");
    }
    std::string values;
    for (const auto& v : r.where_values) values += (values.empty() ? "" : ", ") + QuoteLiteral(v);
    if (values.empty()) values = "NULL";
    where += std::string(" WHERE CAST(") + QuoteIdent(r.where_column) + " AS VARCHAR) " +
             (r.where_operator == "eq" ? "IN" : "NOT IN") + " (" + values + ")";
  }
  if (r.changed_since_ms) {
    std::string iso = fs::IsoTime(*r.changed_since_ms);
    iso[10] = ' ';
    iso.pop_back();
    where += (where.empty() ? " WHERE " : " AND ") + std::string("_swan_ts >= CAST(") +
             QuoteLiteral(iso) + " AS TIMESTAMP)";
  }
  std::string sql = "SELECT " + cols + " FROM (" +
                    VersionSelectSql(data_dir_, version, table.primary_key) + ") AS _t" + where;
  if (r.limit) {
    if (*r.limit < 0)
      return Status::InvalidArgument("limit must be >= 0").WithDetail("field", "limit");
    sql += " LIMIT " + std::to_string(*r.limit);
  }
  return sql;
}

Status TableStore::Export(const catalog::Table& table, const ReadRequest& request,
                          ExportFormat format, bool gzip, const std::string& out_path) {
  ASSIGN_OR_RETURN(auto version, ResolveVersion(table, request.version));
  ASSIGN_OR_RETURN(std::string sql, SelectSql(table, version, request));
  std::vector<std::string> labels;
  bool repeated = false;
  if (request.original_names) {
    // Each column under its label: the header text it was imported from.
    std::string select;
    std::set<std::string> seen;
    for (const auto& c : version.columns) {
      if (!request.columns.empty() && std::find(request.columns.begin(), request.columns.end(),
                                                c.name) == request.columns.end())
        continue;
      labels.push_back(c.label.empty() ? c.name : c.label);
      std::string lower = labels.back();
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      repeated |= !seen.insert(lower).second;
      select +=
          (select.empty() ? "" : ", ") + QuoteIdent(c.name) + " AS " + QuoteIdent(labels.back());
    }
    sql = "SELECT " + select + " FROM (" + sql + ")";
  }
  if (repeated && format == ExportFormat::kCsv) {
    // DuckDB makes repeated names unique ("Amount_1"); the header is written here, as it was.
    return ExportWithHeader(sql, labels, gzip, out_path);
  }
  std::string options = format == ExportFormat::kParquet ? "FORMAT parquet"
                                                         : std::string("FORMAT csv, HEADER true") +
                                                               (gzip ? ", COMPRESSION gzip" : "");
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  return conn->Execute("COPY (" + sql + ") TO " + QuoteLiteral(out_path) + " (" + options + ")");
}

Result<int64_t> TableStore::ExportCsvToPipe(const catalog::Table& table, const ReadRequest& request,
                                            int fd) {
  if (request.original_names)
    return Status::Internal("a streamed export writes column names, not labels");
  ASSIGN_OR_RETURN(auto version, ResolveVersion(table, request.version));
  ASSIGN_OR_RETURN(std::string sql, SelectSql(table, version, request));
  // The order of the rows is not kept (a mapping's `limit` aside): with insertion order kept,
  // DuckDB holds every batch its threads read ahead of a slow reader (the writer's COPY) in
  // memory, and the server grew from 197 to 436 MiB for a 10x bigger table (bench/connectors.py).
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(request.limit ? *db_ : *unordered_db_));
  // The pipe exists already: DuckDB must write to it, not to a temporary file beside it.
  return conn->QueryInt("COPY (" + sql + ") TO " +
                        QuoteLiteral("/proc/self/fd/" + std::to_string(fd)) +
                        " (FORMAT csv, HEADER true, USE_TMP_FILE false)");
}

Status TableStore::ExportWithHeader(const std::string& sql, const std::vector<std::string>& header,
                                    bool gzip, const std::string& out_path) {
  std::string line;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& h = header[i];
    std::string field = h;
    if (h.find_first_of(",\"\r\n") != std::string::npos) {
      field.clear();
      for (char ch : h) field += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      field = "\"" + field + "\"";
    }
    line += (i ? "," : "") + field;
  }
  line += "\n";
  if (gzip) {
    // The header as a gzip member of its own: gzip files may be members one after another.
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return Status::Internal("cannot compress the export's header");
    std::string member(deflateBound(&z, line.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(line.data());
    z.avail_in = static_cast<uInt>(line.size());
    z.next_out = reinterpret_cast<Bytef*>(member.data());
    z.avail_out = static_cast<uInt>(member.size());
    int rc = deflate(&z, Z_FINISH);
    member.resize(member.size() - z.avail_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return Status::Internal("cannot compress the export's header");
    line = std::move(member);
  }
  const std::string body = out_path + ".body";
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  RETURN_IF_ERROR(conn->Execute("COPY (" + sql + ") TO " + QuoteLiteral(body) +
                                " (FORMAT csv, HEADER false" + (gzip ? ", COMPRESSION gzip" : "") +
                                ")"));
  std::ifstream in(body, std::ios::binary);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << line << in.rdbuf();
  out.close();
  in.close();
  std::error_code ec;
  std::filesystem::remove(body, ec);
  if (!out) return Status::Unavailable("writing the export failed");
  return Status::Ok();
}

Result<engine::Rows> TableStore::Preview(const catalog::Table& table, const ReadRequest& request) {
  ReadRequest r = request;
  if (!r.limit) r.limit = limits::kPreviewRowsDefault;
  // One row past the maximum: the caller asks for it to learn whether there are more.
  if (*r.limit > limits::kPreviewRowsMax + 1) {
    return Status::InvalidArgument("preview limit is at most " +
                                   std::to_string(limits::kPreviewRowsMax))
        .WithDetail("field", "limit");
  }
  ASSIGN_OR_RETURN(auto version, ResolveVersion(table, r.version));
  ASSIGN_OR_RETURN(std::string sql, SelectSql(table, version, r));
  ASSIGN_OR_RETURN(auto conn, engine::Connection::Open(*db_));
  return conn->Query(sql);
}

}  // namespace swan::storage
