#include "service/jobs.h"

#include <algorithm>
#include <chrono>

#include "common/fs.h"
#include "service/access.h"

namespace swan::service {

using nlohmann::json;

namespace {

// Creates `job` and queues it (waiting) in one transaction with its audit event: a job is never
// left `created` by a crash in between. Then wakes whoever runs it.
Result<catalog::Job> QueueJob(Runtime& rt, const Caller& caller, const catalog::Job& job,
                              const std::string& action, const json& details) {
  catalog::Job created;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(created, tx.CreateJob(job));
    created.status = catalog::kJobWaiting;
    RETURN_IF_ERROR(tx.UpdateJob(created, catalog::kJobCreated));
    return tx.AppendEvent(
        AuditEvent(caller, job.project_id, action, "job:" + std::to_string(created.id), details));
  }));
  if (created.component_id == catalog::kFlowComponentId) {
    rt.flows().Notify();
  } else {
    rt.jobs().Notify();
  }
  return created;
}

}  // namespace

Result<catalog::Job> RunConfig(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               const RunRequest& request) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  if (request.max_attempts < 1 || request.max_attempts > 10)
    return Status::InvalidArgument("max_attempts must be between 1 and 10")
        .WithDetail("field", "max_attempts");
  if (request.timeout_ms < 0 || request.timeout_ms > int64_t{7} * 24 * 3600 * 1000)
    return Status::InvalidArgument("timeout must be between 1 second and 7 days")
        .WithDetail("field", "timeout");
  ASSIGN_OR_RETURN(auto config,
                   rt.catalog().GetConfiguration(project.main_branch_id, request.config_id));
  if (!request.row_id.empty()) {
    json rows = json::parse(config.current.rows_json, nullptr, false);
    bool found = false;
    if (rows.is_array())
      for (const auto& r : rows)
        if (r.is_object() && r.value("id", std::string()) == request.row_id) {
          found = true;
          if (r.value("is_disabled", false))
            return Status::InvalidArgument("row '" + request.row_id + "' is disabled")
                .WithDetail("field", "row");
        }
    if (!found)
      return Status::NotFound("row '" + request.row_id + "' not found in configuration '" +
                              request.config_id + "'")
          .WithDetail("field", "row");
  }
  ASSIGN_OR_RETURN(auto component, rt.components().Find(config.component_id));
  if (component.builtin == jobs::Builtin::kSchedule || component.builtin == jobs::Builtin::kTrigger)
    return Status::InvalidArgument(
               "configuration '" + config.config_id + "' is a " +
               (component.builtin == jobs::Builtin::kSchedule ? "schedule" : "trigger") +
               ": it is not run itself, it starts its target's jobs (run the "
               "target instead)")
        .WithDetail("field", "config");
  catalog::Job job;
  job.project_id = project.id;
  job.branch_id = config.branch_id;
  job.configuration_id = config.id;
  job.config_id = config.config_id;
  job.component_id = config.component_id;
  job.row_id = request.row_id;
  job.config_version = config.version;
  job.status = catalog::kJobCreated;
  job.token_id = caller.token.id;
  job.max_attempts = request.max_attempts;
  job.timeout_ms = request.timeout_ms;
  job.debug = request.debug;
  job.variables_json = jobs::VariablesJson(request.variables).dump();
  json details = {
      {"config", config.config_id}, {"row", request.row_id}, {"version", config.version}};
  if (!request.origin.empty()) details["origin"] = request.origin;
  return QueueJob(rt, caller, job, "job.create", details);
}

Result<catalog::Job> GetJob(Runtime& rt, const Caller& caller, const catalog::Project& project,
                            int64_t job_id) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  auto job = rt.catalog().GetJob(job_id);
  // Another project's job does not exist for this caller, nor, for a scoped token, a job another
  // token started (its events may show data of buckets the scoped token cannot read).
  if (!job.ok() || job->project_id != project.id ||
      (caller.token.kind == "scoped" && job->token_id != caller.token.id))
    return Status::NotFound("job " + std::to_string(job_id) + " not found");
  return job;
}

