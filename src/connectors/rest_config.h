// The Generic Extractor's configuration, accepted unchanged from Keboola (config.json):
//   {"parameters": {"api": {...}, "config": {"jobs": [...], ...}, "iterations": [...]},
//    "authorization": {"oauth_api": {"credentials": {...}}}}
// Parsing checks the shape of what the extractor reads and names the field at fault
// ("parameters.config.jobs[0].children[1].endpoint: ..."); the values keep their JSON form (the
// extractor's semantics, e.g. user functions, work on that form).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

// One job (or child job): juicer's JobConfig.
struct JobConfig {
  Json config = Json::object();  // as configured, with "params" {} and "dataType" defaulted
  std::string id{};              // "id" or the md5 of the job (identical jobs run once)
  std::vector<std::shared_ptr<const JobConfig>> children{};

  std::string Endpoint() const { return config.value("endpoint", std::string()); }
  std::string DataType() const;
  const Json& Params() const { return config["params"]; }
  void SetParams(Json params) { config["params"] = std::move(params); }
  void SetParam(const std::string& name, Json value) { config["params"][name] = std::move(value); }
};

// One run of the extractor: the config section (with an iteration's attributes merged in).
struct IterationConfig {
  Json attributes = Json::object();  // every key of the config section but "jobs"
  std::vector<std::shared_ptr<const JobConfig>> jobs{};

  // Config::getAttribute: the value, or false when empty.
  Json Attribute(const std::string& name) const;
};

struct ExtractorConfiguration {
  Json api = Json::object();            // parameters.api
  Json authorization = Json::object();  // authorization (OAuth credentials)
  std::vector<IterationConfig> iterations{};
};

// Throws ExtractorError naming the field at fault.
JobConfig ParseJobConfig(const Json& job, const std::string& field_path);
ExtractorConfiguration ParseExtractorConfiguration(const Json& whole);

// Status form for callers outside the connector (e.g. to validate a configuration on save).
Status ValidateGenericExtractorConfig(const Json& whole);

}  // namespace swan::connectors
