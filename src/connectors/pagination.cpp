#include "connectors/pagination.h"

#include <ctime>
#include <map>

#include "connectors/php_datetime.h"

namespace swan::connectors {

namespace {

int64_t ToInt(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string())
    return static_cast<int64_t>(std::strtod(v.get<std::string>().c_str(), nullptr));
  return 0;
}

bool Set(const Json& c, const char* key) {
  return c.is_object() && c.contains(key) && !c[key].is_null();
}
bool NonEmpty(const Json& c, const char* key) { return Set(c, key) && !PhpEmpty(c[key]); }

Json ArrayReplace(Json base, const Json& replacement) {
  if (!base.is_object()) base = Json::object();
  for (auto it = replacement.begin(); it != replacement.end(); ++it) base[it.key()] = *it;
  return base;
}

class NoScroller : public Scroller {
 public:
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return client.CreateRequest(job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient&, JobConfig&, const Json&,
                                         const Json&) override {
    return std::nullopt;
  }
  void Reset() override {}
  std::unique_ptr<Scroller> Clone() const override { return std::make_unique<NoScroller>(*this); }
};

class OffsetScroller : public Scroller {
 public:
  OffsetScroller(const Json& c, LogFn log) : log_(std::move(log)) {
    if (!NonEmpty(c, "limit")) {
      throw ExtractorError("api.pagination.limit: missing, required for offset pagination");
    }
    if (!c["limit"].is_number() &&
        !(c["limit"].is_string() && PhpIsNumericString(c["limit"].get<std::string>()))) {
      throw ExtractorError("api.pagination.limit: is not numeric. Value '" +
                           PhpJsonEncode(c["limit"]) + "'.");
    }
    limit_ = ToInt(c["limit"]);
    if (NonEmpty(c, "limitParam")) limit_param_ = PhpToString(c["limitParam"]);
    if (NonEmpty(c, "offsetParam")) offset_param_ = PhpToString(c["offsetParam"]);
    if (Set(c, "firstPageParams")) first_page_params_ = !PhpEmpty(c["firstPageParams"]);
    if (Set(c, "offsetFromJob")) offset_from_job_ = !PhpEmpty(c["offsetFromJob"]);
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    const Json& params = job.Params();
    if (offset_from_job_ && params.is_object() && params.contains(offset_param_) &&
        !PhpEmpty(params[offset_param_])) {
      pointer_ = ToInt(params[offset_param_]);
    }
    return client.CreateRequest(first_page_params_ ? WithParams(job) : job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json&,
                                         const Json& data) override {
    return NextRequestByCount(client, job, data.size());
  }
  bool ScrollsByCount() const override { return true; }
  std::optional<RestRequest> NextRequestByCount(RestClient& client, JobConfig& job,
                                                size_t records) override {
    if (static_cast<int64_t>(records) < Limit(job)) {
      Reset();
      Log(log_, LogLevel::kInfo, "Offset limit reached, stopping scrolling.");
      return std::nullopt;
    }
    pointer_ += Limit(job);
    return client.CreateRequest(WithParams(job));
  }
  void Reset() override { pointer_ = 0; }
  std::unique_ptr<Scroller> Clone() const override {
    return std::make_unique<OffsetScroller>(*this);
  }

 private:
  int64_t Limit(const JobConfig& job) const {
    const Json& params = job.Params();
    if (params.is_object() && params.contains(limit_param_) && !PhpEmpty(params[limit_param_])) {
      return ToInt(params[limit_param_]);
    }
    return limit_;
  }
  Json WithParams(const JobConfig& job) const {
    Json config = job.config;
    Json scroll = Json::object();
    scroll[limit_param_] = Limit(job);
    scroll[offset_param_] = pointer_;
    config["params"] = ArrayReplace(job.Params(), scroll);
    return config;
  }

  LogFn log_;
  int64_t limit_ = 0;
  std::string limit_param_ = "limit";
  std::string offset_param_ = "offset";
  bool first_page_params_ = true;
  bool offset_from_job_ = false;
  int64_t pointer_ = 0;
};

class PageScroller : public Scroller {
 public:
  PageScroller(const Json& c, LogFn log) : log_(std::move(log)) {
    if (NonEmpty(c, "pageParam")) page_param_ = PhpToString(c["pageParam"]);
    if (NonEmpty(c, "limit")) limit_ = ToInt(c["limit"]);
    if (NonEmpty(c, "limitParam")) limit_param_ = PhpToString(c["limitParam"]);
    if (Set(c, "firstPage")) first_page_ = ToInt(c["firstPage"]);
    if (Set(c, "firstPageParams")) first_page_params_ = !PhpEmpty(c["firstPageParams"]);
    Reset();
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return client.CreateRequest(first_page_params_ ? WithParams(job) : job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json&,
                                         const Json& data) override {
    return NextRequestByCount(client, job, data.size());
  }
  bool ScrollsByCount() const override { return true; }
  std::optional<RestRequest> NextRequestByCount(RestClient& client, JobConfig& job,
                                                size_t records) override {
    std::optional<int64_t> limit = Limit(job);
    if (!limit && records == 0) {
      Reset();
      Log(log_, LogLevel::kInfo, "Pagination stopped, response is empty.");
      return std::nullopt;
    }
    if (limit && static_cast<int64_t>(records) < *limit) {
      Reset();
      Log(log_, LogLevel::kInfo, "Pagination stopped, response is smaller than limit.");
      return std::nullopt;
    }
    ++page_;
    return client.CreateRequest(WithParams(job));
  }
  void Reset() override { page_ = first_page_; }
  std::unique_ptr<Scroller> Clone() const override { return std::make_unique<PageScroller>(*this); }

 private:
  std::optional<int64_t> Limit(const JobConfig& job) const {
    const Json& params = job.Params();
    if (params.is_object() && params.contains(limit_param_) && !PhpEmpty(params[limit_param_])) {
      return ToInt(params[limit_param_]);
    }
    return limit_;
  }
  Json WithParams(const JobConfig& job) const {
    Json scroll = Json::object();
    scroll[page_param_] = page_;
    if (!limit_param_.empty() && Limit(job)) scroll[limit_param_] = *Limit(job);
    Json config = job.config;
    config["params"] = ArrayReplace(job.Params(), scroll);
    return config;
  }

  LogFn log_;
  std::optional<int64_t> limit_{};
  std::string limit_param_ = "limit";
  std::string page_param_ = "page";
  int64_t first_page_ = 1;
  bool first_page_params_ = true;
  int64_t page_ = 1;
};

class ResponseUrlScroller : public Scroller {
 public:
  ResponseUrlScroller(const Json& c, LogFn log) : log_(std::move(log)) {
    if (NonEmpty(c, "urlKey")) url_key_ = PhpToString(c["urlKey"]);
    if (Set(c, "includeParams")) include_params_ = !PhpEmpty(c["includeParams"]);
    if (Set(c, "paramIsQuery")) param_is_query_ = !PhpEmpty(c["paramIsQuery"]);
    if (Set(c, "delimiter")) delimiter_ = PhpToString(c["delimiter"]);
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return client.CreateRequest(job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json&) override {
    auto next = GetDataFromPath(url_key_, response, delimiter_);
    if (!next || PhpEmpty(*next, false)) {
      Log(log_, LogLevel::kInfo, "No more pages, stopping pagination.");
      return std::nullopt;
    }
    std::string url = PhpToString(*next);
    Json config = job.config;
    if (!include_params_) config["params"] = Json::object();
    if (!param_is_query_) {
      config["endpoint"] = url;
    } else {
      std::string q = url;
      while (!q.empty() && q[0] == '?') q.erase(0, 1);
      config["params"] = ArrayReplace(config["params"], QueryParse(q));
    }
    return client.CreateRequest(config);
  }
  void Reset() override {}
  std::unique_ptr<Scroller> Clone() const override {
    return std::make_unique<ResponseUrlScroller>(*this);
  }

 private:
  LogFn log_;
  std::string url_key_ = "next_page";
  bool include_params_ = false;
  bool param_is_query_ = false;
  std::string delimiter_ = ".";
};

class ResponseParamScroller : public Scroller {
 public:
  ResponseParamScroller(const Json& c, LogFn log) : log_(std::move(log)) {
    if (!NonEmpty(c, "responseParam")) {
      throw ExtractorError("api.pagination.responseParam: missing, required parameter");
    }
    if (!NonEmpty(c, "queryParam")) {
      throw ExtractorError("api.pagination.queryParam: missing, required parameter");
    }
    if (NonEmpty(c, "scrollRequest") && !c["scrollRequest"].is_object()) {
      throw ExtractorError("api.pagination.scrollRequest: must be a job-like object");
    }
    response_param_ = PhpToString(c["responseParam"]);
    query_param_ = PhpToString(c["queryParam"]);
    if (Set(c, "includeParams")) include_params_ = !PhpEmpty(c["includeParams"]);
    if (NonEmpty(c, "scrollRequest")) scroll_request_ = c["scrollRequest"];
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return client.CreateRequest(job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json&) override {
    auto next = GetDataFromPath(response_param_, response, ".");
    if (!next || PhpEmpty(*next, false)) {
      Log(log_, LogLevel::kInfo, "No more pages found, stopping pagination.");
      return std::nullopt;
    }
    Json config = job.config;
    if (!include_params_) config["params"] = Json::object();
    if (!scroll_request_.is_null()) config = ArrayReplaceRecursive(config, scroll_request_);
    if (!config["params"].is_object()) config["params"] = Json::object();
    config["params"][query_param_] = *next;
    return client.CreateRequest(config);
  }
  void Reset() override {}
  std::unique_ptr<Scroller> Clone() const override {
    return std::make_unique<ResponseParamScroller>(*this);
  }

 private:
  LogFn log_;
  std::string response_param_;
  std::string query_param_;
  bool include_params_ = false;
  Json scroll_request_ = nullptr;
};

class CursorScroller : public Scroller {
 public:
  CursorScroller(const Json& c, LogFn log) : log_(std::move(log)) {
    if (!NonEmpty(c, "idKey")) {
      throw ExtractorError("api.pagination.idKey: missing, required for cursor pagination");
    }
    if (!NonEmpty(c, "param")) {
      throw ExtractorError("api.pagination.param: missing, required for cursor pagination");
    }
    id_key_ = PhpToString(c["idKey"]);
    param_ = PhpToString(c["param"]);
    if (Set(c, "reverse")) reverse_ = !PhpEmpty(c["reverse"]);
    if (NonEmpty(c, "increment")) increment_ = ToInt(c["increment"]);
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return client.CreateRequest(job.config);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json&,
                                         const Json& data) override {
    if (data.empty()) {
      Reset();
      Log(log_, LogLevel::kInfo, "No data in response, stopping scrolling.");
      return std::nullopt;
    }
    int64_t cursor = 0;
    for (const auto& item : data) {
      auto v = GetDataFromPath(id_key_, item, ".");
      bool numeric =
          v && (v->is_number() || (v->is_string() && PhpIsNumericString(v->get<std::string>())));
      if (!numeric) {
        throw ExtractorError("Cursor value '" + (v ? PhpJsonEncode(*v) : std::string("null")) +
                             "' is not numeric.");
      }
      int64_t value = ToInt(*v);
      if (!has_ || value > max_) max_ = value;
      if (!has_ || value < min_) min_ = value;
      has_ = true;
      cursor = reverse_ ? min_ : max_;
    }
    cursor += increment_;
    job.SetParam(param_, cursor);
    return client.CreateRequest(job.config);
  }
  void Reset() override { has_ = false; }
  std::unique_ptr<Scroller> Clone() const override {
    return std::make_unique<CursorScroller>(*this);
  }

