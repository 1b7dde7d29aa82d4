#include "connectors/generic_extractor.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "connectors/json_flattener.h"
#include "connectors/json_mapper.h"
#include "connectors/page_pipeline.h"
#include "connectors/pagination.h"
#include "connectors/recursion_filter.h"
#include "connectors/rest_auth.h"
#include "connectors/rest_client.h"
#include "connectors/rest_config.h"
#include "connectors/user_functions.h"

namespace swan::connectors {

namespace {

namespace stdfs = std::filesystem;

constexpr int kCompatLatest = 3;
constexpr int kCompatFilterEmptyScalar = 2;
constexpr int kCompatOldParser = 1;

bool NonEmpty(const Json& c, const char* key) {
  return c.is_object() && c.contains(key) && !PhpEmpty(c[key]);
}

// The parser of one output bucket: the JSON flattener, with explicit mappings in front of it
// for the data types that have one (juicer's Json / JsonMap).
class BucketParser {
 public:
  BucketParser(const Json& mappings, const Json& metadata, const std::string& work_dir,
               int compat_level, const LogFn& log)
      : work_dir_(work_dir), log_(log), flattener_(work_dir, log) {
    if (metadata.is_object() && NonEmpty(metadata, "json_parser.struct") &&
        NonEmpty(metadata, "json_parser.structVersion")) {
      if (metadata["json_parser.structVersion"] == 3) {
        flattener_.LoadStructure(metadata["json_parser.struct"]);
      } else {
        Log(log, LogLevel::kWarning,
            "The state holds a legacy JSON parser structure (version " +
                PhpToString(metadata["json_parser.structVersion"]) +
                "); it is not supported and is ignored: columns are learned anew.");
      }
    } else if (compat_level <= kCompatOldParser) {
      Log(log, LogLevel::kWarning,
          "compatLevel 1 asks for Keboola's legacy JSON parser, which is not supported; the "
          "current parser is used.");
    }
    if (mappings.is_object()) {
      for (auto it = mappings.begin(); it != mappings.end(); ++it) {
        mappers_.emplace_back(it.key(), std::make_unique<JsonMapper>(*it, it.key(), work_dir));
      }
    }
  }

  bool has_mappings() const { return !mappers_.empty(); }
  // See JsonFlattener::SetStreamedTableFactory.
  void SetStreamedTableFactory(JsonFlattener::TableFactory factory) {
    flattener_.SetStreamedTableFactory(std::move(factory));
  }

  void Process(const Json& data, const std::string& type, const Json& parent_id) {
    for (auto& [name, mapper] : mappers_) {
      if (name == type) {
        mapper->Parse(data, parent_id.is_object() ? parent_id : Json::object());
        return;
      }
    }
    flattener_.Process(data, type, parent_id);
  }
  // The same for records the caller no longer needs.
  void Process(Json&& data, const std::string& type, const Json& parent_id,
               const RecordDigests* record_digests = nullptr) {
    if (!mappers_.empty()) return Process(static_cast<const Json&>(data), type, parent_id);
    flattener_.Process(std::move(data), type, parent_id, record_digests);
  }

  // The same for an answer simdjson parsed, whose root is the batch (no mappings).
  void ProcessParsed(const SimdDocument& doc, const std::string& type, const Json& parent_id,
                     const RecordDigests* record_digests) {
    flattener_.ProcessParsed(doc, type, parent_id, record_digests);
  }

  std::vector<std::unique_ptr<CsvTable>> Results() {
    std::vector<std::unique_ptr<CsvTable>> results;
    auto merge = [&](std::vector<std::unique_ptr<CsvTable>> files) {
      for (auto& f : files) {
        auto existing = std::find_if(results.begin(), results.end(),
                                     [&](const auto& r) { return r->name() == f->name(); });
        if (existing == results.end()) {
          results.push_back(std::move(f));
          continue;
        }
        if ((*existing)->header() != f->header()) {
          throw ExtractorError("Multiple results for '" + f->name() +
                               "' table have different columns!");
        }
        Log(log_, LogLevel::kDebug, "Merging results for '" + f->name() + "'.");
        (*existing)->AppendRowsOf(*f);
        std::remove(f->path().c_str());
      }
    };
    for (auto& [name, mapper] : mappers_) merge(mapper->Finish());
    merge(flattener_.Finish());
    return results;
  }

  Json Metadata() const {
    Json m = Json::object();
    m["json_parser.struct"] = flattener_.StructureState();
    m["json_parser.structVersion"] = 3;
    return m;
  }

 private:
  std::string work_dir_;
  LogFn log_;
  JsonFlattener flattener_;
  std::vector<std::pair<std::string, std::unique_ptr<JsonMapper>>> mappers_;
};

struct PlaceholderParam {
  std::string placeholder;
  std::string field;
  Json value;
};
using ParamList = std::vector<PlaceholderParam>;

// What every job of one configuration (iteration) shares.
struct Extraction {
  RestClient* client = nullptr;
  BucketParser* parser = nullptr;
  Json attributes = Json::object();
  Json time = Json::object();  // {"previousStart": s, "currentStart": s}
  int compat_level = kCompatLatest;
  UserFunctionOptions functions{};
  LogFn log{};
  const GenericExtractorOptions* options = nullptr;
  std::chrono::steady_clock::time_point started{};
  // Set: the client's request in flight stops (a page fetched ahead that is no longer wanted).
  std::shared_ptr<std::atomic<bool>> abandon{};
};

// The next page, downloaded on another thread while this one parses the current page: the API
// serves page N+1 while Swan processes page N (a job with a response filter; PagePipeline does
// more for the others). Only one request is ever in flight and the client is not used by the
// caller meanwhile. Destroying it (or Abandon) stops the request in flight and waits for the
// thread; a page abandoned is never parsed.
class PageAhead {
 public:
  explicit PageAhead(Extraction& ex) : ex_(ex) {}
  ~PageAhead() { Abandon(); }
  PageAhead(const PageAhead&) = delete;
  PageAhead& operator=(const PageAhead&) = delete;

