// The catalog: the source of truth for projects, buckets, tables, versions, segments, tokens and
// events. One interface; SQLite is the embedded implementation (PostgreSQL comes later and must
// pass the same tests). Every mutating call is one transaction.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/clock.h"
#include "common/status.h"

namespace swan::catalog {

// Conflict statuses carry a "reason" detail so that callers recognise them without reading
// message text: a lost compare-and-swap on a table head, or a name another writer just took.
inline constexpr const char* kReasonDetail = "reason";
inline constexpr const char* kReasonHeadMoved = "head_moved";
inline constexpr const char* kReasonExists = "exists";
bool IsHeadMoved(const Status& status);

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Organization (one per Swan instance). Returns its id, creating it when absent.
  virtual Result<int64_t> EnsureOrganization(const std::string& name, bool* created) = 0;

  // Projects. CreateProject also creates the project's `main` branch. Conflict when it exists.
  virtual Result<Project> CreateProject(const std::string& name,
                                        const std::string& description) = 0;
  virtual Result<Project> GetProject(const std::string& name) = 0;
  virtual Result<Project> GetProjectById(int64_t id) = 0;
  virtual Result<std::vector<Project>> ListProjects() = 0;
  // Deletes the project and everything in it (tables, versions, tokens); segments stay for GC.
  virtual Status DeleteProject(int64_t id) = 0;

  // Buckets on a branch.
  virtual Result<Bucket> CreateBucket(const Bucket& bucket) = 0;
  virtual Result<Bucket> GetBucket(int64_t branch_id, const std::string& stage,
                                   const std::string& name) = 0;
  virtual Result<std::vector<Bucket>> ListBuckets(int64_t branch_id) = 0;
  // Deletes the bucket; with force also its tables; otherwise Conflict when it has tables.
  virtual Status DeleteBucket(int64_t bucket_id, bool force) = 0;

  // Tables. CreateTable commits `first` as version 1 in the same transaction.
  virtual Result<Table> CreateTable(int64_t bucket_id, const std::string& name,
                                    const std::vector<std::string>& primary_key,
                                    const NewVersion& first) = 0;
  virtual Result<Table> GetTable(int64_t bucket_id, const std::string& name) = 0;
  virtual Result<Table> GetTableById(int64_t table_id) = 0;
  // Tables of a branch (all buckets), or of one bucket when bucket_id != 0.
  virtual Result<std::vector<Table>> ListTables(int64_t branch_id, int64_t bucket_id) = 0;
  virtual Status DeleteTable(int64_t table_id) = 0;

  // Commits a new version, moving the head from `expected_head_version_id` (compare-and-swap).
  // Conflict when another writer moved the head meanwhile. New segments are registered.
  virtual Result<TableVersion> CommitVersion(int64_t table_id, int64_t expected_head_version_id,
                                             const NewVersion& version) = 0;
  virtual Result<TableVersion> GetVersion(int64_t version_id) = 0;
  virtual Result<TableVersion> GetVersionByNumber(int64_t table_id, int64_t number) = 0;
  // Newest first, without segments filled in.
  virtual Result<std::vector<TableVersion>> ListVersions(int64_t table_id) = 0;

  // Garbage: deletes non-head versions created before `cutoff_ms`, then the rows of segments that
  // no remaining version references and that were created before `cutoff_ms`. The caller unlinks
  // the returned files. Also answers whether a path is still known (for orphan sweeps).
  virtual Result<GcReport> CollectGarbage(int64_t cutoff_ms) = 0;
  virtual Result<bool> SegmentPathKnown(const std::string& path) = 0;

  // Tokens: only the hash of the secret is stored.
  virtual Result<Token> CreateToken(const Token& token, const std::string& secret_hash) = 0;
  virtual Result<Token> FindTokenByHash(const std::string& secret_hash) = 0;
  virtual Result<Token> GetToken(int64_t id) = 0;
  virtual Result<std::vector<Token>> ListTokens(std::optional<int64_t> project_id) = 0;
  virtual Status RevokeToken(int64_t id) = 0;

  // Audit events: append-only.
  virtual Status AppendEvent(const Event& event) = 0;
  virtual Result<std::vector<Event>> ListEvents(std::optional<int64_t> project_id, int limit) = 0;

