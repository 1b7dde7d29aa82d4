#include "connectors/rest_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>

#include "connectors/php_datetime.h"

namespace swan::connectors {

namespace {

bool NonEmpty(const Json& c, const char* key) {
  return c.is_object() && c.contains(key) && !PhpEmpty(c[key]);
}

std::string Base64(const unsigned char* data, size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  RAND_bytes(buf.data(), static_cast<int>(bytes));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Nonce(const AuthContext& c, size_t bytes) {
  return c.random_hex ? c.random_hex(bytes) : RandomHex(bytes);
}

int64_t NowSeconds(const UserFunctionOptions& o) {
  return (o.now ? o.now() : SystemNowMicros()) / 1000000;
}

// Guzzle's request context for user functions ({"request": "method"} ...).
Json RequestContext(const HttpRequest& request) {
  UrlParts u = ParseUrl(request.url);
  std::string host = u.authority;
  size_t at = host.rfind('@');
  if (at != std::string::npos) host = host.substr(at + 1);
  Json port = nullptr;
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']') == std::string::npos) {
    port = std::stoll(host.substr(colon + 1));
    host = host.substr(0, colon);
  } else if (u.scheme == "http") {
    port = 80;
  } else if (u.scheme == "https") {
    port = 443;
  }
  Json ctx = Json::object();
  ctx["url"] = request.url;
  ctx["path"] = u.path;
  ctx["queryString"] = u.query.value_or("");
  ctx["method"] = request.method;
  ctx["hostname"] = host;
  ctx["port"] = port;
  ctx["resource"] = u.path + (u.query && !u.query->empty() ? "?" + *u.query : "");
  return ctx;
}

std::string QueryOf(const HttpRequest& request) { return ParseUrl(request.url).query.value_or(""); }

void SetQuery(HttpRequest& request, const std::string& query) {
  UrlParts u = ParseUrl(request.url);
  u.query = query;
  if (query.empty()) u.query.reset();
  request.url = BuildUrlFromParts(u);
}

// Keboola's Utils::mergeQueries.
std::string MergeQueries(const std::string& query, const Json& add, bool merge_to_array) {
  Json q1 = QueryParse(query);
  std::vector<std::pair<std::string, std::vector<Json>>> merged;
  for (auto it = add.begin(); it != add.end(); ++it) {
    if (q1.contains(it.key()) && merge_to_array) {
      auto m = std::find_if(merged.begin(), merged.end(),
                            [&](const auto& p) { return p.first == it.key(); });
      if (m == merged.end()) {
        merged.emplace_back(it.key(), std::vector<Json>{q1[it.key()]});
        m = merged.end() - 1;
      }
      m->second.push_back(*it);
      q1.erase(it.key());
    } else {
      q1[it.key()] = *it;
    }
  }
  for (const auto& [key, values] : merged) {
    std::vector<std::string> seen;
    for (size_t i = 0; i < values.size(); ++i) {
      std::string s = PhpToString(values[i]);
      if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
      seen.push_back(s);
      q1[key + "[" + std::to_string(i) + "]"] = values[i];
    }
  }
  return QueryBuild(q1);
}

void SetHeader(HttpRequest& request, const std::string& name, const std::string& value) {
  std::string want = name;
  want = AsciiLower(want);
  auto& h = request.headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [&](const auto& p) {
                           std::string k = p.first;
                           k = AsciiLower(k);
                           return k == want;
                         }),
          h.end());
  h.emplace_back(name, value);
}

void CheckHeaders(const Json& headers) {
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    if (it->is_object()) {
      throw ExtractorError("Invalid configuration: invalid type \"object\" in headers at path: " +
                           it.key());
    }
  }
}

Json OAuthCredentials(const Json& authorization, const char* what) {
  if (!authorization.is_object() || !authorization.contains("oauth_api") ||
      !NonEmpty(authorization["oauth_api"], "credentials")) {
    throw ExtractorError("OAuth API credentials not supplied in configuration.");
  }
  const Json& c = authorization["oauth_api"]["credentials"];
  for (const char* key : {"#data", "appKey", "#appSecret"}) {
    if (!NonEmpty(c, key)) {
      throw ExtractorError(std::string("Missing '") + key + "' for " + what + " authorization.");
    }
  }
  return c;
}

