#include "connectors/php_semantics.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "common/hex.h"

namespace swan::connectors {

namespace {

std::string DigestHex(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // One context per thread, reused: EVP_Digest makes and frees one per call (the flattener
  // digests every row that has children).
  thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                                      EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  }
  return HexLower(out, len);
}

bool IsCanonicalInt(const std::string& key) {
  if (key.empty() || key.size() > 18) return false;
  size_t i = key[0] == '-' ? 1 : 0;
  if (i == key.size()) return false;
  if (key[i] == '0' && key.size() > i + 1) return false;
  if (key == "-0") return false;
  for (; i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9') return false;
  }
  return true;
}

void AppendInt(std::string& out, uint64_t magnitude, bool negative) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, magnitude);
  if (negative) out.push_back('-');
  out.append(buf, r.ptr);
}

void AppendInt(std::string& out, int64_t v) {
  if (v < 0) {
    AppendInt(out, static_cast<uint64_t>(0) - static_cast<uint64_t>(v), true);
  } else {
    AppendInt(out, static_cast<uint64_t>(v), false);
  }
}

// s:<length>:"<bytes>";
void AppendSerializedString(std::string& out, std::string_view s) {
  out += "s:";
  AppendInt(out, s.size(), false);
  out += ":\"";
  out += s;
  out += "\";";
}

void SerializeInto(const Json& v, bool objects_as_arrays, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "N;";
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "b:1;" : "b:0;";
      return;
    case Json::value_t::number_integer:
      PhpSerializeInt(out, v.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      PhpSerializeUint(out, v.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      PhpSerializeDouble(out, v.get<double>());
      return;
    case Json::value_t::string:
      AppendSerializedString(out, v.get_ref<const std::string&>());
      return;
    case Json::value_t::array: {
      out += "a:";
      AppendInt(out, v.size(), false);
      out += ":{";
      for (size_t i = 0; i < v.size(); ++i) {
        out += "i:";
        AppendInt(out, i, false);
        out.push_back(';');
        SerializeInto(v[i], objects_as_arrays, out);
      }
      out += "}";
      return;
    }
    case Json::value_t::object: {
      if (objects_as_arrays) {
        out += "a:";
      } else {
        out += "O:8:\"stdClass\":";
      }
      AppendInt(out, v.size(), false);
      out += ":{";
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (objects_as_arrays && IsCanonicalInt(it.key())) {
          out += "i:";
          out += it.key();
          out.push_back(';');
        } else {
          AppendSerializedString(out, it.key());
        }
        SerializeInto(it.value(), objects_as_arrays, out);
      }
      out += "}";
      return;
    }
    default:
      out += "N;";
  }
}

// Decodes one UTF-8 sequence at s[i]; returns the code point (U+FFFD when invalid) and advances.
uint32_t NextCodePoint(const std::string& s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int extra = 0;
  uint32_t cp = 0;
  if (b < 0x80) {
    ++i;
    return b;
  } else if ((b & 0xE0) == 0xC0) {
    extra = 1;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    extra = 2;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    extra = 3;
    cp = b & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + extra >= s.size()) {
    i = s.size();
    return 0xFFFD;
  }
  for (int k = 1; k <= extra; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      i += k;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += extra + 1;
  return cp;
}

void AppendU16(std::string& out, uint32_t unit) {
  static const char* kHex = "0123456789abcdef";
  out += "\\u";
  out.push_back(kHex[(unit >> 12) & 15]);
  out.push_back(kHex[(unit >> 8) & 15]);
  out.push_back(kHex[(unit >> 4) & 15]);
  out.push_back(kHex[unit & 15]);
}

void JsonEncodeString(const std::string& s, std::string& out) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = NextCodePoint(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '/':
        out += "\\/";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20) {
          AppendU16(out, cp);
        } else if (cp < 0x80) {
          out.push_back(static_cast<char>(cp));
        } else if (cp >= 0x10000) {
          uint32_t v = cp - 0x10000;
          AppendU16(out, 0xD800 + (v >> 10));
          AppendU16(out, 0xDC00 + (v & 0x3FF));
        } else {
          AppendU16(out, cp);
        }
    }
  }
  out.push_back('"');
}

