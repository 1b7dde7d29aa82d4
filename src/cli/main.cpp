// `swan`: the one binary. Argument parsing only; the commands live in cli/commands.cpp.
// This is the only file that includes CLI11 (slow to compile).
#include <CLI/CLI.hpp>
#include <csignal>

#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/limits.h"
#include "common/status.h"
#include "query/sql_worker.h"

namespace {

using swan::Status;
using namespace swan::cli;

constexpr const char* kRootFooter = R"TXT(Environment:
  SWAN_URL      server URL for client commands (default http://127.0.0.1:8080)
  SWAN_TOKEN    API token for client commands
  SWAN_PROJECT  project for client commands (default: the token's own project)

Examples:
  swan server --data ./swan-data --listen 127.0.0.1:8080
  export SWAN_TOKEN=swan_...
  swan table import in.sales.orders orders.csv --primary-key id
  swan sql "SELECT count(*) FROM \"in.sales.orders\""

Exit codes: 0 ok, 1 user error (bad argument, not found, conflict, no right), 2 server
unavailable or internal error. Errors are one line on stderr: "swan: error: <message>".)TXT";

constexpr const char* kImportFooter =
    R"TXT(The table and its bucket are created when missing. A full import replaces the
table's rows; --incremental appends them (an upsert when the table has a primary key).
Any error leaves the table at its previous version.

Examples:
  swan table import in.sales.orders orders.csv --primary-key id
  swan table import in.sales.orders changes.csv --incremental
  swan table import in.sales.events events.jsonl.gz --format jsonl
  swan table import in.sales.raw data.tsv --delimiter tab --no-header --columns id,name,amount \
      --types id:BIGINT,amount:DOUBLE)TXT";

constexpr const char* kExportFooter = R"TXT(Examples:
  swan table export in.sales.orders -o orders.csv
  swan table export in.sales.orders --format parquet -o orders.parquet
  swan table export in.sales.orders --where status=open,pending --columns id,amount -o open.csv
  swan table export in.sales.orders --changed-since 2026-11-01T00:00:00Z --gzip \
      -o delta.csv.gz)TXT";

constexpr const char* kSqlFooter =
    R"TXT(Tables are named by their id in double quotes. The result is limited to --limit rows
("(truncated)" is shown when more exist); --output-table writes the whole result to a table.

Examples:
  swan sql "SELECT status, count(*) AS n FROM \"in.sales.orders\" GROUP BY status"
  swan sql "SELECT * FROM \"in.sales.orders\"" --format csv > orders.csv
  swan sql "SELECT customer, sum(amount) AS total FROM \"in.sales.orders\" GROUP BY 1" \
      --output-table out.reports.totals
  echo "SELECT 42 AS answer" | swan sql -)TXT";

// The command chosen on the command line, run after parsing.
using Action = std::function<Status()>;

// Adds --url/--token/--project/--json to a client command.
void AddGlobalOptions(CLI::App* command, GlobalOptions& global) {
  CLI::Option_group* group =
      command->add_option_group("Connection", "Where and as whom to connect");
  group->add_option("--url", global.url,
                    "Swan server URL (env SWAN_URL; default http://127.0.0.1:8080)");
  group->add_option("--token", global.token, "API token (env SWAN_TOKEN; required)");
  group->add_option("--project", global.project,
                    "project name (env SWAN_PROJECT; default: the project of the token)");
  group->add_flag("--json", global.json, "print the raw JSON answer instead of a table");
}

// A client subcommand with the global options, whose callback sets `action`.
CLI::App* AddClientCommand(CLI::App* parent, const std::string& name,
                           const std::string& description, GlobalOptions& global, Action& action,
                           Action run) {
  CLI::App* command = parent->add_subcommand(name, description);
  AddGlobalOptions(command, global);
  command->callback([&action, run = std::move(run)] { action = run; });
  return command;
}

template <typename T>
std::optional<T> IfGiven(const CLI::Option* option, const T& value) {
  return option->count() > 0 ? std::optional<T>(value) : std::nullopt;
}

