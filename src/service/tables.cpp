#include "service/tables.h"

#include "common/limits.h"
#include "common/names.h"
#include "service/access.h"
#include "service/projects.h"

namespace swan::service {

namespace {

// The audit hook of a table write: the event names the table and the version it made.
storage::CommitHook AuditHook(const Caller& caller, const catalog::Project& project,
                              const std::string& action, const std::string& table_id,
                              nlohmann::json details = nlohmann::json::object()) {
  return [&caller, project_id = project.id, action, table_id, details](
             catalog::Catalog& tx, const std::vector<storage::WriteResult>& results) -> Status {
    nlohmann::json d = details;
    if (!results.empty()) {
      d["version"] = results[0].version.number;
      d["row_count"] = results[0].version.row_count;
    }
    return tx.AppendEvent(AuditEvent(caller, project_id, action, table_id, d));
  };
}

Result<catalog::Bucket> WritableBucket(Runtime& rt, const Caller& caller,
                                       const catalog::Project& project, const std::string& table_id,
                                       std::string* table_name, bool create) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string stage, bucket_name;
  RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, table_name));
  RETURN_IF_ERROR(RequireWrite(caller.token, stage + "." + bucket_name));
  return ResolveBucket(rt, caller, project, stage + "." + bucket_name, create);
}

}  // namespace

Result<std::vector<TableWithHead>> ListTables(Runtime& rt, const Caller& caller,
                                              const catalog::Project& project,
                                              const std::string& bucket_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  int64_t bucket = 0;
  if (!bucket_id.empty()) {
    ASSIGN_OR_RETURN(auto b, ResolveBucket(rt, caller, project, bucket_id, false));
    RETURN_IF_ERROR(RequireRead(caller.token, b.FullId()));
    bucket = b.id;
  }
  ASSIGN_OR_RETURN(auto tables, rt.catalog().ListTables(project.main_branch_id, bucket));
  std::vector<TableWithHead> out;
  for (auto& t : tables) {
    if (!CanRead(caller.token, t.bucket_full_id)) continue;
    ASSIGN_OR_RETURN(auto head, rt.catalog().GetVersion(t.head_version_id));
    out.push_back({std::move(t), std::move(head)});
  }
  return out;
}

Result<TableWithHead> GetTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               const std::string& table_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  ASSIGN_OR_RETURN(auto head, rt.catalog().GetVersion(table.head_version_id));
  return TableWithHead{table, head};
}

Result<TableWithHead> CreateTable(Runtime& rt, const Caller& caller,
                                  const catalog::Project& project,
                                  const CreateTableRequest& request) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string table_name;
  ASSIGN_OR_RETURN(auto bucket,
                   WritableBucket(rt, caller, project, request.table_id, &table_name, true));
  ASSIGN_OR_RETURN(auto written,
                   rt.store().CreateEmpty(
                       bucket, table_name, request.columns, request.primary_key, caller.token.id,
                       AuditHook(caller, project, "table.create", request.table_id)));
  return TableWithHead{written.table, written.version};
}

Status DeleteTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                   const std::string& table_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  RETURN_IF_ERROR(RequireWrite(caller.token, bucket.FullId()));
  return rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    RETURN_IF_ERROR(tx.DeleteTable(table.id));
    return tx.AppendEvent(AuditEvent(caller, project.id, "table.delete", table_id));
  });
}

Status CheckImportAllowed(const Caller& caller, const std::string& table_id) {
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, &table_name));
  return RequireWrite(caller.token, stage + "." + bucket_name);
}

Result<storage::WriteResult> ImportTable(Runtime& rt, const Caller& caller,
                                         const catalog::Project& project,
                                         const std::string& table_id,
                                         storage::ImportRequest request,
                                         const nlohmann::json& details) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string table_name;
  ASSIGN_OR_RETURN(auto bucket, WritableBucket(rt, caller, project, table_id, &table_name, true));
  request.token_id = caller.token.id;
  return rt.store().Import(bucket, table_name, request,
                           AuditHook(caller, project, "table.import", table_id, details));
}

Result<catalog::Table> ExportTable(Runtime& rt, const Caller& caller,
                                   const catalog::Project& project, const std::string& table_id,
                                   const storage::ReadRequest& request,
                                   storage::ExportFormat format, bool gzip,
                                   const std::string& out_path) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  RETURN_IF_ERROR(rt.store().Export(table, request, format, gzip, out_path));
  return table;
}

Result<Preview> PreviewTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                             const std::string& table_id, storage::ReadRequest request) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  const int64_t limit = request.limit.value_or(limits::kPreviewRowsDefault);
  if (limit < 1 || limit > limits::kPreviewRowsMax) {
    return Status::InvalidArgument("preview limit must be between 1 and " +
                                   std::to_string(limits::kPreviewRowsMax))
        .WithDetail("field", "limit");
  }
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  request.limit = limit + 1;  // one more row tells whether there are more
  Preview out;
  ASSIGN_OR_RETURN(out.rows, rt.store().Preview(table, request));
  auto version = request.version ? rt.catalog().GetVersionByNumber(table.id, *request.version)
                                 : rt.catalog().GetVersion(table.head_version_id);
  if (version.ok()) {
    for (const auto& c : version->columns) {
      if (!c.label.empty()) out.labels[c.name] = c.label;
    }
  }
  if (static_cast<int64_t>(out.rows.rows.size()) > limit) {
    out.truncated = true;
    out.rows.rows.resize(static_cast<size_t>(limit));
  }
  return out;
}

Result<std::vector<catalog::TableVersion>> ListVersions(Runtime& rt, const Caller& caller,
                                                        const catalog::Project& project,
                                                        const std::string& table_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  return rt.catalog().ListVersions(table.id);
}

Result<storage::WriteResult> RestoreTable(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& table_id, int64_t number) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  RETURN_IF_ERROR(RequireWrite(caller.token, bucket.FullId()));
  return rt.store().Restore(
      table, number, caller.token.id,
      AuditHook(caller, project, "table.restore", table_id, {{"restored_version", number}}));
}

Result<storage::WriteResult> CompactTable(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& table_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  catalog::Bucket bucket;
  ASSIGN_OR_RETURN(auto table, ResolveTable(rt, caller, project, table_id, &bucket));
  RETURN_IF_ERROR(RequireWrite(caller.token, bucket.FullId()));
  return rt.store().Compact(table, caller.token.id,
                            AuditHook(caller, project, "table.compact", table_id));
}

}  // namespace swan::service
