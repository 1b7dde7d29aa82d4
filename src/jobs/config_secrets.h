// Secrets in configurations: every string value under a key beginning with `#` (Keboola's rule),
// at any depth. They are sealed with the project's key when a configuration is saved, stay sealed
// in every answer, and are opened only into a job's working folder. SecretMasker hides the opened
// values in everything a job logs.
//
// Thread-safety: the functions are pure; a SecretMasker is immutable after construction.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/secret_box.h"
#include "common/status.h"

namespace swan::jobs {

// Seals every `#` value that is not sealed yet. A sealed value must open under `key` (a value
// sealed for another project is invalid_argument); a `#` value that is not a string is too.
Status SealSecrets(nlohmann::json& body, const secrets::Key& key, const std::string& path = "");
// Opens every sealed `#` value in place; appends the plaintexts to *opened.
Status OpenSecrets(nlohmann::json& body, const secrets::Key& key, std::vector<std::string>* opened);

// The project's key: unwrapped with the master key, created (and stored) on first use.
Result<secrets::Key> ProjectKey(catalog::Catalog& catalog, const secrets::Key& master,
                                int64_t project_id);

class SecretMasker {
 public:
  SecretMasker() = default;
  // Values shorter than kMinLength are not masked: masking "a" would hide every a of a log.
  explicit SecretMasker(std::vector<std::string> values);
  static constexpr size_t kMinLength = 4;
  static constexpr const char* kMask = "[hidden]";
  std::string Mask(std::string text) const;
  bool empty() const { return values_.empty(); }

 private:
  std::vector<std::string> values_;  // longest first, so that a longer secret wins
};

}  // namespace swan::jobs
