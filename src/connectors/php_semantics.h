// The few PHP value semantics Keboola's Generic Extractor output depends on, on JSON values.
//
// The extractor (PHP) decodes API responses into stdClass objects and PHP arrays, hashes rows
// with md5(serialize($row)) to link child tables (JSON_parentId), casts values to strings for
// CSV cells and URLs, and builds query strings with http_build_query. Matching its output byte
// for byte means reproducing exactly those conversions; they live here, in one place.
//
// Values are nlohmann::ordered_json: key order matters (PHP arrays are ordered maps). A JSON
// object stands for a stdClass (response data) or an associative array (configuration), a JSON
// array for a PHP list.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace swan::connectors {

using Json = nlohmann::ordered_json;

// Internal error of the connector code; converted to a Status at every public entry point.
// `user_error` = the configuration or the API's answer is at fault (invalid_argument),
// otherwise the remote side was unreachable or failing (unavailable).
struct ExtractorError : std::runtime_error {
  explicit ExtractorError(const std::string& message, bool user = true)
      : std::runtime_error(message), user_error(user) {}
  bool user_error = true;
};

// PHP's is_scalar: string, number or boolean (null is not).
bool IsScalar(const Json& v);
// PHP's empty(). `object_is_array`: an empty JSON object counts as an empty (associative)
// array (configuration); for response data (stdClass) an object is never empty.
bool PhpEmpty(const Json& v, bool object_is_array = true);
// PHP's (string) cast: true "1", false/null "", floats with precision 14 ("0.1", "1.0E+25").
std::string PhpToString(const Json& v);
// PHP's float formatting (zend_gcvt) with `precision` significant digits and `exp_char`.
std::string PhpFormatDouble(double value, int precision, char exp_char = 'E');
// The same, appended to `out`.
void AppendPhpDouble(std::string& out, double value, int precision, char exp_char = 'E');
// PHP's serialize() with serialize_precision 17; objects are stdClass, or, when
// `objects_as_arrays`, associative arrays (numeric-string keys become integer keys).
std::string PhpSerialize(const Json& v, bool objects_as_arrays = false);
// PHP's json_encode() with default flags ("\/", "\uXXXX", serialize_precision 17).
std::string PhpJsonEncode(const Json& v);
// PHP's is_numeric on a string.
bool PhpIsNumericString(const std::string& s);
// PHP 8 comparison of two strings (numeric strings compare as numbers): <0, 0, >0.
int PhpCompareStrings(const std::string& a, const std::string& b);

// urlencode (RFC 1738, space as '+'), rawurlencode (RFC 3986), urldecode, rawurldecode.
std::string PhpUrlEncode(const std::string& s);
std::string PhpRawUrlEncode(const std::string& s);
std::string PhpUrlDecode(const std::string& s);
std::string PhpRawUrlDecode(const std::string& s);

// http_build_query($params) (nested keys as a[b][0], urlencode, null skipped, bools 1/0).
std::string HttpBuildQuery(const Json& params);
// GuzzleHttp\Psr7\Query::parse: "a=1&b=2" -> {"a":"1","b":"2"}; a repeated key -> array.
Json QueryParse(const std::string& query);
// GuzzleHttp\Psr7\Query::build (rawurlencode; array values repeat the key).
std::string QueryBuild(const Json& params);

// Keboola\Utils\getDataFromPath: walks `path` split by `separator`; `path == separator` is the
// whole value. Missing -> nullopt (the PHP version returns null or throws when !ignoreEmpty).
std::optional<Json> GetDataFromPath(const std::string& path, const Json& data,
                                    const std::string& separator);
// Keboola\Utils\flattenArray: {"a":{"b":1},"c":[2]} -> {"a.b":1,"c.0":2}.
Json FlattenArray(const Json& v, const std::string& prefix = "");
// array_replace_recursive($base, $replacement).
Json ArrayReplaceRecursive(const Json& base, const Json& replacement);
// PHP's explode.
std::vector<std::string> Explode(const std::string& delimiter, const std::string& s,
                                 size_t limit = std::string::npos);

// ASCII case conversion (bytes >= 0x80 unchanged; no locale).
std::string AsciiLower(std::string s);
std::string AsciiUpper(std::string s);

// md5 / sha1 hex of bytes (OpenSSL).
std::string Md5Hex(const std::string& data);
std::string Sha1Hex(const std::string& data);
// sha1 hex of a JSON value, the same for two values exactly when their dump() is the same (a
// null, NaN and infinity alike; an integer by its value; a float by its bits; strings, arrays and
// objects, in order, by their contents), without formatting the dump.
std::string JsonSha1Hex(const Json& value);

// The digest JsonSha1Hex makes, fed piece by piece: a caller that walks a value held another
// way (simd_json.h) and feeds the same pieces in the same order gets the same hex. An array or
// object starts with its size; an object's keys go in with String, each before its value.
class ValueSha1 {
 public:
  ValueSha1();
  ~ValueSha1();
  ValueSha1(const ValueSha1&) = delete;
  ValueSha1& operator=(const ValueSha1&) = delete;

  void Null() { Tag('n'); }
  void Bool(bool b) { Tag(b ? 't' : 'f'); }
  void Int(int64_t v);
  void Uint(uint64_t v);
  void Double(double d);
  void String(std::string_view s);
  void ArrayStart(size_t n) { Start('[', n); }
  void ObjectStart(size_t n) { Start('{', n); }
  void Add(const Json& v);
  // The hex digest; nothing may be added after.
  std::string Hex();

 private:
  static constexpr size_t kChunk = 64 * 1024;
  void Tag(char c) {
    buf_.push_back(c);
    MaybeFlush();
  }
  void Start(char c, size_t n) {
    buf_.push_back(c);
    Size(n);
    MaybeFlush();
  }
  void Size(size_t n);
  void MaybeFlush() {
    if (buf_.size() >= kChunk) Flush();
  }
  void Flush();

  ::evp_md_ctx_st* ctx_;
  std::string buf_;
};

// Pieces of PhpSerialize, for a caller that walks a value held another way: s:<len>:"<s>";
// i:<v>; d:<v>; (serialize_precision 17).
void PhpSerializeString(std::string& out, std::string_view s);
void PhpSerializeInt(std::string& out, int64_t v);
void PhpSerializeUint(std::string& out, uint64_t v);
void PhpSerializeDouble(std::string& out, double d);

// A parsed absolute or relative URL (parse_url's parts).
struct UrlParts {
  std::string scheme{};
  std::string authority{};  // host[:port], with userinfo if any
  std::string path{};
  std::optional<std::string> query{};
  std::optional<std::string> fragment{};
  bool has_authority = false;
};
UrlParts ParseUrl(const std::string& url);
std::string BuildUrlFromParts(const UrlParts& parts);
// RFC 3986 reference resolution (what Guzzle does with base_uri).
std::string ResolveUrl(const std::string& base, const std::string& reference);
// Keboola\Utils\buildUrl: adds/replaces `query` params in `url`'s query.
std::string BuildUrlWithQuery(const std::string& url, const Json& query);

}  // namespace swan::connectors
