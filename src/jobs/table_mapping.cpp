#include "jobs/table_mapping.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/fs.h"
#include "common/names.h"
#include "jobs/manifest.h"
#include "jobs/slice_stager.h"
#include "storage/read_plan.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

Status MappingError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + ": " + what).WithDetail("field", field);
}

const json& Section(const json& storage, const char* direction) {
  static const json kEmpty = json::array();
  if (!storage.is_object() || !storage.contains(direction)) return kEmpty;
  const json& d = storage[direction];
  if (!d.is_object() || !d.contains("tables") || !d["tables"].is_array()) return kEmpty;
  return d["tables"];
}

std::string ScalarText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Keboola's relative times ("-1 days", "-3 hours", "-30 minutes") or an absolute time.
Result<int64_t> ChangedSinceMs(const std::string& text, int64_t now_ms, const std::string& field) {
  int64_t n = 0;
  char unit[16] = {0};
  if (!text.empty() && text[0] == '-' && std::sscanf(text.c_str(), "-%ld %15s", &n, unit) == 2 &&
      n >= 0) {
    std::string u(unit);
    if (u.ends_with("s")) u.pop_back();
    static const std::pair<const char*, int64_t> kUnits[] = {{"second", 1000},
                                                             {"minute", 60000},
                                                             {"hour", 3600000},
                                                             {"day", 86400000},
                                                             {"week", 7 * 86400000LL}};
    for (const auto& [name, ms] : kUnits)
      if (u == name) return now_ms - n * ms;
  }
  auto abs = fs::ParseTimeMs(text);
  if (!abs.ok()) {
    return MappingError(
        field, "changed_since must be like \"-2 days\" or an ISO-8601 time, not '" + text + "'");
  }
  return *abs;
}

// Records (not lines: a quoted value may hold newlines) of a CSV file, header excluded.
int64_t CsvRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[1 << 16];
  int64_t records = 0;
  bool quoted = false;
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      if (buf[i] == '"') quoted = !quoted;
      if (buf[i] == '\n' && !quoted) ++records;
    }
  }
  return records > 0 ? records - 1 : 0;
}

std::string DuckType(const OutputColumnDetails& d) {
  if (d.base_type == "INTEGER") return "BIGINT";
  if (d.base_type == "NUMERIC") {
    if (d.length && d.length->find(',') != std::string::npos) return "DECIMAL(" + *d.length + ")";
    return d.length ? "DECIMAL(" + *d.length + ",0)" : "DECIMAL(38,9)";
  }
  if (d.base_type == "FLOAT") return "DOUBLE";
  if (d.base_type == "BOOLEAN") return "BOOLEAN";
  if (d.base_type == "DATE") return "DATE";
  if (d.base_type == "TIMESTAMP") return "TIMESTAMP";
  if (d.base_type == "STRING") return "VARCHAR";
  return "";
}

// The bucket a job writes to: existing, or created (with the write right) and remembered.
Result<catalog::Bucket> OutputBucket(JobContext& ctx, const std::string& stage,
                                     const std::string& name, StagedOutputs* out) {
  RETURN_IF_ERROR(ctx.rights(ctx.token, stage + "." + name, true));
  auto found = ctx.catalog.GetBucket(ctx.job.branch_id, stage, name);
  if (found.ok()) return found;
  if (found.status().code() != StatusCode::kNotFound) return found.status();
  catalog::Bucket b;
  b.project_id = ctx.project.id;
  b.branch_id = ctx.job.branch_id;
  b.stage = stage;
  b.name = name;
  auto created = ctx.catalog.CreateBucket(b);
  if (!created.ok() && created.status().code() == StatusCode::kConflict)
    return ctx.catalog.GetBucket(ctx.job.branch_id, stage, name);
  if (created.ok()) out->created_buckets.push_back(*created);
  return created;
}

std::string DefaultBucket(const catalog::Job& job) {
  std::string name = "c-" + job.component_id + "-" + job.config_id;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '-';
  if (name.size() > 64) name.resize(64);
  return "out." + name;
}