 private:
  LogFn log_;
  std::string id_key_;
  std::string param_;
  bool reverse_ = false;
  int64_t increment_ = 0;
  bool has_ = false;
  int64_t max_ = 0;
  int64_t min_ = 0;
};

class MultipleScroller : public Scroller {
 public:
  MultipleScroller(const Json& c, const ScrollerContext& context) : log_(context.log) {
    if (!NonEmpty(c, "scrollers") || !c["scrollers"].is_object()) {
      throw ExtractorError(
          "api.pagination.scrollers: at least one scroller must be configured for \"multiple\"");
    }
    for (auto it = c["scrollers"].begin(); it != c["scrollers"].end(); ++it) {
      if (!it->is_object()) {
        throw ExtractorError("api.pagination.scrollers." + it.key() + ": must be an object");
      }
      scrollers_.emplace_back(it.key(), CreateScroller(*it, context));
    }
    if (NonEmpty(c, "default")) default_ = PhpToString(c["default"]);
  }
  MultipleScroller(const MultipleScroller& other)
      : Scroller(), log_(other.log_), default_(other.default_) {
    for (const auto& [id, s] : other.scrollers_) scrollers_.emplace_back(id, s->Clone());
  }
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return For(job).FirstRequest(client, job);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json& data) override {
    return For(job).NextRequest(client, job, response, data);
  }
  void Reset() override {
    for (auto& [id, s] : scrollers_) s->Reset();
  }
  std::unique_ptr<Scroller> Clone() const override {
    return std::make_unique<MultipleScroller>(*this);
  }

