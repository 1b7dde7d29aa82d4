#include "api/resolve.h"

#include "api/auth.h"
#include "api/services.h"
#include "common/names.h"

namespace swan::api {

Result<catalog::Project> ResolveProject(RequestContext& ctx) {
  const std::string& name = ctx.Param("project");
  RETURN_IF_ERROR(names::ValidateProject(name));
  auto project = ctx.services.catalog->GetProject(name);
  if (!project.ok()) {
    // Do not reveal other projects' existence to project tokens.
    if (!IsAdmin(ctx.token) && project.status().code() == StatusCode::kNotFound) {
      return Status::Forbidden("token has no access to project '" + name + "'");
    }
    return project.status();
  }
  RETURN_IF_ERROR(RequireProjectAccess(ctx.token, *project));
  ctx.event_project_id = project->id;
  return project;
}

Result<catalog::Bucket> ResolveBucket(RequestContext& ctx, const catalog::Project& project,
                                      const std::string& bucket_id, bool create) {
  std::string stage, name;
  RETURN_IF_ERROR(names::SplitBucketId(bucket_id, &stage, &name));
  auto bucket = ctx.services.catalog->GetBucket(project.main_branch_id, stage, name);
  if (bucket.ok() || !create || bucket.status().code() != StatusCode::kNotFound) return bucket;
  if (ctx.token.kind == "scoped")
    return Status::Forbidden("a scoped token cannot create bucket " + bucket_id);
  catalog::Bucket b;
  b.project_id = project.id;
  b.branch_id = project.main_branch_id;
  b.stage = stage;
  b.name = name;
  auto created = ctx.services.catalog->CreateBucket(b);
  if (created.ok() || created.status().code() != StatusCode::kConflict) return created;
  return ctx.services.catalog->GetBucket(project.main_branch_id, stage, name);  // lost a race: fine
}

Result<catalog::Table> ResolveTable(RequestContext& ctx, const catalog::Project& project,
                                    const std::string& table_id, catalog::Bucket* bucket) {
  std::string stage, bucket_name, table_name;
  RETURN_IF_ERROR(names::SplitTableId(table_id, &stage, &bucket_name, &table_name));
  ASSIGN_OR_RETURN(*bucket, ResolveBucket(ctx, project, stage + "." + bucket_name, false));
  RETURN_IF_ERROR(RequireRead(ctx.token, bucket->FullId()));
  auto table = ctx.services.catalog->GetTable(bucket->id, table_name);
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("table '" + table_id + "' not found");
  }
  return table;
}

Result<std::optional<int64_t>> OptionalInt(const std::optional<std::string>& text,
                                           const std::string& field) {
  if (!text || text->empty()) return std::optional<int64_t>();
  try {
    size_t used = 0;
    long long v = std::stoll(*text, &used);
    if (used != text->size()) throw std::invalid_argument("trailing");
    return std::optional<int64_t>(v);
  } catch (const std::exception&) {
    return Status::InvalidArgument(field + " must be an integer, got '" + text->substr(0, 40) + "'")
        .WithDetail("field", field);
  }
}

}  // namespace swan::api