// The output mapping entry's load mode over the manifest's (Keboola: the entry wins).
Status ApplyMapping(const json& mapping, storage::ImportRequest* request) {
  if (!mapping.is_object()) return Status::Ok();
  if (mapping.contains("incremental") && mapping["incremental"].is_boolean())
    request->incremental = mapping["incremental"].get<bool>();
  if (mapping.contains("primary_key") && mapping["primary_key"].is_array()) {
    request->primary_key.clear();
    for (const auto& k : mapping["primary_key"])
      if (k.is_string()) request->primary_key.push_back(k.get<std::string>());
  }
  if (mapping.contains("delete_where")) {
    return Status::InvalidArgument("output '" + request->display_name +
                                   "': the delete_where list form is not supported by Swan yet; "
                                   "use delete_where_column/_values/_operator")
        .WithDetail("field", "storage.output.tables");
  }
  if (mapping.contains("delete_where_column") && mapping["delete_where_column"].is_string() &&
      !mapping["delete_where_column"].get<std::string>().empty()) {
    storage::DeleteWhere d;
    d.column = mapping["delete_where_column"].get<std::string>();
    if (mapping.contains("delete_where_values") && mapping["delete_where_values"].is_array())
      for (const auto& v : mapping["delete_where_values"]) d.values.push_back(ScalarText(v));
    if (mapping.contains("delete_where_operator") && mapping["delete_where_operator"].is_string())
      d.op = mapping["delete_where_operator"].get<std::string>();
    request->delete_where = d;
  }
  return Status::Ok();
}

void LogStaged(JobContext& ctx, const OutputLoad& load, const storage::StagedWrite& staged) {
  ctx.log.Info("staged " + std::to_string(staged.rows()) + " rows of '" +
               load.request.display_name + "' for " + load.destination +
               (load.request.incremental ? " (incremental)" : ""));
  if (staged.report().bad_rows > 0) {
    ctx.log.Warning("output '" + load.request.display_name +
                    "': " + std::to_string(staged.report().bad_rows) + " bad rows skipped");
  }
}

Status CheckDestination(const OutputLoad& load) {
  std::string stage, bucket_name, table_name;
  if (Status valid = names::SplitTableId(load.destination, &stage, &bucket_name, &table_name);
      !valid.ok()) {
    return Status::InvalidArgument("output '" + load.request.display_name + "': destination '" +
                                   load.destination + "' is not a table id: " + valid.message())
        .WithDetail("field", "storage.output.tables");
  }
  return Status::Ok();
}

// Each table once per job.
Status ClaimDestination(const OutputLoad& load, std::set<std::string>* destinations) {
  if (!destinations->insert(load.destination).second) {
    return Status::InvalidArgument("two outputs write table '" + load.destination +
                                   "': a job writes each table once")
        .WithDetail("field", "storage.output.tables");
  }
  return Status::Ok();
}

Status StageOne(JobContext& ctx, const OutputLoad& load, StagedOutputs* out,
                std::set<std::string>* destinations) {
  RETURN_IF_ERROR(ClaimDestination(load, destinations));
  ASSIGN_OR_RETURN(auto staged, StageLoad(ctx, load, load.request.file_path, out));
  LogStaged(ctx, load, *staged);
  out->writes.push_back(std::move(staged));
  return Status::Ok();
}

}  // namespace