 private:
  Scroller& For(const JobConfig& job) {
    std::string id;
    if (job.config.contains("scroller") && !PhpEmpty(job.config["scroller"])) {
      id = PhpToString(job.config["scroller"]);
    } else {
      if (default_.empty()) return none_;
      id = default_;
    }
    for (auto& [name, s] : scrollers_) {
      if (name == id) return *s;
    }
    std::string names;
    for (const auto& [name, s] : scrollers_) names += (names.empty() ? "" : ", ") + name;
    if (id == default_) throw ExtractorError("Default scroller '" + id + "' does not exist");
    throw ExtractorError("Scroller '" + id +
                         "' not set in API definitions. Scrollers defined: " + names);
  }

  LogFn log_;
  std::vector<std::pair<std::string, std::unique_ptr<Scroller>>> scrollers_;
  std::string default_;
  NoScroller none_;
};

// Decorators.

class HasMoreDecorator : public Scroller {
 public:
  HasMoreDecorator(std::unique_ptr<Scroller> inner, const Json& c, LogFn log)
      : inner_(std::move(inner)), log_(std::move(log)) {
    const Json& f = c["nextPageFlag"];
    if (!NonEmpty(f, "field"))
      throw ExtractorError("api.pagination.nextPageFlag.field: has to be specified");
    if (!Set(f, "stopOn") || !f["stopOn"].is_boolean()) {
      throw ExtractorError("api.pagination.nextPageFlag.stopOn: must be set to a boolean value");
    }
    field_ = PhpToString(f["field"]);
    stop_on_ = f["stopOn"].get<bool>();
    if (Set(f, "ifNotSet")) {
      if (!f["ifNotSet"].is_boolean()) {
        throw ExtractorError("api.pagination.nextPageFlag.ifNotSet: must be a boolean");
      }
      if_not_set_ = f["ifNotSet"].get<bool>();
    } else {
      if_not_set_ = stop_on_;
    }
  }
  HasMoreDecorator(const HasMoreDecorator& o)
      : Scroller(),
        inner_(o.inner_->Clone()),
        log_(o.log_),
        field_(o.field_),
        stop_on_(o.stop_on_),
        if_not_set_(o.if_not_set_) {}
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    return inner_->FirstRequest(client, job);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json& data) override {
    bool value = if_not_set_;
    if (response.is_object() && response.contains(field_) && !response[field_].is_null()) {
      value = !PhpEmpty(response[field_], false);
    }
    if (value == stop_on_) {
      Log(log_, LogLevel::kInfo,
          "Stopping scrolling because '" + field_ + "' is '" + (value ? "true" : "false") + "'");
      return std::nullopt;
    }
    return inner_->NextRequest(client, job, response, data);
  }
  void Reset() override { inner_->Reset(); }
  std::unique_ptr<Scroller> Clone() const override {
    auto c = std::make_unique<HasMoreDecorator>(*this);
    c->Reset();
    return c;
  }

