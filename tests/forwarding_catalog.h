// A Catalog that forwards every call to another one, for tests that break single calls: derive,
// override the call, and the rest behaves as the real catalog. Transact hands its body a
// forwarding view of the transaction, built by Wrap(), so overrides apply inside transactions too.
#pragma once

#include <functional>
#include <memory>

#include "catalog/catalog.h"

namespace swan::testing {

class ForwardingCatalog : public catalog::Catalog {
 public:
  explicit ForwardingCatalog(catalog::Catalog& base) : base_(base) {}

  // The view handed to a Transact body: by default, this same class over the transaction.
  virtual std::unique_ptr<ForwardingCatalog> Wrap(catalog::Catalog& tx) {
    return std::make_unique<ForwardingCatalog>(tx);
  }

  Result<int64_t> EnsureOrganization(const std::string& n, bool* c) override {
    return base_.EnsureOrganization(n, c);
  }
  Result<catalog::Project> CreateProject(const std::string& n, const std::string& d) override {
    return base_.CreateProject(n, d);
  }
  Result<catalog::Project> GetProject(const std::string& n) override { return base_.GetProject(n); }
  Result<catalog::Project> GetProjectById(int64_t id) override { return base_.GetProjectById(id); }
  Result<std::vector<catalog::Project>> ListProjects() override { return base_.ListProjects(); }
  Status DeleteProject(int64_t id) override { return base_.DeleteProject(id); }
  Result<catalog::Bucket> CreateBucket(const catalog::Bucket& b) override {
    return base_.CreateBucket(b);
  }
  Result<catalog::Bucket> GetBucket(int64_t br, const std::string& s,
                                    const std::string& n) override {
    return base_.GetBucket(br, s, n);
  }
  Result<std::vector<catalog::Bucket>> ListBuckets(int64_t br) override {
    return base_.ListBuckets(br);
  }
  Status DeleteBucket(int64_t id, bool force) override { return base_.DeleteBucket(id, force); }
  Result<catalog::Table> CreateTable(int64_t b, const std::string& n,
                                     const std::vector<std::string>& pk,
                                     const catalog::NewVersion& v) override {
    return base_.CreateTable(b, n, pk, v);
  }
  Result<catalog::Table> GetTable(int64_t b, const std::string& n) override {
    return base_.GetTable(b, n);
  }
  Result<catalog::Table> GetTableById(int64_t id) override { return base_.GetTableById(id); }
  Result<std::vector<catalog::Table>> ListTables(int64_t br, int64_t b) override {
    return base_.ListTables(br, b);
  }
  Status DeleteTable(int64_t id) override { return base_.DeleteTable(id); }
  Result<catalog::TableVersion> CommitVersion(int64_t t, int64_t h,
                                              const catalog::NewVersion& v) override {
    return base_.CommitVersion(t, h, v);
  }
  Result<catalog::TableVersion> GetVersion(int64_t id) override { return base_.GetVersion(id); }
  Result<catalog::TableVersion> GetVersionByNumber(int64_t t, int64_t n) override {
    return base_.GetVersionByNumber(t, n);
  }
  Result<std::vector<catalog::TableVersion>> ListVersions(int64_t t) override {
    return base_.ListVersions(t);
  }
  Result<catalog::GcReport> CollectGarbage(int64_t c) override { return base_.CollectGarbage(c); }
  Result<bool> SegmentPathKnown(const std::string& p) override { return base_.SegmentPathKnown(p); }
  Result<catalog::Token> CreateToken(const catalog::Token& t, const std::string& h) override {
    return base_.CreateToken(t, h);
  }
  Result<catalog::Token> FindTokenByHash(const std::string& h) override {
    return base_.FindTokenByHash(h);
  }
  Result<catalog::Token> GetToken(int64_t id) override { return base_.GetToken(id); }
  Result<std::vector<catalog::Token>> ListTokens(std::optional<int64_t> p) override {
    return base_.ListTokens(p);
  }
  Status RevokeToken(int64_t id) override { return base_.RevokeToken(id); }
  Status AppendEvent(const catalog::Event& e) override { return base_.AppendEvent(e); }
  Result<std::vector<catalog::Event>> ListEvents(std::optional<int64_t> p, int limit) override {
    return base_.ListEvents(p, limit);
  }
  Result<catalog::Configuration> CreateConfiguration(const catalog::Configuration& c,
                                                     const catalog::ConfigVersion& v) override {
    return base_.CreateConfiguration(c, v);
  }
  Result<catalog::Configuration> GetConfiguration(int64_t br, const std::string& id) override {
    return base_.GetConfiguration(br, id);
  }
  Result<catalog::Configuration> GetConfigurationById(int64_t id) override {
    return base_.GetConfigurationById(id);
  }
  Result<std::vector<catalog::Configuration>> ListConfigurations(int64_t br) override {
    return base_.ListConfigurations(br);
  }
  Result<catalog::Configuration> SaveConfigVersion(int64_t id, int64_t expected,
                                                   const catalog::ConfigVersion& v) override {
    return base_.SaveConfigVersion(id, expected, v);
  }
  Result<catalog::ConfigVersion> GetConfigVersion(int64_t id, int64_t n) override {
    return base_.GetConfigVersion(id, n);
  }
  Result<std::vector<catalog::ConfigVersion>> ListConfigVersions(int64_t id) override {
    return base_.ListConfigVersions(id);
  }
  Status DeleteConfiguration(int64_t id) override { return base_.DeleteConfiguration(id); }
  Result<std::string> GetConfigState(int64_t id, const std::string& row) override {
    return base_.GetConfigState(id, row);
  }
  Status SetConfigState(int64_t id, const std::string& row, const std::string& s) override {
    return base_.SetConfigState(id, row, s);
  }
  Result<std::string> EnsureProjectKey(int64_t p, const std::string& k) override {
    return base_.EnsureProjectKey(p, k);
  }
  Result<catalog::Job> CreateJob(const catalog::Job& j) override { return base_.CreateJob(j); }
  Result<catalog::Job> GetJob(int64_t id) override { return base_.GetJob(id); }
  Result<std::vector<catalog::Job>> ListJobs(const catalog::JobFilter& f) override {
    return base_.ListJobs(f);
  }
  Result<std::optional<catalog::Job>> ClaimFlowJob(const std::string& w) override {
    return base_.ClaimFlowJob(w);
  }
  Result<std::optional<catalog::Job>> ClaimJob(const std::string& w, int limit) override {
    return base_.ClaimJob(w, limit);
  }
  Status UpdateJob(const catalog::Job& j, const std::string& expected) override {
    return base_.UpdateJob(j, expected);
  }
  Result<catalog::Job> RequestJobCancel(int64_t id) override { return base_.RequestJobCancel(id); }
  Status AppendJobEvents(const std::vector<catalog::JobEvent>& e) override {
    return base_.AppendJobEvents(e);
  }
  Result<std::vector<catalog::JobEvent>> ListJobEvents(int64_t j, int64_t after,
                                                       int limit) override {
    return base_.ListJobEvents(j, after, limit);
  }
  Result<catalog::StoredFile> CreateFile(const catalog::StoredFile& f) override {
    return base_.CreateFile(f);
  }
  Result<catalog::StoredFile> GetFile(int64_t p, int64_t id) override {
    return base_.GetFile(p, id);
  }
  Result<std::vector<catalog::StoredFile>> ListFiles(int64_t p, const std::vector<std::string>& t,
                                                     int limit) override {
    return base_.ListFiles(p, t, limit);
  }
  Status Transact(const std::function<Status(catalog::Catalog& tx)>& body) override {
    return base_.Transact([&](catalog::Catalog& tx) {
      auto view = Wrap(tx);
      return body(*view);
    });
  }

 protected:
  catalog::Catalog& base_;
};

}  // namespace swan::testing