class BasicAuth : public RestAuth {
 public:
  explicit BasicAuth(const Json& attr) {
    if (!NonEmpty(attr, "username") && !NonEmpty(attr, "#username")) {
      throw ExtractorError("Missing the required '#username' (or 'username') attribute in config.");
    }
    if (!NonEmpty(attr, "password") && !NonEmpty(attr, "#password")) {
      throw ExtractorError("Missing the required '#password' attribute in config.");
    }
    user_ = PhpToString(NonEmpty(attr, "username") ? attr["username"] : attr["#username"]);
    password_ = PhpToString(NonEmpty(attr, "password") ? attr["password"] : attr["#password"]);
  }
  void Sign(RestClient&, HttpRequest& request) override {
    std::string pair = user_ + ":" + password_;
    SetHeader(request, "Authorization",
              "Basic " + Base64(reinterpret_cast<const unsigned char*>(pair.data()), pair.size()));
  }

 private:
  std::string user_, password_;
};

class QueryAuth : public RestAuth {
 public:
  explicit QueryAuth(const AuthContext& c) : context_(c) {
    query_ = c.api_authentication.value("query", Json::object());
    if (PhpEmpty(query_)) {
      throw ExtractorError(
          "The query authentication method requires 'query' configuration in "
          "'authentication' section.");
    }
  }
  void Sign(RestClient&, HttpRequest& request) override {
    Json refs = Json::object();
    refs["query"] = QueryParse(QueryOf(request));
    refs["request"] = RequestContext(request);
    refs["attr"] = context_.attributes;
    Json built = BuildUserFunctions(query_, refs, context_.functions);
    SetQuery(request, MergeQueries(QueryOf(request), built, false));
  }

 private:
  AuthContext context_;
  Json query_;
};

class LoginAuth : public RestAuth {
 public:
  explicit LoginAuth(const AuthContext& c) : context_(c), auth_(c.api_authentication) {
    format_ = NonEmpty(auth_, "format") ? PhpToString(auth_["format"]) : "json";
    if (format_ != "json" && format_ != "text") {
      throw ExtractorError("api.authentication.format: 'format' must be either 'json' or 'text'.");
    }
    if (!NonEmpty(auth_, "loginRequest")) {
      throw ExtractorError(
          "api.authentication.loginRequest: is not configured for Login "
          "authentication");
    }
    if (!NonEmpty(auth_["loginRequest"], "endpoint")) {
      throw ExtractorError(
          "api.authentication.loginRequest.endpoint: Request endpoint must be "
          "set for the Login authentication method.");
    }
    if (NonEmpty(auth_, "expires")) {
      const Json& e = auth_["expires"];
      bool is_int =
          e.is_number_integer() || (e.is_string() && PhpIsNumericString(e.get<std::string>()) &&
                                    e.get<std::string>().find_first_of(".eE") == std::string::npos);
      if (!is_int && !NonEmpty(e, "response")) {
        throw ExtractorError(
            "api.authentication.expires: The 'expires' attribute must be either "
            "an integer or an array with 'response' key containing a path in "
            "the response");
      }
    }
  }

  void Sign(RestClient& client, HttpRequest& request) override {
    if (!LoggedIn()) LogIn(client);
    SetQuery(request, MergeQueries(QueryOf(request), signature_query_, true));
    for (auto it = signature_headers_.begin(); it != signature_headers_.end(); ++it) {
      SetHeader(request, it.key(), PhpToString(*it));
    }
  }

 protected:
  virtual Json LoginReferences() const {
    Json refs = Json::object();
    refs["attr"] = context_.attributes;
    return refs;
  }

 private:
  bool LoggedIn() const {
    if (!logged_in_) return false;
    if (expiration_ && NowSeconds(context_.functions) > *expiration_) return false;
    return true;
  }