 private:
  std::unique_ptr<Scroller> inner_;
  LogFn log_;
  std::string field_;
  bool stop_on_ = false;
  bool if_not_set_ = false;
};

class ForceStopDecorator : public Scroller {
 public:
  ForceStopDecorator(std::unique_ptr<Scroller> inner, const Json& c, const ScrollerContext& ctx)
      : inner_(std::move(inner)), log_(ctx.log), now_(ctx.now_seconds) {
    const Json& f = c["forceStop"];
    if (NonEmpty(f, "pages")) page_limit_ = ToInt(f["pages"]);
    if (NonEmpty(f, "time")) {
      if (f["time"].is_number_integer()) {
        time_limit_ = f["time"].get<int64_t>();
      } else {
        auto t = PhpStrtotime(PhpToString(f["time"]), 0);
        time_limit_ = t ? *t : 0;
      }
    }
    if (NonEmpty(f, "volume")) volume_limit_ = ToInt(f["volume"]);
    Reset();
  }
  ForceStopDecorator(const ForceStopDecorator& o)
      : Scroller(),
        inner_(o.inner_->Clone()),
        log_(o.log_),
        now_(o.now_),
        page_limit_(o.page_limit_),
        time_limit_(o.time_limit_),
        volume_limit_(o.volume_limit_) {}
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    start_ = Now();
    pages_ = 1;
    return inner_->FirstRequest(client, job);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json& data) override {
    if (page_limit_ && ++pages_ > *page_limit_) {
      Log(log_, LogLevel::kInfo,
          "Force stopping: page limit reached (" + std::to_string(*page_limit_) + " pages).");
      return std::nullopt;
    }
    if (time_limit_ && start_ + *time_limit_ <= Now()) {
      Log(log_, LogLevel::kInfo,
          "Force stopping: time limit reached (" + std::to_string(*time_limit_) + " seconds).");
      return std::nullopt;
    }
    if (volume_limit_) {
      volume_ += static_cast<int64_t>(PhpJsonEncode(response).size());
      if (volume_ > *volume_limit_) {
        Log(log_, LogLevel::kInfo,
            "Force stopping: volume limit reached (" + std::to_string(*volume_limit_) + " bytes).");
        return std::nullopt;
      }
    }
    return inner_->NextRequest(client, job, response, data);
  }
  void Reset() override {
    pages_ = 0;
    volume_ = 0;
    start_ = Now();
    inner_->Reset();
  }
  std::unique_ptr<Scroller> Clone() const override {
    auto c = std::make_unique<ForceStopDecorator>(*this);
    c->Reset();
    return c;
  }