// "swan table import" for the deepest subcommand that was parsed.
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (true) {
    auto parsed = current->get_subcommands();
    if (parsed.empty()) break;
    current = parsed.front();
    path += " " + current->get_name();
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  // The server's SQL worker processes are this executable too (query/sql_worker.h).
  if (argc >= 2 && std::strcmp(argv[1], swan::query::kSqlWorkerCommand) == 0) {
    return swan::query::SqlWorkerMain(argc, argv);
  }
  // A write to a connection the server has closed (an upload it refused early) must be an error
  // the command reports, not a silent death by SIGPIPE (sendfile has no MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("Swan: a data stack in one binary (server, storage, SQL, CLI).", "swan");
  app.set_version_flag("--version", std::string("swan ") + SWAN_VERSION);
  app.require_subcommand(1);
  app.footer(kRootFooter);

  GlobalOptions global;
  Action action;
  std::function<int()> run_process;  // `server` and `demo`: run to completion, own exit code

  // ---- server, demo ----
  ServerCommandOptions server_options;
  CLI::App* server = app.add_subcommand("server", "Run the Swan server (REST API /v1)");
  server->add_option("--data", server_options.data_dir, "data directory (created when missing)")
      ->capture_default_str();
  server->add_option("--listen", server_options.listen, "address to listen on, HOST:PORT")
      ->capture_default_str();
  server->add_flag("--quiet", server_options.quiet, "no access log on stderr");
  server->footer(
      "On first start the data directory is initialised and the admin token is printed once.\n\n"
      "Example:\n  swan server --data ./swan-data --listen 0.0.0.0:8080");
  server->callback([&] { run_process = [&] { return RunServerCommand(server_options); }; });

  DemoCommandOptions demo_options;
  CLI::App* demo = app.add_subcommand(
      "demo", "Start a server with a demo project: sample data imported and aggregated");
  demo->add_option("--data", demo_options.data_dir, "data directory")->capture_default_str();
  demo->add_option("--listen", demo_options.listen, "address to listen on, HOST:PORT")
      ->capture_default_str();
  demo->add_option("--rows", demo_options.rows, "rows of the generated sample dataset")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  demo->add_flag("--exit", demo_options.exit_after,
                 "run the pipeline, print the results and stop instead of serving");
  demo->callback([&] { run_process = [&] { return RunDemoCommand(demo_options); }; });

  // ---- project ----
  CLI::App* project = app.add_subcommand("project", "Manage projects (admin token)");
  project->require_subcommand(1);
  std::string project_name, project_description;
  AddClientCommand(project, "list", "List the projects visible to the token", global, action,
                   [&] { return ProjectList(global); });
  CLI::App* project_create = AddClientCommand(
      project, "create", "Create a project and print its master token (shown once)", global, action,
      [&] { return ProjectCreate(global, project_name, project_description); });
  project_create->add_option("NAME", project_name, "project name, [a-z0-9][a-z0-9_-]{0,62}")
      ->required();
  project_create->add_option("--description", project_description, "free text");
  CLI::App* project_show = AddClientCommand(project, "show", "Show a project", global, action,
                                            [&] { return ProjectShow(global, project_name); });
  project_show->add_option("NAME", project_name, "project name")->required();
  CLI::App* project_delete =
      AddClientCommand(project, "delete", "Delete a project and all its data", global, action,
                       [&] { return ProjectDelete(global, project_name); });
  project_delete->add_option("NAME", project_name, "project name")->required();

  // ---- bucket ----
  CLI::App* bucket = app.add_subcommand("bucket", "Manage buckets of a project");
  bucket->require_subcommand(1);
  std::string bucket_id, bucket_description;
  bool bucket_force = false;
  AddClientCommand(bucket, "list", "List the buckets of the project", global, action,
                   [&] { return BucketList(global); });
  CLI::App* bucket_create =
      AddClientCommand(bucket, "create", "Create a bucket", global, action,
                       [&] { return BucketCreate(global, bucket_id, bucket_description); });
  bucket_create->add_option("ID", bucket_id, "bucket id <stage>.<name>, stage in|out (in.sales)")
      ->required();
  bucket_create->add_option("--description", bucket_description, "free text");
  CLI::App* bucket_show = AddClientCommand(bucket, "show", "Show a bucket and its tables", global,
                                           action, [&] { return BucketShow(global, bucket_id); });
  bucket_show->add_option("ID", bucket_id, "bucket id, e.g. in.sales")->required();
  CLI::App* bucket_delete =
      AddClientCommand(bucket, "delete", "Delete a bucket", global, action,
                       [&] { return BucketDelete(global, bucket_id, bucket_force); });
  bucket_delete->add_option("ID", bucket_id, "bucket id, e.g. in.sales")->required();
  bucket_delete->add_flag("--force", bucket_force,
                          "also delete the bucket's tables (otherwise a non-empty bucket is a "
                          "conflict)");

  // ---- table ----
  CLI::App* table = app.add_subcommand("table", "Import, export, inspect and version tables");
  table->require_subcommand(1);
  std::string table_id, table_bucket;
  AddClientCommand(table, "list", "List tables (ID, ROWS, BYTES, VERSION, UPDATED)", global, action,
                   [&] { return TableList(global, table_bucket); })
      ->add_option("--bucket", table_bucket, "only the tables of this bucket, e.g. in.sales");
  AddClientCommand(table, "show", "Show a table: version, size, columns, primary key", global,
                   action, [&] { return TableShow(global, table_id); })
      ->add_option("ID", table_id, "table id, e.g. in.sales.orders")
      ->required();

  TableImportOptions import_options;
  CLI::App* import =
      AddClientCommand(table, "import", "Import a file into a table (streamed)", global, action,
                       [&] { return TableImport(global, import_options); });
  import->add_option("ID", import_options.table_id, "table id, e.g. in.sales.orders")->required();
  import->add_option("FILE", import_options.file, "the file to upload (may be gzip-compressed)")
      ->required();
  import->add_flag("--incremental", import_options.incremental,
                   "append rows (upsert with a primary key) instead of replacing the table");
  import->add_option("--primary-key", import_options.primary_key,
                     "primary key columns a,b (when this import creates the table; must match "
                     "otherwise)");
  import
      ->add_option("--format", import_options.format,
                   "file format: json is an array of objects or objects one after another, "
                   "jsonl one object per line (default: from the extension — .csv .tsv .parquet "
                   ".json .jsonl .ndjson, each optionally .gz — else csv)")
      ->check(CLI::IsMember({"csv", "parquet", "json", "jsonl"}));
  import->add_option("--delimiter", import_options.delimiter,
                     "CSV field delimiter, 1-4 characters; 'tab' or '\\t' for a tab "
                     "(default: detected among , ; tab | space and ', ')");
  import->add_option("--enclosure", import_options.enclosure,
                     "CSV quote character, or 'none' (default: detected among \" ' none)");
  import->add_option("--escape", import_options.escape,
                     "CSV escape character (default: detected, the enclosure doubled or \\)");
  import->add_flag("--header", import_options.header, "the CSV has a header (default: detected)");
  import->add_flag("--no-header", import_options.no_header,
                   "the CSV has no header line (columns are column_1, column_2... or --columns)");
  import->add_option("--skip-lines", import_options.skip_lines,
                     "lines before the header to skip: titles, notes (default: detected)");
  import->add_option("--header-rows", import_options.header_rows,
                     "rows the header spans, joined into one name (default: detected)");
  import->add_option("--comment", import_options.comment,
                     "lines starting with this character are skipped (default: '#' when seen)");
  import
      ->add_option("--encoding", import_options.encoding,
                   "file encoding (default: UTF-8, or UTF-16 by its byte-order mark)")
      ->check(CLI::IsMember({"utf-8", "utf8", "utf-16", "utf16", "utf-16le", "utf-16be", "latin-1",
                             "latin1", "iso-8859-1", "windows-1250", "cp1250", "windows-1252",
                             "cp1252"}));
  import
      ->add_option("--on-bad-rows", import_options.on_bad_rows,
                   "rows that cannot be read: fail the import (default), skip them, or "
                   "quarantine them in table <name>_bad_rows")
      ->check(CLI::IsMember({"fail", "skip", "quarantine"}));
  import->add_option("--max-bad-rows", import_options.max_bad_rows,
                     "with skip/quarantine: more bad rows than this fail the import and load "
                     "nothing (default 1000)");
  import->add_flag("--pad-missing-trailing", import_options.pad_missing_trailing,
                   "accept rows that lack trailing fields (Excel drops empty ones): NULLs");
  import->add_option("--columns", import_options.columns,
                     "column names a,b,c instead of the header's");
  import->add_option("--types", import_options.types,
                     "declared column types a:BIGINT,b:VARCHAR (the rest are inferred)");
  import
      ->add_option("--compression", import_options.compression,
                   "compression of the file (default auto: detects gzip)")
      ->check(CLI::IsMember({"auto", "none", "gzip"}));
  import->footer(kImportFooter);

  TableExportOptions export_options;
  int64_t export_version = 0, export_limit = 0;
  CLI::Option* export_version_opt = nullptr;
  CLI::Option* export_limit_opt = nullptr;
  CLI::App* exporter =
      AddClientCommand(table, "export", "Export a table to a file (streamed)", global, action, [&] {
        export_options.version = IfGiven(export_version_opt, export_version);
        export_options.limit = IfGiven(export_limit_opt, export_limit);
        return TableExport(global, export_options);
      });
  exporter->add_option("ID", export_options.table_id, "table id, e.g. in.sales.orders")->required();
  exporter->add_option("-o,--output", export_options.output,
                       "output file, written whole or not at all; '-' for stdout (default)");
  exporter->add_option("--format", export_options.format, "file format (default csv)")
      ->check(CLI::IsMember({"csv", "parquet"}));
  exporter->add_flag("--gzip", export_options.gzip, "gzip-compress the CSV");
  exporter->add_flag("--original-names", export_options.original_names,
                     "name the columns by the header text they were imported from");
  exporter->add_option("--columns", export_options.columns, "only these columns a,b");
  export_version_opt = exporter
                           ->add_option("--version", export_version,
                                        "export this version instead of the current one")
                           ->check(CLI::PositiveNumber);
  exporter->add_option("--where", export_options.where,
                       "row filter COLUMN=V1,V2 (value in list) or COLUMN!=V1 (not in list)");
  exporter->add_option("--changed-since", export_options.changed_since,
                       "only rows changed since this time (ISO-8601 or unix seconds)");
  export_limit_opt = exporter->add_option("--limit", export_limit, "at most N rows")
                         ->check(CLI::NonNegativeNumber);
  exporter->footer(kExportFooter);

  TablePreviewOptions preview_options;
  int64_t preview_limit = 0, preview_version = 0;
  CLI::Option* preview_limit_opt = nullptr;
  CLI::Option* preview_version_opt = nullptr;
  CLI::App* preview =
      AddClientCommand(table, "preview", "Show the first rows of a table", global, action, [&] {
        preview_options.limit = IfGiven(preview_limit_opt, preview_limit);
        preview_options.version = IfGiven(preview_version_opt, preview_version);
        return TablePreview(global, preview_options);
      });
  preview->add_option("ID", preview_options.table_id, "table id, e.g. in.sales.orders")->required();
  preview_limit_opt =
      preview
          ->add_option("--limit", preview_limit,
                       "rows to show, at most " + std::to_string(swan::limits::kPreviewRowsMax) +
                           " (default " + std::to_string(swan::limits::kPreviewRowsDefault) + ")")
          ->check(CLI::Range(int64_t{1}, swan::limits::kPreviewRowsMax));
  preview_version_opt = preview->add_option("--version", preview_version, "preview this version")
                            ->check(CLI::PositiveNumber);
  preview->add_option("--columns", preview_options.columns, "only these columns a,b");

  AddClientCommand(table, "versions",
                   "List the versions of a table, newest first (VERSION, OPERATION, ROWS, ...)",
                   global, action, [&] { return TableVersions(global, table_id); })
      ->add_option("ID", table_id, "table id, e.g. in.sales.orders")
      ->required();
  int64_t restore_version = 0;
  CLI::App* restore = AddClientCommand(
      table, "restore", "Make an old version current again (as a new version)", global, action,
      [&] { return TableRestore(global, table_id, restore_version); });
  restore->add_option("ID", table_id, "table id, e.g. in.sales.orders")->required();
  restore->add_option("VERSION", restore_version, "the version to restore (see `table versions`)")
      ->required()
      ->check(CLI::PositiveNumber);
  AddClientCommand(table, "delete", "Delete a table", global, action,
                   [&] { return TableDelete(global, table_id); })
      ->add_option("ID", table_id, "table id, e.g. in.sales.orders")
      ->required();
  AddClientCommand(table, "compact", "Merge a table's segments into one (a new version)", global,
                   action, [&] { return TableCompact(global, table_id); })
      ->add_option("ID", table_id, "table id, e.g. in.sales.orders")
      ->required();

  // ---- sql ----
  SqlOptions sql_options;
  int64_t sql_limit = 0, sql_timeout_ms = 0;
  CLI::Option* sql_limit_opt = nullptr;
  CLI::Option* sql_timeout_opt = nullptr;
  CLI::App* sql = AddClientCommand(
      &app, "sql", "Run a SQL query (DuckDB dialect) over the tables", global, action, [&] {
        sql_options.limit = IfGiven(sql_limit_opt, sql_limit);
        sql_options.timeout_ms = IfGiven(sql_timeout_opt, sql_timeout_ms);
        return Sql(global, sql_options);
      });
  sql->add_option("SQL", sql_options.sql, "the statement, or '-' to read it from stdin")
      ->required();
  sql->add_option("--format", sql_options.format, "result format: json (shown as a table) or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "csv"}));
  sql_limit_opt = sql->add_option("--limit", sql_limit,
                                  "at most N result rows (default " +
                                      std::to_string(swan::limits::kSqlRowsDefault) + ", at most " +
                                      std::to_string(swan::limits::kSqlRowsMax) + ")")
                      ->check(CLI::PositiveNumber);
  sql_timeout_opt = sql->add_option("--timeout-ms", sql_timeout_ms,
                                    "cancel the query after this many ms (default " +
                                        std::to_string(swan::limits::kSqlTimeoutMsDefault) + ")")
                        ->check(CLI::PositiveNumber);
  sql->add_option("--output-table", sql_options.output_table,
                  "write the whole result to this table (e.g. out.reports.totals)");
  sql->footer(kSqlFooter);

  // ---- token ----
  CLI::App* token = app.add_subcommand("token", "Manage API tokens of a project");
  token->require_subcommand(1);
  TokenCreateOptions token_options;
  int64_t token_expires = 0;
  CLI::Option* token_expires_opt = nullptr;
  CLI::App* token_create = AddClientCommand(
      token, "create", "Create a scoped token and print its secret (shown once)", global, action,
      [&] {
        token_options.expires_in_seconds = IfGiven(token_expires_opt, token_expires);
        return TokenCreate(global, token_options);
      });
  token_create->add_option("--description", token_options.description, "what the token is for");
  token_create
      ->add_option("--read", token_options.read_buckets, "grant read on this bucket (repeatable)")
      ->allow_extra_args(false);
  token_create
      ->add_option("--write", token_options.write_buckets,
                   "grant write (and read) on this bucket (repeatable)")
      ->allow_extra_args(false);
  token_expires_opt =
      token_create->add_option("--expires-in", token_expires, "expire after this many seconds")
          ->check(CLI::PositiveNumber);
  token_create->footer(
      "Example:\n  swan token create --description dashboard --read in.sales --expires-in 86400");
  AddClientCommand(token, "list", "List the project's tokens", global, action,
                   [&] { return TokenList(global); });
  int64_t revoke_id = 0;
  AddClientCommand(token, "revoke", "Revoke a token", global, action,
                   [&] { return TokenRevoke(global, revoke_id); })
      ->add_option("ID", revoke_id, "token id (see `token list`)")
      ->required();

  // ---- config ----
  CLI::App* config = app.add_subcommand("config", "Manage component configurations (versioned)");
  config->require_subcommand(1);
  ConfigWriteOptions config_options;
  auto add_write_options = [&](CLI::App* c) {
    c->add_option("--name", config_options.name, "human name");
    c->add_option("--description", config_options.description, "what it does");
    c->add_option(
        "--file", config_options.file,
        "JSON file ('-' = stdin): the configuration ({parameters, storage, ...}), or "
        "{\"configuration\": ..., \"rows\": [...]}; `#` keys are secrets, encrypted on save");
    c->add_option("--message", config_options.message, "what this change does (kept in versions)");
  };
  CLI::App* config_create =
      AddClientCommand(config, "create", "Create a configuration of a component", global, action,
                       [&] { return ConfigCreate(global, config_options); });
  config_create
      ->add_option("COMPONENT", config_options.component_id, "component id (see `component list`)")
      ->required();
  config_create->add_option("--id", config_options.config_id,
                            "configuration id (default: a number)");
  add_write_options(config_create);
  config_create->footer(
      "Example:\n  swan config create swan.sql-transformation --id daily-revenue --file "
      "revenue.json\n"
      "  swan run daily-revenue --wait");
  CLI::App* config_edit =
      AddClientCommand(config, "edit", "Change a configuration: a new version", global, action,
                       [&] { return ConfigEdit(global, config_options); });
  config_edit->add_option("CONFIG", config_options.config_id, "configuration id")->required();
  add_write_options(config_edit);
  AddClientCommand(config, "list", "List the project's configurations", global, action,
                   [&] { return ConfigList(global); });
  std::string config_id;
  int64_t config_version = 0;
  CLI::Option* config_version_opt = nullptr;
  CLI::App* config_show = AddClientCommand(
      config, "show", "Show a configuration (secrets stay encrypted)", global, action,
      [&] { return ConfigShow(global, config_id, IfGiven(config_version_opt, config_version)); });
  config_show->add_option("CONFIG", config_id, "configuration id")->required();
  config_version_opt = config_show->add_option("--version", config_version, "an older version");
  AddClientCommand(config, "versions", "List a configuration's versions", global, action,
                   [&] { return ConfigVersions(global, config_id); })
      ->add_option("CONFIG", config_id, "configuration id")
      ->required();
  int64_t diff_from = 0, diff_to = 0;
  CLI::Option* diff_from_opt = nullptr;
  CLI::Option* diff_to_opt = nullptr;
  CLI::App* config_diff = AddClientCommand(
      config, "diff", "What changed between two versions (default: the last change)", global,
      action, [&] {
        return ConfigDiff(global, config_id, IfGiven(diff_from_opt, diff_from),
                          IfGiven(diff_to_opt, diff_to));
      });
  config_diff->add_option("CONFIG", config_id, "configuration id")->required();
  diff_from_opt = config_diff->add_option("--from", diff_from, "older version");
  diff_to_opt = config_diff->add_option("--to", diff_to, "newer version (default: current)");
  int64_t rollback_version = 0;
  std::string rollback_message;
  CLI::App* config_rollback = AddClientCommand(
      config, "rollback", "Make an old version current again (as a new version)", global, action,
      [&] { return ConfigRollback(global, config_id, rollback_version, rollback_message); });
  config_rollback->add_option("CONFIG", config_id, "configuration id")->required();
  config_rollback->add_option("VERSION", rollback_version, "the version to bring back")->required();
  config_rollback->add_option("--message", rollback_message, "why");
  AddClientCommand(config, "delete", "Delete a configuration", global, action,
                   [&] { return ConfigDelete(global, config_id); })
      ->add_option("CONFIG", config_id, "configuration id")
      ->required();

  // ---- run ----
  RunOptions run_options;
  int64_t run_timeout = 0, run_attempts = 1;
  CLI::Option* run_timeout_opt = nullptr;
  CLI::Option* run_attempts_opt = nullptr;
  CLI::App* run = AddClientCommand(
      &app, "run", "Run a configuration (or one row) as a job", global, action, [&] {
        run_options.timeout_seconds = IfGiven(run_timeout_opt, run_timeout);
        run_options.max_attempts = IfGiven(run_attempts_opt, run_attempts);
        return Run(global, run_options);
      });
  run->add_option("CONFIG", run_options.config_id, "configuration id")->required();
  run->add_option("--row", run_options.row, "run only this row of the configuration");
  run->add_flag("--wait", run_options.wait,
                "print the job's events as they come and exit with the job's result");
  run_timeout_opt = run->add_option("--timeout", run_timeout, "seconds before the job is killed")
                        ->check(CLI::PositiveNumber);
  run_attempts_opt =
      run->add_option("--max-attempts", run_attempts,
                      "run again after an application error or timeout, up to this many times")
          ->check(CLI::Range(1, 10));
  run->add_flag("--debug", run_options.debug,
                "keep the job's folder under <data>/jobs/ID (secrets encrypted again)");
  run->add_option("--var", run_options.variables,
                  "name=value (repeat): replaces {{ name }} in the configuration; a flow passes "
                  "them to its tasks");
  run->footer("Exit code with --wait: 0 success or warning, 1 user error, 2 anything else.");

  // ---- flow ----
  CLI::App* flow = app.add_subcommand(
      "flow", "Flows: phases of tasks run as one job of jobs (docs/orchestration.md)");
  flow->require_subcommand(1);
  ConfigWriteOptions flow_options;
  CLI::App* flow_create =
      AddClientCommand(flow, "create", "Create a flow (Keboola's orchestrator format)", global,
                       action, [&] { return FlowCreate(global, flow_options); });
  flow_create->add_option("ID", flow_options.config_id, "flow id")->required();
  flow_create
      ->add_option("--file", flow_options.file,
                   "JSON file ('-' = stdin): {\"phases\": [...], \"tasks\": [...]}")
      ->required();
  flow_create->add_option("--name", flow_options.name, "human name");
  flow_create->add_option("--description", flow_options.description, "what it does");
  flow_create->footer(
      "Example:\n  swan flow create nightly --file nightly.json\n  swan flow run nightly --wait\n"
      "  swan flow graph nightly > nightly.mmd");
  AddClientCommand(flow, "list", "List the project's flows", global, action,
                   [&] { return FlowList(global); });
  RunOptions flow_run;
  CLI::App* flow_run_cmd = AddClientCommand(flow, "run", "Run a flow", global, action,
                                            [&] { return Run(global, flow_run); });
  flow_run_cmd->add_option("ID", flow_run.config_id, "flow id")->required();
  flow_run_cmd->add_option("--var", flow_run.variables,
                           "name=value (repeat): overrides the flow's variables for its tasks");
  flow_run_cmd->add_flag("--wait", flow_run.wait,
                         "print the flow's events as they come and exit with its result");
  int64_t flow_job = 0;
  AddClientCommand(flow, "show", "Show a flow's job and its tasks' jobs", global, action,
                   [&] { return FlowShow(global, flow_job); })
      ->add_option("JOB", flow_job, "the flow's job id")
      ->required();
  std::string flow_id, flow_format = "mermaid";
  CLI::App* flow_graph =
      AddClientCommand(flow, "graph", "Print a flow's graph (Mermaid or JSON)", global, action,
                       [&] { return FlowGraph(global, flow_id, flow_format); });
  flow_graph->add_option("ID", flow_id, "flow id")->required();
  flow_graph->add_option("--format", flow_format, "mermaid or json")->capture_default_str();
  bool flow_rerun_wait = false;
  CLI::App* flow_rerun = AddClientCommand(
      flow, "rerun", "Rerun a failed flow job: what failed and what follows it", global, action,
      [&] { return FlowRerun(global, flow_job, flow_rerun_wait); });
  flow_rerun->add_option("JOB", flow_job, "the flow's job id")->required();
  flow_rerun->add_flag("--wait", flow_rerun_wait, "follow the new flow job until it ends");

  // ---- schedule ----
  CLI::App* schedule = app.add_subcommand(
      "schedule",
      "Schedules: run a flow or configuration on a cron schedule (docs/orchestration.md)");
  schedule->require_subcommand(1);
  ScheduleWriteOptions schedule_options;
  CLI::App* schedule_create =
      AddClientCommand(schedule, "create", "Create a schedule", global, action,
                       [&] { return ScheduleCreate(global, schedule_options); });
  schedule_create->add_option("ID", schedule_options.id, "schedule id (default: a number)");
  schedule_create
      ->add_option("--cron", schedule_options.cron,
                   "5-field cron expression or @daily-style shortcut, e.g. \"0 6 * * 1-5\"")
      ->required();
  schedule_create
      ->add_option("--timezone", schedule_options.timezone, "IANA time zone, e.g. Europe/Prague")
      ->capture_default_str();
  schedule_create->add_option("--flow", schedule_options.flow, "the flow it runs");
  schedule_create->add_option("--config", schedule_options.config,
                              "or the configuration it runs (any component)");
  schedule_create
      ->add_option("--catch-up", schedule_options.catch_up,
                   "after downtime: skip the missed runs, or run_once for all of them")
      ->check(CLI::IsMember({"skip", "run_once"}))
      ->capture_default_str();
  schedule_create->add_flag("--disabled", schedule_options.disabled, "create it disabled");
  schedule_create->add_option("--name", schedule_options.name, "human name");
  schedule_create->footer(
      "Example:\n  swan schedule create nightly --cron \"30 2 * * *\" --timezone Europe/Prague "
      "--flow daily-sales\n  swan schedule show nightly --next 10");
  AddClientCommand(schedule, "list", "List schedules with their last and next runs", global, action,
                   [&] { return ScheduleList(global); });
  std::string schedule_id;
  int schedule_next = 5;
  CLI::App* schedule_show =
      AddClientCommand(schedule, "show", "Show a schedule and its next run times", global, action,
                       [&] { return ScheduleShow(global, schedule_id, schedule_next); });
  schedule_show->add_option("ID", schedule_id, "schedule id")->required();
  schedule_show->add_option("--next", schedule_next, "run times to show (0-100)")
      ->capture_default_str();
  std::string preview_cron, preview_zone = "UTC";
  CLI::App* schedule_preview = AddClientCommand(
      schedule, "preview", "Print the next run times of a cron expression (nothing saved)", global,
      action, [&] { return SchedulePreview(global, preview_cron, preview_zone, schedule_next); });
  schedule_preview->add_option("CRON", preview_cron, "cron expression")->required();
  schedule_preview->add_option("--timezone", preview_zone, "IANA time zone")->capture_default_str();
  schedule_preview->add_option("--next", schedule_next, "run times to show (0-100)")
      ->capture_default_str();
  for (bool enable : {true, false}) {
    AddClientCommand(schedule, enable ? "enable" : "disable",
                     enable ? "Enable a schedule (runs after now only)" : "Disable a schedule",
                     global, action,
                     [&, enable] { return ScheduleSetState(global, schedule_id, enable); })
        ->add_option("ID", schedule_id, "schedule id")
        ->required();
  }
  AddClientCommand(schedule, "delete", "Delete a schedule", global, action,
                   [&] { return ConfigDelete(global, schedule_id); })
      ->add_option("ID", schedule_id, "schedule id")
      ->required();

  // ---- trigger ----
  CLI::App* trigger = app.add_subcommand(
      "trigger",
      "Triggers: run a flow when every table of a set has new data (docs/orchestration.md)");
  trigger->require_subcommand(1);
  TriggerWriteOptions trigger_options;
  CLI::App* trigger_create =
      AddClientCommand(trigger, "create", "Create a trigger", global, action,
                       [&] { return TriggerCreate(global, trigger_options); });
  trigger_create->add_option("ID", trigger_options.id, "trigger id (default: a number)");
  trigger_create->add_option("--flow", trigger_options.flow, "the flow it runs");
  trigger_create->add_option("--config", trigger_options.config,
                             "or the configuration it runs (any component)");
  trigger_create
      ->add_option("--table", trigger_options.tables,
                   "a table it watches (repeat): it fires when every one has a new version")
      ->required();
  trigger_create
      ->add_option("--cooldown", trigger_options.cooldown_minutes,
                   "minutes between two runs at least")
      ->check(CLI::Range(int64_t{0}, int64_t{7 * 24 * 60}))
      ->capture_default_str();
  trigger_create->add_flag("--disabled", trigger_options.disabled, "create it disabled");
  trigger_create->add_option("--name", trigger_options.name, "human name");
  trigger_create->footer(
      "Example:\n  swan trigger create on-orders --flow daily-sales --table in.sales.orders "
      "--cooldown 10");
  AddClientCommand(trigger, "list", "List triggers and the versions of their tables", global,
                   action, [&] { return TriggerList(global); });
  std::string trigger_id;
  for (bool enable : {true, false}) {
    AddClientCommand(trigger, enable ? "enable" : "disable",
                     enable ? "Enable a trigger" : "Disable a trigger", global, action,
                     [&, enable] { return TriggerSetState(global, trigger_id, enable); })
        ->add_option("ID", trigger_id, "trigger id")
        ->required();
  }
  AddClientCommand(trigger, "delete", "Delete a trigger", global, action,
                   [&] { return ConfigDelete(global, trigger_id); })
      ->add_option("ID", trigger_id, "trigger id")
      ->required();

  // ---- job ----
  CLI::App* job = app.add_subcommand("job", "Follow, inspect and cancel jobs");
  job->require_subcommand(1);
  std::string job_config, job_status;
  CLI::App* job_list = AddClientCommand(job, "list", "List jobs, newest first", global, action,
                                        [&] { return JobList(global, job_config, job_status); });
  job_list->add_option("--config", job_config, "only this configuration's jobs");
  job_list->add_option("--status", job_status,
                       "only jobs in this state (waiting, processing, success, error, ...)");
  int64_t job_id = 0;
  bool job_follow = false;
  AddClientCommand(job, "show", "Show a job: state, usage, inputs and outputs", global, action,
                   [&] { return JobShow(global, job_id); })
      ->add_option("ID", job_id, "job id")
      ->required();
  CLI::App* job_logs = AddClientCommand(job, "logs", "Print a job's events", global, action,
                                        [&] { return JobLogs(global, job_id, job_follow); });
  job_logs->add_option("ID", job_id, "job id")->required();
  job_logs->add_flag("-f,--follow", job_follow, "keep printing new events until the job ends");
  AddClientCommand(job, "cancel", "Cancel a job (kills its component)", global, action,
                   [&] { return JobCancel(global, job_id); })
      ->add_option("ID", job_id, "job id")
      ->required();

  // ---- file ----
  CLI::App* file = app.add_subcommand("file", "Files jobs wrote to out/files (tagged)");
  file->require_subcommand(1);
  std::string file_tags, file_output = "-";
  int64_t file_id = 0;
  AddClientCommand(file, "list", "List files, newest first", global, action, [&] {
    return FileList(global, file_tags);
  })->add_option("--tags", file_tags, "only files with all these tags: a,b");
  CLI::App* file_download =
      AddClientCommand(file, "download", "Download a file", global, action,
                       [&] { return FileDownload(global, file_id, file_output); });
  file_download->add_option("ID", file_id, "file id (see `file list`)")->required();
  file_download->add_option("-o,--output", file_output, "where to write it ('-' = stdout)")
      ->capture_default_str();

  // ---- component ----
  CLI::App* component = app.add_subcommand("component", "The components jobs can run");
  component->require_subcommand(1);
  std::string component_id;
  AddClientCommand(component, "list", "List components (built-in and registry files)", global,
                   action, [&] { return ComponentList(global); });
  AddClientCommand(component, "show", "Show a component and its parameter schema", global, action,
                   [&] { return ComponentShow(global, component_id); })
      ->add_option("ID", component_id, "component id")
      ->required();

  // ---- gc ----
  int64_t gc_retention = 0;
  CLI::Option* gc_retention_opt = nullptr;
  CLI::App* gc = AddClientCommand(
      &app, "gc", "Delete table versions and segments older than the retention (admin token)",
      global, action, [&] { return Gc(global, IfGiven(gc_retention_opt, gc_retention)); });
  gc_retention_opt =
      gc->add_option("--retention", gc_retention,
                     "keep versions younger than this many seconds (server default " +
                         std::to_string(swan::limits::kRetentionSecondsDefault) + ")")
          ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintError(Status::InvalidArgument(std::string(e.what()) + " (see '" + CommandPath(app) +
                                       " --help')"));
    return 1;
  }
  if (run_process) return run_process();
  if (!action) return 0;

  Status status;
  try {
    status = action();
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("unexpected error: ") + e.what());
  }
  if (!status.ok()) PrintError(status);
  return ExitCodeFor(status);
}