  void Start(const RestRequest& request) {
    RestClient* client = ex_.client;
    future_ = std::async(std::launch::async, [client, request]() {
      return std::make_shared<Json>(client->Download(request));
    });
  }
  bool active() const { return future_.valid(); }
  // The page, or the download's exception.
  std::shared_ptr<Json> Take() { return future_.get(); }
  void Abandon() {
    if (!future_.valid()) return;
    if (ex_.abandon) ex_.abandon->store(true);
    future_.wait();
    future_ = {};  // its error, if any, is dropped with it
    if (ex_.abandon) ex_.abandon->store(false);
  }

 private:
  Extraction& ex_;
  std::future<std::shared_ptr<Json>> future_;
};

// The cancel flag was seen between two requests.
struct ExtractionCancelled {};

Json References(const Extraction& ex) {
  Json refs = Json::object();
  refs["attr"] = ex.attributes;
  refs["time"] = ex.time;
  return refs;
}

std::string PrependParent(const std::string& s) {
  return s.rfind("parent_", 0) == 0 ? s : "parent_" + s;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

// FindResponseArray: the records of a response: a part of `response`, or `*made`.
const Json* LocateResponseArray(const Json& response, const JobConfig& job, const LogFn& log,
                                Json* made) {
  const Json& config = job.config;
  if (NonEmpty(config, "dataField")) {
    const Json& field = config["dataField"];
    std::string path, separator = ".";
    if (field.is_object()) {
      if (!NonEmpty(field, "path")) throw ExtractorError("'dataField.path' must be set!");
      path = PhpToString(field["path"]);
      if (NonEmpty(field, "delimiter")) separator = PhpToString(field["delimiter"]);
    } else if (IsScalar(field)) {
      path = PhpToString(field);
    } else {
      throw ExtractorError(
          "'dataField' must be either a path string or an object with 'path' attribute.");
    }
    auto found = GetDataFromPath(path, response, separator);
    if (!found || PhpEmpty(*found, false)) {
      Log(log, LogLevel::kWarning, "dataField '" + path + "' contains no data!");
      *made = Json::array();
      return made;
    }
    *made = found->is_array() ? std::move(*found) : Json::array({*found});
    return made;  // (GetDataFromPath gives a copy)
  }
  if (response.is_array()) return &response;
  if (response.is_object()) {
    std::vector<std::string> names;
    const Json* only = nullptr;
    for (auto it = response.begin(); it != response.end(); ++it) {
      if (it->is_array()) {
        names.push_back(it.key());
        only = &*it;
      }
    }
    if (names.size() == 1) return only;
    if (names.empty()) {
      Log(log, LogLevel::kWarning,
          "No data array found in response! (endpoint: " + job.Endpoint() + ")");
      *made = Json::array();
      return made;
    }
    std::string joined;
    for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
    throw ExtractorError(
        "More than one array found in response! Use 'dataField' parameter to "
        "specify a key to the data array. (endpoint: " +
        job.Endpoint() + ", arrays in response root: " + joined + ")");
  }
  throw ExtractorError("Unknown response from API (endpoint: " + job.Endpoint() + "): a JSON " +
                       response.type_name() +
                       " where an object or array was "
                       "expected.");
}

Json FindResponseArray(const Json& response, const JobConfig& job, const LogFn& log) {
  Json made;
  const Json* found = LocateResponseArray(response, job, log, &made);
  return found == &made ? std::move(made) : *found;
}

// Response\Filter: responseFilter paths become JSON strings.
class ResponseFilter {
 public:
  ResponseFilter(const JobConfig& job, int compat_level) : compat_(compat_level) {
    const Json& c = job.config;
    if (NonEmpty(c, "responseFilter")) {
      if (c["responseFilter"].is_array()) {
        for (const auto& f : c["responseFilter"]) filters_.push_back(PhpToString(f));
      } else {
        filters_.push_back(PhpToString(c["responseFilter"]));
      }
    }
    delimiter_ =
        NonEmpty(c, "responseFilterDelimiter") ? PhpToString(c["responseFilterDelimiter"]) : ".";
  }
  // Whether Run changes anything.
  bool active() const { return !filters_.empty(); }
  void Run(Json& data) const {
    for (const auto& path : filters_) {
      for (auto& item : data) item = FilterItem(item, path);
    }
  }

 private:
  Json FilterItem(Json item, const std::string& path) const {
    std::vector<std::string> current = Explode(delimiter_, path, 2);
    std::string key = current[0];
    bool arr = key.size() >= 2 && key.compare(key.size() - 2, 2, "[]") == 0;
    if (arr) key = key.substr(0, key.size() - 2);
    if (compat_ <= kCompatFilterEmptyScalar) {
      if (!item.is_object() || !item.contains(key) || PhpEmpty(item[key], false)) return item;
    } else {
      if (!item.is_object() || !item.contains(key)) return item;
    }
    if (arr) {
      if (!item[key].is_array()) {
        throw ExtractorError("Error filtering response. '" + key + "' is not an array.");
      }
      for (auto& sub : item[key]) {
        sub = current.size() == 1 ? Update(sub) : FilterItem(sub, current[1]);
      }
    } else {
      item[key] = current.size() == 1 ? Update(item[key]) : FilterItem(item[key], current[1]);
    }
    return item;
  }
  Json Update(const Json& item) const {
    if (compat_ <= kCompatFilterEmptyScalar) {
      return IsScalar(item) ? PhpToString(item) : PhpJsonEncode(item);
    }
    return PhpJsonEncode(item);
  }

  std::vector<std::string> filters_;
  std::string delimiter_;
  int compat_;
};

// PlaceholdersUtils::getParamsForChildJobs: one parameter list per child job.
std::vector<ParamList> ParamsForChildJobs(const Json& placeholders, const Json& parent_results,
                                          const ParamList& parent_params, const LogFn& log) {
  ParamList params = parent_params;
  for (auto it = placeholders.begin(); it != placeholders.end(); ++it) {
    const std::string& name = it.key();
    Json field = *it;
    int level = 0;
    if (name.find(':') != std::string::npos) {
      level = static_cast<int>(std::strtol(name.c_str(), nullptr, 10)) - 1;
    }
    Json fn = nullptr;
    if (!IsScalar(field)) {
      if (!NonEmpty(field, "path")) {
        throw ExtractorError("The path for placeholder '" + name +
                             "' must be a string value or an object containing 'path' and "
                             "'function'.");
      }
      fn = field;
      fn.erase("path");
      field = field["path"];
    }
    std::string path = PhpToString(field);
    if (level < 0 || static_cast<size_t>(level) >= parent_results.size()) {
      throw ExtractorError(
          "Level " + std::to_string(level + 1) +
          " not found in parent results! Maximum level: " + std::to_string(parent_results.size()));
    }
    auto value = GetDataFromPath(path, parent_results[static_cast<size_t>(level)], ".");
    if (!value) {
      throw ExtractorError("No value found for " + name +
                           " in parent result. (level: " + std::to_string(level + 1) + ")");
    }
    Json v = *value;
    if (!fn.is_null()) {
      UserFunctionOptions o;
      o.extra_functions = {"urlencode"};
      Json refs = Json::object();
      refs["placeholder"] = Json::object({{"value", v}});
      v = RunUserFunction(fn, refs, o);
    }
    PlaceholderParam p{name, path, v};
    auto existing = std::find_if(params.begin(), params.end(),
                                 [&](const PlaceholderParam& q) { return q.placeholder == name; });
    if (existing != params.end()) {
      *existing = p;
    } else {
      params.push_back(p);
    }
  }
  (void)log;
  // A list value gives one job per item; several lists give every combination.
  std::vector<ParamList> options;
  for (const auto& p : params) {
    ParamList choices;
    if (p.value.is_array()) {
      for (const auto& v : p.value) choices.push_back({p.placeholder, p.field, v});
    } else {
      choices.push_back(p);
    }
    options.push_back(choices);
  }
  std::vector<ParamList> result;
  if (options.empty()) return result;
  size_t total = 1;
  for (const auto& o : options) total *= o.size();
  for (size_t i = 0; i < total; ++i) {
    ParamList combo;
    size_t rest = i;
    std::vector<size_t> idx(options.size());
    for (size_t j = options.size(); j-- > 0;) {
      idx[j] = rest % options[j].size();
      rest /= options[j].size();
    }
    for (size_t j = 0; j < options.size(); ++j) combo.push_back(options[j][idx[j]]);
    result.push_back(combo);
  }
  return result;
}

// One job run (GenericExtractorJob): pages through its endpoint, parses each page and runs
// its child jobs for every record.
class JobRun {
 public:
  JobRun(Extraction& ex, JobConfig config, Scroller* scroller, Json parent_results,
         ParamList parent_params)
      : ex_(ex),
        config_(std::move(config)),
        scroller_(scroller),
        parent_results_(std::move(parent_results)),
        parent_params_(std::move(parent_params)) {
    for (const auto& p : parent_params_) {
      if (p.value.is_object() || p.value.is_array()) {
        throw ExtractorError("Placeholder '" + p.placeholder +
                             "' has a non-scalar value: " + PhpJsonEncode(p.value));
      }
      config_.config["endpoint"] =
          ReplaceAll(config_.Endpoint(), "{" + p.placeholder + "}", PhpToString(p.value));
    }
  }

  void SetUserParentId(const Json& id) { user_parent_id_ = id; }

  void Run() {
    config_.SetParams(BuildUserFunctions(config_.Params(), References(ex_), ex_.functions));
    Json parent_id = ParentId();
    std::optional<RestRequest> request = scroller_->FirstRequest(*ex_.client, config_);
    std::string last_hash;
    int64_t pages = 0;
    // Child jobs use the client and clone the scroller between pages: without them the next
    // request is asked for before the page is parsed (the scroller's NextRequest sees the same
    // response and records) and downloaded meanwhile.
    const bool ahead = config_.children.empty();
    if (ahead && request && !ResponseFilter(config_, ex_.compat_level).active()) {
      RunPipelined(*request, parent_id);
      return;
    }
    PageAhead next_page(ex_);
    while (request) {
      if (++pages > ex_.options->max_pages_per_job) {
        throw PageLimitError();
      }
      CheckRunTime();
      std::shared_ptr<Json> page = next_page.active()
                                       ? next_page.Take()
                                       : std::make_shared<Json>(ex_.client->Download(*request));
      Json& response = *page;
      // Only compared with the previous page's: the value's digest, not its dump's.
      std::string hash = JsonSha1Hex(response);
      if (hash == last_hash) {
        Log(ex_.log, LogLevel::kDebug,
            "Job '" + config_.Endpoint() + "' finished when last response matched the previous!");
        scroller_->Reset();
        break;
      }
      const ResponseFilter filter(config_, ex_.compat_level);
      Json data = FindResponseArray(response, config_, ex_.log);
      filter.Run(data);
      if (ahead) {
        request = scroller_->NextRequest(*ex_.client, config_, response, data);
        // Not past the page limit, the run's time or a cancel: those end the run before the
        // request in the loop above.
        if (request && pages < ex_.options->max_pages_per_job && !RunTimeOver()) {
          next_page.Start(*request);
        }
        ex_.parser->Process(std::move(data), config_.DataType(), ParentCols(parent_id));
        last_hash = hash;
        continue;
      }
      ex_.parser->Process(data, config_.DataType(), ParentCols(parent_id));
      RunChildJobs(data);
      last_hash = hash;
      request = scroller_->NextRequest(*ex_.client, config_, response, data);
    }
  }

  // The pages of a job without child jobs or a response filter, through a PagePipeline: the
  // same requests, checks and stops as the loop in Run, with fetching, decoding and processing
  // overlapped.
  void RunPipelined(const RestRequest& first, const Json& parent_id) {
    PagePipelineOptions options;
    options.max_pages = ex_.options->max_pages_per_job;
    options.stop_requests = [this] { return RunTimeOver(); };
    options.locate = [this](const Json& response, Json* made) {
      return LocateResponseArray(response, config_, LogFn{}, made);
    };
    options.abandon = ex_.abandon;
    // The answer is the batch (LocateResponseArray returns an array answer itself, silently,
    // when there is no dataField), and the flattener, not a mapping, takes it.
    options.parse_arrays = !ex_.parser->has_mappings() && !NonEmpty(config_.config, "dataField");
    PagePipeline pipeline(*ex_.client, *scroller_, config_, first, std::move(options));
    std::string last_hash;
    int64_t pages = 0;
    while (true) {
      PipelinedPage page = pipeline.Next();
      if (page.kind == PipelinedPage::Kind::kEnd) break;
      if (++pages > ex_.options->max_pages_per_job) {
        throw PageLimitError();
      }
      CheckRunTime();
      if (page.kind == PipelinedPage::Kind::kMore) {
        // Held for a limit just checked: RunTimeOver and CheckRunTime agree, time only grows.
        throw ExtractorError("the page pipeline held a page for no limit");
      }
      if (page.kind == PipelinedPage::Kind::kError) std::rethrow_exception(page.error);
      if (PageHash(page) == last_hash) {
        Log(ex_.log, LogLevel::kDebug,
            "Job '" + config_.Endpoint() + "' finished when last response matched the previous!");
        pipeline.Stop();
        scroller_->Reset();
        break;
      }
      if (page.parsed) {
        RecordDigests digests;
        if (page.digests.valid()) digests = [&page]() { return &page.digests.get(); };
        ex_.parser->ProcessParsed(*page.parsed, config_.DataType(), ParentCols(parent_id),
                                  digests ? &digests : nullptr);
        last_hash = page.hash;
        continue;
      }
      Json& response = *page.response;
      // The records are read where they are in the response (no copy of the page); the
      // digests are of the response's records, unchanged since.
      Json made;
      Json& data = const_cast<Json&>(*LocateResponseArray(response, config_, ex_.log, &made));
      RecordDigests digests;
      if (&data == &response && page.digests.valid()) {
        digests = [&page]() { return &page.digests.get(); };
      }
      ex_.parser->Process(std::move(data), config_.DataType(), ParentCols(parent_id),
                          digests ? &digests : nullptr);
      last_hash = page.hash;
    }
  }

 private:
  ExtractorError PageLimitError() const {
    return ExtractorError("Job '" + config_.Endpoint() + "' exceeded the limit of " +
                          std::to_string(ex_.options->max_pages_per_job) +
                          " pages (check the pagination settings).");
  }

  // The run's time is over (whole milliseconds, as CheckRunTime counts them).
  bool RunTimeExceeded() const {
    if (ex_.options->max_run_time_ms <= 0) return false;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 ex_.started)
               .count() > ex_.options->max_run_time_ms;
  }

  bool RunTimeOver() const {
    return (ex_.options->cancel && ex_.options->cancel->load()) || RunTimeExceeded();
  }

  void CheckRunTime() const {
    if (ex_.options->cancel && ex_.options->cancel->load()) throw ExtractionCancelled();
    if (RunTimeExceeded()) {
      throw ExtractorError("The extraction exceeded its allowed time of " +
                               std::to_string(ex_.options->max_run_time_ms / 1000) + " s.",
                           false);
    }
  }

  Json ParentId() const {
    Json user_data = Json::object();
    if (NonEmpty(config_.config, "userData")) {
      const Json& u = config_.config["userData"];
      if (!u.is_object()) {
        user_data["job_parent_id"] = u;
      } else {
        user_data = u;
      }
    }
    if (!PhpEmpty(user_parent_id_)) {
      Json merged = user_parent_id_;
      for (auto it = user_data.begin(); it != user_data.end(); ++it) merged[it.key()] = *it;
      user_data = merged;
    }
    if (PhpEmpty(user_data)) return nullptr;
    return BuildUserFunctions(user_data, References(ex_), ex_.functions);
  }

  Json ParentCols(const Json& parent_id) const {
    Json cols = parent_id.is_object() ? parent_id : Json::object();
    for (const auto& p : parent_params_) cols[PrependParent(p.field)] = p.value;
    return cols;
  }

  void RunChildJobs(const Json& data) {
    for (const auto& child : config_.children) {
      std::optional<RecursionFilter> filter;
      if (NonEmpty(child->config, "recursionFilter")) {
        filter.emplace(PhpToString(child->config["recursionFilter"]));
      }
      for (const auto& result : data) {
        if (filter && !filter->Matches(result)) continue;
        Json parents = Json::array();
        parents.push_back(result);
        for (const auto& p : parent_results_) parents.push_back(p);
        std::unique_ptr<Scroller> scroller = scroller_->Clone();
        scroller->Reset();
        Json placeholders = NonEmpty(child->config, "placeholders") ? child->config["placeholders"]
                                                                    : Json::object();
        if (PhpEmpty(placeholders)) {
          Log(ex_.log, LogLevel::kWarning, "No 'placeholders' set for '" + child->Endpoint() + "'");
        }
        for (auto& params : ParamsForChildJobs(placeholders, parents, parent_params_, ex_.log)) {
          JobRun run(ex_, *child, scroller.get(), parents, params);
          run.Run();
        }
      }
    }
  }

  Extraction& ex_;
  JobConfig config_;
  Scroller* scroller_;
  Json parent_results_;
  ParamList parent_params_;
  Json user_parent_id_ = nullptr;
};

bool IsValidUrl(const std::string& url) {
  UrlParts u = ParseUrl(url);
  std::string scheme = u.scheme;
  scheme = AsciiLower(scheme);
  return (scheme == "http" || scheme == "https") && u.has_authority && !u.authority.empty() &&
         url.find(' ') == std::string::npos;
}

std::string BaseUrl(const Json& api, const Json& attributes, const UserFunctionOptions& fo,
                    const LogFn& log) {
  const Json& base = api["baseUrl"];
  if (base.is_string() && IsValidUrl(base.get<std::string>())) return base.get<std::string>();
  Json fn = base;
  if (base.is_string()) {
    try {
      fn = Json::parse(base.get<std::string>());
      Log(log, LogLevel::kWarning, "Passing json-encoded baseUrl is deprecated.");
    } catch (const Json::exception&) {
      throw ExtractorError(
          "parameters.api.baseUrl: the 'baseUrl' attribute in API configuration "
          "is not a valid URL");
    }
  }
  Json refs = Json::object();
  refs["attr"] = attributes;
  Json built = BuildUserFunctions(Json::array({fn}), refs, fo)[0];
  std::string url = PhpToString(built);
  if (!built.is_string() || !IsValidUrl(url)) {
    throw ExtractorError(
        "parameters.api.baseUrl: the \"baseUrl\" attribute in API configuration "
        "resulted in an invalid URL (" +
        url + ")");
  }
  return url;
}

RetryPolicy RetryFrom(const Json& api, int cap) {
  RetryPolicy r;
  if (!NonEmpty(api, "retryConfig") || !api["retryConfig"].is_object()) return r;
  const Json& c = api["retryConfig"];
  if (c.contains("maxRetries") && c["maxRetries"].is_number()) {
    r.max_retries = std::min(static_cast<int>(c["maxRetries"].get<double>()), cap);
  }
  auto codes = [](const Json& list, std::vector<long>& out) {
    if (!list.is_array()) return;
    out.clear();
    for (const auto& v : list) {
      if (v.is_number()) out.push_back(static_cast<long>(v.get<double>()));
    }
  };
  // Both the documented names (headerName, httpCodes, curlCodes) and juicer's own.
  if (c.contains("http") && c["http"].is_object()) {
    if (NonEmpty(c["http"], "retryHeader")) r.retry_header = PhpToString(c["http"]["retryHeader"]);
    if (c["http"].contains("codes")) codes(c["http"]["codes"], r.http_codes);
  }
  if (c.contains("curl") && c["curl"].is_object() && c["curl"].contains("codes")) {
    codes(c["curl"]["codes"], r.curl_codes);
  }
  if (NonEmpty(c, "headerName")) r.retry_header = PhpToString(c["headerName"]);
  if (c.contains("httpCodes")) codes(c["httpCodes"], r.http_codes);
  if (c.contains("curlCodes")) codes(c["curlCodes"], r.curl_codes);
  return r;
}

// A bucket or table name becomes a file name: it must stay inside out/tables.
void CheckFileName(const std::string& name, const char* what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name.find('\0') != std::string::npos ||
      name.size() > 200) {
    throw ExtractorError(std::string("invalid ") + what + " name '" + name +
                         "': it must be 1-200 characters without '/' or '\\' and not '.' or '..'");
  }
}

// <out>/tables/<bucket>.<table>.csv (a file, or the folder of a sliced table).
std::string TablePath(const std::string& tables_dir, const std::string& bucket,
                      const std::string& name) {
  return tables_dir + "/" + (bucket.empty() ? name : bucket + "." + name) + ".csv";
}

// The manifest of a table at `target`; a sliced table's lists its columns (its slices have no
// header row).
void WriteTableManifest(const CsvTable& table, const std::string& target, const std::string& bucket,
                        bool incremental) {
  Json manifest = Json::object();
  if (!bucket.empty()) manifest["destination"] = "in.c-" + bucket + "." + table.name();
  manifest["incremental"] = table.incremental.value_or(incremental);
  if (!table.primary_key.empty()) manifest["primary_key"] = table.primary_key;
  if (table.sliced()) manifest["columns"] = table.header();
  std::ofstream out(target + ".manifest", std::ios::binary | std::ios::trunc);
  out << manifest.dump();
  if (!out) throw ExtractorError("cannot write " + target + ".manifest", false);
}

// Writes a table and its manifest into <out>/tables.
void StoreTable(CsvTable& table, const std::string& tables_dir, const std::string& bucket,
                bool incremental) {
  CheckFileName(table.name(), "table");
  const std::string target = TablePath(tables_dir, bucket, table.name());
  if (table.sliced()) {
    if (table.path() != target) throw ExtractorError("a sliced table is not in place", false);
    WriteTableManifest(table, target, bucket, incremental);  // the same as before its slices
    return;
  }
  std::error_code ec;
  stdfs::rename(table.path(), target, ec);
  if (ec) {
    stdfs::copy_file(table.path(), target, stdfs::copy_options::overwrite_existing, ec);
    if (ec) throw ExtractorError("cannot write " + target + ": " + ec.message(), false);
    stdfs::remove(table.path(), ec);
  }
  WriteTableManifest(table, target, bucket, incremental);
}

// Streamed tables written as slices straight into <out>/tables, each slice loaded by the job
// while the extractor runs on (ExtractorIo::slice_done). Slices of 4 MiB: a REST job's tables
// are tens of MB, and the load after the last page is then that of one slice.
constexpr int64_t kStreamedSliceBytes = int64_t{4} << 20;

JsonFlattener::TableFactory SlicedTables(const std::string& tables_dir, const std::string& bucket,
                                         bool incremental, const CsvSliceWriter::SliceDone& done) {
  return [tables_dir, bucket, incremental, done](const std::string& name,
                                                 const std::vector<std::string>& header) {
    CheckFileName(name, "table");
    const std::string target = TablePath(tables_dir, bucket, name);
    auto table =
        std::make_unique<CsvTable>(name, header, target, stdfs::path(target).filename().string(),
                                   target + ".manifest", kStreamedSliceBytes, done);
    WriteTableManifest(*table, target, bucket, incremental);
    return table;
  };
}

// MissingTableHelper: a header-only table for every mapped table no record produced.
void FillMissingTable(const std::string& tables_dir, const std::string& bucket, bool incremental,
                      const std::string& name, Json mapping, const Json& parent_key) {
  std::vector<std::string> columns, primary_key;
  if (mapping.is_object() && mapping.contains("type") && mapping["type"] == "table") {
    mapping = Json::array({mapping});
  }
  for (const auto& item : mapping) {
    if (!item.is_object()) {
      columns.push_back(PhpToString(item));
      continue;
    }
    std::string type = NonEmpty(item, "type") ? PhpToString(item["type"]) : "";
    if (type.empty() || type == "column" || type == "user" || type == "date") {
      if (!item.contains("mapping") || !item["mapping"].is_object()) {
        throw ExtractorError("Missing mapping key at item with type \"" + type + "\"");
      }
      std::string dest = PhpToString(item["mapping"].value("destination", Json("")));
      columns.push_back(dest);
      if (NonEmpty(item["mapping"], "primaryKey")) primary_key.push_back(dest);
    } else if (type == "table") {
      std::string dest = PhpToString(item.value("destination", Json("")));
      Json pk = Json::object();
      if (!NonEmpty(item, "parentKey")) {
        pk["destination"] = name + "_pk";
      } else {
        pk = item["parentKey"];
        if (!NonEmpty(pk, "destination")) pk["destination"] = name + "_pk";
      }
      FillMissingTable(tables_dir, bucket, incremental, dest,
                       item.value("tableMapping", Json::object()), pk);
    } else {
      throw ExtractorError("Invalid mapping type \"" + type + "\".");
    }
  }
  if (!parent_key.is_null() && !NonEmpty(parent_key, "disable")) {
    columns.push_back(PhpToString(parent_key["destination"]));
    if (NonEmpty(parent_key, "primaryKey")) {
      primary_key.push_back(PhpToString(parent_key["destination"]));
    }
  }
  CheckFileName(name, "table");
  std::string base = bucket.empty() ? name : bucket + "." + name;
  std::string target = tables_dir + "/" + base + ".csv";
  if (columns.empty() || stdfs::exists(target)) return;
  {
    CsvTable table(name, columns, target);
    table.Close();
  }
  Json manifest = Json::object();
  manifest["incremental"] = incremental;
  if (!bucket.empty()) manifest["destination"] = "in.c-" + bucket + "." + name;
  if (!primary_key.empty()) manifest["primary_key"] = primary_key;
  std::ofstream out(target + ".manifest", std::ios::binary | std::ios::trunc);
  out << manifest.dump();
}

// Every secret string of the configuration (values under keys starting with '#').
void CollectSecrets(const Json& v, bool secret, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      CollectSecrets(*it, secret || (!it.key().empty() && it.key()[0] == '#'), out);
    }
  } else if (v.is_array()) {
    for (const auto& e : v) CollectSecrets(e, secret, out);
  } else if (secret && v.is_string() && v.get<std::string>().size() >= 3) {
    out.push_back(v.get<std::string>());
  }
}

