// Services: projects and buckets, and the lookups every other service starts from. Each call
// checks the caller's rights; each change writes its audit event in the same catalog transaction.
#pragma once

#include <string>
#include <vector>

#include "service/caller.h"
#include "service/runtime.h"

namespace swan::service {

// The project named `name`; the caller must have access to it. To a project token, another
// project is `forbidden` whether it exists or not (no probing of names).
Result<catalog::Project> ResolveProject(Runtime& rt, const Caller& caller, const std::string& name);
// A bucket id ("in.sales") of the project; with create, a missing bucket is created (not by a
// scoped token), and its creation is audited.
Result<catalog::Bucket> ResolveBucket(Runtime& rt, const Caller& caller,
                                      const catalog::Project& project, const std::string& bucket_id,
                                      bool create);
// A table id ("in.sales.orders") the caller may read; fills *bucket.
Result<catalog::Table> ResolveTable(Runtime& rt, const Caller& caller,
                                    const catalog::Project& project, const std::string& table_id,
                                    catalog::Bucket* bucket);

// The projects the caller can see.
Result<std::vector<catalog::Project>> ListProjects(Runtime& rt, const Caller& caller);

struct CreatedProject {
  catalog::Project project;
  catalog::Token master_token;
  std::string master_secret;  // shown once
};
// Admin only. The project, its main branch, its master token and the audit event commit in one
// transaction.
Result<CreatedProject> CreateProject(Runtime& rt, const Caller& caller, const std::string& name,
                                     const std::string& description);
// Admin only. Deletes the project and everything in it (segments stay for GC). Its audit events
// stay, readable by the organization admin only (ids are never reused).
Status DeleteProject(Runtime& rt, const Caller& caller, const std::string& name);

// The buckets of the project the caller may read.
Result<std::vector<catalog::Bucket>> ListBuckets(Runtime& rt, const Caller& caller,
                                                 const catalog::Project& project);
Result<catalog::Bucket> CreateBucket(Runtime& rt, const Caller& caller,
                                     const catalog::Project& project, catalog::Bucket bucket);
// With force, its tables too; otherwise `conflict` when it has tables.
Status DeleteBucket(Runtime& rt, const Caller& caller, const catalog::Project& project,
                    const std::string& bucket_id, bool force);

}  // namespace swan::service
