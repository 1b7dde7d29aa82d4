#include "connectors/rest_config.h"

#include <algorithm>

namespace swan::connectors {

namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& message) {
  throw ExtractorError(path + ": " + message);
}

bool Has(const Json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && !obj[key].is_null();
}

void CheckJobShape(const Json& job, const std::string& path) {
  if (!job.is_object()) Fail(path, "a job must be an object");
  if (!job.contains("endpoint") || !job["endpoint"].is_string() ||
      job["endpoint"].get<std::string>().empty()) {
    Fail(path + ".endpoint", "the endpoint must be set (a non-empty string)");
  }
  if (Has(job, "params") && !job["params"].is_object() && !PhpEmpty(job["params"])) {
    Fail(path + ".params", "must be an object");
  }
  if (Has(job, "method")) {
    std::string m = job["method"].is_string() ? job["method"].get<std::string>() : "";
    m = AsciiUpper(m);
    if (m != "GET" && m != "POST" && m != "FORM" && !PhpEmpty(job["method"])) {
      Fail(path + ".method", "must be one of GET, POST, FORM");
    }
  }
  if (Has(job, "dataField") && !PhpEmpty(job["dataField"])) {
    const Json& f = job["dataField"];
    if (f.is_object()) {
      if (!f.contains("path") || PhpEmpty(f["path"])) Fail(path + ".dataField.path", "must be set");
    } else if (!IsScalar(f)) {
      Fail(path + ".dataField", "must be a path string or an object with 'path'");
    }
  }
  if (Has(job, "responseFilter") && !PhpEmpty(job["responseFilter"])) {
    const Json& f = job["responseFilter"];
    if (f.is_array()) {
      for (size_t i = 0; i < f.size(); ++i) {
        if (!f[i].is_string()) {
          Fail(path + ".responseFilter[" + std::to_string(i) + "]", "must be a string");
        }
      }
    } else if (!f.is_string()) {
      Fail(path + ".responseFilter", "must be a string or an array of strings");
    }
  }
  if (Has(job, "placeholders") && !job["placeholders"].is_object() &&
      !PhpEmpty(job["placeholders"])) {
    Fail(path + ".placeholders", "must be an object");
  }
  if (Has(job, "recursionFilter") && !job["recursionFilter"].is_string()) {
    Fail(path + ".recursionFilter", "must be a string");
  }
  if (Has(job, "children") && !job["children"].is_array() && !PhpEmpty(job["children"])) {
    Fail(path + ".children", "must be an array of jobs");
  }
}

void CheckApi(const Json& api) {
  const std::string p = "parameters.api";
  if (!api.is_object()) Fail(p, "the 'api' section is required (an object)");
  if (!api.contains("baseUrl") || PhpEmpty(api["baseUrl"])) {
    Fail(p + ".baseUrl", "the base URL must be set");
  }
  if (!api["baseUrl"].is_string() && !api["baseUrl"].is_object()) {
    Fail(p + ".baseUrl", "must be a URL string or a user function object");
  }
  if (Has(api, "pagination") && !PhpEmpty(api["pagination"])) {
    const Json& pg = api["pagination"];
    if (!pg.is_object()) Fail(p + ".pagination", "must be an object");
    if (Has(pg, "pages")) {
      const Json& pages = pg["pages"];
      bool ok = pages.is_number_integer() || pages.is_number_unsigned() ||
                (pages.is_string() && !pages.get<std::string>().empty() &&
                 std::all_of(pages.get<std::string>().begin(), pages.get<std::string>().end(),
                             [](char c) { return c >= '0' && c <= '9'; }));
      if (!ok) Fail(p + ".pagination.pages", "has to be an integer");
    }
  }
  if (Has(api, "authentication") && !PhpEmpty(api["authentication"])) {
    const Json& a = api["authentication"];
    if (!a.is_object()) Fail(p + ".authentication", "must be an object");
    if (Has(a, "type") && !PhpEmpty(a["type"])) {
      static const char* kTypes[] = {"basic",   "query",   "url.query",    "login",
                                     "oauth10", "oauth20", "oauth20.login"};
      std::string t = PhpToString(a["type"]);
      if (std::find(std::begin(kTypes), std::end(kTypes), t) == std::end(kTypes)) {
        Fail(p + ".authentication.type", "unknown authorization type '" + t + "'");
      }
    }
  }
  if (Has(api, "http") && !api["http"].is_object() && !PhpEmpty(api["http"])) {
    Fail(p + ".http", "must be an object");
  }
  if (Has(api, "retryConfig") && !api["retryConfig"].is_object() && !PhpEmpty(api["retryConfig"])) {
    Fail(p + ".retryConfig", "must be an object");
  }
  for (const char* key : {"caCertificate", "#clientCertificate"}) {
    if (Has(api, key) && !api[key].is_string()) Fail(p + "." + key, "must be a string");
  }
}

