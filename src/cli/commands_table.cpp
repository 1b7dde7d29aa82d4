// The CLI's table and SQL commands.
#include <filesystem>
#include <iterator>

#include "cli/command_support.h"
#include "cli/commands.h"

namespace swan::cli {

using client::ApiClient;
using client::UrlEncode;
using nlohmann::json;
using namespace support;

// ---- tables -------------------------------------------------------------------------------------

Status TableList(const GlobalOptions& global, const std::string& bucket_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Get(session.Path("/tables" + Query().Add("bucket", bucket_id).str())));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  PrintTables(answer.value("tables", json::array()));
  return Status::Ok();
}

Status TableShow(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.TablePath(table_id)));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  const json t = answer.value("table", json::object());
  const std::string primary_key = JoinStrings(t.value("primary_key", json::array()));
  PrintFields({{"id", FieldText(t, "id")},
               {"version", FieldText(t, "version")},
               {"rows", FieldText(t, "row_count")},
               {"bytes", BytesField(t, "bytes")},
               {"segments", FieldText(t, "segments")},
               {"primary key", primary_key.empty() ? "-" : primary_key},
               {"created", FieldText(t, "created_at")},
               {"updated", FieldText(t, "updated_at")}});
  std::cout << '\n';
  TextTable columns({"COLUMN", "TYPE"});
  for (const auto& c : t.value("columns", json::array())) {
    columns.AddRow({FieldText(c, "name"), FieldText(c, "type")});
  }
  columns.Print(std::cout);
  return Status::Ok();
}

// "delimiter ';', 2 lines skipped; detected": how the server read a CSV.
std::string DialectSummary(const json& used) {
  auto token = [](const std::string& t) {
    if (t == "\t") return std::string("tab");
    if (t.empty()) return std::string("none");
    return "'" + t + "'";
  };
  std::string out = "delimiter " + token(used.value("delimiter", std::string()));
  if (used.value("enclosure", std::string("\"")) != "\"") {
    out += ", enclosure " + token(used.value("enclosure", std::string()));
  }
  if (used.value("escape", std::string("\"")) != used.value("enclosure", std::string("\"")))
    out += ", escape " + token(used.value("escape", std::string()));
  if (!used.value("header", true)) {
    out += ", no header";
  } else if (int64_t rows = used.value("header_rows", int64_t{1}); rows > 1) {
    out += ", " + std::to_string(rows) + " header rows";
  }
  if (int64_t skip = used.value("skip_lines", int64_t{0}); skip > 0)
    out += ", " + std::to_string(skip) + " line" + (skip == 1 ? "" : "s") + " skipped";
  if (!used.value("comment", std::string()).empty())
    out += ", comments " + token(used.value("comment", std::string()));
  if (used.value("encoding", std::string("utf-8")) != "utf-8")
    out += ", " + used.value("encoding", std::string());
  if (used.value("line_ending", std::string("lf")) != "lf")
    out += ", " + used.value("line_ending", std::string()) + " line ends";
  const json given = used.value("given", json::array());
  out += given.empty() ? " (detected)" : " (given: " + JoinStrings(given) + "; the rest detected)";
  return out;
}

