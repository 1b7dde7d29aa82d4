// SqliteCatalog: jobs and their events.
#include "catalog/sqlite_catalog.h"

namespace swan::catalog {

bool IsFinalJobStatus(const std::string& status) {
  return status == kJobSuccess || status == kJobWarning || status == kJobError ||
         status == kJobCancelled || status == kJobTerminated;
}

namespace {

constexpr const char* kJobSelect =
    "SELECT j.id, j.project_id, j.branch_id, j.configuration_id, j.config_id, j.component_id, "
    "j.row_id, j.config_version, j.status, j.message, j.error_kind, j.token_id, "
    "coalesce(t.description, ''), j.attempt, j.max_attempts, j.timeout_ms, j.cancel_requested, "
    "j.debug, j.worker, j.created_at, j.started_at, j.finished_at, j.wall_ms, j.cpu_ms, "
    "j.peak_memory_bytes, j.inputs, j.outputs, j.parent_job_id, j.flow_task_id, j.rerun_of, "
    "j.variables FROM jobs j LEFT JOIN tokens t ON t.id = j.token_id ";

Job ReadJob(const SqliteStmt& q) {
  Job j;
  j.id = q.Int(0);
  j.project_id = q.Int(1);
  j.branch_id = q.Int(2);
  j.configuration_id = q.Int(3);
  j.config_id = q.Text(4);
  j.component_id = q.Text(5);
  j.row_id = q.Text(6);
  j.config_version = q.Int(7);
  j.status = q.Text(8);
  j.message = q.Text(9);
  j.error_kind = q.Text(10);
  j.token_id = q.OptInt(11);
  j.token_description = q.Text(12);
  j.attempt = static_cast<int>(q.Int(13));
  j.max_attempts = static_cast<int>(q.Int(14));
  j.timeout_ms = q.Int(15);
  j.cancel_requested = q.Int(16) != 0;
  j.debug = q.Int(17) != 0;
  j.worker = q.Text(18);
  j.created_at = q.Int(19);
  j.started_at = q.Int(20);
  j.finished_at = q.Int(21);
  j.wall_ms = q.Int(22);
  j.cpu_ms = q.Int(23);
  j.peak_memory_bytes = q.Int(24);
  j.inputs_json = q.Text(25);
  j.outputs_json = q.Text(26);
  j.parent_job_id = q.OptInt(27);
  j.flow_task_id = q.Text(28);
  j.rerun_of = q.OptInt(29);
  j.variables_json = q.Text(30);
  return j;
}

}  // namespace

Result<Job> SqliteCatalog::GetJobLocked(int64_t id) {
  SqliteStmt q(h(), std::string(kJobSelect) + "WHERE j.id = ?");
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("job " + std::to_string(id) + " not found");
  return ReadJob(q);
}

Result<Job> SqliteCatalog::CreateJob(const Job& job) {
  std::lock_guard lock(mu_);
  return InTx<Job>([&]() -> Result<Job> {
    SqliteStmt ins(
        h(),
        "INSERT INTO jobs (id, project_id, branch_id, configuration_id, config_id, "
        "component_id, row_id, config_version, status, token_id, attempt, "
        "max_attempts, timeout_ms, debug, created_at, parent_job_id, flow_task_id, rerun_of, "
        "variables) VALUES (" +
            NextIdSql("jobs") + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    RETURN_IF_ERROR(ins.Bind(1, job.project_id)
                        .Bind(2, job.branch_id)
                        .Bind(3, job.configuration_id)
                        .Bind(4, job.config_id)
                        .Bind(5, job.component_id)
                        .Bind(6, job.row_id)
                        .Bind(7, job.config_version)
                        .Bind(8, job.status)
                        .Bind(9, job.token_id)
                        .Bind(10, static_cast<int64_t>(job.attempt))
                        .Bind(11, static_cast<int64_t>(job.max_attempts))
                        .Bind(12, job.timeout_ms)
                        .Bind(13, static_cast<int64_t>(job.debug ? 1 : 0))
                        .Bind(14, clock_.NowMs())
                        .Bind(15, job.parent_job_id)
                        .Bind(16, job.flow_task_id)
                        .Bind(17, job.rerun_of)
                        .Bind(18, job.variables_json)
                        .Run());
    return GetJobLocked(db_->LastInsertId());
  });
}

Result<Job> SqliteCatalog::GetJob(int64_t id) {
  std::lock_guard lock(mu_);
  return GetJobLocked(id);
}

Result<std::vector<Job>> SqliteCatalog::ListJobs(const JobFilter& filter) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1 ";
  if (filter.project_id) where += "AND j.project_id = ?1 ";
  if (filter.configuration_id) where += "AND j.configuration_id = ?2 ";
  if (!filter.status.empty()) where += "AND j.status = ?3 ";
  if (filter.parent_job_id) where += "AND j.parent_job_id = ?5 ";
  SqliteStmt q(h(), std::string(kJobSelect) + where + "ORDER BY j.id DESC LIMIT ?4");
  if (filter.parent_job_id) q.Bind(5, *filter.parent_job_id);
  if (filter.project_id) q.Bind(1, *filter.project_id);
  if (filter.configuration_id) q.Bind(2, *filter.configuration_id);
  if (!filter.status.empty()) q.Bind(3, filter.status);
  q.Bind(4, static_cast<int64_t>(filter.limit));
  std::vector<Job> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadJob(q));
  }
  return out;
}

