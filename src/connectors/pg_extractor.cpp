#include "connectors/pg_extractor.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectors/csv_slices.h"
#include "connectors/pg_connection.h"

namespace swan::connectors {
namespace {

using namespace pg;  // NOLINT: the shared libpq helpers

using nlohmann::json;

// ---- types ------------------------------------------------------------------------------------

struct Column {
  std::string name;
  unsigned oid = 0;
  int typmod = -1;
  char category = 'S';  // pg_type.typcategory
};

constexpr unsigned kInt8 = 20, kInt2 = 21, kInt4 = 23, kNumeric = 1700, kFloat4 = 700,
                   kFloat8 = 701, kBool = 16, kDate = 1082, kTimestamp = 1114, kTimestampTz = 1184,
                   kJson = 114, kJsonb = 3802;

// Keboola's base type (and length) of a column, for the manifest's column_metadata.
std::pair<std::string, std::string> BaseType(const Column& c) {
  switch (c.oid) {
    case kInt2:
    case kInt4:
    case kInt8:
      return {"INTEGER", ""};
    case kNumeric:
      if (c.typmod >= 4) {
        const int precision = ((c.typmod - 4) >> 16) & 0xffff, scale = (c.typmod - 4) & 0xffff;
        return {"NUMERIC", std::to_string(precision) + "," + std::to_string(scale)};
      }
      return {"STRING", ""};  // unconstrained numeric: any precision; kept exact as text
    case kFloat4:
    case kFloat8:
      return {"FLOAT", ""};
    case kBool:
      return {"BOOLEAN", ""};
    case kDate:
      return {"DATE", ""};
    case kTimestamp:
    case kTimestampTz:
      return {"TIMESTAMP", ""};
    default:
      return {"STRING", ""};
  }
}

// How a column is selected: arrays as JSON, timestamps with zone as UTC, booleans as true/false.
std::string Expression(PGconn* c, const Column& col) {
  const std::string q = "q." + Quote(c, col.name);
  if (col.category == 'A') return "to_json(" + q + ")::text";
  if (col.oid == kTimestampTz) return "(" + q + " AT TIME ZONE 'UTC')";
  if (col.oid == kBool)
    return "CASE WHEN " + q + " THEN 'true' WHEN NOT " + q + " THEN 'false' END";
  return q;
}

Result<std::vector<Column>> Describe(PGconn* c, const std::string& from) {
  ASSIGN_OR_RETURN(PgResult r, Exec(c, "SELECT * FROM " + from + " AS q LIMIT 0", PGRES_TUPLES_OK,
                                    "reading the columns"));
  std::vector<Column> cols;
  std::set<unsigned> oids;
  for (int i = 0; i < PQnfields(r.get()); ++i) {
    cols.push_back({PQfname(r.get(), i), PQftype(r.get(), i), PQfmod(r.get(), i), 'S'});
    oids.insert(PQftype(r.get(), i));
  }
  std::string list;
  for (unsigned o : oids) list += (list.empty() ? "" : ",") + std::to_string(o);
  if (list.empty()) return cols;
  ASSIGN_OR_RETURN(PgResult t,
                   Exec(c, "SELECT oid, typcategory FROM pg_type WHERE oid IN (" + list + ")",
                        PGRES_TUPLES_OK, "reading the column types"));
  std::map<unsigned, char> category;
  for (int i = 0; i < PQntuples(t.get()); ++i) {
    category[static_cast<unsigned>(std::stoul(PQgetvalue(t.get(), i, 0)))] =
        PQgetvalue(t.get(), i, 1)[0];
  }
  for (auto& col : cols) col.category = category.count(col.oid) ? category[col.oid] : 'S';
  return cols;
}

// ---- one table -------------------------------------------------------------------------------

std::string FileName(const std::string& output_table) {
  std::string name = output_table;
  for (char& ch : name)
    if (ch == '/' || ch == '\0') ch = '_';
  return name + ".csv";
}

// Streams COPY ... TO STDOUT into the slices of `out`; returns the row count. Watches the
// cancel flag.
Result<int64_t> CopyOut(PGconn* c, const std::string& select, CsvSliceWriter& out,
                        const ExtractorIo& io) {
  PgResult started(PQexec(c, ("COPY (" + select + ") TO STDOUT WITH (FORMAT csv)").c_str()));
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT)
    return QueryError(c, "reading the rows");
  bool cancelled = false;
  while (true) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(c, &buffer, 1);
    if (n > 0) {
      // One row per call: a slice ends between rows.
      Status written = out.Append(buffer, static_cast<size_t>(n));
      PQfreemem(buffer);
      RETURN_IF_ERROR(written);
      continue;
    }
    if (n == -1) break;  // done
    if (n == -2) return QueryError(c, "reading the rows");
    // n == 0: nothing buffered; wait for the socket, a moment at a time, for cancels.
    if (!cancelled && io.cancel && io.cancel->load()) {
      PGcancel* cancel = PQgetCancel(c);
      char err[256];
      if (cancel) {
        PQcancel(cancel, err, sizeof err);
        PQfreeCancel(cancel);
      }
      cancelled = true;
    }
    pollfd p{PQsocket(c), POLLIN, 0};
    ::poll(&p, 1, 200);
    if (!PQconsumeInput(c)) return QueryError(c, "reading the rows");
  }
  PgResult done(PQgetResult(c));
  if (!done || PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
    if (cancelled) return Status(StatusCode::kCancelled, "cancelled while reading the rows");
    return QueryError(c, "reading the rows");
  }
  while (PgResult rest{PQgetResult(c)}) {
  }
  RETURN_IF_ERROR(out.Finish());
  const char* tuples = PQcmdTuples(done.get());
  return static_cast<int64_t>(tuples && *tuples ? std::stoll(tuples) : 0);
}