 private:
  int64_t Now() const { return now_ ? now_() : static_cast<int64_t>(std::time(nullptr)); }

  std::unique_ptr<Scroller> inner_;
  LogFn log_;
  std::function<int64_t()> now_;
  std::optional<int64_t> page_limit_{};
  std::optional<int64_t> time_limit_{};
  std::optional<int64_t> volume_limit_{};
  int64_t pages_ = 0;
  int64_t volume_ = 0;
  int64_t start_ = 0;
};

class LimitStopDecorator : public Scroller {
 public:
  LimitStopDecorator(std::unique_ptr<Scroller> inner, const Json& c, LogFn log)
      : inner_(std::move(inner)), log_(std::move(log)) {
    const Json& f = c["limitStop"];
    bool has_field = NonEmpty(f, "field"), has_count = NonEmpty(f, "count");
    if (!has_field && !has_count) {
      throw ExtractorError("api.pagination.limitStop: one of 'field' or 'count' is required");
    }
    if (has_field && has_count) {
      throw ExtractorError("api.pagination.limitStop: specify only one of 'field' or 'count'");
    }
    if (has_field) field_ = PhpToString(f["field"]);
    if (has_count) count_ = ToInt(f["count"]);
  }
  LimitStopDecorator(const LimitStopDecorator& o)
      : Scroller(), inner_(o.inner_->Clone()), log_(o.log_), field_(o.field_), count_(o.count_) {}
  std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) override {
    current_ = 0;
    return inner_->FirstRequest(client, job);
  }
  std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job, const Json& response,
                                         const Json& data) override {
    current_ += static_cast<int64_t>(data.size());
    int64_t limit = count_;
    if (!field_.empty()) {
      auto v = GetDataFromPath(field_, response, ".");
      limit = v ? ToInt(*v) : 0;
    }
    if (current_ >= limit) {
      Log(log_, LogLevel::kInfo,
          "Limit reached, stopping scrolling. Current count: " + std::to_string(current_) +
              ", limit: " + std::to_string(limit));
      return std::nullopt;
    }
    return inner_->NextRequest(client, job, response, data);
  }
  void Reset() override {
    current_ = 0;
    inner_->Reset();
  }
  std::unique_ptr<Scroller> Clone() const override {
    auto c = std::make_unique<LimitStopDecorator>(*this);
    c->Reset();
    return c;
  }

 private:
  std::unique_ptr<Scroller> inner_;
  LogFn log_;
  std::string field_;
  int64_t count_ = 0;
  int64_t current_ = 0;
};

}  // namespace

std::unique_ptr<Scroller> CreateScroller(const Json& c, const ScrollerContext& context) {
  std::unique_ptr<Scroller> s;
  std::string method =
      NonEmpty(c, "method")
          ? (c["method"].is_string() ? c["method"].get<std::string>() : PhpJsonEncode(c["method"]))
          : "";
  if (method.empty()) {
    s = std::make_unique<NoScroller>();
  } else if (method == "offset") {
    s = std::make_unique<OffsetScroller>(c, context.log);
  } else if (method == "response.param") {
    s = std::make_unique<ResponseParamScroller>(c, context.log);
  } else if (method == "response.url") {
    s = std::make_unique<ResponseUrlScroller>(c, context.log);
  } else if (method == "pagenum") {
    s = std::make_unique<PageScroller>(c, context.log);
  } else if (method == "cursor") {
    s = std::make_unique<CursorScroller>(c, context.log);
  } else if (method == "multiple") {
    s = std::make_unique<MultipleScroller>(c, context);
  } else {
    throw ExtractorError("api.pagination.method: unknown pagination method '" + method + "'");
  }
  if (NonEmpty(c, "nextPageFlag"))
    s = std::make_unique<HasMoreDecorator>(std::move(s), c, context.log);
  if (NonEmpty(c, "forceStop")) s = std::make_unique<ForceStopDecorator>(std::move(s), c, context);
  if (NonEmpty(c, "limitStop"))
    s = std::make_unique<LimitStopDecorator>(std::move(s), c, context.log);
  return s;
}

}  // namespace swan::connectors
