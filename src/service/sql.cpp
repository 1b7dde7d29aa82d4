#include "service/sql.h"

#include "common/names.h"
#include "service/access.h"
#include "service/projects.h"
#include "storage/read_plan.h"

namespace swan::service {

namespace {

// The tables `sql` names that the caller may read, at their heads.
Result<std::vector<query::SqlTable>> VisibleTables(Runtime& rt, const Caller& caller,
                                                   const catalog::Project& project,
                                                   const std::string& sql) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto tables, rt.catalog().ListTables(project.main_branch_id, 0));
  std::vector<query::SqlTable> visible;
  for (const auto& t : tables) {
    if (!CanRead(caller.token, t.bucket_full_id)) continue;
    if (sql.find(t.FullId()) == std::string::npos) continue;
    ASSIGN_OR_RETURN(auto head, rt.catalog().GetVersion(t.head_version_id));
    visible.push_back({t.FullId(), storage::VersionSelectSql(rt.data_dir(), head, t.primary_key),
                       storage::SegmentPaths(rt.data_dir(), head)});
  }
  return visible;
}

nlohmann::json SqlDetails(const query::SqlRequest& request) {
  return {{"sql", request.sql.substr(0, 2000)}};
}

}  // namespace

Result<query::SqlResult> RunSql(Runtime& rt, const Caller& caller, const catalog::Project& project,
                                const query::SqlRequest& request) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto visible, VisibleTables(rt, caller, project, request.sql));
  ASSIGN_OR_RETURN(auto result, rt.sql().Run(visible, request));
  // A query changes nothing: its event has no change to commit with.
  Status logged = rt.catalog().AppendEvent(
      AuditEvent(caller, project.id, "sql.run", "sql", SqlDetails(request)));
  if (!logged.ok()) return logged;
  return result;
}

Result<storage::WriteResult> RunSqlIntoTable(Runtime& rt, const Caller& caller,
                                             const catalog::Project& project,
                                             const query::SqlRequest& request,
                                             const SqlIntoTable& into) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(into.table_id, &stage, &bucket_name, &table_name));
  RETURN_IF_ERROR(RequireWrite(caller.token, stage + "." + bucket_name));
  ASSIGN_OR_RETURN(auto visible, VisibleTables(rt, caller, project, request.sql));
  const std::string out = rt.store().NewTempPath(".parquet");
  struct Cleanup {
    Env& env;
    const std::string& path;
    ~Cleanup() { (void)env.RemoveFile(path); }
  } cleanup{rt.env(), out};
  ASSIGN_OR_RETURN(int64_t rows, rt.sql().RunToParquet(visible, request, out));
  (void)rows;
  ASSIGN_OR_RETURN(auto bucket,
                   ResolveBucket(rt, caller, project, stage + "." + bucket_name, true));
  storage::ImportRequest import;
  import.file_path = out;
  import.display_name = "SQL result";
  import.format = storage::FileFormat::kParquet;
  import.incremental = into.incremental;
  import.token_id = caller.token.id;
  import.operation = "sql";
  nlohmann::json details = SqlDetails(request);
  return rt.store().Import(
      bucket, table_name, import,
      [&](catalog::Catalog& tx, const std::vector<storage::WriteResult>& results) -> Status {
        details["version"] = results[0].version.number;
        return tx.AppendEvent(AuditEvent(caller, project.id, "sql.run", into.table_id, details));
      });
}

}  // namespace swan::service
