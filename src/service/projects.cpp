#include "service/projects.h"

#include "common/names.h"
#include "jobs/file_mapping.h"
#include "service/access.h"

namespace swan::service {

Result<catalog::Project> ResolveProject(Runtime& rt, const Caller& caller,
                                        const std::string& name) {
  RETURN_IF_ERROR(names::ValidateProject(name));
  auto project = rt.catalog().GetProject(name);
  if (!project.ok()) {
    if (!IsAdmin(caller.token) && project.status().code() == StatusCode::kNotFound)
      return Status::Forbidden("token has no access to project '" + name + "'");
    return project.status();
  }
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, *project));
  return project;
}

Result<catalog::Bucket> ResolveBucket(Runtime& rt, const Caller& caller,
                                      const catalog::Project& project, const std::string& bucket_id,
                                      bool create) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string stage, name;
  RETURN_IF_ERROR(names::SplitBucketId(bucket_id, &stage, &name));
  auto bucket = rt.catalog().GetBucket(project.main_branch_id, stage, name);
  if (bucket.ok() || !create || bucket.status().code() != StatusCode::kNotFound) return bucket;
  if (caller.token.kind == "scoped")
    return Status::Forbidden("a scoped token cannot create bucket " + bucket_id);
  catalog::Bucket b;
  b.project_id = project.id;
  b.branch_id = project.main_branch_id;
  b.stage = stage;
  b.name = name;
  catalog::Bucket created;
  Status st = rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(created, tx.CreateBucket(b));
    return tx.AppendEvent(
        AuditEvent(caller, project.id, "bucket.create", bucket_id, {{"implicit", true}}));
  });
  if (st.ok()) return created;
  if (st.code() != StatusCode::kConflict) return st;
  return rt.catalog().GetBucket(project.main_branch_id, stage, name);  // lost a race: fine
}

Result<catalog::Table> ResolveTable(Runtime& rt, const Caller& caller,
                                    const catalog::Project& project, const std::string& table_id,
                                    catalog::Bucket* bucket) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, &table_name));
  ASSIGN_OR_RETURN(*bucket, ResolveBucket(rt, caller, project, stage + "." + bucket_name, false));
  RETURN_IF_ERROR(RequireRead(caller.token, bucket->FullId()));
  auto table = rt.catalog().GetTable(bucket->id, table_name);
  if (!table.ok() && table.status().code() == StatusCode::kNotFound)
    return Status::NotFound("table '" + table_id + "' not found");
  return table;
}

Result<std::vector<catalog::Project>> ListProjects(Runtime& rt, const Caller& caller) {
  ASSIGN_OR_RETURN(auto projects, rt.catalog().ListProjects());
  std::vector<catalog::Project> out;
  for (auto& p : projects) {
    if (RequireProjectAccess(caller.token, p).ok()) out.push_back(std::move(p));
  }
  return out;
}

Result<CreatedProject> CreateProject(Runtime& rt, const Caller& caller, const std::string& name,
                                     const std::string& description) {
  RETURN_IF_ERROR(RequireAdmin(caller.token));
  RETURN_IF_ERROR(names::ValidateProject(name));
  CreatedProject out;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(out.project, tx.CreateProject(name, description));
    catalog::Token spec;
    spec.project_id = out.project.id;
    spec.kind = "master";
    spec.description = "master token of " + name;
    ASSIGN_OR_RETURN(auto issued, IssueToken(tx, spec));
    out.master_token = issued.token;
    out.master_secret = issued.secret;
    return tx.AppendEvent(AuditEvent(caller, out.project.id, "project.create", name));
  }));
  return out;
}

Status DeleteProject(Runtime& rt, const Caller& caller, const std::string& name) {
  RETURN_IF_ERROR(RequireAdmin(caller.token));
  ASSIGN_OR_RETURN(auto project, ResolveProject(rt, caller, name));
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    RETURN_IF_ERROR(tx.DeleteProject(project.id));
    return tx.AppendEvent(AuditEvent(caller, project.id, "project.delete", name));
  }));
  // The catalog rows of its files went with the project; their bytes go now. (Table segments
  // are the garbage collector's: versions may still be shared.)
  Status removed = rt.env().RemoveAll(rt.data_dir() + "/" + jobs::ProjectFilesDir(project.id));
  (void)removed;  // the project is deleted; leftover bytes are unreachable through any API
  return Status::Ok();
}

Result<std::vector<catalog::Bucket>> ListBuckets(Runtime& rt, const Caller& caller,
                                                 const catalog::Project& project) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  ASSIGN_OR_RETURN(auto buckets, rt.catalog().ListBuckets(project.main_branch_id));
  std::vector<catalog::Bucket> out;
  for (auto& b : buckets) {
    if (CanRead(caller.token, b.FullId())) out.push_back(std::move(b));
  }
  return out;
}

Result<catalog::Bucket> CreateBucket(Runtime& rt, const Caller& caller,
                                     const catalog::Project& project, catalog::Bucket bucket) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  RETURN_IF_ERROR(names::ValidateStage(bucket.stage));
  RETURN_IF_ERROR(names::ValidateBucketName(bucket.name));
  bucket.project_id = project.id;
  bucket.branch_id = project.main_branch_id;
  catalog::Bucket created;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(created, tx.CreateBucket(bucket));
    return tx.AppendEvent(AuditEvent(caller, project.id, "bucket.create", bucket.FullId()));
  }));
  return created;
}

Status DeleteBucket(Runtime& rt, const Caller& caller, const catalog::Project& project,
                    const std::string& bucket_id, bool force) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  ASSIGN_OR_RETURN(auto bucket, ResolveBucket(rt, caller, project, bucket_id, false));
  return rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    RETURN_IF_ERROR(tx.DeleteBucket(bucket.id, force));
    return tx.AppendEvent(
        AuditEvent(caller, project.id, "bucket.delete", bucket_id, {{"force", force}}));
  });
}

}  // namespace swan::service