void JsonEncodeInto(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      out += PhpFormatDouble(v.get<double>(), 17, 'e');
      return;
    case Json::value_t::string:
      JsonEncodeString(v.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        JsonEncodeInto(e, out);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        JsonEncodeString(it.key(), out);
        out.push_back(':');
        JsonEncodeInto(it.value(), out);
      }
      out.push_back('}');
      return;
    }
    default:
      out += "null";
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlEncodeImpl(const std::string& s, bool raw) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || (raw && c == '~')) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && !raw) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UrlDecodeImpl(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string QueryScalar(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return PhpToString(v);
}

void BuildQueryInto(const Json& params, const std::string& key_prefix, bool nested,
                    std::string& out) {
  size_t index = 0;
  for (auto it = params.begin(); it != params.end(); ++it, ++index) {
    const Json& value = *it;
    std::string ekey =
        params.is_array() ? std::to_string(index) : PhpUrlEncode(std::string(it.key()));
    std::string full = nested ? key_prefix + ekey + "%5D" : ekey;
    if (value.is_null()) continue;
    if (value.is_object() || value.is_array()) {
      BuildQueryInto(value, full + "%5B", true, out);
      continue;
    }
    if (!out.empty()) out.push_back('&');
    out += full + "=" + PhpUrlEncode(QueryScalar(value));
  }
}

std::vector<std::string> RemoveDotSegments(const std::string& path) {
  std::vector<std::string> out;
  std::vector<std::string> parts = Explode("/", path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p == ".") {
      if (i + 1 == parts.size()) out.push_back("");
      continue;
    }
    if (p == "..") {
      if (out.size() > 1 || (out.size() == 1 && !out[0].empty())) out.pop_back();
      if (i + 1 == parts.size()) out.push_back("");
      continue;
    }
    out.push_back(p);
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i) out.push_back('/');
    out += segments[i];
  }
  return out;
}

std::string NormalizePath(const std::string& path) {
  if (path.find('.') == std::string::npos) return path;
  std::string r = JoinPath(RemoveDotSegments(path));
  if (!path.empty() && path[0] == '/' && (r.empty() || r[0] != '/')) r = "/" + r;
  return r;
}

}  // namespace

void PhpSerializeString(std::string& out, std::string_view s) { AppendSerializedString(out, s); }

void PhpSerializeInt(std::string& out, int64_t v) {
  out += "i:";
  AppendInt(out, v);
  out.push_back(';');
}

void PhpSerializeUint(std::string& out, uint64_t v) {
  out += "i:";
  AppendInt(out, v, false);
  out.push_back(';');
}

void PhpSerializeDouble(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "d:NAN;";
  } else if (std::isinf(d)) {
    out += d > 0 ? "d:INF;" : "d:-INF;";
  } else {
    out += "d:";
    AppendPhpDouble(out, d, 17, 'E');
    out.push_back(';');
  }
}

bool IsScalar(const Json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

bool PhpEmpty(const Json& v, bool object_is_array) {
  switch (v.type()) {
    case Json::value_t::null:
      return true;
    case Json::value_t::boolean:
      return !v.get<bool>();
    case Json::value_t::number_integer:
      return v.get<int64_t>() == 0;
    case Json::value_t::number_unsigned:
      return v.get<uint64_t>() == 0;
    case Json::value_t::number_float:
      return v.get<double>() == 0.0;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      return s.empty() || s == "0";
    }
    case Json::value_t::array:
      return v.empty();
    case Json::value_t::object:
      return object_is_array && v.empty();
    default:
      return true;
  }
}

std::string PhpFormatDouble(double value, int precision, char exp_char) {
  std::string out;
  AppendPhpDouble(out, value, precision, exp_char);
  return out;
}