Result<std::vector<InputTable>> ResolveInputTables(JobContext& ctx, const json& storage,
                                                   bool for_files) {
  std::vector<InputTable> out;
  const json& entries = Section(storage, "input");
  std::set<std::string> destinations;
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = entries[i];
    const std::string field = "storage.input.tables[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("source") || !e["source"].is_string())
      return MappingError(field + ".source", "must be a table id such as \"in.sales.orders\"");
    const std::string source = e["source"].get<std::string>();
    std::string stage, bucket_name, table_name;
    if (!names::SplitTableId(source, &stage, &bucket_name, &table_name).ok())
      return MappingError(field + ".source", "'" + source + "' is not a table id");
    auto bucket = ctx.catalog.GetBucket(ctx.job.branch_id, stage, bucket_name);
    if (!bucket.ok() && bucket.status().code() == StatusCode::kNotFound)
      return MappingError(field + ".source", "table '" + source + "' not found");
    if (!bucket.ok()) return bucket.status();
    RETURN_IF_ERROR(ctx.rights(ctx.token, bucket->FullId(), false));
    auto table = ctx.catalog.GetTable(bucket->id, table_name);
    if (!table.ok() && table.status().code() == StatusCode::kNotFound)
      return MappingError(field + ".source", "table '" + source + "' not found");
    if (!table.ok()) return table.status();
    InputTable in;
    in.table = *table;
    std::optional<int64_t> number;
    if (e.contains("version")) {
      if (!e["version"].is_number_integer())
        return MappingError(field + ".version", "must be a version number");
      number = e["version"].get<int64_t>();
    }
    auto version = ctx.store.ResolveVersion(in.table, number);
    if (!version.ok() && version.status().code() == StatusCode::kNotFound)
      return MappingError(field + ".version", version.status().message());
    if (!version.ok()) return version.status();
    in.version = *version;
    in.read.version = in.version.number;
    if (e.contains("columns")) {
      if (!e["columns"].is_array()) return MappingError(field + ".columns", "must be a list");
      for (const auto& c : e["columns"]) {
        if (c.is_string())
          in.read.columns.push_back(c.get<std::string>());
        else if (c.is_object() && c.contains("source") && c["source"].is_string())
          in.read.columns.push_back(c["source"].get<std::string>());  // column_types form
        else
          return MappingError(field + ".columns", "must be a list of column names");
      }
    }
    if (e.contains("where_column") && e["where_column"].is_string() &&
        !e["where_column"].get<std::string>().empty()) {
      in.read.where_column = e["where_column"].get<std::string>();
      if (e.contains("where_values") && e["where_values"].is_array())
        for (const auto& v : e["where_values"]) in.read.where_values.push_back(ScalarText(v));
      if (e.contains("where_operator") && e["where_operator"].is_string())
        in.read.where_operator = e["where_operator"].get<std::string>();
    }
    if (e.contains("changed_since") && e["changed_since"].is_string() &&
        !e["changed_since"].get<std::string>().empty()) {
      ASSIGN_OR_RETURN(in.read.changed_since_ms,
                       ChangedSinceMs(e["changed_since"].get<std::string>(), ctx.clock.NowMs(),
                                      field + ".changed_since"));
    }
    if (e.contains("limit")) {
      if (!e["limit"].is_number_integer() || e["limit"].get<int64_t>() < 0)
        return MappingError(field + ".limit", "must be a whole number of rows");
      in.read.limit = e["limit"].get<int64_t>();
    }
    std::string dest = e.value("destination", std::string());
    if (dest.empty()) dest = source + (for_files ? ".csv" : "");
    if (!for_files && dest.ends_with(".csv")) dest.resize(dest.size() - 4);
    if (dest.find('/') != std::string::npos || dest[0] == '.' || dest.size() > 255)
      return MappingError(field + ".destination", "'" + dest + "' is not a plain file name");
    if (!destinations.insert(dest).second)
      return MappingError(field + ".destination", "'" + dest + "' is used twice");
    in.destination = dest;
    out.push_back(std::move(in));
  }
  return out;
}

Result<json> WriteInputTables(JobContext& ctx, const std::vector<InputTable>& inputs,
                              const std::string& tables_dir) {
  json usage = json::array();
  for (const auto& in : inputs) {
    const std::string path = tables_dir + "/" + in.destination;
    RETURN_IF_ERROR(ctx.store.Export(in.table, in.read, storage::ExportFormat::kCsv, false, path));
    ASSIGN_OR_RETURN(int64_t bytes, ctx.env.FileSize(path));
    const int64_t rows = CsvRecords(path);
    InputTableInfo info;
    info.id = in.table.FullId();
    info.name = in.table.name;
    if (in.read.columns.empty()) {
      for (const auto& c : in.version.columns) info.columns.push_back(c.name);
    } else {
      info.columns = in.read.columns;
    }
    info.primary_key = in.table.primary_key;
    auto ts = [](int64_t ms) {
      return KeboolaTimestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
    };
    info.created = ts(in.table.created_at);
    info.last_import_date = ts(in.version.created_at);
    info.last_change_date = ts(in.version.created_at);
    info.rows_count = in.version.row_count;
    info.data_size_bytes = in.version.bytes;
    std::ofstream m(path + ".manifest", std::ios::binary);
    m << InputTableManifest(info).dump(2);
    if (!m.flush()) return Status::Internal("cannot write " + path + ".manifest");
    ctx.log.Info("input " + in.table.FullId() + " (version " + std::to_string(in.version.number) +
                 "): " + std::to_string(rows) + " rows into in/tables/" + in.destination);
    usage.push_back({{"table", in.table.FullId()},
                     {"version", in.version.number},
                     {"rows", rows},
                     {"bytes", bytes}});
  }
  return usage;
}

Result<std::vector<query::SqlTable>> InputViews(JobContext& ctx,
                                                const std::vector<InputTable>& inputs,
                                                json* usage) {
  std::vector<query::SqlTable> views;
  for (const auto& in : inputs) {
    ASSIGN_OR_RETURN(std::string select, ctx.store.SelectSql(in.table, in.version, in.read));
    // The sandbox drops the write-time column of every view; a mapped selection has none.
    views.push_back({in.destination,
                     "SELECT *, NULL::TIMESTAMP AS _swan_ts FROM (" + select + ") AS _m",
                     storage::SegmentPaths(ctx.data_dir, in.version)});
    usage->push_back({{"table", in.table.FullId()},
                      {"version", in.version.number},
                      {"rows", in.version.row_count},
                      {"bytes", in.version.bytes}});
  }
  return views;
}