Result<std::vector<catalog::Job>> ListJobs(Runtime& rt, const Caller& caller,
                                           const catalog::Project& project,
                                           const std::string& config_id, const std::string& status,
                                           int limit) {
  RETURN_IF_ERROR(RequireProjectAccess(caller.token, project));
  if (limit < 1 || limit > 1000)
    return Status::InvalidArgument("limit must be between 1 and 1000").WithDetail("field", "limit");
  catalog::JobFilter filter;
  filter.project_id = project.id;
  filter.status = status;
  filter.limit = limit;
  if (!config_id.empty()) {
    ASSIGN_OR_RETURN(auto config, rt.catalog().GetConfiguration(project.main_branch_id, config_id));
    filter.configuration_id = config.id;
  }
  ASSIGN_OR_RETURN(auto jobs, rt.catalog().ListJobs(filter));
  if (caller.token.kind == "scoped") {
    std::erase_if(jobs, [&](const catalog::Job& j) { return j.token_id != caller.token.id; });
  }
  return jobs;
}

Result<catalog::Job> CancelJob(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               int64_t job_id) {
  ASSIGN_OR_RETURN(auto job, GetJob(rt, caller, project, job_id));
  catalog::Job after;
  RETURN_IF_ERROR(rt.catalog().Transact([&](catalog::Catalog& tx) -> Status {
    ASSIGN_OR_RETURN(after, tx.RequestJobCancel(job.id));
    return tx.AppendEvent(
        AuditEvent(caller, project.id, "job.cancel", "job:" + std::to_string(job.id)));
  }));
  rt.jobs().Cancel(job.id);
  rt.flows().Cancel(job.id);
  return after;
}

Result<std::vector<catalog::JobEvent>> JobEvents(Runtime& rt, const Caller& caller,
                                                 const catalog::Project& project, int64_t job_id,
                                                 int64_t after_id, int limit, int64_t wait_ms) {
  ASSIGN_OR_RETURN(auto job, GetJob(rt, caller, project, job_id));
  if (limit < 1 || limit > 10000)
    return Status::InvalidArgument("limit must be between 1 and 10000")
        .WithDetail("field", "limit");
  if (wait_ms < 0 || wait_ms > 60000)
    return Status::InvalidArgument("wait must be between 0 and 60 seconds")
        .WithDetail("field", "wait");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    const uint64_t seen = rt.jobs().activity();
    ASSIGN_OR_RETURN(auto events, rt.catalog().ListJobEvents(job.id, after_id, limit));
    if (!events.empty() || wait_ms == 0) return events;
    ASSIGN_OR_RETURN(job, rt.catalog().GetJob(job.id));
    // A job writes its last events before its final status: those that came between the list
    // above and this look are read again, or a follower would stop without them.
    if (catalog::IsFinalJobStatus(job.status))
      return rt.catalog().ListJobEvents(job.id, after_id, limit);
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return events;
    const int64_t left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    // Activity wakes the wait; the cap covers jobs another process runs.
    rt.jobs().WaitForActivity(seen, std::min<int64_t>(left, 250));
  }
}

Result<std::vector<catalog::Job>> FlowTasks(Runtime& rt, const Caller& caller,
                                            const catalog::Project& project, int64_t flow_job_id) {
  ASSIGN_OR_RETURN(auto flow, GetJob(rt, caller, project, flow_job_id));
  catalog::JobFilter filter;
  filter.project_id = project.id;
  filter.parent_job_id = flow.id;
  filter.limit = 100000;
  ASSIGN_OR_RETURN(auto tasks, rt.catalog().ListJobs(filter));
  std::reverse(tasks.begin(), tasks.end());
  return tasks;
}

