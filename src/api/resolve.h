// Looks up the objects a route names in its path, checking the caller's rights on the way.
#pragma once

#include <string>

#include "api/router.h"
#include "catalog/model.h"

namespace swan::api {

// The {project} path parameter; the caller must have access to it.
Result<catalog::Project> ResolveProject(RequestContext& ctx);
// A bucket id ("in.sales") in the project; with create, a missing bucket is created.
Result<catalog::Bucket> ResolveBucket(RequestContext& ctx, const catalog::Project& project,
                                      const std::string& bucket_id, bool create);
// A table id ("in.sales.orders"); fills *bucket.
Result<catalog::Table> ResolveTable(RequestContext& ctx, const catalog::Project& project,
                                    const std::string& table_id, catalog::Bucket* bucket);
// Integer query or body values with a clear error naming the field.
Result<std::optional<int64_t>> OptionalInt(const std::optional<std::string>& text,
                                           const std::string& field);

}  // namespace swan::api
