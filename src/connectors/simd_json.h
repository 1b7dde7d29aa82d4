// API answers parsed with simdjson instead of into a Json tree, for the pages of a Generic
// Extractor job whose records go straight to the flattener (json_flattener.h): simdjson parses
// at memory speed into one flat tape, where a Json tree allocates every string, array and
// object of every record and frees them again.
//
// A body takes this path only when simdjson accepts it as it is: valid UTF-8, at most
// kMaxJsonDepth levels, every number within 64 bits. Anything else (the rare answer) is decoded
// into a Json as before, by RestClient::Interpret, with its exact errors and repairs. For an
// accepted body, a Json parse gives the same values: the functions below answer what their
// Json counterparts (php_semantics.h) answer for that Json, byte for byte; tests compare them.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>

#include "connectors/php_semantics.h"

namespace swan::connectors {

// One parsed body; the elements of `root` live as long as it does.
struct SimdDocument {
  std::string_view body() const { return {text.get(), size}; }

  std::unique_ptr<char[]> text;  // the body and simdjson's padding
  size_t size = 0;               // of the body
  size_t text_capacity = 0;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

// `body` parsed, or nullptr when simdjson does not accept it (see above).
std::shared_ptr<SimdDocument> ParseSimd(std::string_view body);

// ParseSimd into documents whose buffers are used again once released: a fresh parser for a
// 200 KB page allocated ~3 MB that the kernel zeroed, which took longer than the parse itself.
// Documents may outlive the pool.
//
// Thread-safety: Parse may be called from any thread.
class SimdDocumentPool {
 public:
  SimdDocumentPool();
  std::shared_ptr<SimdDocument> Parse(std::string_view body);

 private:
  struct Free;
  std::shared_ptr<Free> free_;
};

// IsScalar: a string, a number or a boolean.
inline bool SimdIsScalar(simdjson::dom::element v) {
  using T = simdjson::dom::element_type;
  const T t = v.type();
  return t != T::ARRAY && t != T::OBJECT && t != T::NULL_VALUE;
}
// The array or object an element of that type is (a copy: safe to iterate).
inline simdjson::dom::array SimdArray(simdjson::dom::element v) {
  return v.get_array().value_unsafe();
}
inline simdjson::dom::object SimdObject(simdjson::dom::element v) {
  return v.get_object().value_unsafe();
}
// JsonSha1Hex of the same value.
std::string SimdSha1Hex(simdjson::dom::element v);
// PhpSerialize(v) appended to `out` (objects as stdClass).
void SimdPhpSerialize(simdjson::dom::element v, std::string& out);
// PhpToString of a scalar or null, appended to `out`.
void SimdPhpToString(simdjson::dom::element v, std::string& out);
// Whether an object has a key twice: a Json parse keeps one of them (the last value at the
// first key's place), so such a value is read as a Json instead.
bool SimdHasDuplicateKey(simdjson::dom::object object);

}  // namespace swan::connectors
