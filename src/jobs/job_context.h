// What one job works with while it runs: the runtime's parts, the job, its project and token,
// its log. Built by the runner for each job.
#pragma once

#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/env.h"
#include "jobs/job_log.h"
#include "query/sql_runner.h"
#include "storage/table_store.h"

namespace swan::jobs {

// The token's right to read (write = false) or write a bucket ("in.sales"): the service layer's
// rule, handed down so that a job has exactly its submitter's rights.
using RightsCheck =
    std::function<Status(const catalog::Token& token, const std::string& bucket, bool write)>;

struct JobContext {
  catalog::Catalog& catalog;
  storage::TableStore& store;
  query::SqlRunner& sql;
  Env& env;
  Clock& clock;
  const RightsCheck& rights;
  const catalog::Job& job;
  const catalog::Project& project;
  const catalog::Token& token;
  JobLog& log;
  std::string data_dir;  // Swan's data directory
};

}  // namespace swan::jobs