void AppendPhpDouble(std::string& out, double value, int precision, char exp_char) {
  if (std::isnan(value)) {
    out += "NAN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "INF" : "-INF";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0" : "0";
    return;
  }
  // The digits printf("%.*e") gives: std::to_chars in scientific form with a precision is
  // specified to print the same, without printf's multi-precision arithmetic. Faster: up to 15
  // digits, when the shortest form that reads back as a normal `value` has no more digits than
  // asked, it is the rounding. It lies within half an ulp of `value` (at most 2^-53 of it), and
  // any other number of that many digits lies at least 10^-15 of `value` from it.
  char buf[64];
  std::to_chars_result printed{buf, std::errc::value_too_large};
  if (precision <= 15 && std::abs(value) >= std::numeric_limits<double>::min()) {
    printed = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    if (printed.ec == std::errc()) {
      const char* first = buf + (buf[0] == '-');
      const ptrdiff_t chars = std::find(first, static_cast<const char*>(printed.ptr), 'e') - first;
      if ((chars > 1 ? chars - 1 : chars) > precision) printed.ec = std::errc::value_too_large;
    }
  }
  if (printed.ec != std::errc()) {
    printed =
        std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, precision - 1);
  }
  const char* end = printed.ptr;
  if (printed.ec != std::errc()) {
    end = buf + std::snprintf(buf, sizeof buf, "%.*e", precision - 1, value);
  }
  const char* p = buf;
  if (*p == '-') {
    out.push_back('-');
    ++p;
  }
  const char* e = std::find(p, end, 'e');
  int exponent = 0;
  const char* ep = e + 1;
  const bool negative_exponent = ep < end && *ep == '-';
  if (ep < end && (*ep == '-' || *ep == '+')) ++ep;
  for (; ep < end; ++ep) exponent = exponent * 10 + (*ep - '0');
  if (negative_exponent) exponent = -exponent;
  char digits[64];
  size_t n = 0;
  for (const char* q = p; q < e; ++q) {
    if (*q != '.') digits[n++] = *q;
  }
  while (n > 1 && digits[n - 1] == '0') --n;
  int decpt = exponent + 1;
  if (decpt < 0 ? decpt < -3 : decpt > precision) {
    int x = decpt - 1;
    out.push_back(digits[0]);
    out.push_back('.');
    if (n > 1) {
      out.append(digits + 1, n - 1);
    } else {
      out.push_back('0');
    }
    out.push_back(exp_char);
    out.push_back(x < 0 ? '-' : '+');
    char xbuf[8];
    auto xr = std::to_chars(xbuf, xbuf + sizeof xbuf, std::abs(x));
    out.append(xbuf, xr.ptr);
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-decpt), '0');
    out.append(digits, n);
  } else if (n <= static_cast<size_t>(decpt)) {
    out.append(digits, n);
    out.append(static_cast<size_t>(decpt) - n, '0');
  } else {
    out.append(digits, static_cast<size_t>(decpt));
    out.push_back('.');
    out.append(digits + decpt, n - static_cast<size_t>(decpt));
  }
}

std::string PhpToString(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "";
    case Json::value_t::boolean:
      return v.get<bool>() ? "1" : "";
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float:
      return PhpFormatDouble(v.get<double>(), 14, 'E');
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::array:
      return "Array";
    case Json::value_t::object:
      return "Object";
    default:
      return "";
  }
}

std::string PhpSerialize(const Json& v, bool objects_as_arrays) {
  std::string out;
  out.reserve(256);
  SerializeInto(v, objects_as_arrays, out);
  return out;
}

std::string PhpJsonEncode(const Json& v) {
  std::string out;
  JsonEncodeInto(v, out);
  return out;
}

bool PhpIsNumericString(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                          s[i] == '\v' || s[i] == '\f')) {
    ++i;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    size_t exp_digits = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j, ++exp_digits;
    if (exp_digits > 0) i = j;
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                          s[i] == '\v' || s[i] == '\f')) {
    ++i;
  }
  return i == s.size();
}

