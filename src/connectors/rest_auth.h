// The Generic Extractor's authentication methods (api.authentication.type):
//   basic          Authorization: Basic from config username/#username and password/#password
//   query          api.authentication.query: query parameters (user functions with attr,
//                  query, request references), e.g. {"api_key": {"attr": "#token"}}
//   login          a login request first (loginRequest: endpoint, method, params, headers),
//                  then apiRequest.headers / apiRequest.query from its answer ({"response":
//                  "token"} or a path string), format json|text, expires (seconds, or
//                  {"response": path, "relative": bool}) after which it logs in again
//   oauth20        headers/query from authorization.oauth_api.credentials (#data as text or
//                  json: {"authorization": "data.access_token"}, clientId, nonce, timestamp)
//   oauth20.login  a login whose request may use {"consumer": "client_id"|"client_secret"}
//                  and {"user": key of #data}
//   oauth10        OAuth 1.0a HMAC-SHA1 request signing (#data holds oauth_token and
//                  oauth_token_secret; appKey, #appSecret)
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "connectors/rest_client.h"
#include "connectors/user_functions.h"

namespace swan::connectors {

struct AuthContext {
  Json api_authentication = Json::object();  // parameters.api.authentication
  Json attributes = Json::object();          // the config section (attr references)
  Json authorization = Json::object();       // the configuration's "authorization"
  UserFunctionOptions functions{};           // clock
  LogFn log{};
  // Random hex of `bytes` random bytes for nonces (OAuth); empty: OpenSSL's RAND_bytes.
  std::function<std::string(size_t bytes)> random_hex{};
};

// nullptr when no authentication is configured. Throws ExtractorError on a missing credential.
std::unique_ptr<RestAuth> CreateRestAuth(const AuthContext& context);

}  // namespace swan::connectors