Result<std::optional<Job>> SqliteCatalog::ClaimLocked(SqliteStmt& pick, const std::string& worker) {
  return InTx<std::optional<Job>>([&]() -> Result<std::optional<Job>> {
    ASSIGN_OR_RETURN(bool row, pick.Step());
    if (!row) return std::optional<Job>();
    const int64_t id = pick.Int(0);
    pick.Reset();  // no statement of the transaction left running at its commit
    SqliteStmt up(h(),
                  "UPDATE jobs SET status = 'processing', worker = ?, started_at = ? WHERE id = ? "
                  "AND status = 'waiting'");
    RETURN_IF_ERROR(up.Bind(1, worker).Bind(2, clock_.NowMs()).Bind(3, id).Run());
    ASSIGN_OR_RETURN(auto job, GetJobLocked(id));
    return std::optional<Job>(std::move(job));
  });
}

Result<std::optional<Job>> SqliteCatalog::ClaimJob(const std::string& worker,
                                                   int per_project_limit) {
  std::lock_guard lock(mu_);
  // Flow jobs only wait for their tasks: the flow runner claims them, and they hold no slot.
  SqliteStmt pick(h(),
                  "SELECT j.id FROM jobs j WHERE j.status = 'waiting' AND j.component_id != ?2 AND "
                  "(SELECT count(*) FROM jobs p WHERE p.project_id = j.project_id AND p.status = "
                  "'processing' AND p.component_id != ?2) < ?1 ORDER BY j.id LIMIT 1");
  pick.Bind(1, static_cast<int64_t>(per_project_limit));
  pick.Bind(2, std::string(kFlowComponentId));
  return ClaimLocked(pick, worker);
}

Result<std::optional<Job>> SqliteCatalog::ClaimFlowJob(const std::string& worker) {
  std::lock_guard lock(mu_);
  SqliteStmt pick(h(),
                  "SELECT id FROM jobs WHERE status = 'waiting' AND component_id = ? ORDER BY id "
                  "LIMIT 1");
  pick.Bind(1, std::string(kFlowComponentId));
  return ClaimLocked(pick, worker);
}

Status SqliteCatalog::UpdateJob(const Job& job, const std::string& expected_status) {
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt up(
               h(),
               "UPDATE jobs SET status = ?, message = ?, error_kind = ?, attempt = ?, worker = ?, "
               "started_at = ?, finished_at = ?, wall_ms = ?, cpu_ms = ?, peak_memory_bytes = ?, "
               "inputs = ?, outputs = ? WHERE id = ? AND (? = '' OR status = ?)");
           RETURN_IF_ERROR(up.Bind(1, job.status)
                               .Bind(2, job.message)
                               .Bind(3, job.error_kind)
                               .Bind(4, static_cast<int64_t>(job.attempt))
                               .Bind(5, job.worker)
                               .Bind(6, job.started_at)
                               .Bind(7, job.finished_at)
                               .Bind(8, job.wall_ms)
                               .Bind(9, job.cpu_ms)
                               .Bind(10, job.peak_memory_bytes)
                               .Bind(11, job.inputs_json)
                               .Bind(12, job.outputs_json)
                               .Bind(13, job.id)
                               .Bind(14, expected_status)
                               .Bind(15, expected_status)
                               .Run());
           if (db_->Changes() == 0) {
             ASSIGN_OR_RETURN(auto now, GetJobLocked(job.id));
             return Status::Conflict("job " + std::to_string(job.id) + " is " + now.status +
                                     ", not " + expected_status)
                 .WithDetail(kReasonDetail, kReasonHeadMoved);
           }
           return true;
         })
      .status();
}

Result<Job> SqliteCatalog::RequestJobCancel(int64_t id) {
  std::lock_guard lock(mu_);
  return InTx<Job>([&]() -> Result<Job> {
    ASSIGN_OR_RETURN(auto job, GetJobLocked(id));
    if (IsFinalJobStatus(job.status)) return job;
    SqliteStmt up(h(),
                  "UPDATE jobs SET cancel_requested = 1, status = CASE WHEN status IN ('created', "
                  "'waiting') THEN 'cancelled' ELSE status END, finished_at = CASE WHEN status IN "
                  "('created', 'waiting') THEN ? ELSE finished_at END, message = CASE WHEN status "
                  "IN ('created', 'waiting') THEN 'cancelled before it started' ELSE message END, "
                  "error_kind = CASE WHEN status IN ('created', 'waiting') THEN 'cancelled' ELSE "
                  "error_kind END WHERE id = ?");
    RETURN_IF_ERROR(up.Bind(1, clock_.NowMs()).Bind(2, id).Run());
    return GetJobLocked(id);
  });
}

Status SqliteCatalog::AppendJobEvents(const std::vector<JobEvent>& events) {
  if (events.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  return InTx<bool>([&]() -> Result<bool> {
           SqliteStmt ins(h(),
                          "INSERT INTO job_events (job_id, level, source, message, created_at) "
                          "VALUES (?, ?, ?, ?, ?)");
           for (const auto& e : events) {
             RETURN_IF_ERROR(ins.Reset()
                                 .Bind(1, e.job_id)
                                 .Bind(2, e.level)
                                 .Bind(3, e.source)
                                 .Bind(4, e.message)
                                 .Bind(5, e.created_at ? e.created_at : clock_.NowMs())
                                 .Run());
           }
           return true;
         })
      .status();
}

Result<std::vector<JobEvent>> SqliteCatalog::ListJobEvents(int64_t job_id, int64_t after_id,
                                                           int limit) {
  std::lock_guard lock(mu_);
  SqliteStmt q(h(),
               "SELECT id, job_id, level, source, message, created_at FROM job_events WHERE "
               "job_id = ? AND id > ? ORDER BY id LIMIT ?");
  q.Bind(1, job_id).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
  std::vector<JobEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.Int(0), q.Int(1), q.Text(2), q.Text(3), q.Text(4), q.Int(5)});
  }
  return out;
}

}  // namespace swan::catalog