LogFn MaskingLog(const LogFn& log, const Json& config) {
  if (!log) return log;
  auto secrets = std::make_shared<std::vector<std::string>>();
  CollectSecrets(config, false, *secrets);
  // A page fetched ahead logs from its own thread: one line at a time reaches `log`.
  auto mutex = std::make_shared<std::mutex>();
  return [log, secrets, mutex](LogLevel level, const std::string& line) {
    std::string masked = line;
    for (const auto& s : *secrets) {
      masked = ReplaceAll(masked, s, "[hidden]");
      masked = ReplaceAll(masked, PhpUrlEncode(s), "[hidden]");
      masked = ReplaceAll(masked, PhpRawUrlEncode(s), "[hidden]");
    }
    std::lock_guard<std::mutex> lock(*mutex);
    log(level, masked);
  };
}

struct BucketResult {
  std::string bucket;
  std::unique_ptr<BucketParser> parser;
  bool incremental = false;
};

void Run(const Json& config, const GenericExtractorIo& io) {
  const GenericExtractorOptions& opts = io.options;
  LogFn log = MaskingLog(io.log, config);
  ExtractorConfiguration cfg = ParseExtractorConfiguration(config);
  auto now_micros = [&]() { return opts.now_micros ? opts.now_micros() : SystemNowMicros(); };
  UserFunctionOptions fo;
  fo.now = now_micros;

  if (io.out_dir.empty()) throw ExtractorError("no output folder given", false);
  std::string tables_dir = io.out_dir + "/tables";
  std::error_code ec;
  stdfs::create_directories(tables_dir, ec);
  if (ec) throw ExtractorError("cannot create " + tables_dir + ": " + ec.message(), false);
  bool own_work_dir = io.work_dir.empty();
  std::string work_dir = own_work_dir ? io.out_dir + "/.generic-extractor-tmp" : io.work_dir;
  stdfs::create_directories(work_dir, ec);
  if (ec) throw ExtractorError("cannot create " + work_dir + ": " + ec.message(), false);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      if (!dir.empty()) stdfs::remove_all(dir, e);
    }
  } cleanup{own_work_dir ? work_dir : std::string()};

  Json metadata = io.input_state.is_object() ? io.input_state : Json::object();
  if (!metadata.contains("time") || !metadata["time"].is_object())
    metadata["time"] = Json::object();
  if (!NonEmpty(metadata["time"], "previousStart")) metadata["time"]["previousStart"] = 0;
  int64_t current_start = now_micros() / 1000000;
  metadata["time"]["currentStart"] = current_start;

  std::vector<BucketResult> results;
  auto started = std::chrono::steady_clock::now();
  for (const IterationConfig& iteration : cfg.iterations) {
    const Json& api = cfg.api;
    const Json& attrs = iteration.attributes;
    std::string api_name = NonEmpty(api, "name") ? PhpToString(api["name"]) : "generic";
    std::string bucket;
    if (!PhpEmpty(iteration.Attribute("outputBucket"))) {
      bucket = PhpToString(iteration.Attribute("outputBucket"));
    } else if (!PhpEmpty(iteration.Attribute("id"))) {
      bucket = "ex-api-" + api_name + "-" + PhpToString(iteration.Attribute("id"));
    }
    if (!bucket.empty()) CheckFileName(bucket, "outputBucket");
    int compat =
        PhpEmpty(iteration.Attribute("compatLevel"))
            ? kCompatLatest
            : static_cast<int>(std::strtol(PhpToString(attrs["compatLevel"]).c_str(), nullptr, 10));

    // The client: base URL, headers, defaults, retries, timeouts, authentication.
    RestClientOptions client_options;
    client_options.log = log;
    client_options.base_url = BaseUrl(api, attrs, fo, log);
    Json http = api.contains("http") && api["http"].is_object() ? api["http"] : Json::object();
    Json headers =
        http.contains("headers") && http["headers"].is_object() ? http["headers"] : Json::object();
    Json config_headers = Json::object();
    if (attrs.contains("http") && attrs["http"].is_object() && attrs["http"].contains("headers") &&
        attrs["http"]["headers"].is_object()) {
      config_headers = attrs["http"]["headers"];
    }
    if (http.contains("requiredHeaders") && http["requiredHeaders"].is_array()) {
      for (const auto& h : http["requiredHeaders"]) {
        std::string name = PhpToString(h);
        if (!config_headers.contains(name) || PhpEmpty(config_headers[name])) {
          throw ExtractorError("parameters.config.http.headers: Missing required header " + name +
                               " in 'config.http.headers'.");
        }
      }
    }
    for (auto it = config_headers.begin(); it != config_headers.end(); ++it) {
      headers[it.key()] = *it;
    }
    Json refs = Json::object();
    refs["attr"] = attrs;
    client_options.default_headers = BuildUserFunctions(headers, refs, fo);
    for (auto it = client_options.default_headers.begin();
         it != client_options.default_headers.end(); ++it) {
      if (it->is_object()) {
        throw ExtractorError("Invalid configuration: invalid type \"object\" in headers at path: " +
                             it.key());
      }
    }
    if (NonEmpty(http, "defaultOptions"))
      client_options.default_request_options = http["defaultOptions"];
    if (NonEmpty(http, "ignoreErrors") && http["ignoreErrors"].is_array()) {
      for (const auto& c : http["ignoreErrors"]) {
        if (c.is_number()) {
          client_options.ignore_errors.push_back(static_cast<long>(c.get<double>()));
        } else if (c.is_string() && PhpIsNumericString(c.get<std::string>())) {
          client_options.ignore_errors.push_back(
              std::strtol(c.get<std::string>().c_str(), nullptr, 10));
        }
      }
    }
    HttpFetcherOptions& ho = client_options.http;
    ho.log = log;
    ho.retry = RetryFrom(api, opts.max_retries_cap);
    ho.max_response_bytes = opts.max_response_bytes;
    ho.proxy = opts.proxy;
    ho.sleep = opts.sleep;
    ho.now_seconds = [now_micros]() { return now_micros() / 1000000; };
    auto seconds_option = [&](const char* key, int64_t fallback_ms) {
      if (NonEmpty(http, key) && http[key].is_number()) {
        return static_cast<int64_t>(http[key].get<double>() * 1000);
      }
      return fallback_ms;
    };
    // A request in flight or a retry wait ends at once on cancel or past the run's time.
    auto abandon = std::make_shared<std::atomic<bool>>(false);
    ho.should_stop = [&opts, started, abandon]() {
      if (abandon->load()) return true;
      if (opts.cancel && opts.cancel->load()) return true;
      return opts.max_run_time_ms > 0 && std::chrono::steady_clock::now() - started >
                                             std::chrono::milliseconds(opts.max_run_time_ms);
    };
    ho.connect_timeout_ms = seconds_option("connectTimeout", 30 * 1000);
    ho.request_timeout_ms = seconds_option("requestTimeout", 300 * 1000);
    if (opts.connect_timeout_ms > 0)
      ho.connect_timeout_ms = std::min(ho.connect_timeout_ms, opts.connect_timeout_ms);
    if (opts.request_timeout_ms > 0)
      ho.request_timeout_ms = std::min(ho.request_timeout_ms, opts.request_timeout_ms);
    if (NonEmpty(api, "caCertificate")) ho.ca_certificate = PhpToString(api["caCertificate"]);
    if (NonEmpty(api, "#clientCertificate"))
      ho.client_certificate = PhpToString(api["#clientCertificate"]);
    RestClient client(client_options);

    AuthContext auth;
    auth.api_authentication = api.contains("authentication") && api["authentication"].is_object()
                                  ? api["authentication"]
                                  : Json::object();
    if (NonEmpty(api, "query") && !NonEmpty(auth.api_authentication, "query")) {
      auth.api_authentication["_api_query"] = api["query"];
    }
    auth.attributes = attrs;
    auth.authorization = cfg.authorization;
    auth.functions = fo;
    auth.log = log;
    client.SetAuth(CreateRestAuth(auth));

    // The parser of the bucket (shared by the iterations writing into it).
    auto found = std::find_if(results.begin(), results.end(),
                              [&](const BucketResult& r) { return r.bucket == bucket; });
    if (found == results.end()) {
      BucketResult r;
      r.bucket = bucket;
      r.parser = std::make_unique<BucketParser>(attrs.value("mappings", Json::object()), metadata,
                                                work_dir, compat, log);
      // One iteration (its incremental flag is the manifests'), rows of the flattener alone.
      if (io.slice_done && cfg.iterations.size() == 1 && !r.parser->has_mappings()) {
        r.parser->SetStreamedTableFactory(
            SlicedTables(tables_dir, bucket, !PhpEmpty(iteration.Attribute("incrementalOutput")),
                         io.slice_done));
      }
      results.push_back(std::move(r));
      found = results.end() - 1;
    }
    Extraction ex;
    ex.client = &client;
    ex.parser = found->parser.get();
    ex.attributes = attrs;
    ex.time = metadata["time"];
    ex.compat_level = compat;
    ex.functions = fo;
    ex.log = log;
    ex.options = &opts;
    ex.started = started;
    ex.abandon = abandon;

    ScrollerContext sc;
    sc.log = log;
    sc.now_seconds = ho.now_seconds;
    Json pagination = NonEmpty(api, "pagination") ? api["pagination"] : Json::object();
    Json user_data = iteration.Attribute("userData");
    for (const auto& job : iteration.jobs) {
      Log(log, LogLevel::kInfo, "Running job '" + job->Endpoint() + "' (" + job->DataType() + ")");
      std::unique_ptr<Scroller> scroller = CreateScroller(pagination, sc);
      JobRun run(ex, *job, scroller.get(), Json::array(), {});
      if (!PhpEmpty(user_data)) {
        run.SetUserParentId(IsScalar(user_data) ? Json::object({{"userData", user_data}})
                                                : user_data);
      }
      run.Run();
    }
    if (!found->parser->has_mappings()) {
      metadata = ArrayReplaceRecursive(metadata, found->parser->Metadata());
    }
    found->incremental = !PhpEmpty(iteration.Attribute("incrementalOutput"));
  }

  for (auto& r : results) {
    auto tables = r.parser->Results();
    for (auto& t : tables) {
      StoreTable(*t, tables_dir, r.bucket, r.incremental);
      Log(log, LogLevel::kInfo,
          "Table '" + (r.bucket.empty() ? t->name() : r.bucket + "." + t->name()) +
              "': " + std::to_string(t->rows()) + " rows");
    }
  }
  for (const IterationConfig& iteration : cfg.iterations) {
    if (PhpEmpty(iteration.Attribute("mappings"))) continue;
    std::string api_name = NonEmpty(cfg.api, "name") ? PhpToString(cfg.api["name"]) : "generic";
    std::string bucket;
    if (!PhpEmpty(iteration.Attribute("outputBucket"))) {
      bucket = PhpToString(iteration.Attribute("outputBucket"));
    } else if (!PhpEmpty(iteration.Attribute("id"))) {
      bucket = "ex-api-" + api_name + "-" + PhpToString(iteration.Attribute("id"));
    }
    const Json& mappings = iteration.attributes["mappings"];
    for (auto it = mappings.begin(); it != mappings.end(); ++it) {
      FillMissingTable(tables_dir, bucket, !PhpEmpty(iteration.Attribute("incrementalOutput")),
                       it.key(), *it, nullptr);
    }
  }

  metadata["time"]["previousStart"] = current_start;
  metadata["time"].erase("currentStart");
  if (io.output_state != nullptr) *io.output_state = metadata;
}

}  // namespace

