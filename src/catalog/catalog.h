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