IterationConfig ParseIteration(const Json& configuration, const std::string& path) {
  if (!configuration.is_object()) Fail(path, "the 'config' section must be an object");
  if (!configuration.contains("jobs") || !configuration["jobs"].is_array() ||
      configuration["jobs"].empty()) {
    Fail(path + ".jobs", "the 'jobs' section is required (a non-empty array)");
  }
  IterationConfig it;
  const Json& jobs = configuration["jobs"];
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto job = std::make_shared<JobConfig>(
        ParseJobConfig(jobs[i], path + ".jobs[" + std::to_string(i) + "]"));
    bool replaced = false;
    for (auto& existing : it.jobs) {
      if (existing->id == job->id) {
        existing = job;
        replaced = true;
      }
    }
    if (!replaced) it.jobs.push_back(job);
  }
  for (auto kv = configuration.begin(); kv != configuration.end(); ++kv) {
    if (kv.key() != "jobs") it.attributes[kv.key()] = *kv;
  }
  if (Has(it.attributes, "mappings") && !PhpEmpty(it.attributes["mappings"])) {
    const Json& m = it.attributes["mappings"];
    if (!m.is_object()) Fail(path + ".mappings", "must be an object of mappings by data type");
    for (auto t = m.begin(); t != m.end(); ++t) {
      if (PhpEmpty(*t)) {
        Fail(path + ".mappings." + t.key(), "empty mapping for '" + t.key() + "' data type");
      }
      if (!t->is_object()) {
        Fail(path + ".mappings." + t.key(), "a mapping must be an object");
      }
    }
  }
  if (Has(it.attributes, "http") && Has(it.attributes["http"], "headers") &&
      !it.attributes["http"]["headers"].is_object() &&
      !PhpEmpty(it.attributes["http"]["headers"])) {
    Fail(path + ".http.headers", "must be an object");
  }
  return it;
}

}  // namespace

std::string JobConfig::DataType() const {
  auto it = config.find("dataType");
  if (it != config.end() && !PhpEmpty(*it)) return PhpToString(*it);
  return Endpoint();
}

Json IterationConfig::Attribute(const std::string& name) const {
  auto it = attributes.find(name);
  if (it == attributes.end() || PhpEmpty(*it)) return false;
  return *it;
}

JobConfig ParseJobConfig(const Json& job, const std::string& path) {
  CheckJobShape(job, path);
  JobConfig out;
  out.config = job;
  if (!job.contains("id") || PhpEmpty(job["id"])) {
    out.id = Md5Hex(PhpSerialize(job, true));
    out.config["id"] = out.id;
  } else {
    out.id = PhpToString(job["id"]);
  }
  if (!out.config.contains("params") || PhpEmpty(out.config["params"])) {
    out.config["params"] = Json::object();
  }
  if (!out.config.contains("dataType") || PhpEmpty(out.config["dataType"])) {
    out.config["dataType"] = out.config["endpoint"];
  }
  if (job.contains("children") && job["children"].is_array()) {
    const Json& children = job["children"];
    for (size_t i = 0; i < children.size(); ++i) {
      auto child = std::make_shared<JobConfig>(
          ParseJobConfig(children[i], path + ".children[" + std::to_string(i) + "]"));
      bool replaced = false;
      for (auto& existing : out.children) {
        if (existing->id == child->id) {
          existing = child;
          replaced = true;
        }
      }
      if (!replaced) out.children.push_back(child);
    }
  }
  return out;
}

ExtractorConfiguration ParseExtractorConfiguration(const Json& whole) {
  if (!whole.is_object() || !whole.contains("parameters") || !whole["parameters"].is_object()) {
    Fail("parameters", "the 'parameters' section is required (an object)");
  }
  const Json& parameters = whole["parameters"];
  ExtractorConfiguration out;
  CheckApi(parameters.contains("api") ? parameters["api"] : Json());
  out.api = parameters["api"];
  if (whole.contains("authorization") && whole["authorization"].is_object()) {
    out.authorization = whole["authorization"];
  }
  if (!parameters.contains("config") || PhpEmpty(parameters["config"])) {
    Fail("parameters.config", "the 'config' section is required in the configuration");
  }
  const Json& config = parameters["config"];
  if (!config.is_object()) Fail("parameters.config", "must be an object");
  const Json iterations = parameters.value("iterations", Json::array());
  if (PhpEmpty(iterations)) {
    out.iterations.push_back(ParseIteration(config, "parameters.config"));
  } else {
    if (!iterations.is_array()) Fail("parameters.iterations", "must be an array of objects");
    for (size_t i = 0; i < iterations.size(); ++i) {
      std::string p = "parameters.iterations[" + std::to_string(i) + "]";
      if (!iterations[i].is_object()) Fail(p, "an iteration must be an object");
      Json merged = config;
      for (auto kv = iterations[i].begin(); kv != iterations[i].end(); ++kv) {
        merged[kv.key()] = *kv;
      }
      out.iterations.push_back(ParseIteration(merged, p));
    }
  }
  return out;
}

Status ValidateGenericExtractorConfig(const Json& whole) {
  try {
    (void)ParseExtractorConfiguration(whole);
    return Status::Ok();
  } catch (const ExtractorError& e) {
    return Status::InvalidArgument(e.what());
  }
}

}  // namespace swan::connectors