  // Configurations on a branch. Every change is a new version: SaveConfigVersion moves the
  // current version from `expected_version` (compare-and-swap; conflict with reason head_moved
  // when another writer saved meanwhile). Conflict with reason exists when the id is taken.
  virtual Result<Configuration> CreateConfiguration(const Configuration& config,
                                                    const ConfigVersion& first) = 0;
  virtual Result<Configuration> GetConfiguration(int64_t branch_id,
                                                 const std::string& config_id) = 0;
  virtual Result<Configuration> GetConfigurationById(int64_t id) = 0;
  virtual Result<std::vector<Configuration>> ListConfigurations(int64_t branch_id) = 0;
  virtual Result<Configuration> SaveConfigVersion(int64_t configuration_id,
                                                  int64_t expected_version,
                                                  const ConfigVersion& version) = 0;
  virtual Result<ConfigVersion> GetConfigVersion(int64_t configuration_id, int64_t number) = 0;
  // Newest first.
  virtual Result<std::vector<ConfigVersion>> ListConfigVersions(int64_t configuration_id) = 0;
  virtual Status DeleteConfiguration(int64_t configuration_id) = 0;
  // A component's state per configuration and row ("" = the configuration itself); "{}" when
  // none was stored.
  virtual Result<std::string> GetConfigState(int64_t configuration_id,
                                             const std::string& row_id) = 0;
  virtual Status SetConfigState(int64_t configuration_id, const std::string& row_id,
                                const std::string& state_json) = 0;

  // The project's secret key, wrapped by the instance's master key. Stores `wrapped_if_absent`
  // when the project has none yet; returns the stored key either way (first writer wins).
  virtual Result<std::string> EnsureProjectKey(int64_t project_id,
                                               const std::string& wrapped_if_absent) = 0;

  // Jobs. CreateJob fills id and created_at.
  virtual Result<Job> CreateJob(const Job& job) = 0;
  virtual Result<Job> GetJob(int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<Job>> ListJobs(const JobFilter& filter) = 0;
  // Takes the oldest waiting job of a project with fewer than `per_project_limit` jobs
  // processing, marks it processing by `worker` at `now`; nullopt when none can start.
  virtual Result<std::optional<Job>> ClaimJob(const std::string& worker, int per_project_limit) = 0;
  // Claims the oldest waiting flow job (component kFlowComponentId), which ClaimJob leaves.
  virtual Result<std::optional<Job>> ClaimFlowJob(const std::string& worker) = 0;
  // Writes a job's mutable fields (status, message, usage, inputs, outputs, times, attempt).
  // When `expected_status` is given, fails with conflict unless the job is in that state.
  virtual Status UpdateJob(const Job& job, const std::string& expected_status) = 0;
  // Marks the job for cancellation; a job not yet processing becomes cancelled at once.
  virtual Result<Job> RequestJobCancel(int64_t id) = 0;
  // Job events, in order. ListJobEvents returns events with id > after_id.
  virtual Status AppendJobEvents(const std::vector<JobEvent>& events) = 0;
  virtual Result<std::vector<JobEvent>> ListJobEvents(int64_t job_id, int64_t after_id,
                                                      int limit) = 0;

  // Files. ListFiles: newest first, only files carrying every tag of `tags`.
  virtual Result<StoredFile> CreateFile(const StoredFile& file) = 0;
  virtual Result<StoredFile> GetFile(int64_t project_id, int64_t id) = 0;
  virtual Result<std::vector<StoredFile>> ListFiles(int64_t project_id,
                                                    const std::vector<std::string>& tags,
                                                    int limit) = 0;

  // Runs `body` as one transaction: every change it makes through `tx` (never through this
  // object) commits together when it returns OK, and none does when it returns an error — a
  // project with its master token, a change with its audit event, new versions of several tables.
  // A compare-and-swap that fails inside (CommitVersion) fails the whole transaction. The body
  // must do catalog work only (no file I/O, no engine work): other writers wait while it runs.
  virtual Status Transact(const std::function<Status(Catalog& tx)>& body) = 0;
};

// Opens (creating when absent) a SQLite catalog and applies pending migrations. Times it records
// come from `clock` (null = the system clock), which must outlive the catalog.
Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock = nullptr);

}  // namespace swan::catalog
