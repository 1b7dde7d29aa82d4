#include "connectors/user_functions.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/hex.h"
#include "connectors/php_datetime.h"

namespace swan::connectors {

namespace {

const char* const kAllowed[] = {"md5",       "sha1",          "time",      "date",
                                "strtotime", "base64_encode", "hash_hmac", "sprintf",
                                "concat",    "ifempty",       "implode",   "hash"};

std::string ToHex(const unsigned char* data, size_t len) { return HexLower(data, len); }

const EVP_MD* Digest(const std::string& algo) {
  std::string name = algo;
  name = AsciiLower(name);
  if (name == "sha512/256") name = "sha512-256";
  if (name == "sha512/224") name = "sha512-224";
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr)
    throw ExtractorError(
        "hash_hmac(): Argument #1 ($algo) must be a valid "
        "cryptographic hashing algorithm, \"" +
        algo + "\" given");
  return md;
}

std::string Base64(const std::string& in) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kTable[(n >> 18) & 63]);
    out.push_back(kTable[(n >> 12) & 63]);
    out.push_back(kTable[(n >> 6) & 63]);
    out.push_back(kTable[n & 63]);
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kTable[(n >> 18) & 63]);
    out.push_back(kTable[(n >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kTable[(n >> 18) & 63]);
    out.push_back(kTable[(n >> 12) & 63]);
    out.push_back(kTable[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

// PHP's weak-mode string argument: scalars convert, arrays do not.
std::string StringArg(const std::string& fn, const Json& v) {
  if (v.is_array() || v.is_object()) {
    throw ExtractorError(fn + "(): Argument must be of type string, array given");
  }
  return PhpToString(v);
}

// PHP's weak-mode int argument (numeric strings, bools, floats).
int64_t IntArg(const std::string& fn, const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_null()) return 0;
  if (v.is_string() && PhpIsNumericString(v.get<std::string>())) {
    return static_cast<int64_t>(std::strtod(v.get<std::string>().c_str(), nullptr));
  }
  throw ExtractorError(fn + "(): Argument must be of type int, " +
                       (v.is_string() ? std::string("string") : std::string("array")) + " given");
}

int64_t NowMicros(const UserFunctionOptions& options) {
  return options.now ? options.now() : SystemNowMicros();
}

Json CallFunction(const std::string& fn, const std::vector<Json>& args,
                  const UserFunctionOptions& options) {
  auto need = [&](size_t min, size_t max) {
    if (args.size() < min || args.size() > max) {
      throw ExtractorError(fn + "() expects " + std::to_string(min) +
                           (max != min ? " to " + std::to_string(max) : std::string()) +
                           " arguments, " + std::to_string(args.size()) + " given");
    }
  };
  if (fn == "md5") {
    need(1, 1);
    return Md5Hex(StringArg(fn, args[0]));
  }
  if (fn == "sha1") {
    need(1, 1);
    return Sha1Hex(StringArg(fn, args[0]));
  }
  if (fn == "time") {
    need(0, 0);
    return NowMicros(options) / 1000000;
  }
  if (fn == "date") {
    need(1, 2);
    int64_t ts =
        args.size() > 1 && !args[1].is_null() ? IntArg(fn, args[1]) : NowMicros(options) / 1000000;
    return PhpDate(StringArg(fn, args[0]), ts);
  }
  if (fn == "strtotime") {
    need(1, 2);
    int64_t base =
        args.size() > 1 && !args[1].is_null() ? IntArg(fn, args[1]) : NowMicros(options) / 1000000;
    auto t = PhpStrtotime(StringArg(fn, args[0]), base);
    if (!t) return false;
    return *t;
  }
  if (fn == "base64_encode") {
    need(1, 1);
    return Base64(StringArg(fn, args[0]));
  }
  if (fn == "hash_hmac") {
    need(3, 4);
    const EVP_MD* md = Digest(StringArg(fn, args[0]));
    std::string data = StringArg(fn, args[1]);
    std::string key = StringArg(fn, args[2]);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    if (args.size() > 3 && !PhpEmpty(args[3]))
      return std::string(reinterpret_cast<char*>(out), len);
    return ToHex(out, len);
  }
  if (fn == "hash") {
    need(2, 3);
    const EVP_MD* md = Digest(StringArg(fn, args[0]));
    std::string data = StringArg(fn, args[1]);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
    if (args.size() > 2 && !PhpEmpty(args[2]))
      return std::string(reinterpret_cast<char*>(out), len);
    return ToHex(out, len);
  }
  if (fn == "sprintf") {
    if (args.empty()) throw ExtractorError("sprintf() expects at least 1 argument, 0 given");
    std::vector<Json> rest(args.begin() + 1, args.end());
    return PhpSprintf(StringArg(fn, args[0]), rest);
  }
  if (fn == "concat") {
    std::string out;
    for (const auto& a : args) out += PhpToString(a);
    return out;
  }
  if (fn == "ifempty") {
    if (args.size() != 2) throw ExtractorError("Bad argument count for function 'ifempty'!");
    return PhpEmpty(args[0]) ? args[1] : args[0];
  }
  if (fn == "implode") {
    need(1, 2);
    const Json* pieces = nullptr;
    std::string glue;
    if (args.size() == 1) {
      pieces = &args[0];
    } else if (args[1].is_array() || args[1].is_object()) {
      glue = StringArg(fn, args[0]);
      pieces = &args[1];
    } else if (args[0].is_array() || args[0].is_object()) {
      glue = StringArg(fn, args[1]);
      pieces = &args[0];
    }
    if (pieces == nullptr || !(pieces->is_array() || pieces->is_object())) {
      throw ExtractorError("implode(): Argument #2 ($array) must be of type ?array, string given");
    }
    std::string out;
    bool first = true;
    for (const auto& p : *pieces) {
      if (!first) out += glue;
      first = false;
      out += PhpToString(p);
    }
    return out;
  }
  if (fn == "urlencode") {
    need(1, 1);
    return PhpUrlEncode(StringArg(fn, args[0]));
  }
  throw ExtractorError("Attempted to call undefined method " + fn + ".");
}

Json Build(const Json& object, const Json& params, const UserFunctionOptions& options) {
  if (object.is_array()) {
    Json out = Json::array();
    for (const auto& v : object) out.push_back(Build(v, params, options));
    return out;
  }
  if (!object.is_object()) return object;
  auto fn_it = object.find("function");
  if (fn_it != object.end()) {
    std::string fn = fn_it->is_string() ? fn_it->get<std::string>() : PhpJsonEncode(*fn_it);
    bool allowed = std::find(std::begin(kAllowed), std::end(kAllowed), fn) != std::end(kAllowed) ||
                   std::find(options.extra_functions.begin(), options.extra_functions.end(), fn) !=
                       options.extra_functions.end();
    if (!fn_it->is_string() || !allowed) throw ExtractorError("Illegal function '" + fn + "'!");
    std::vector<Json> args;
    auto args_it = object.find("args");
    if (args_it != object.end()) {
      if (args_it->is_array() || args_it->is_object()) {
        for (const auto& a : *args_it) args.push_back(Build(a, params, options));
      } else {
        throw ExtractorError("foreach() argument must be of type array|object, " +
                             std::string(args_it->type_name()) + " given");
      }
    }
    return CallFunction(fn, args, options);
  }
  if (object.size() == 1 && params.contains(object.begin().key())) {
    const std::string& kind = object.begin().key();
    const Json& value = object.begin().value();
    if (value.is_object()) {
      throw ExtractorError("Error evaluating user function - " + kind + " '" +
                           PhpJsonEncode(value) + "' is not a string!");
    }
    std::string key = PhpToString(value);
    const Json& table = params[kind];
    auto it = table.find(key);
    if (value.is_array() || it == table.end() || it->is_null()) {
      throw ExtractorError("Error evaluating user function - " + kind + " '" + key +
                           "' not found!");
    }
    return *it;
  }
  Json out = Json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    out[it.key()] = Build(*it, params, options);
  }
  return out;
}

std::string FormatInt(int64_t v, bool always_sign) {
  std::string s = std::to_string(v);
  if (always_sign && v >= 0) s = "+" + s;
  return s;
}

}  // namespace

int64_t SystemNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json RunUserFunction(const Json& tree, const Json& references, const UserFunctionOptions& options) {
  Json params = Json::object();
  for (auto it = references.begin(); it != references.end(); ++it) {
    if (!(it->is_object() || it->is_array())) {
      throw ExtractorError("The params for code builder must be an array of arrays!");
    }
    params[it.key()] = FlattenArray(*it);
  }
  try {
    return Build(tree, params, options);
  } catch (const ExtractorError& e) {
    throw ExtractorError(std::string("User script error: ") + e.what());
  }
}

Json BuildUserFunctions(const Json& functions, const Json& references,
                        const UserFunctionOptions& options) {
  if (!functions.is_object() && !functions.is_array()) {
    throw ExtractorError("Expected 'object' type, given '" + std::string(functions.type_name()) +
                         "' type, value '" + PhpJsonEncode(functions) + "'.");
  }
  Json out = functions;
  for (auto& value : out) {
    if (value.is_object()) value = RunUserFunction(value, references, options);
  }
  return out;
}

Result<Json> EvaluateUserFunctions(const Json& functions, const Json& references,
                                   const UserFunctionOptions& options) {
  try {
    return BuildUserFunctions(functions, references, options);
  } catch (const ExtractorError& e) {
    return Status::InvalidArgument(e.what());
  }
}

std::string PhpSprintf(const std::string& format, const std::vector<Json>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    ++i;
    if (i >= format.size()) throw ExtractorError("Missing format specifier at end of string");
    if (format[i] == '%') {
      out.push_back('%');
      continue;
    }
    // Argument number "n$".
    size_t argnum = std::string::npos;
    size_t j = i;
    while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) ++j;
    if (j < format.size() && format[j] == '$' && j > i) {
      argnum = std::stoul(format.substr(i, j - i)) - 1;
      i = j + 1;
    }
    bool left = false, plus = false;
    char pad = ' ';
    for (; i < format.size(); ++i) {
      char c = format[i];
      if (c == '-')
        left = true;
      else if (c == '+')
        plus = true;
      else if (c == '0')
        pad = '0';
      else if (c == ' ')
        pad = ' ';
      else if (c == '\'' && i + 1 < format.size())
        pad = format[++i];
      else
        break;
    }
    size_t width = 0;
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
      width = width * 10 + static_cast<size_t>(format[i] - '0');
      ++i;
    }
    int precision = -1;
    if (i < format.size() && format[i] == '.') {
      ++i;
      precision = 0;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
        precision = precision * 10 + (format[i] - '0');
        ++i;
      }
    }
    if (i >= format.size()) throw ExtractorError("Missing format specifier at end of string");
    char spec = format[i];
    size_t index = argnum != std::string::npos ? argnum : next_arg++;
    if (index >= args.size()) {
      throw ExtractorError(std::to_string(args.size() + 1) + " arguments are required, " +
                           std::to_string(args.size()) + " given");
    }
    const Json& arg = args[index];
    std::string body;
    bool numeric = false;
    switch (spec) {
      case 'd':
      case 'i':
        body = FormatInt(IntArg("sprintf", arg), plus);
        numeric = true;
        break;
      case 'u':
        body = std::to_string(static_cast<uint64_t>(IntArg("sprintf", arg)));
        numeric = true;
        break;
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        uint64_t v = static_cast<uint64_t>(IntArg("sprintf", arg));
        unsigned base = spec == 'o' ? 8 : spec == 'b' ? 2 : 16;
        const char* digits = spec == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
        if (v == 0) body = "0";
        while (v) {
          body.insert(body.begin(), digits[v % base]);
          v /= base;
        }
        break;
      }
      case 'c':
        body = std::string(1, static_cast<char>(IntArg("sprintf", arg)));
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        double v = 0;
        if (arg.is_number()) {
          v = arg.get<double>();
        } else if (arg.is_string() && PhpIsNumericString(arg.get<std::string>())) {
          v = std::strtod(arg.get<std::string>().c_str(), nullptr);
        } else {
          v = static_cast<double>(IntArg("sprintf", arg));
        }
        int p = precision < 0 ? 6 : precision;
        char buf[512];
        if (spec == 'e' || spec == 'E') {
          std::snprintf(buf, sizeof buf, "%.*e", p, v);
          std::string s(buf);
          size_t e = s.find('e');
          int ex = std::atoi(s.c_str() + e + 1);
          body = s.substr(0, e) + (spec == 'E' ? "E" : "e") + (ex < 0 ? "-" : "+") +
                 std::to_string(std::abs(ex));
        } else if (spec == 'g' || spec == 'G') {
          std::snprintf(buf, sizeof buf, spec == 'g' ? "%.*g" : "%.*G", p == 0 ? 1 : p, v);
          body = buf;
        } else {
          std::snprintf(buf, sizeof buf, "%.*f", p, v);
          body = buf;
        }
        if (plus && v >= 0) body = "+" + body;
        numeric = true;
        break;
      }
      case 's': {
        body = PhpToString(arg);
        if (precision >= 0 && static_cast<size_t>(precision) < body.size()) {
          body = body.substr(0, static_cast<size_t>(precision));
        }
        break;
      }
      default:
        throw ExtractorError(std::string("Unknown format specifier \"") + spec + "\"");
    }
    if (body.size() < width) {
      size_t n = width - body.size();
      if (left) {
        body += std::string(n, pad == '0' && numeric ? ' ' : pad);
        if (pad == '0' && !numeric) body = body.substr(0, body.size() - n) + std::string(n, '0');
      } else if (pad == '0' && numeric && !body.empty() && (body[0] == '-' || body[0] == '+')) {
        body = body.substr(0, 1) + std::string(n, '0') + body.substr(1);
      } else {
        body = std::string(n, pad) + body;
      }
    }
    out += body;
  }
  return out;
}

}  // namespace swan::connectors