Result<std::vector<orchestration::TaskStatus>> FlowTaskStatuses(
    Runtime& rt, const catalog::Job& flow_job, const std::vector<catalog::Job>& tasks) {
  ASSIGN_OR_RETURN(auto version, rt.catalog().GetConfigVersion(flow_job.configuration_id,
                                                               flow_job.config_version));
  auto flow = orchestration::ParseFlow(json::parse(version.body_json, nullptr, false));
  // A flow that is not one has no tasks (its job failed saying why).
  if (!flow.ok()) return std::vector<orchestration::TaskStatus>{};
  ASSIGN_OR_RETURN(auto earlier, orchestration::EarlierTaskStates(rt.catalog(), flow_job));
  return orchestration::TaskStatuses(*flow, flow_job, tasks, earlier);
}

json TaskStatusJson(const orchestration::TaskStatus& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"phase", s.phase},
          {"status", s.status},
          {"job", s.job_id ? json(*s.job_id) : json(nullptr)}};
}

Result<catalog::Job> RerunFlow(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               int64_t flow_job_id) {
  ASSIGN_OR_RETURN(auto before, GetJob(rt, caller, project, flow_job_id));
  if (before.component_id != catalog::kFlowComponentId)
    return Status::InvalidArgument("job " + std::to_string(before.id) +
                                   " is not a flow's job: run its configuration again instead");
  if (!catalog::IsFinalJobStatus(before.status))
    return Status::Conflict("job " + std::to_string(before.id) + " is " + before.status +
                            ": a flow reruns from failure once it has ended");
  if (before.status == catalog::kJobSuccess)
    return Status::Conflict("job " + std::to_string(before.id) +
                            " succeeded: there is nothing to rerun");
  catalog::Job job;
  job.project_id = project.id;
  job.branch_id = before.branch_id;
  job.configuration_id = before.configuration_id;
  job.config_id = before.config_id;
  job.component_id = before.component_id;
  job.config_version = before.config_version;  // the plan it repeats
  job.status = catalog::kJobCreated;
  job.token_id = caller.token.id;
  job.rerun_of = before.id;
  job.variables_json = before.variables_json;
  return QueueJob(rt, caller, job, "job.rerun",
                  {{"rerun_of", before.id}, {"config", before.config_id}});
}

json JobJson(const catalog::Job& j) {
  auto time = [](int64_t ms) { return ms ? json(fs::IsoTime(ms)) : json(nullptr); };
  json out = {
      {"id", j.id},
      {"status", j.status},
      {"config", j.config_id},
      {"component_id", j.component_id},
      {"config_version", j.config_version},
      {"row", j.row_id.empty() ? json(nullptr) : json(j.row_id)},
      {"message", j.message},
      {"error_kind", j.error_kind.empty() ? json(nullptr) : json(j.error_kind)},
      {"attempt", j.attempt},
      {"max_attempts", j.max_attempts},
      {"timeout_ms", j.timeout_ms},
      {"cancel_requested", j.cancel_requested},
      {"created_at", time(j.created_at)},
      {"started_at", time(j.started_at)},
      {"finished_at", time(j.finished_at)},
      {"usage",
       {{"wall_ms", j.wall_ms}, {"cpu_ms", j.cpu_ms}, {"peak_memory_bytes", j.peak_memory_bytes}}},
      {"inputs", json::parse(j.inputs_json, nullptr, false)},
      {"outputs", json::parse(j.outputs_json, nullptr, false)}};
  if (j.token_id) out["token"] = {{"id", *j.token_id}, {"description", j.token_description}};
  if (j.parent_job_id) {
    out["parent_job_id"] = *j.parent_job_id;
    out["flow_task_id"] = j.flow_task_id;
  }
  if (j.rerun_of) out["rerun_of"] = *j.rerun_of;
  json variables = json::parse(j.variables_json, nullptr, false);
  if (variables.is_object() && !variables.empty()) out["variables"] = variables;
  return out;
}

json JobEventJson(const catalog::JobEvent& e) {
  return {{"id", e.id},
          {"time", fs::IsoTime(e.created_at)},
          {"level", e.level},
          {"source", e.source},
          {"message", e.message}};
}

}  // namespace swan::service