  void LogIn(RestClient& client) {
    Json config = auth_["loginRequest"];
    Json refs = LoginReferences();
    if (NonEmpty(config, "params")) {
      config["params"] = BuildUserFunctions(config["params"], refs, context_.functions);
    }
    if (NonEmpty(config, "headers")) {
      config["headers"] = BuildUserFunctions(config["headers"], refs, context_.functions);
      CheckHeaders(config["headers"]);
    }
    RestRequest login = client.CreateRequest(config, false);
    HttpRequest http = client.BuildHttpRequest(login);
    Log(context_.log, LogLevel::kInfo, "Logging in: " + http.method + " " + http.url);
    HttpResponse response = client.SendUnsigned(http);
    Json body;
    if (format_ == "text") {
      body = Json::object({{"data", SanitizeUtf8(response.body)}});
    } else {
      Json decoded = RestClient::DecodeJson(response.body, http.url);
      if (decoded.is_object()) {
        body = decoded;
      } else if (IsScalar(decoded)) {
        body = Json::object({{"data", decoded}});
      } else {
        throw ExtractorError(
            "The response to the login request should be an object or a scalar "
            "value, given \"" +
            std::string(decoded.type_name()) + "\".");
      }
    }
    signature_query_ = ApiRequestValues("query", body);
    signature_headers_ = ApiRequestValues("headers", body);
    expiration_ = Expiration(body);
    logged_in_ = true;
  }

  Json ApiRequestValues(const char* which, const Json& response) const {
    Json functions = Json::object();
    if (auth_.contains("apiRequest") && auth_["apiRequest"].is_object() &&
        auth_["apiRequest"].contains(which) && !PhpEmpty(auth_["apiRequest"][which])) {
      functions = auth_["apiRequest"][which];
    }
    Json refs = Json::object();
    refs["response"] = response;
    refs["attr"] = context_.attributes;
    Json result = BuildUserFunctions(functions, refs, context_.functions);
    for (auto it = result.begin(); it != result.end(); ++it) {
      if (it->is_object() || it->is_array()) continue;
      auto v = GetDataFromPath(PhpToString(*it), response, ".");
      if (v) *it = *v;
    }
    return result;
  }

  std::optional<int64_t> Expiration(const Json& response) const {
    if (!auth_.contains("expires") || auth_["expires"].is_null()) return std::nullopt;
    const Json& e = auth_["expires"];
    int64_t now = NowSeconds(context_.functions);
    if (e.is_number() || (e.is_string() && PhpIsNumericString(e.get<std::string>()))) {
      return now + static_cast<int64_t>(e.is_string()
                                            ? std::strtod(e.get<std::string>().c_str(), nullptr)
                                            : e.get<double>());
    }
    if (e.is_object() && e.contains("response")) {
      auto v = GetDataFromPath(PhpToString(e["response"]), response, ".");
      if (!v || v->is_null()) return std::nullopt;
      int64_t expiry = 0;
      if (v->is_number_integer()) {
        expiry = v->get<int64_t>();
      } else {
        auto t = PhpStrtotime(PhpToString(*v), now);
        expiry = t ? *t : 0;
      }
      if (NonEmpty(e, "relative")) expiry += now;
      if (expiry < now) {
        throw ExtractorError("Login authentication returned expiry time before current time: '" +
                             PhpToString(*v) + "'");
      }
      return expiry;
    }
    return std::nullopt;
  }

 protected:
  AuthContext context_;

 private:
  Json auth_;
  std::string format_;
  bool logged_in_ = false;
  Json signature_query_ = Json::object();
  Json signature_headers_ = Json::object();
  std::optional<int64_t> expiration_{};
};

class OAuth20LoginAuth : public LoginAuth {
 public:
  explicit OAuth20LoginAuth(const AuthContext& c) : LoginAuth(c) {
    const Json creds = OAuthCredentials(c.authorization, "OAuth 2.0");
    key_ = PhpToString(creds["appKey"]);
    secret_ = PhpToString(creds["#appSecret"]);
    try {
      data_ = Json::parse(PhpToString(creds["#data"]));
    } catch (const Json::exception&) {
      throw ExtractorError("The OAuth data is not a valid JSON");
    }
  }