namespace {

Json Reorder(const nlohmann::json& values, const Json* order) {
  if (values.is_object()) {
    Json out = Json::object();
    if (order != nullptr && order->is_object()) {
      for (auto it = order->begin(); it != order->end(); ++it) {
        auto v = values.find(it.key());
        if (v != values.end()) out[it.key()] = Reorder(*v, &*it);
      }
    }
    for (auto it = values.begin(); it != values.end(); ++it) {
      if (!out.contains(it.key())) out[it.key()] = Reorder(*it, nullptr);
    }
    return out;
  }
  if (values.is_array()) {
    Json out = Json::array();
    for (size_t i = 0; i < values.size(); ++i) {
      const Json* o =
          order != nullptr && order->is_array() && i < order->size() ? &(*order)[i] : nullptr;
      out.push_back(Reorder(values[i], o));
    }
    return out;
  }
  return Json::parse(values.dump());
}

}  // namespace

Json WithKeyOrderOf(const nlohmann::json& values, const std::string& order_source) {
  Json order = Json::parse(order_source, nullptr, false);
  return Reorder(values, order.is_discarded() ? nullptr : &order);
}

Status RunGenericExtractor(const Json& config, const GenericExtractorIo& io) {
  const GenericExtractorOptions& opts = io.options;
  const auto started = std::chrono::steady_clock::now();
  try {
    Run(config, io);
    return Status::Ok();
  } catch (const ExtractionCancelled&) {
    return Status(StatusCode::kCancelled, "cancelled");
  } catch (const ExtractorError& e) {
    // A request the fetcher stopped: the cancel flag or the run's time, whichever it was.
    if (opts.cancel && opts.cancel->load()) return Status(StatusCode::kCancelled, "cancelled");
    if (opts.max_run_time_ms > 0 && std::chrono::steady_clock::now() - started >
                                        std::chrono::milliseconds(opts.max_run_time_ms))
      return Status::Unavailable("The extraction exceeded its allowed time of " +
                                 std::to_string(opts.max_run_time_ms / 1000) + " s.");
    return e.user_error ? Status::InvalidArgument(e.what()) : Status::Unavailable(e.what());
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("Generic extractor: unexpected JSON value: ") +
                                   e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    return Status::Internal(e.what());
  } catch (const std::bad_alloc&) {
    return Status::Internal("Generic extractor: out of memory");
  }
}

Status RunGenericExtractor(const std::string& config_json, const GenericExtractorIo& io) {
  Json config;
  try {
    config = Json::parse(config_json);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("config.json is not valid JSON: ") + e.what());
  }
  return RunGenericExtractor(config, io);
}

}  // namespace swan::connectors