Result<OutputLoad> PlanOutputLoad(JobContext& ctx, const json& storage, const OutputSource& s) {
  const std::string shown = "out/tables/" + s.name;
  json mapping;
  for (const auto& m : Section(storage, "output"))
    if (m.is_object() && m.value("source", std::string()) == s.name) mapping = m;
  OutputTableManifest manifest;
  std::string text = "{}";
  if (!s.manifest_path.empty()) {
    ASSIGN_OR_RETURN(text, fs::ReadFileText(s.manifest_path));
  }
  if (mapping.is_object() && mapping.size() > 1) {
    // The mapping's fields win, one by one; the manifest must parse first (its own errors).
    RETURN_IF_ERROR(ParseOutputTableManifest(text, shown + ".manifest").status());
    json merged = json::parse(text, nullptr, false);
    if (!merged.is_object()) merged = json::object();
    for (const auto& [key, value] : mapping.items())
      if (key != "source" && key != "destination") merged[key] = value;
    ASSIGN_OR_RETURN(manifest,
                     ParseOutputTableManifest(merged.dump(), "storage.output.tables mapping of " +
                                                                 shown + " with its manifest"));
  } else {
    ASSIGN_OR_RETURN(manifest, ParseOutputTableManifest(text, shown + ".manifest"));
  }
  OutputLoad load;
  load.source = s.name;
  load.mapping = mapping;
  load.write_always = manifest.write_always;
  load.sliced = s.is_sliced;
  std::optional<storage::DeleteWhere> delete_where;
  if (!manifest.delete_where.empty()) {
    // One rule of one filter with listed values: Keboola's delete_where_column/_values/
    // _operator. Time windows and values read from other tables are not supported yet.
    const DeleteWhereRule& rule = manifest.delete_where[0];
    if (manifest.delete_where.size() != 1 || rule.filters.size() != 1 ||
        !rule.changed_since.empty() || !rule.changed_until.empty() ||
        rule.filters[0].values_from_workspace || rule.filters[0].values_from_storage) {
      return Status::InvalidArgument(shown +
                                     ".manifest: Swan supports delete_where as one filter "
                                     "with listed values (delete_where_column/_values/"
                                     "_operator) only")
          .WithDetail("field", "delete_where");
    }
    const DeleteWhereFilter& f = rule.filters[0];
    delete_where = storage::DeleteWhere{
        f.column, f.values, f.op == DeleteWhereOperator::kEq ? std::string("eq") : "ne"};
  }
  ASSIGN_OR_RETURN(
      load.destination,
      ResolveOutputDestination(
          mapping.is_object() ? mapping.value("destination", std::string()) : std::string(),
          manifest.destination, s.name, DefaultBucket(ctx.job)));
  storage::ImportRequest& request = load.request;
  request.display_name = shown;
  request.incremental = manifest.incremental;
  request.primary_key = manifest.primary_key;
  request.delete_where = delete_where;
  request.csv.given.delimiter = manifest.delimiter;
  request.csv.given.quote = manifest.enclosure;
  request.csv.given.escape = manifest.enclosure;
  request.csv.given.header = manifest.has_header;
  request.csv.given.skip_lines = 0;
  request.csv.given.comment = "";
  request.csv.column_names = manifest.columns;
  for (const auto& [col, d] : manifest.column_details) {
    std::string t = DuckType(d);
    if (!t.empty()) request.csv.declared_types[col] = t;
  }
  if (s.is_sliced)
    RETURN_IF_ERROR(CheckSlicedTableManifest(manifest, shown + ".manifest"));
  else
    request.file_path = s.data_path;
  RETURN_IF_ERROR(ApplyMapping(mapping, &request));
  request.token_id = ctx.job.token_id;
  request.operation = "job";
  RETURN_IF_ERROR(CheckDestination(load));
  return load;
}

Result<std::unique_ptr<storage::StagedWrite>> StageLoad(JobContext& ctx, const OutputLoad& load,
                                                        const std::string& file_path,
                                                        StagedOutputs* out) {
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(load.destination, &stage, &bucket_name, &table_name));
  ASSIGN_OR_RETURN(auto bucket, OutputBucket(ctx, stage, bucket_name, out));
  storage::ImportRequest request = load.request;
  request.file_path = file_path;
  auto staged = ctx.store.Stage(bucket, table_name, request);
  if (!staged.ok()) {
    Status st = staged.status();
    // The component's file, not Swan's: say which output and keep the code (400 stays user).
    return Status(st.code(), "output '" + request.display_name + "' into " + load.destination +
                                 ": " + st.message());
  }
  return staged;
}

