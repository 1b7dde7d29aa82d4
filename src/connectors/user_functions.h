// The Generic Extractor's user functions (Keboola\Code\Builder): JSON objects like
//   {"function": "concat", "args": ["Bearer ", {"attr": "#token"}]}
// evaluated against named references ({"attr": "a.b"}, {"time": "previousStart"},
// {"placeholder": "value"}, {"response": "token"}, ...), anywhere in a parameter tree.
//
// Allowed functions: md5, sha1, time, date, strtotime, base64_encode, hash_hmac, hash, sprintf,
// concat, ifempty, implode (and urlencode where a caller allows it: child-job placeholders).
// Their results are PHP's, including types (time() is an integer, strtotime() may be false).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

// Current time in Unix microseconds; injectable for tests and replays.
using NowMicrosFn = std::function<int64_t()>;
int64_t SystemNowMicros();

struct UserFunctionOptions {
  NowMicrosFn now{};                           // empty: the system clock
  std::vector<std::string> extra_functions{};  // e.g. {"urlencode"}
};

// Builder::run: evaluates one function tree. `references` maps a reference kind ("attr",
// "time", ...) to an object; each is flattened ("a.b.c" keys) before lookup. Throws
// ExtractorError ("User script error: ...") on an unknown function, reference or bad arguments.
Json RunUserFunction(const Json& tree, const Json& references, const UserFunctionOptions& options);

// UserFunction::build: every top-level member of `functions` (object or array) that is an
// object is evaluated with RunUserFunction; other members are kept as they are.
Json BuildUserFunctions(const Json& functions, const Json& references,
                        const UserFunctionOptions& options);

// Status-returning form of BuildUserFunctions, for callers outside the connector.
Result<Json> EvaluateUserFunctions(const Json& functions, const Json& references,
                                   const UserFunctionOptions& options = {});

// PHP's sprintf (flags - + space 0 'c, width, precision, argnum$; b c d e E f F g G o s u x X).
std::string PhpSprintf(const std::string& format, const std::vector<Json>& args);

}  // namespace swan::connectors
