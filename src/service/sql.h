// Service: read-only SQL over the project's tables the caller may read, answered as rows or
// written into a table (the write commits with its audit event).
#pragma once

#include <optional>
#include <string>

#include "query/sql_runner.h"
#include "service/caller.h"
#include "service/runtime.h"
#include "storage/table_store.h"

namespace swan::service {

struct SqlIntoTable {
  std::string table_id;  // "out.sales.revenue"
  bool incremental = false;
};

// Runs request.sql in a sandbox that sees only the tables it names that the caller may read.
Result<query::SqlResult> RunSql(Runtime& rt, const Caller& caller, const catalog::Project& project,
                                const query::SqlRequest& request);
// Runs request.sql and commits its whole result as a new version of `into.table_id`.
Result<storage::WriteResult> RunSqlIntoTable(Runtime& rt, const Caller& caller,
                                             const catalog::Project& project,
                                             const query::SqlRequest& request,
                                             const SqlIntoTable& into);

}  // namespace swan::service