 protected:
  Json LoginReferences() const override {
    Json refs = Json::object();
    refs["consumer"] = Json::object({{"client_id", key_}, {"client_secret", secret_}});
    refs["user"] = data_.is_object() || data_.is_array() ? data_ : Json::object();
    refs["attr"] = context_.attributes;
    return refs;
  }

 private:
  std::string key_, secret_;
  Json data_;
};

class OAuth20Auth : public RestAuth {
 public:
  explicit OAuth20Auth(const AuthContext& c) : context_(c) {
    const Json creds = OAuthCredentials(c.authorization, "OAuth 2.0");
    std::string format = NonEmpty(c.api_authentication, "format")
                             ? PhpToString(c.api_authentication["format"])
                             : "text";
    if (format == "json") {
      try {
        data_ = Json::parse(PhpToString(creds["#data"]));
      } catch (const Json::exception&) {
        throw ExtractorError("The OAuth #data is not a valid JSON.");
      }
    } else if (format == "text") {
      data_ = PhpToString(creds["#data"]);
    } else {
      throw ExtractorError("Unknown OAuth data format '" + format + "'.");
    }
    client_id_ = PhpToString(creds["appKey"]);
    headers_ = c.api_authentication.value("headers", Json::object());
    query_ = c.api_authentication.value("query", Json::object());
  }
  void Sign(RestClient&, HttpRequest& request) override {
    Json authorization = Json::object();
    authorization["clientId"] = client_id_;
    authorization["nonce"] = Nonce(context_, 8);
    authorization["timestamp"] = NowSeconds(context_.functions);
    if (!IsScalar(data_)) {
      Json flat = FlattenArray(data_, "data.");
      for (auto it = flat.begin(); it != flat.end(); ++it) authorization[it.key()] = *it;
    } else {
      authorization["data"] = data_;
    }
    Json refs = Json::object();
    refs["query"] = QueryParse(QueryOf(request));
    refs["request"] = RequestContext(request);
    refs["authorization"] = authorization;
    if (!PhpEmpty(query_)) {
      Json q = BuildUserFunctions(query_, refs, context_.functions);
      SetQuery(request, MergeQueries(QueryOf(request), q, false));
    }
    if (!PhpEmpty(headers_)) {
      Json h = BuildUserFunctions(headers_, refs, context_.functions);
      CheckHeaders(h);
      for (auto it = h.begin(); it != h.end(); ++it) SetHeader(request, it.key(), PhpToString(*it));
    }
  }

 private:
  AuthContext context_;
  Json data_;
  std::string client_id_;
  Json headers_, query_;
};