Status TableImport(const GlobalOptions& global, const TableImportOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.file, ec)) {
    return Status::InvalidArgument("cannot import " + options.file + ": no such file");
  }
  std::string delimiter = options.delimiter;
  if (delimiter == "\\t" || delimiter == "tab") delimiter = "\t";
  if (delimiter.size() > 4)
    return Status::InvalidArgument("--delimiter must be 1 to 4 characters, got '" + delimiter +
                                   "'");
  std::string enclosure;
  if (options.enclosure != "none") {
    ASSIGN_OR_RETURN(enclosure, CharOption("enclosure", options.enclosure));
  }
  ASSIGN_OR_RETURN(std::string escape, CharOption("escape", options.escape));
  if (options.header && options.no_header)
    return Status::InvalidArgument("--header and --no-header contradict each other");
  const std::string name = std::filesystem::path(options.file).filename().string();
  Query query;
  query.Add("format", options.format)
      .Add("mode", options.incremental ? "incremental" : "full")
      .Add("primary_key", options.primary_key)
      .Add("delimiter", delimiter)
      .Add("escape", escape)
      .Add("header", options.no_header ? "false"
                     : options.header  ? "true"
                                       : "")
      .Add("skip_lines", options.skip_lines)
      .Add("header_rows", options.header_rows)
      .Add("comment", options.comment)
      .Add("encoding", options.encoding)
      .Add("on_bad_rows", options.on_bad_rows)
      .Add("max_bad_rows", options.max_bad_rows)
      .Add("pad_missing_trailing", options.pad_missing_trailing ? "true" : "")
      .Add("columns", options.columns)
      .Add("types", options.types)
      .Add("compression", options.compression)
      .Add("name", name);
  if (options.enclosure == "none") {
    query.AddAlways("enclosure", "");
  } else {
    query.Add("enclosure", enclosure);
  }

  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ProgressBar bar("importing " + name, StderrIsTerminal());
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Upload(session.TablePath(options.table_id, "/import") + query.str(), options.file,
                         [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); }));
  bar.Finish();
  // Say what was assumed: the format and dialect the server read the file with, what it
  // renamed and which rows it skipped.
  std::string read, notes;
  if (answer.contains("import") && answer["import"].is_object()) {
    const json& used = answer["import"];
    read = " (read as " + used.value("format", std::string("?"));
    if (used.value("format_from", std::string()) == "file name") read += ", from the file name";
    if (used.contains("delimiter")) read += "; " + DialectSummary(used);
    read += ")";
    const json renamed = used.value("renamed", json::array());
    if (!renamed.empty()) {
      notes += "\nRenamed " + std::to_string(renamed.size()) + " column" +
               (renamed.size() == 1 ? "" : "s") + " to SQL names:";
      size_t shown = 0;
      for (const auto& r : renamed) {
        if (++shown > 10) {
          notes += " ...";
          break;
        }
        notes += (shown == 1 ? " '" : ", '") + r.value("from", std::string()) + "' -> " +
                 r.value("to", std::string());
      }
    }
    if (int64_t bad = used.value("bad_rows", int64_t{0}); bad > 0) {
      notes += "\nSkipped " + std::to_string(bad) + " bad row" + (bad == 1 ? "" : "s") + ":";
      for (const auto& b : used.value("bad_row_samples", json::array())) {
        notes += "\n  line " + FieldText(b, "line") + ": " + b.value("reason", std::string());
      }
      if (used.contains("quarantine_table"))
        notes += "\nThey are kept in table " + used.value("quarantine_table", std::string()) + ".";
    }
  }
  return PrintDone(global, answer,
                   "Imported " + name + read + " into " + options.table_id + ": " +
                       VersionSummary(answer) + "." + notes);
}

Result<WhereFilter> ParseWhere(const std::string& where) {
  size_t pos = where.find("!=");
  WhereFilter filter;
  if (pos != std::string::npos) {
    filter = {where.substr(0, pos), where.substr(pos + 2), "ne"};
  } else if ((pos = where.find('=')) != std::string::npos) {
    filter = {where.substr(0, pos), where.substr(pos + 1), "eq"};
  }
  if (filter.column.empty()) {
    return Status::InvalidArgument("--where must be COLUMN=V1,V2 or COLUMN!=V1, got '" + where +
                                   "'");
  }
  return filter;
}

Status TableExport(const GlobalOptions& global, const TableExportOptions& options) {
  Query query;
  query.Add("format", options.format)
      .Add("gzip", options.gzip ? "true" : "")
      .Add("columns", options.columns)
      .Add("version", options.version)
      .Add("changed_since", options.changed_since)
      .Add("limit", options.limit)
      .Add("original_names", options.original_names ? "true" : "");
  if (!options.where.empty()) {
    ASSIGN_OR_RETURN(WhereFilter filter, ParseWhere(options.where));
    // where_values is sent even when empty: "col=" filters on the empty string.
    query.Add("where_column", filter.column)
        .AddAlways("where_values", filter.values)
        .Add("where_operator", filter.op);
  }
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ProgressBar bar("exporting " + options.table_id, StderrIsTerminal());
  ASSIGN_OR_RETURN(uint64_t bytes,
                   session.api.Download(
                       session.TablePath(options.table_id, "/export") + query.str(), options.output,
                       [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); }));
  bar.Finish();
  if (options.output == "-") return Status::Ok();
  return PrintDone(
      global, {{"table", options.table_id}, {"file", options.output}, {"bytes", bytes}},
      "Exported " + options.table_id + " to " + options.output + " (" + FormatBytes(bytes) + ").");
}