Status StageOutputFolder(JobContext& ctx, const json& storage, const std::string& tables_dir,
                         StagedOutputs* out, bool only_write_always, SliceStager* slices) {
  if (!ctx.env.FileExists(tables_dir)) return Status::Ok();
  ASSIGN_OR_RETURN(auto entries, ctx.env.List(tables_dir));
  ASSIGN_OR_RETURN(auto sources, PairOutputSources(entries));
  const json& mappings = Section(storage, "output");
  // Every mapped source must exist (Keboola: "Table sources not found").
  for (size_t i = 0; i < mappings.size() && !only_write_always; ++i) {
    const json& m = mappings[i];
    const std::string src = m.is_object() ? m.value("source", std::string()) : std::string();
    const bool found = std::any_of(sources.begin(), sources.end(),
                                   [&](const OutputSource& s) { return s.name == src; });
    if (!found) {
      return MappingError("storage.output.tables[" + std::to_string(i) + "].source",
                          "table source not found in out/tables: \"" + src + "\"");
    }
  }
  std::set<std::string> destinations;
  for (const auto& s : sources) {
    ASSIGN_OR_RETURN(OutputLoad load, PlanOutputLoad(ctx, storage, s));
    if (only_write_always && !load.write_always) continue;
    if (!s.is_sliced) {
      RETURN_IF_ERROR(StageOne(ctx, load, out, &destinations));
      continue;
    }
    const std::string shown = load.request.display_name;
    ASSIGN_OR_RETURN(auto parts, ctx.env.List(s.data_path));
    const auto slice_files = SliceFiles(parts);
    if (slices != nullptr) {
      // Slices the component announced were staged while it ran: their segments make the version.
      ASSIGN_OR_RETURN(auto early, slices->Take(s.name, slice_files, out));
      if (early) {
        RETURN_IF_ERROR(ClaimDestination(load, &destinations));
        LogStaged(ctx, load, *early);
        out->writes.push_back(std::move(early));
        continue;
      }
    }
    const bool gz = !slice_files.empty() && slice_files[0].ends_with(".gz");
    // One file of all slices (gzip members concatenate into one gzip stream).
    const std::string joined = ctx.store.NewTempPath(gz ? ".csv.gz" : ".csv");
    out->temp_files.push_back(joined);
    std::ofstream o(joined, std::ios::binary);
    for (const auto& part : slice_files) {
      if (part.ends_with(".gz") != gz)
        return Status::InvalidArgument(shown + ": slices mix gzip and plain files");
      std::ifstream p(part, std::ios::binary);
      o << p.rdbuf();
    }
    if (!o.flush()) return Status::Internal("cannot join the slices of " + shown);
    load.request.file_path = joined;
    RETURN_IF_ERROR(StageOne(ctx, load, out, &destinations));
  }
  return Status::Ok();
}

Status StageFileOutputs(JobContext& ctx, const std::vector<FileOutput>& outputs,
                        StagedOutputs* out) {
  std::set<std::string> destinations;
  for (const auto& o : outputs) {
    OutputLoad load;
    load.mapping = o.mapping;
    load.destination = o.mapping.value("destination", std::string());
    load.request.file_path = o.path;
    load.request.format = o.format;
    if (!o.csv_delimiter.empty()) load.request.csv.given.delimiter = o.csv_delimiter;
    load.request.display_name = o.mapping.value("source", std::string());
    RETURN_IF_ERROR(ApplyMapping(o.mapping, &load.request));
    load.request.token_id = ctx.job.token_id;
    load.request.operation = "job";
    RETURN_IF_ERROR(CheckDestination(load));
    RETURN_IF_ERROR(StageOne(ctx, load, out, &destinations));
  }
  return Status::Ok();
}

void DropCreatedBuckets(JobContext& ctx, const StagedOutputs& outputs) {
  for (const auto& b : outputs.created_buckets) (void)ctx.catalog.DeleteBucket(b.id, false);
}

json OutputUsage(const std::vector<storage::WriteResult>& results) {
  json usage = json::array();
  for (const auto& r : results) {
    usage.push_back({{"table", r.table.FullId()},
                     {"version", r.version.number},
                     {"rows", r.version.row_count},
                     {"bytes", r.version.bytes}});
  }
  return usage;
}

}  // namespace swan::jobs
