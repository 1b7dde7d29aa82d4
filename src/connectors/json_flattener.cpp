#include "connectors/json_flattener.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "connectors/json_flattener_plans.h"

namespace swan::connectors {

const char* const kArray = "[]";
const char* const kDataColumn = "data";

namespace {

bool IsPhpFalsyString(const std::string& s) { return s.empty() || s == "0"; }

// The string property `property` of `node`, or "" (PHP's empty()).
std::string Prop(const Json* node, const std::string& property) {
  if (node == nullptr || !node->is_object()) return "";
  auto it = node->find(property);
  if (it == node->end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// PHP's str_word_count (letters, ' and -; a leading ' or - and a trailing - do not count).
int StrWordCount(const std::string& s) {
  size_t p = 0, e = s.size();
  if (p < e && (s[p] == '\'' || s[p] == '-')) ++p;
  if (e > p && s[e - 1] == '-') --e;
  int count = 0;
  while (p < e) {
    size_t start = p;
    while (p < e &&
           (std::isalpha(static_cast<unsigned char>(s[p])) || s[p] == '\'' || s[p] == '-')) {
      ++p;
    }
    if (p > start) ++count;
    ++p;
  }
  return count;
}

std::string ReplaceRuns(const std::string& s, bool collapse) {
  std::string out;
  bool in_run = false;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    if (ok) {
      out.push_back(c);
      in_run = false;
    } else if (!collapse || !in_run) {
      out.push_back('_');
      in_run = true;
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JsonStructure

std::string JsonStructure::EncodeNodeName(const std::string& name) {
  return name == kArray ? name : "_" + name;
}

std::string JsonStructure::DecodeNodeName(const std::string& name) {
  return name == kArray ? name : name.substr(1);
}

std::string JsonStructure::CleanPath(const NodePath& path) {
  std::string out;
  bool first = true;
  for (const auto& p : path) {
    if (p == kArray) continue;
    if (!first) out.push_back('.');
    first = false;
    out += p;
  }
  return out;
}

std::string JsonStructure::PathString(const NodePath& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out.push_back('.');
    out += path[i];
  }
  return out;
}

std::string JsonStructure::SafeName(const std::string& raw) {
  std::string name = ReplaceRuns(raw, false);
  std::string new_name;
  if (name.size() > 64) {
    std::string shortened;
    if (StrWordCount(name) > 1) {
      // preg_match_all('/\b(\w)/'): the first character of every run of [A-Za-z0-9_].
      bool prev_word = false;
      for (char c : name) {
        bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        if (word && !prev_word) shortened.push_back(c);
        prev_word = word;
      }
    }
    if (shortened.empty()) shortened = Md5Hex(name);
    shortened.push_back('_');
    size_t remaining = 64 - shortened.size();
    size_t offset = name.size() - remaining;
    size_t next = name.find(' ', offset);
    if (next == std::string::npos || next == 0) next = name.find('_', offset);
    new_name = next == std::string::npos ? shortened : shortened + name.substr(next);
  } else {
    new_name = name;
  }
  new_name = ReplaceRuns(new_name, true);
  size_t b = new_name.find_first_not_of('_');
  if (b == std::string::npos) return "";
  size_t e = new_name.find_last_not_of('_');
  return new_name.substr(b, e - b + 1);
}

std::string JsonStructure::GetTypeFromNodePath(const NodePath& path) const {
  return SafeName(CleanPath(path));
}

Json* JsonStructure::FindNode(const NodePath& path) {
  return const_cast<Json*>(static_cast<const JsonStructure*>(this)->GetNode(path));
}

const Json* JsonStructure::GetNode(const NodePath& path) const {
  // php-jsonparser restarts from the root when it meets an empty node on the way (getNode's
  // `if (empty($data)) $data = $this->data;`); kept for identical results.
  const Json* data = &data_;
  for (size_t i = 0; i < path.size(); ++i) {
    if (data == nullptr || !data->is_object() || data->empty()) data = &data_;
    auto it = data->find(EncodeNodeName(path[i]));
    if (it == data->end() || it->is_null()) return nullptr;
    data = &*it;
  }
  return path.empty() ? nullptr : data;
}

void JsonStructure::Changed() {
  static std::atomic<uint64_t> last{0};
  generation_ = ++last;
}

void JsonStructure::SyncCaches() const {
  if (cache_generation_ == generation_) return;
  property_cache_.clear();
  column_types_cache_.clear();
  cache_generation_ = generation_;
}

namespace {
// A cache key for a node path: each name with its length first, so no two paths share a key.
std::string KeyOf(const NodePath& path) {
  std::string key;
  for (const auto& p : path) {
    key += std::to_string(p.size());
    key.push_back(':');
    key += p;
  }
  return key;
}
}  // namespace

std::string JsonStructure::GetNodeProperty(const NodePath& path,
                                           const std::string& property) const {
  SyncCaches();
  std::string key = KeyOf(path) + "|" + property;
  auto it = property_cache_.find(key);
  if (it != property_cache_.end()) return it->second;
  std::string value = Prop(GetNode(path), property);
  property_cache_.emplace(std::move(key), value);
  return value;
}

void JsonStructure::SaveNode(const NodePath& path, const Json& node) {
  Changed();
  Json* cur = &data_;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    auto it = cur->find(EncodeNodeName(path[i]));
    if (it == cur->end()) {
      throw ExtractorError("Node path " + PathString(path) + " does not exist.");
    }
    cur = &*it;
  }
  (*cur)[EncodeNodeName(path.back())] = node;
}

void JsonStructure::SaveNodeValue(const NodePath& path, const std::string& property,
                                  const std::string& value) {
  Json* cur = &data_;
  for (const auto& p : path) {
    std::string name = EncodeNodeName(p);
    if (!cur->contains(name) || !(*cur)[name].is_object()) {
      (*cur)[name] = Json::object();
      Changed();
    }
    cur = &(*cur)[name];
  }
  std::string existing = Prop(cur, property);
  if (!IsPhpFalsyString(existing) && existing != value) {
    if (property != "nodeType") {
      throw ExtractorError("Attempting to overwrite '" + property + "' value '" + existing +
                           "' with '" + value + "'.");
    }
    Json node = *cur;
    HandleUpgrade(node, path, value);
    return;
  }
  if (existing == value && cur->contains(property)) return;
  (*cur)[property] = value;
  Changed();
}

void JsonStructure::HandleUpgrade(const Json& node, const NodePath& path,
                                  const std::string& new_type) {
  std::string node_type = Prop(&node, "nodeType");
  if (node_type == "array" || new_type == "array") {
    const Json* items = node.contains(kArray) ? &node[kArray] : nullptr;
    std::string items_type = Prop(items, "nodeType");
    if (IsPhpFalsyString(items_type)) throw ExtractorError("Array contents are unknown");
    std::string non_array = node_type == "array" ? new_type : node_type;
    if (items_type != non_array && non_array != "null" && items_type != "null") {
      throw ExtractorError("Data array in '" + PathString(path) +
                           "' contains incompatible types '" + items_type + "' and '" + non_array +
                           "'");
    }
    Json new_node = Json::object();
    Json new_items = Json::object();
    if (items != nullptr && items->is_object()) {
      for (auto it = items->begin(); it != items->end(); ++it) new_items[it.key()] = *it;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->is_object() && it.key() != kArray) new_items[it.key()] = *it;
    }
    new_items["nodeType"] = new_type != "array" ? new_type : node_type;
    new_node[kArray] = new_items;
    new_node["nodeType"] = "array";
    std::string header = Prop(&node, "headerNames");
    if (!IsPhpFalsyString(header)) {
      new_node[kArray]["headerNames"] = kDataColumn;
      new_node["headerNames"] = header;
    }
    SaveNode(path, new_node);
  } else if (node_type != "null" && new_type == "null") {
    // The known type stands.
  } else if (node_type == "null" && new_type != "null") {
    const Json* current = GetNode(path);
    Json new_node = current != nullptr ? *current : Json::object();
    new_node["nodeType"] = new_type;
    SaveNode(path, new_node);
  } else {
    throw ExtractorError("Unhandled nodeType change from \"" + node_type + "\" to \"" + new_type +
                         "\" in \"" + PathString(path) + "\"");
  }
}

std::vector<std::pair<std::string, std::string>> JsonStructure::GetColumnTypes(
    const NodePath& path) const {
  SyncCaches();
  std::string key = KeyOf(path);
  auto cached = column_types_cache_.find(key);
  if (cached != column_types_cache_.end()) return cached->second;
  auto result = ColumnTypesOf(path);
  column_types_cache_.emplace(std::move(key), result);
  return result;
}

std::vector<std::pair<std::string, std::string>> JsonStructure::ColumnTypesOf(
    const NodePath& path) const {
  std::vector<std::pair<std::string, std::string>> result;
  const Json* node = GetNode(path);
  if (node == nullptr || !node->is_object() || node->empty()) return result;
  std::string type = Prop(node, "nodeType");
  if (type == "object") {
    for (auto it = node->begin(); it != node->end(); ++it) {
      if (!it->is_object()) continue;
      std::string name = DecodeNodeName(it.key());
      result.emplace_back(name == kArray ? kDataColumn : name, Prop(&*it, "nodeType"));
    }
  } else if (type == "scalar") {
    std::string name = path.back() == kArray ? kDataColumn : path.back();
    result.emplace_back(name, type);
  }
  return result;
}

std::string JsonStructure::UniqueName(const std::string& base_type, const std::string& header) {
  auto& index = header_index_[base_type];
  std::string name = header;
  if (index.count(name)) {
    int i = 0;
    while (index.count(name)) name = header + "_u" + std::to_string(i++);
  }
  index.insert(name);
  return name;
}

void JsonStructure::GenerateHeaderNames() {
  for (auto base = data_.begin(); base != data_.end(); ++base) {
    if (!base->is_object()) continue;
    for (auto node = base->begin(); node != base->end(); ++node) {
      if (node->is_object()) GenerateHeaderName(*node, kArray, base.key());
    }
  }
}

void JsonStructure::GenerateHeaderName(Json& data, const std::string& parent_name_in,
                                       std::string base_type) {
  std::string parent_name = parent_name_in;
  if (IsPhpFalsyString(Prop(&data, "headerNames"))) {
    Changed();
    if (parent_name != kArray) {
      data["headerNames"] = UniqueName(base_type, SafeName(parent_name));
    } else {
      data["headerNames"] = kDataColumn;
    }
  }
  if (Prop(&data, "nodeType") == "array") {
    base_type = base_type + "." + parent_name;
    parent_name = "";
  }
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (!it->is_object()) continue;
    std::string key = DecodeNodeName(it.key());
    bool parent_type = false;
    auto plain = data.find(key);
    if (plain != data.end() && plain->is_object()) parent_type = Prop(&*plain, "type") == "parent";
    std::string child_name =
        IsPhpFalsyString(parent_name) || parent_type ? key : parent_name + "." + key;
    GenerateHeaderName(*it, child_name, base_type);
  }
}

std::string JsonStructure::GetParentTargetName(const std::string& name) const {
  auto it = parent_aliases_.find(name);
  if (it == parent_aliases_.end() || PhpEmpty(*it)) return name;
  return PhpToString(*it);
}

void JsonStructure::SetParentTargetName(const std::string& name, const std::string& target) {
  parent_aliases_[name] = target;
  Changed();
}

Json JsonStructure::GetData() const {
  Json out = Json::object();
  out["data"] = data_;
  out["parent_aliases"] = parent_aliases_.empty() ? Json::array() : parent_aliases_;
  return out;
}

void JsonStructure::Load(const Json& definitions) {
  if (!definitions.is_object()) return;
  auto d = definitions.find("data");
  Changed();
  data_ = d != definitions.end() && d->is_object() ? *d : Json::object();
  auto a = definitions.find("parent_aliases");
  parent_aliases_ = a != definitions.end() && a->is_object() ? *a : Json::object();
}

// ---------------------------------------------------------------------------------------------
// JsonFlattener

// php-jsonparser's CsvRow: the values of one output row, by column.
struct JsonFlattener::Row {
  std::shared_ptr<const RowLayout> layout;
  std::vector<Json> values;