Status ExtractTable(PGconn* c, const DbTableSpec& spec, const json& state, json* new_state,
                    const ExtractorIo& io) {
  const std::string schema = spec.schema.empty() ? "public" : spec.schema;
  const std::string from =
      spec.query.empty() ? Quote(c, schema) + "." + Quote(c, spec.table) : "(" + spec.query + ")";
  ASSIGN_OR_RETURN(std::vector<Column> all, Describe(c, from));
  std::vector<Column> cols;
  if (spec.columns.empty()) {
    cols = all;
  } else {
    for (const auto& name : spec.columns) {
      auto it =
          std::find_if(all.begin(), all.end(), [&](const Column& x) { return x.name == name; });
      if (it == all.end())
        return FieldError((spec.field.empty() ? "" : spec.field + ".") + "columns",
                          "no column '" + name + "' in " + schema + "." + spec.table);
      cols.push_back(*it);
    }
  }
  const auto has = [&](const std::string& name) {
    return std::any_of(all.begin(), all.end(), [&](const Column& x) { return x.name == name; });
  };
  for (const auto& k : spec.primary_key)
    if (!has(k)) return FieldError("primaryKey", "no column '" + k + "' in the source");
  std::string where, order, limit;
  if (!spec.fetch_column.empty()) {
    if (!has(spec.fetch_column))
      return FieldError("incrementalFetchingColumn", "no column '" + spec.fetch_column + "'");
    const std::string col = "q." + Quote(c, spec.fetch_column);
    if (state.contains("lastFetchedRow") && state["lastFetchedRow"].is_string())
      where = " WHERE " + col + " >= " + Literal(c, state["lastFetchedRow"].get<std::string>());
    order = " ORDER BY " + col;
    if (spec.fetch_limit > 0) limit = " LIMIT " + std::to_string(spec.fetch_limit);
  }
  std::string exprs;
  for (const auto& col : cols)
    exprs += (exprs.empty() ? "" : ", ") + Expression(c, col) + " AS " + Quote(c, col.name);
  const std::string select = "SELECT " + exprs + " FROM " + from + " AS q" + where + order + limit;

  const std::string file = FileName(spec.output_table);
  const std::string path = io.out_dir + "/tables/" + file;
  // The manifest first: the job loads each slice as soon as it is closed.
  std::vector<DbColumnType> types;
  for (const auto& col : cols) {
    auto [base, length] = BaseType(col);
    types.push_back({col.name, base, length});
  }
  RETURN_IF_ERROR(WriteDbManifest(path, spec, types, /*sliced=*/true));
  Log(io.log, LogLevel::kInfo,
      "extracting " + (spec.query.empty() ? schema + "." + spec.table : std::string("a query")) +
          " into " + spec.output_table + (where.empty() ? "" : " (rows since the last run)"));
  CsvSliceWriter slices(path, file, io.slice_done);
  RETURN_IF_ERROR(slices.Open());
  ASSIGN_OR_RETURN(int64_t rows, CopyOut(c, select, slices, io));
  Log(io.log, LogLevel::kInfo, std::to_string(rows) + " rows from " + spec.output_table);

  if (!spec.fetch_column.empty()) {
    const std::string q = "q." + Quote(c, spec.fetch_column);
    ASSIGN_OR_RETURN(PgResult m, Exec(c,
                                      "SELECT max(s.v)::text FROM (SELECT " + q + " AS v FROM " +
                                          from + " AS q" + where + order + limit + ") AS s",
                                      PGRES_TUPLES_OK, "reading the last fetched value"));
    if (PQntuples(m.get()) == 1 && !PQgetisnull(m.get(), 0, 0))
      (*new_state)["lastFetchedRow"] = std::string(PQgetvalue(m.get(), 0, 0));
  }
  return Status::Ok();
}

}  // namespace

Status RunPostgresExtractor(const json& config, const ExtractorIo& io) {
  const json parameters = config.value("parameters", json::object());
  ASSIGN_OR_RETURN(std::vector<DbTableSpec> tables, ParseDbTables(parameters));
  ASSIGN_OR_RETURN(Conn c, Connect(parameters.value("db", json()), io.timeout_ms));
  // One snapshot for everything read, in UTC.
  RETURN_IF_ERROR(Exec(c.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK,
                       "starting a read-only transaction")
                      .status());
  RETURN_IF_ERROR(
      Exec(c.get(), "SET LOCAL TimeZone = 'UTC'", PGRES_COMMAND_OK, "setting the time zone")
          .status());
  if (io.timeout_ms > 0) {
    RETURN_IF_ERROR(Exec(c.get(), "SET LOCAL statement_timeout = " + std::to_string(io.timeout_ms),
                         PGRES_COMMAND_OK, "setting the statement timeout")
                        .status());
  }
  json new_state = io.input_state.is_object() ? io.input_state : json::object();
  for (const auto& spec : tables)
    RETURN_IF_ERROR(ExtractTable(c.get(), spec, io.input_state, &new_state, io));
  RETURN_IF_ERROR(Exec(c.get(), "COMMIT", PGRES_COMMAND_OK, "ending the transaction").status());
  if (io.output_state) *io.output_state = new_state;
  return Status::Ok();
}

}  // namespace swan::connectors