int PhpCompareStrings(const std::string& a, const std::string& b) {
  if (PhpIsNumericString(a) && PhpIsNumericString(b)) {
    double x = std::strtod(a.c_str(), nullptr);
    double y = std::strtod(b.c_str(), nullptr);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::string PhpUrlEncode(const std::string& s) { return UrlEncodeImpl(s, false); }
std::string PhpRawUrlEncode(const std::string& s) { return UrlEncodeImpl(s, true); }
std::string PhpUrlDecode(const std::string& s) { return UrlDecodeImpl(s, true); }
std::string PhpRawUrlDecode(const std::string& s) { return UrlDecodeImpl(s, false); }

std::string HttpBuildQuery(const Json& params) {
  std::string out;
  if (params.is_object() || params.is_array()) BuildQueryInto(params, "", false, out);
  return out;
}

Json QueryParse(const std::string& query) {
  Json result = Json::object();
  if (query.empty()) return result;
  for (const std::string& kvp : Explode("&", query)) {
    std::vector<std::string> parts = Explode("=", kvp, 2);
    std::string key = PhpUrlDecode(parts[0]);
    Json value = parts.size() > 1 ? Json(PhpUrlDecode(parts[1])) : Json(nullptr);
    if (!result.contains(key)) {
      result[key] = value;
    } else {
      if (!result[key].is_array()) result[key] = Json::array({result[key]});
      result[key].push_back(value);
    }
  }
  return result;
}

std::string QueryBuild(const Json& params) {
  std::string qs;
  auto add = [&](const std::string& k, const Json& v) {
    qs += k;
    if (!v.is_null()) qs += "=" + PhpRawUrlEncode(QueryScalar(v));
    qs += "&";
  };
  for (auto it = params.begin(); it != params.end(); ++it) {
    std::string k = PhpRawUrlEncode(it.key());
    if (it->is_array()) {
      for (const auto& vv : *it) add(k, vv);
    } else {
      add(k, *it);
    }
  }
  if (!qs.empty()) qs.pop_back();
  return qs;
}

std::optional<Json> GetDataFromPath(const std::string& path, const Json& data,
                                    const std::string& separator) {
  if (path == separator) return data;
  const Json* cur = &data;
  for (const std::string& key : Explode(separator, path)) {
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return std::nullopt;
      cur = &*it;
    } else if (cur->is_array()) {
      if (!IsCanonicalInt(key) || key[0] == '-') return std::nullopt;
      size_t idx = std::stoull(key);
      if (idx >= cur->size() || (*cur)[idx].is_null()) return std::nullopt;
      cur = &(*cur)[idx];
    } else {
      return std::nullopt;
    }
  }
  return *cur;
}

Json FlattenArray(const Json& v, const std::string& prefix) {
  Json result = Json::object();
  size_t index = 0;
  for (auto it = v.begin(); it != v.end(); ++it, ++index) {
    std::string key = v.is_array() ? std::to_string(index) : std::string(it.key());
    if (it->is_array() || it->is_object()) {
      Json sub = FlattenArray(*it, prefix + key + ".");
      for (auto s = sub.begin(); s != sub.end(); ++s) result[s.key()] = *s;
    } else {
      result[prefix + key] = *it;
    }
  }
  return result;
}

Json ArrayReplaceRecursive(const Json& base, const Json& replacement) {
  if (!(base.is_object() && replacement.is_object()) &&
      !(base.is_array() && replacement.is_array())) {
    return replacement;
  }
  Json out = base;
  if (replacement.is_object()) {
    for (auto it = replacement.begin(); it != replacement.end(); ++it) {
      auto existing = out.find(it.key());
      if (existing != out.end() && (existing->is_object() || existing->is_array()) &&
          (it->is_object() || it->is_array())) {
        *existing = ArrayReplaceRecursive(*existing, *it);
      } else {
        out[it.key()] = *it;
      }
    }
  } else {
    for (size_t i = 0; i < replacement.size(); ++i) {
      if (i < out.size() && (out[i].is_object() || out[i].is_array()) &&
          (replacement[i].is_object() || replacement[i].is_array())) {
        out[i] = ArrayReplaceRecursive(out[i], replacement[i]);
      } else if (i < out.size()) {
        out[i] = replacement[i];
      } else {
        out.push_back(replacement[i]);
      }
    }
  }
  return out;
}

std::vector<std::string> Explode(const std::string& delimiter, const std::string& s, size_t limit) {
  std::vector<std::string> parts;
  if (delimiter.empty()) {
    parts.push_back(s);
    return parts;
  }
  size_t start = 0;
  while (parts.size() + 1 < limit) {
    size_t pos = s.find(delimiter, start);
    if (pos == std::string::npos) break;
    parts.push_back(s.substr(start, pos - start));
    start = pos + delimiter.size();
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::string AsciiLower(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string AsciiUpper(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// Fetched once: OpenSSL 3 looks the algorithm up again on every EVP_Digest given EVP_md5(),
// which cost as much as the hashing itself (one MD5 per flattened record).
std::string Md5Hex(const std::string& data) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return DigestHex(md5 != nullptr ? md5 : EVP_md5(), data);
}
std::string Sha1Hex(const std::string& data) {
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return DigestHex(sha1 != nullptr ? sha1 : EVP_sha1(), data);
}

// The tagged, length-prefixed form of a value (one form per dump()), fed to SHA-1 in chunks.
ValueSha1::ValueSha1() : ctx_(EVP_MD_CTX_new()) {
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  if (ctx_ == nullptr ||
      EVP_DigestInit_ex(ctx_, sha1 != nullptr ? sha1 : EVP_sha1(), nullptr) != 1) {
    throw ExtractorError("cannot start a SHA-1 digest", false);
  }
  buf_.reserve(kChunk + 64);
}

ValueSha1::~ValueSha1() { EVP_MD_CTX_free(ctx_); }

void ValueSha1::Int(int64_t v) {
  buf_.push_back('i');
  AppendInt(buf_, v);
  buf_.push_back(';');
  MaybeFlush();
}

void ValueSha1::Uint(uint64_t v) {
  buf_.push_back('i');
  AppendInt(buf_, v, false);
  buf_.push_back(';');
  MaybeFlush();
}

void ValueSha1::Double(double d) {
  if (!std::isfinite(d)) {
    buf_.push_back('n');  // dump() writes null
  } else {
    buf_.push_back('d');
    buf_.append(reinterpret_cast<const char*>(&d), sizeof d);
  }
  MaybeFlush();
}

void ValueSha1::String(std::string_view s) {
  buf_.push_back('s');
  Size(s.size());
  if (s.size() >= kChunk) {
    Flush();
    EVP_DigestUpdate(ctx_, s.data(), s.size());
  } else {
    buf_ += s;
    MaybeFlush();
  }
}

void ValueSha1::Size(size_t n) {
  uint64_t v = n;
  buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void ValueSha1::Add(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return Null();
    case Json::value_t::boolean:
      return Bool(v.get<bool>());
    case Json::value_t::number_integer:
      return Int(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return Uint(v.get<uint64_t>());
    case Json::value_t::number_float:
      return Double(v.get<double>());
    case Json::value_t::string:
      return String(v.get_ref<const std::string&>());
    case Json::value_t::array:
      ArrayStart(v.size());
      for (const auto& item : v) Add(item);
      return;
    case Json::value_t::object:
      ObjectStart(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) {
        String(it.key());
        Add(it.value());
      }
      return;
    default:
      buf_.push_back('?');
      String(v.dump());
  }
}

void ValueSha1::Flush() {
  EVP_DigestUpdate(ctx_, buf_.data(), buf_.size());
  buf_.clear();
}

std::string ValueSha1::Hex() {
  Flush();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
  return HexLower(out, len);
}

std::string JsonSha1Hex(const Json& value) {
  ValueSha1 digest;
  digest.Add(value);
  return digest.Hex();
}

UrlParts ParseUrl(const std::string& url) {
  UrlParts parts;
  std::string rest = url;
  size_t hash = rest.find('#');
  if (hash != std::string::npos) {
    parts.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  size_t q = rest.find('?');
  if (q != std::string::npos) {
    parts.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t colon = rest.find(':');
  if (colon != std::string::npos && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(rest[0]))) {
    bool ok = true;
    for (size_t i = 0; i < colon; ++i) {
      char c = rest[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
        ok = false;
      }
    }
    if (ok) {
      parts.scheme = rest.substr(0, colon);
      rest = rest.substr(colon + 1);
    }
  }
  if (rest.rfind("//", 0) == 0) {
    parts.has_authority = true;
    size_t slash = rest.find('/', 2);
    parts.authority = rest.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  parts.path = rest;
  return parts;
}

std::string BuildUrlFromParts(const UrlParts& parts) {
  std::string out;
  if (!parts.scheme.empty()) out += parts.scheme + ":";
  if (parts.has_authority) out += "//" + parts.authority;
  out += parts.path;
  if (parts.query) out += "?" + *parts.query;
  if (parts.fragment) out += "#" + *parts.fragment;
  return out;
}

std::string ResolveUrl(const std::string& base, const std::string& reference) {
  if (reference.empty()) return base;
  UrlParts r = ParseUrl(reference);
  UrlParts b = ParseUrl(base);
  UrlParts t;
  if (!r.scheme.empty()) {
    t = r;
    t.path = NormalizePath(r.path);
  } else {
    if (r.has_authority) {
      t.has_authority = true;
      t.authority = r.authority;
      t.path = NormalizePath(r.path);
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        if (r.path[0] == '/') {
          t.path = NormalizePath(r.path);
        } else {
          std::string merged;
          if (b.has_authority && b.path.empty()) {
            merged = "/" + r.path;
          } else {
            size_t last = b.path.rfind('/');
            merged = (last == std::string::npos ? "" : b.path.substr(0, last + 1)) + r.path;
          }
          t.path = NormalizePath(merged);
        }
        t.query = r.query;
      }
      t.has_authority = b.has_authority;
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
  }
  t.fragment = r.fragment;
  return BuildUrlFromParts(t);
}

std::string BuildUrlWithQuery(const std::string& url, const Json& query) {
  if (PhpEmpty(query)) return url;
  Json q = Json::object();
  size_t index = 0;
  for (auto it = query.begin(); it != query.end(); ++it, ++index) {
    std::string key = query.is_array() ? std::to_string(index) : std::string(it.key());
    if (key.empty() || key == "0") continue;
    q[key] = *it;
  }
  UrlParts parts = ParseUrl(url);
  Json merged = Json::object();
  if (parts.query && !parts.query->empty()) {
    for (const std::string& pair : Explode("&", *parts.query)) {
      std::vector<std::string> kv = Explode("=", pair, 2);
      merged[kv[0]] = kv.size() > 1 ? PhpUrlDecode(kv[1]) : std::string();
    }
    for (auto it = q.begin(); it != q.end(); ++it) merged[it.key()] = *it;
  } else {
    merged = q;
  }
  parts.query = HttpBuildQuery(merged);
  return BuildUrlFromParts(parts);
}

}  // namespace swan::connectors
