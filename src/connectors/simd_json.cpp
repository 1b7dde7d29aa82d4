#include "connectors/simd_json.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <mutex>
#include <vector>

#include "connectors/rest_client.h"

namespace swan::connectors {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// Parses `body` into `doc`, using its buffers again where they are large enough.
bool ParseInto(SimdDocument& doc, std::string_view body) {
  const size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
  if (doc.text_capacity < needed) {
    doc.text_capacity = std::max(needed, doc.text_capacity * 5 / 4);
    doc.text = std::make_unique<char[]>(doc.text_capacity);
  }
  std::memcpy(doc.text.get(), body.data(), body.size());
  doc.size = body.size();
  std::memset(doc.text.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  // A little below the limit: an answer near it is decoded as a Json, which applies the
  // limit's exact rule.
  constexpr size_t kDepth = kMaxJsonDepth - 2;
  if (doc.parser.capacity() < body.size() || doc.parser.max_depth() != kDepth) {
    if (doc.parser.allocate(std::max(body.size(), doc.parser.capacity()), kDepth) !=
        simdjson::SUCCESS) {
      return false;
    }
  }
  return doc.parser.parse(doc.text.get(), body.size(), false).get(doc.root) == simdjson::SUCCESS;
}

}  // namespace

std::shared_ptr<SimdDocument> ParseSimd(std::string_view body) {
  auto doc = std::make_shared<SimdDocument>();
  if (!ParseInto(*doc, body)) return nullptr;
  return doc;
}

struct SimdDocumentPool::Free {
  static constexpr size_t kKept = 4;  // a pipeline has about this many pages in flight
  std::mutex mu;
  std::vector<std::unique_ptr<SimdDocument>> documents;
};

SimdDocumentPool::SimdDocumentPool() : free_(std::make_shared<Free>()) {}

std::shared_ptr<SimdDocument> SimdDocumentPool::Parse(std::string_view body) {
  std::unique_ptr<SimdDocument> doc;
  {
    std::lock_guard lock(free_->mu);
    if (!free_->documents.empty()) {
      doc = std::move(free_->documents.back());
      free_->documents.pop_back();
    }
  }
  if (!doc) doc = std::make_unique<SimdDocument>();
  const bool parsed = ParseInto(*doc, body);
  std::shared_ptr<SimdDocument> shared(doc.release(), [free = free_](SimdDocument* d) {
    std::unique_ptr<SimdDocument> owned(d);
    std::lock_guard lock(free->mu);
    if (free->documents.size() < Free::kKept) free->documents.push_back(std::move(owned));
  });
  if (!parsed) return nullptr;
  return shared;
}

namespace {

void AddToSha1(element v, ValueSha1& digest) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return digest.Null();
    case element_type::BOOL:
      return digest.Bool(v.get_bool().value_unsafe());
    case element_type::INT64:
      return digest.Int(v.get_int64().value_unsafe());
    case element_type::UINT64:
      return digest.Uint(v.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return digest.Double(v.get_double().value_unsafe());
    case element_type::STRING:
      return digest.String(v.get_string().value_unsafe());
    case element_type::ARRAY: {
      simdjson::dom::array array = SimdArray(v);
      digest.ArrayStart(array.size());
      for (element item : array) AddToSha1(item, digest);
      return;
    }
    case element_type::OBJECT: {
      simdjson::dom::object object = SimdObject(v);
      digest.ObjectStart(object.size());
      for (simdjson::dom::key_value_pair field : object) {
        digest.String(field.key);
        AddToSha1(field.value, digest);
      }
      return;
    }
  }
}

void AppendSize(std::string& out, size_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

}  // namespace

std::string SimdSha1Hex(element v) {
  ValueSha1 digest;
  AddToSha1(v, digest);
  return digest.Hex();
}

void SimdPhpSerialize(element v, std::string& out) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      out += "N;";
      return;
    case element_type::BOOL:
      out += v.get_bool().value_unsafe() ? "b:1;" : "b:0;";
      return;
    case element_type::INT64:
      return PhpSerializeInt(out, v.get_int64().value_unsafe());
    case element_type::UINT64:
      return PhpSerializeUint(out, v.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return PhpSerializeDouble(out, v.get_double().value_unsafe());
    case element_type::STRING:
      return PhpSerializeString(out, v.get_string().value_unsafe());
    case element_type::ARRAY: {
      simdjson::dom::array array = SimdArray(v);
      out += "a:";
      AppendSize(out, array.size());
      out += ":{";
      size_t i = 0;
      for (element item : array) {
        out += "i:";
        AppendSize(out, i++);
        out.push_back(';');
        SimdPhpSerialize(item, out);
      }
      out += "}";
      return;
    }
    case element_type::OBJECT: {
      simdjson::dom::object object = SimdObject(v);
      out += "O:8:\"stdClass\":";
      AppendSize(out, object.size());
      out += ":{";
      for (simdjson::dom::key_value_pair field : object) {
        PhpSerializeString(out, field.key);
        SimdPhpSerialize(field.value, out);
      }
      out += "}";
      return;
    }
  }
}

void SimdPhpToString(element v, std::string& out) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return;
    case element_type::BOOL:
      if (v.get_bool().value_unsafe()) out.push_back('1');
      return;
    case element_type::INT64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64().value_unsafe());
      out.append(buf, r.ptr);
      return;
    }
    case element_type::UINT64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64().value_unsafe());
      out.append(buf, r.ptr);
      return;
    }
    case element_type::DOUBLE:
      AppendPhpDouble(out, v.get_double().value_unsafe(), 14, 'E');
      return;
    case element_type::STRING:
      out += v.get_string().value_unsafe();
      return;
    case element_type::ARRAY:
      out += "Array";
      return;
    case element_type::OBJECT:
      out += "Object";
      return;
  }
}

bool SimdHasDuplicateKey(simdjson::dom::object object) {
  // Records have a handful of keys: pairs compared by length first.
  std::string_view keys[32];
  size_t n = 0;
  for (simdjson::dom::key_value_pair field : object) {
    if (n == std::size(keys)) {
      std::vector<std::string_view> all;
      for (simdjson::dom::key_value_pair f : object) all.push_back(f.key);
      std::sort(all.begin(), all.end());
      return std::adjacent_find(all.begin(), all.end()) != all.end();
    }
    for (size_t i = 0; i < n; ++i) {
      if (keys[i].size() == field.key.size() && keys[i] == field.key) return true;
    }
    keys[n++] = field.key;
  }
  return false;
}

}  // namespace swan::connectors