Status TablePreview(const GlobalOptions& global, const TablePreviewOptions& options) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  Query query;
  query.Add("limit", options.limit).Add("version", options.version).Add("columns", options.columns);
  ASSIGN_OR_RETURN(json answer,
                   session.api.Get(session.TablePath(options.table_id, "/preview") + query.str()));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  PrintResultGrid(answer, std::cout);
  return Status::Ok();
}

Status TableVersions(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Get(session.TablePath(table_id, "/versions")));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  TextTable table({"VERSION", "OPERATION", "ROWS", "BYTES", "CREATED", "TOKEN"});
  table.AlignRight(0);
  table.AlignRight(2);
  table.AlignRight(3);
  for (const auto& v : answer.value("versions", json::array())) {
    std::string token = FieldText(v, "token_description");
    if (token == "-" || token.empty()) {
      token =
          v.contains("token_id") && !v["token_id"].is_null() ? "#" + FieldText(v, "token_id") : "-";
    }
    table.AddRow({FieldText(v, "version"), FieldText(v, "operation"), FieldText(v, "row_count"),
                  BytesField(v, "bytes"), FieldText(v, "created_at"), token});
  }
  table.Print(std::cout);
  return Status::Ok();
}

Status TableRestore(const GlobalOptions& global, const std::string& table_id, int64_t version) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(
      json answer,
      session.api.Post(
          session.TablePath(table_id, "/versions/" + std::to_string(version) + "/restore"),
          json::object()));
  return PrintDone(global, answer,
                   "Restored " + table_id + " to version " + std::to_string(version) + ": now " +
                       VersionSummary(answer) + ".");
}

Status TableDelete(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer, session.api.Delete(session.TablePath(table_id)));
  return PrintDone(global, answer, "Deleted table " + table_id + ".");
}

Status TableCompact(const GlobalOptions& global, const std::string& table_id) {
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  ASSIGN_OR_RETURN(json answer,
                   session.api.Post(session.TablePath(table_id, "/compact"), json::object()));
  const json table = answer.value("table", json::object());
  return PrintDone(global, answer,
                   "Compacted " + table_id + ": " + VersionSummary(answer) + ", " +
                       FieldText(table, "segments") + " segment(s).");
}

// ---- sql ----------------------------------------------------------------------------------------

Status Sql(const GlobalOptions& global, const SqlOptions& options) {
  if (options.format != "json" && options.format != "csv") {
    return Status::InvalidArgument("--format must be json or csv, got '" + options.format + "'");
  }
  ASSIGN_OR_RETURN(std::string sql, ReadSql(options.sql));
  ASSIGN_OR_RETURN(ProjectSession session, OpenProject(global));
  json body = {{"sql", sql}, {"format", options.format}};
  if (options.limit) body["limit"] = *options.limit;
  if (options.timeout_ms) body["timeout_ms"] = *options.timeout_ms;
  if (!options.output_table.empty()) body["output_table"] = options.output_table;

  if (options.format == "csv" && options.output_table.empty()) {
    ASSIGN_OR_RETURN(std::string text, session.api.PostText(session.Path("/sql"), body));
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << '\n';
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(json answer, session.api.Post(session.Path("/sql"), body));
  if (global.json) {
    PrintJson(answer);
    return Status::Ok();
  }
  if (!options.output_table.empty()) {
    std::cout << "Wrote " << options.output_table << ": " << VersionSummary(answer) << ".\n";
    return Status::Ok();
  }
  PrintResultGrid(answer, std::cout);
  return Status::Ok();
}

}  // namespace swan::cli