// OAuth 1.0a (RFC 5849) HMAC-SHA1 signing, as guzzle/oauth-subscriber does it.
class OAuth10Auth : public RestAuth {
 public:
  explicit OAuth10Auth(const AuthContext& c) : context_(c) {
    const Json creds = OAuthCredentials(c.authorization, "OAuth 1.0");
    Json data;
    try {
      data = Json::parse(PhpToString(creds["#data"]));
    } catch (const Json::exception&) {
      throw ExtractorError("The OAuth #data is not a valid JSON.");
    }
    if (!data.is_object()) {
      throw ExtractorError("Key 'oauth_api.credentials'.#data must be object, given '" +
                           std::string(data.type_name()) + "'.");
    }
    for (const char* key : {"oauth_token", "oauth_token_secret"}) {
      if (!data.contains(key)) {
        throw ExtractorError(std::string("Missing 'oauth_api.credentials.#data.") + key +
                             "' for OAuth 1.0 authorization.");
      }
    }
    token_ = PhpToString(data["oauth_token"]);
    token_secret_ = PhpToString(data["oauth_token_secret"]);
    consumer_key_ = PhpToString(creds["appKey"]);
    consumer_secret_ = PhpToString(creds["#appSecret"]);
  }
  void Sign(RestClient&, HttpRequest& request) override {
    std::map<std::string, std::string> oauth = {
        {"oauth_consumer_key", consumer_key_},
        {"oauth_nonce", Nonce(context_, 20)},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", std::to_string(NowSeconds(context_.functions))},
        {"oauth_token", token_},
        {"oauth_version", "1.0"}};
    std::vector<std::pair<std::string, std::string>> params(oauth.begin(), oauth.end());
    UrlParts u = ParseUrl(request.url);
    auto add_query = [&](const std::string& q) {
      if (q.empty()) return;
      for (const auto& kv : Explode("&", q)) {
        auto parts = Explode("=", kv, 2);
        params.emplace_back(PhpUrlDecode(parts[0]), parts.size() > 1 ? PhpUrlDecode(parts[1]) : "");
      }
    };
    add_query(u.query.value_or(""));
    for (const auto& [k, v] : request.headers) {
      std::string lk = k;
      lk = AsciiLower(lk);
      if (lk == "content-type" &&
          v.find("application/x-www-form-urlencoded") != std::string::npos) {
        add_query(request.body);
      }
    }
    for (auto& p : params) p = {PhpRawUrlEncode(p.first), PhpRawUrlEncode(p.second)};
    std::sort(params.begin(), params.end());
    std::string normalized;
    for (const auto& [k, v] : params) normalized += (normalized.empty() ? "" : "&") + k + "=" + v;
    UrlParts base = u;
    base.query.reset();
    base.fragment.reset();
    // The base string names the URL without a default port (as Guzzle's Uri does).
    std::string scheme = base.scheme;
    scheme = AsciiLower(scheme);
    auto drop_suffix = [&](const std::string& suffix) {
      if (base.authority.size() > suffix.size() &&
          base.authority.compare(base.authority.size() - suffix.size(), suffix.size(), suffix) ==
              0) {
        base.authority.resize(base.authority.size() - suffix.size());
      }
    };
    if (scheme == "http") drop_suffix(":80");
    if (scheme == "https") drop_suffix(":443");
    std::string base_string = request.method + "&" + PhpRawUrlEncode(BuildUrlFromParts(base)) +
                              "&" + PhpRawUrlEncode(normalized);
    std::string key = PhpRawUrlEncode(consumer_secret_) + "&" + PhpRawUrlEncode(token_secret_);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(base_string.data()), base_string.size(), mac, &len);
    oauth["oauth_signature"] = Base64(mac, len);
    std::string header = "OAuth ";
    bool first = true;
    for (const auto& [k, v] : oauth) {
      header += (first ? "" : ", ") + k + "=\"" + PhpRawUrlEncode(v) + "\"";
      first = false;
    }
    SetHeader(request, "Authorization", header);
  }

 private:
  AuthContext context_;
  std::string token_, token_secret_, consumer_key_, consumer_secret_;
};

}  // namespace

std::unique_ptr<RestAuth> CreateRestAuth(const AuthContext& context) {
  const Json& a = context.api_authentication;
  if (!NonEmpty(a, "type")) return nullptr;
  std::string type = PhpToString(a["type"]);
  Log(context.log, LogLevel::kDebug, "Using '" + type + "' authentication.");
  if (type == "basic") return std::make_unique<BasicAuth>(context.attributes);
  if (type == "query" || type == "url.query") {
    AuthContext c = context;
    if (!NonEmpty(c.api_authentication, "query") && NonEmpty(c.api_authentication, "_api_query")) {
      c.api_authentication["query"] = c.api_authentication["_api_query"];
    }
    return std::make_unique<QueryAuth>(c);
  }
  if (type == "login") return std::make_unique<LoginAuth>(context);
  if (type == "oauth20") return std::make_unique<OAuth20Auth>(context);
  if (type == "oauth20.login") return std::make_unique<OAuth20LoginAuth>(context);
  if (type == "oauth10") return std::make_unique<OAuth10Auth>(context);
  throw ExtractorError("Unknown authorization type '" + type + "'.");
}

}  // namespace swan::connectors