  void Init(std::shared_ptr<const RowLayout> l) {
    layout = std::move(l);
    values.assign(layout->columns.size(), Json());
  }
  void Set(const std::string& column, Json value) { SetAt(layout->Slot(column), column, value); }
  void SetAt(ptrdiff_t slot, const std::string& column, Json& value) {
    if (slot < 0) {
      throw ExtractorError("Error assigning '" + PhpToString(value) +
                           "' to a non-existing column '" + column + "'!");
    }
    if (!value.is_null() && !IsScalar(value)) {
      throw ExtractorError("Error assigning value to '" + column + "': The value's not scalar!");
    }
    values[static_cast<size_t>(slot)] = std::move(value);
  }
};

JsonFlattener::JsonFlattener(std::string work_dir, LogFn log)
    : work_dir_(std::move(work_dir)), log_(std::move(log)) {
  streamed_lines_ = std::make_shared<std::vector<std::pair<LogLevel, std::string>>>();
  auto lines = streamed_lines_;
  streamed_log_ = [lines](LogLevel level, const std::string& line) {
    lines->emplace_back(level, line);
  };
}

JsonFlattener::~JsonFlattener() {
  if (spool_ != nullptr) std::fclose(spool_);
  if (!spool_path_.empty()) std::remove(spool_path_.c_str());
  StopStreaming();
}

void JsonFlattener::SwapStreamed() {
  in_stream_pass_ = !in_stream_pass_;
  std::swap(structure_, streamed_structure_);
  std::swap(tables_, streamed_tables_);
  std::swap(tables_by_type_, streamed_tables_by_type_);
  std::swap(log_, streamed_log_);
}

void JsonFlattener::StopStreaming() {
  streaming_ = false;
  for (auto& t : streamed_tables_) t->Discard();
  streamed_tables_.clear();
  streamed_tables_by_type_.clear();
  streamed_lines_->clear();
  streamed_structure_ = JsonStructure();
}

void JsonFlattener::StreamBatch(const Json& data, Json* consumable, const std::string& type,
                                const Json& parent_id, const RecordDigests* digests) {
  if (!streamed_any_) {
    streamed_structure_ = structure_;
    streamed_generation_ = structure_.generation();
    streamed_any_ = true;
  } else if (structure_.generation() != streamed_generation_) {
    StopStreaming();  // the rows streamed so far were written with an outdated structure
    return;
  }
  Json copy;
  if (consumable == nullptr) copy = data;
  Json& records = consumable != nullptr ? *consumable : copy;
  SwapStreamed();
  try {
    const std::vector<std::string>* given =
        consumable != nullptr && digests != nullptr && *digests ? (*digests)() : nullptr;
    Parse(records, NodePath{type, kArray}, parent_id,
          given != nullptr && given->size() == records.size() ? given : nullptr);
  } catch (...) {
    // Finish's pass over the spool meets the same error, after what the later batches bring.
    SwapStreamed();
    StopStreaming();
    return;
  }
  SwapStreamed();
}

std::string JsonFlattener::AnalyzeItem(const Json& item, const NodePath& path) {
  std::string type;
  if (IsScalar(item)) {
    type = "scalar";
  } else if (item.is_object()) {
    type = "object";
    for (auto it = item.begin(); it != item.end(); ++it) {
      NodePath child = path;
      child.push_back(it.key());
      AnalyzeItem(*it, child);
    }
  } else if (item.is_null()) {
    type = "null";
  } else {
    if (!path.empty() && path.back() == kArray) {
      Log(log_, LogLevel::kWarning,
          "Converting nested array '" + JsonStructure::PathString(path) + "' to JSON string.");
      type = "scalar";
    } else {
      type = "array";
      AnalyzeArray(item, path);
    }
  }
  structure_.SaveNodeValue(path, "nodeType", type);
  return type;
}

const Json* JsonFlattener::ChildNode(const Json* node, const std::string& name) {
  if (node == nullptr || !node->is_object()) return nullptr;
  auto it = node->find(name);
  return it != node->end() && it->is_object() ? &*it : nullptr;
}

// The node exists and has that type, or it has a known type and `type` is "null" (which
// HandleUpgrade leaves standing).
bool JsonFlattener::NodeTypeHolds(const Json* node, const char* type) {
  if (node == nullptr) return false;
  auto it = node->find("nodeType");
  if (it == node->end() || !it->is_string()) return false;
  const auto& existing = it->get_ref<const std::string&>();
  if (existing == type) return true;
  return std::strcmp(type, "null") == 0 && (existing == "scalar" || existing == "object");
}

const Json* JsonFlattener::SavedNode(const NodePath& path) const {
  const Json* cur = &structure_.data();
  for (const auto& p : path) {
    cur = ChildNode(cur, JsonStructure::EncodeNodeName(p));
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

bool JsonFlattener::AnalysisHolds(const Json& item, const Json* node, bool in_array,
                                  const char** type) const {
  if (node == nullptr) return false;
  if (IsScalar(item)) {
    *type = "scalar";
  } else if (item.is_object()) {
    *type = "object";
    for (auto it = item.begin(); it != item.end(); ++it) {
      const char* child_type = nullptr;
      if (!AnalysisHolds(*it, ChildNode(node, JsonStructure::EncodeNodeName(it.key())),
                         it.key() == kArray, &child_type)) {
        return false;
      }
    }
  } else if (item.is_null()) {
    *type = "null";
  } else {
    if (in_array) return false;  // logged ("Converting nested array")
    *type = "array";
    const Json* items = ChildNode(node, kArray);
    if (items == nullptr) return false;
    if (item.empty() && !NodeTypeHolds(items, "null")) return false;
    const char* old_type = nullptr;
    for (const auto& row : item) {
      const char* new_type = nullptr;
      if (!AnalysisHolds(row, items, true, &new_type)) return false;
      if (old_type != nullptr && std::strcmp(new_type, old_type) != 0 &&
          std::strcmp(new_type, "null") != 0 && std::strcmp(old_type, "null") != 0) {
        return false;  // AnalyzeArray throws
      }
      old_type = new_type;
    }
  }
  return NodeTypeHolds(node, *type);
}

void JsonFlattener::AnalyzeArray(const Json& array, const NodePath& path_in) {
  NodePath path = path_in;
  path.push_back(kArray);
  if (array.empty()) structure_.SaveNodeValue(path, "nodeType", "null");
  std::string old_type;
  bool has_old = false;
  // Most records have the structure earlier records gave: checked without a change.
  uint64_t items_generation = structure_.generation();
  const Json* items = SavedNode(path);
  for (const auto& row : array) {
    if (structure_.generation() != items_generation) {
      items_generation = structure_.generation();
      items = SavedNode(path);
    }
    const char* held = nullptr;
    std::string new_type =
        AnalysisHolds(row, items, true, &held) ? std::string(held) : AnalyzeItem(row, path);
    if (has_old && new_type != old_type && new_type != "null" && old_type != "null") {
      throw ExtractorError("Data in '" + JsonStructure::PathString(path) +
                           "' contains incompatible data types '" + old_type + "' and '" +
                           new_type + "'.");
    }
    old_type = new_type;
    has_old = true;
  }
}

void JsonFlattener::Process(const Json& data, const std::string& type, const Json& parent_id) {
  ProcessBatch(data, nullptr, type, parent_id, nullptr);
}

void JsonFlattener::Process(Json&& data, const std::string& type, const Json& parent_id,
                            const RecordDigests* record_digests) {
  ProcessBatch(data, &data, type, parent_id, record_digests);
}

void JsonFlattener::ProcessBatch(const Json& data, Json* consumable, const std::string& type,
                                 const Json& parent_id, const RecordDigests* digests) {
  if (!data.is_array() || data.empty() || (data.size() == 1 && data[0].is_null())) {
    Log(log_, LogLevel::kDebug, "No data returned in '" + type + "'");
    return;
  }
  try {
    NodePath path{type};
    AnalyzeArray(data, path);
    structure_.SaveNodeValue(path, "nodeType", "array");
    structure_.GenerateHeaderNames();
  } catch (const ExtractorError& e) {
    throw ExtractorError(std::string("Error parsing response JSON: ") + e.what());
  }
  OpenSpool();
  // type, parent_id and data, each as <8-byte length><CBOR>: CBOR keeps the values a JSON dump
  // and parse would give back (records come from parsed JSON: no NaN, nonnegative integers
  // unsigned), without formatting them.
  const Json type_doc(type);
  for (const Json* doc : {&type_doc, &parent_id, &data}) {
    spool_buf_.clear();
    Json::to_cbor(*doc, spool_buf_);
    SpoolDocument(spool_buf_.data(), spool_buf_.size(), false);
  }
  if (streaming_) StreamBatch(data, consumable, type, parent_id, digests);
}

namespace {

// A spooled document's length with this bit set: the document is JSON text (a parsed answer's,
// json_flattener_simd.cpp), not CBOR.
constexpr uint64_t kSpoolJsonText = uint64_t{1} << 63;

}  // namespace

void JsonFlattener::OpenSpool() {
  if (spool_ != nullptr) return;
  spool_path_ = UniqueWorkFile(work_dir_, "flattener-spool", ".cbor");
  spool_ = std::fopen(spool_path_.c_str(), "wb");
  if (spool_ == nullptr) {
    throw ExtractorError("cannot create " + spool_path_ + ": " + std::strerror(errno), false);
  }
}

void JsonFlattener::SpoolDocument(const uint8_t* data, size_t size, bool json_text) {
  const uint64_t header = size | (json_text ? kSpoolJsonText : 0);
  if (std::fwrite(&header, sizeof header, 1, spool_) != 1 ||
      std::fwrite(data, 1, size, spool_) != size) {
    throw ExtractorError("cannot write " + spool_path_ + ": " + std::strerror(errno), false);
  }
}

std::vector<std::unique_ptr<CsvTable>> JsonFlattener::Finish() {
  if (streaming_ && streamed_any_ && spool_ != nullptr) {
    std::fclose(spool_);
    spool_ = nullptr;
    std::remove(spool_path_.c_str());
    spool_path_.clear();
    structure_ = std::move(streamed_structure_);
    tables_.swap(streamed_tables_);  // tables_ was empty: the spool pass had not begun
    tables_by_type_.clear();
    for (const auto& [level, line] : *streamed_lines_) Log(log_, level, line);
    streamed_lines_->clear();
    streaming_ = false;
  }
  StopStreaming();
  if (spool_ != nullptr) {
    if (std::fclose(spool_) != 0) {
      spool_ = nullptr;
      throw ExtractorError("cannot write " + spool_path_, false);
    }
    spool_ = nullptr;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(spool_path_.c_str(), "rb"),
                                                       std::fclose);
    if (!in) {
      throw ExtractorError("cannot read " + spool_path_ + ": " + std::strerror(errno), false);
    }
    // The next document of the spool; false at its end.
    auto next = [&](Json& doc) {
      uint64_t header = 0;
      if (std::fread(&header, sizeof header, 1, in.get()) != 1) return false;
      const uint64_t size = header & ~kSpoolJsonText;
      spool_buf_.resize(size);
      if (std::fread(spool_buf_.data(), 1, size, in.get()) != size) {
        throw ExtractorError("cannot read " + spool_path_, false);
      }
      doc = (header & kSpoolJsonText) != 0 ? Json::parse(spool_buf_.begin(), spool_buf_.end())
                                           : Json::from_cbor(spool_buf_);
      return true;
    };
    try {
      Json type, parent, data;
      while (next(type)) {
        if (!next(parent) || !next(data)) throw ExtractorError("cannot read " + spool_path_, false);
        Parse(data, NodePath{type.get<std::string>(), kArray}, parent);
      }
    } catch (const ExtractorError& e) {
      throw ExtractorError(std::string("Error parsing response JSON: ") + e.what());
    }
    in.reset();
    spool_buf_.clear();
    spool_buf_.shrink_to_fit();
    std::remove(spool_path_.c_str());
    spool_path_.clear();
  }
  for (auto& t : tables_) t->Close();
  tables_by_type_.clear();
  return std::move(tables_);
}

std::vector<std::pair<std::string, Json>> JsonFlattener::ValidateParentId(
    const Json& parent_id) const {
  std::vector<std::pair<std::string, Json>> pairs;
  if (PhpEmpty(parent_id)) return pairs;
  if (parent_id.is_object() || parent_id.is_array()) {
    size_t index = 0;
    for (auto it = parent_id.begin(); it != parent_id.end(); ++it, ++index) {
      if (it->is_object() || it->is_array()) {
        throw ExtractorError(
            "Error assigning parentId to a CSV file! $parentId array cannot be multidimensional.");
      }
      std::string key = parent_id.is_array() ? std::to_string(index) : std::string(it.key());
      pairs.emplace_back(key, *it);
    }
  } else {
    pairs.emplace_back("JSON_parentId", parent_id);
  }
  for (auto& p : pairs) p.first = structure_.GetParentTargetName(p.first);
  return pairs;
}

CsvTable& JsonFlattener::CreateCsvFile(const std::string& type, const NodePath& path,
                                       std::vector<std::pair<std::string, Json>>& parent_id) {
  auto it = tables_by_type_.find(type);
  if (it != tables_by_type_.end()) return *it->second;
  std::vector<std::string> headers = GetHeaders(path, &parent_id);
  if (in_stream_pass_ && streamed_factory_) {
    tables_.push_back(streamed_factory_(type, headers));
  } else {
    std::string file = UniqueWorkFile(work_dir_, "flat", ".csv");
    tables_.push_back(std::make_unique<CsvTable>(type, headers, file));
  }
  tables_by_type_[type] = tables_.back().get();
  return *tables_.back();
}

const std::string& JsonFlattener::TableTypeOf(const NodePath& path) {
  // A function of the path alone; a child table's rows ask it for every parent row.
  for (const auto& [known, type] : table_types_) {
    if (known == path) return type;
  }
  if (table_types_.size() >= 64) table_types_.clear();
  table_types_.emplace_back(path, structure_.GetTypeFromNodePath(path));
  return table_types_.back().second;
}

void JsonFlattener::Parse(Json& data, const NodePath& path, const Json& parent_id_in,
                          const std::vector<std::string>* digests,
                          std::shared_ptr<const RowPlan>* last_plan) {
  auto parent_id = ValidateParentId(parent_id_in);
  CsvTable& file = CreateCsvFile(TableTypeOf(path), path, parent_id);
  std::vector<std::pair<std::string, Json>> parent_cols;
  for (const auto& p : parent_id) parent_cols.emplace_back(p.first, Json("string"));
  Row row_out;
  std::shared_ptr<const RowPlan> own_plan;  // every item's row has the same path and parents
  if (last_plan == nullptr) last_plan = &own_plan;
  // The row of a scalar item: made once with its keys (data, then the parent columns), its
  // values set for each item (ParseRow moves them out, it adds no key).
  Json scalar_row;
  // The given digests are of the records as they are here: rows without parent columns only.
  if (!parent_id.empty()) digests = nullptr;
  size_t index = 0;
  for (auto& item : data) {
    const std::string* digest = nullptr;
    if (digests != nullptr && item.is_object() && !(*digests)[index].empty()) {
      digest = &(*digests)[index];
    }
    ++index;
    Json row;
    Json* fields = &row;
    if (IsScalar(item) || item.is_null()) {
      if (scalar_row.is_null()) scalar_row = Json::object();
      fields = &scalar_row;
      (*fields)[kDataColumn] = std::move(item);
    } else if (item.is_array()) {
      row = Json::object();
      row[kDataColumn] = PhpJsonEncode(item);
    } else {
      row = std::move(item);  // each record is read once: no copy
    }
    for (const auto& p : parent_id) (*fields)[p.first] = p.second;
    ParseRow(*fields, path, parent_cols, "", row_out, digest, last_plan);
    file.WriteRow(row_out.values);
  }
}

std::vector<std::string> JsonFlattener::GetHeaders(
    const NodePath& path, std::vector<std::pair<std::string, Json>>* parent) {
  // The same question for every record of a table: answered once per structure generation
  // (a call that changed the structure, renaming a parent column, is not kept).
  if (headers_generation_ != structure_.generation()) {
    headers_cache_.clear();
    headers_generation_ = structure_.generation();
  }
  std::string key = KeyOf(path) + "|";
  if (parent != nullptr) {
    for (const auto& p : *parent) key += std::to_string(p.first.size()) + ":" + p.first;
  }
  auto cached = headers_cache_.find(key);
  if (cached != headers_cache_.end()) return cached->second;
  const uint64_t before = structure_.generation();
  std::vector<std::string> headers = ComputeHeaders(path, parent);
  if (structure_.generation() == before) headers_cache_.emplace(std::move(key), headers);
  return headers;
}

std::vector<std::string> JsonFlattener::ComputeHeaders(
    const NodePath& path, std::vector<std::pair<std::string, Json>>* parent) {
  std::vector<std::string> headers;
  const Json* found = structure_.GetNode(path);
  Json node_data = found != nullptr && found->is_object() ? *found : Json::object();
  if (Prop(&node_data, "nodeType") == "scalar") headers.push_back(Prop(&node_data, "headerNames"));

  if (parent != nullptr && !parent->empty()) {
    auto snapshot = *parent;
    for (auto [key, value] : snapshot) {
      NodePath previous_path(path.begin(), path.end() - 1);
      const Json* prev_found = structure_.GetNode(previous_path);
      Json previous = prev_found != nullptr ? *prev_found : Json::object();
      std::string actual = JsonStructure::EncodeNodeName(key);
      auto has = [](const Json& j, const std::string& k) {
        return j.is_object() && j.contains(k) && !j[k].is_null();
      };
      auto type_of = [](const Json& j, const std::string& k) -> std::string {
        if (!j.is_object() || !j.contains(k)) return "";
        return Prop(&j[k], "type");
      };
      Json items = node_data.contains(kArray) ? node_data[kArray] : Json::object();
      if (!has(previous, key) && !has(items, actual) &&
          IsPhpFalsyString(type_of(node_data, actual)) &&
          IsPhpFalsyString(type_of(items, actual))) {
        Json prev_items = previous.contains(kArray) ? previous[kArray] : Json::object();
        if (has(prev_items, actual)) {
          std::string new_name = key;
          int i = 0;
          while (has(prev_items, JsonStructure::EncodeNodeName(new_name))) {
            new_name = key + "_u" + std::to_string(i++);
          }
          // $parent[$new] = $value; unset($parent[$key]): the renamed column moves to the end.
          for (auto pit = parent->begin(); pit != parent->end(); ++pit) {
            if (pit->first == key) {
              parent->erase(pit);
              break;
            }
          }
          bool replaced = false;
          for (auto& p : *parent) {
            if (p.first == new_name) {
              p.second = value;
              replaced = true;
            }
          }
          if (!replaced) parent->emplace_back(new_name, value);
          structure_.SetParentTargetName(key, new_name);
          key = new_name;
        }
        Json parent_node = Json::object();
        parent_node["nodeType"] = "scalar";
        parent_node["type"] = "parent";
        previous[kArray][JsonStructure::EncodeNodeName(key)] = parent_node;
        structure_.SaveNode(previous_path, previous);
        structure_.GenerateHeaderNames();
        found = structure_.GetNode(path);
        node_data = found != nullptr && found->is_object() ? *found : Json::object();
      }
    }
  }

  for (auto it = node_data.begin(); it != node_data.end(); ++it) {
    if (!it->is_object()) continue;
    if (Prop(&*it, "nodeType") == "object") {
      NodePath child = path;
      child.push_back(JsonStructure::DecodeNodeName(it.key()));
      auto sub = GetHeaders(child, nullptr);
      headers.insert(headers.end(), sub.begin(), sub.end());
    } else {
      headers.push_back(Prop(&*it, "headerNames"));
    }
  }
  return headers;
}

std::shared_ptr<const JsonFlattener::RowPlan> JsonFlattener::GetRowPlan(
    const NodePath& path, const std::vector<std::pair<std::string, Json>>& given_cols) {
  if (plans_generation_ != structure_.generation()) {
    plans_.clear();
    plans_generation_ = structure_.generation();
  }
  // Looked up by the path and the parent columns' names as given, without building a key.
  size_t hash = path.size();
  std::hash<std::string> hasher;
  for (const auto& p : path) hash = hash * 1000003 ^ hasher(p);
  hash = hash * 1000003 ^ given_cols.size();
  for (const auto& p : given_cols) hash = hash * 1000003 ^ hasher(p.first);
  auto& bucket = plans_[hash];
  for (const auto& entry : bucket) {
    if (entry.path != path || entry.parents.size() != given_cols.size()) continue;
    bool same = true;
    for (size_t i = 0; i < given_cols.size() && same; ++i) {
      same = entry.parents[i] == given_cols[i].first;
    }
    if (same) return entry.plan;
  }
  PlanEntry entry;
  entry.path = path;
  for (const auto& p : given_cols) entry.parents.push_back(p.first);

  // GetHeaders may rename a parent column: in this plan's copy of them only.
  std::vector<std::pair<std::string, Json>> parent_cols = given_cols;
  const uint64_t before = structure_.generation();
  auto plan = std::make_shared<RowPlan>();
  plan->layout = std::make_shared<RowLayout>(GetHeaders(path, &parent_cols));
  auto columns = structure_.GetColumnTypes(path);
  for (const auto& [name, type] : parent_cols) {
    bool replaced = false;
    for (auto& c : columns) {
      if (c.first == name) {
        c.second = type.get<std::string>();
        replaced = true;
      }
    }
    if (!replaced) columns.emplace_back(name, type.get<std::string>());
  }
  const std::string path_header = structure_.GetNodeProperty(path, "headerNames");
  NodePath child = path;
  child.emplace_back();
  for (auto& [name, type] : columns) {
    ColumnPlan c;
    child.back() = name;
    c.header = structure_.GetNodeProperty(child, "headerNames");
    c.fallback = c.header.empty() ? path_header : c.header;
    c.header_slot = plan->layout->Slot(c.header);
    c.fallback_slot = plan->layout->Slot(c.fallback);
    if (type == "array" || type == "object") plan->needs_parent_id = true;
    c.name = std::move(name);
    c.type = std::move(type);
    c.is_array = c.type == "array";
    c.is_object = c.type == "object";
    plan->columns.push_back(std::move(c));
  }
  plan->clean_path = JsonStructure::CleanPath(path);
  plan->generation = structure_.generation();
  if (plan->generation == before) {
    plan->kept = true;
    entry.plan = plan;
    plans_[hash].push_back(std::move(entry));  // (GetHeaders may have added buckets)
  }
  return plan;
}

std::shared_ptr<const JsonFlattener::RowPlan> JsonFlattener::PlanFor(
    const NodePath& path, const std::vector<std::pair<std::string, Json>>& parent_cols,
    std::shared_ptr<const RowPlan>* last_plan) {
  if (last_plan != nullptr && *last_plan && (*last_plan)->kept &&
      (*last_plan)->generation == structure_.generation()) {
    return *last_plan;  // what GetRowPlan would find: kept, and the structure is unchanged
  }
  std::shared_ptr<const RowPlan> plan = GetRowPlan(path, parent_cols);
  if (last_plan != nullptr) *last_plan = plan;
  return plan;
}

void JsonFlattener::ParseRow(Json& row, const NodePath& path,
                             const std::vector<std::pair<std::string, Json>>& parent_cols,
                             const std::string& outer_hash, Row& out, const std::string* digest,
                             std::shared_ptr<const RowPlan>* last_plan) {
  std::shared_ptr<const RowPlan> plan = PlanFor(path, parent_cols, last_plan);
  out.Init(plan->layout);
  std::string array_parent_id;
  if (plan->needs_parent_id) {
    array_parent_id.reserve(plan->clean_path.size() + 33);
    array_parent_id += plan->clean_path;
    array_parent_id.push_back('_');
    if (digest != nullptr && outer_hash.empty()) {
      array_parent_id += *digest;  // Md5Hex(PhpSerialize(row)), made before
    } else {
      std::string serialized = PhpSerialize(row);
      serialized += outer_hash;
      array_parent_id += Md5Hex(serialized);
    }
  }
  for (const ColumnPlan& column : plan->columns) {
    ParseField(row, out, array_parent_id, column, plan->generation, path);
  }
}

void JsonFlattener::ParseField(Json& row, Row& csv_row, const std::string& array_parent_id,
                               const ColumnPlan& c, uint64_t plan_generation,
                               const NodePath& path) {
  // The plan's header names hold while the structure is the one they were looked up in; a
  // child table created by an earlier column of this row may have changed it.
  const bool fresh = structure_.generation() == plan_generation;
  auto child_path = [&]() {
    NodePath child = path;
    child.push_back(c.name);
    return child;
  };
  auto set_header = [&](Json& value) {
    if (fresh) {
      csv_row.SetAt(c.header_slot, c.header, value);
    } else {
      csv_row.Set(structure_.GetNodeProperty(child_path(), "headerNames"), std::move(value));
    }
  };
  auto set_fallback = [&](Json& value) {
    if (fresh) {
      csv_row.SetAt(c.fallback_slot, c.fallback, value);
      return;
    }
    std::string safe = structure_.GetNodeProperty(child_path(), "headerNames");
    if (safe.empty()) safe = structure_.GetNodeProperty(path, "headerNames");
    csv_row.Set(safe, std::move(value));
  };

  auto it = row.is_object() ? row.find(c.name) : row.end();
  bool is_set = row.is_object() && it != row.end() && !it->is_null();
  if (!is_set || (PhpEmpty(*it, false) && !IsScalar(*it))) {
    if (!c.is_object) {
      Json null_value;
      set_fallback(null_value);
    }
    return;
  }
  Json& value = *it;
  if (c.is_array) {
    if (!value.is_array()) value = Json::array({value});
    Json id = array_parent_id;
    set_header(id);
    NodePath items = child_path();
    items.push_back(kArray);
    Parse(value, items, array_parent_id, nullptr, &c.rows_plan);
  } else if (c.is_object) {
    if (!value.is_object()) {
      throw ExtractorError("Data parse error in '" + c.name + "' - unexpected '" +
                           std::string(value.type_name()) + "' where 'object' was expected!");
    }
    Row child_row;
    ParseRow(value, child_path(), {}, array_parent_id, child_row, nullptr, &c.rows_plan);
    for (size_t i = 0; i < child_row.values.size(); ++i) {
      csv_row.Set(child_row.layout->columns[i], std::move(child_row.values[i]));
    }
  } else if (IsScalar(value)) {
    set_fallback(value);  // the record is not read again: its value moves into the row
  } else {
    Json json = PhpJsonEncode(value);
    Log(log_, LogLevel::kWarning,
        "Data parse error in '" + c.name + "' - unexpected '" +
            (value.is_array() ? std::string("array") : std::string("object")) + "' where '" +
            c.type + "' was expected!");
    set_header(json);
  }
}

}  // namespace swan::connectors
