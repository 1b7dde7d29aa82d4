// JsonFlattener's path for answers parsed by simdjson (ProcessParsed): the analysis check, the
// spool and the streamed rows of json_flattener.cpp, read from the parsed document. Each
// function here mirrors the Json one named in its comment; a record whose handling would take
// any other turn (a structure change, a warning, an error) leaves this path before a row is
// written (the batch is decoded into a Json and processed as before) or, mid-batch, stops the
// streaming, so that Finish writes every row from the spool as it always could.
#include <cstring>

#include "connectors/json_flattener.h"
#include "connectors/json_flattener_plans.h"
#include "connectors/simd_json.h"

namespace swan::connectors {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A row as Parse hands it to ParseRow: a record (an object) or a scalar item (its "data"
// column), plus the parent column Parse gives every item's row, if any.
struct JsonFlattener::SimdItem {
  element value;
  bool is_object = false;
  const std::string* parent_name = nullptr;  // nullptr: no parent column
  const std::string* parent_value = nullptr;

  enum class Field { kAbsent, kValue, kParent };
  // The row's field `name`: a value of the record (`*found`), the parent column, or absent.
  Field Find(const std::string& name, element* found) const {
    if (parent_name != nullptr && name == *parent_name) return Field::kParent;
    if (is_object) {
      auto r = SimdObject(value).at_key(name);
      if (r.error() != simdjson::SUCCESS) return Field::kAbsent;
      *found = r.value_unsafe();
      return Field::kValue;
    }
    if (name != kDataColumn) return Field::kAbsent;
    *found = value;
    return Field::kValue;
  }

  // PhpSerialize of the row, appended to `out`.
  void Serialize(std::string& out) const {
    if (is_object && parent_name == nullptr) return SimdPhpSerialize(value, out);
    const size_t fields = (is_object ? SimdObject(value).size() : 1) + (parent_name ? 1 : 0);
    out += "O:8:\"stdClass\":";
    out += std::to_string(fields);
    out += ":{";
    if (is_object) {
      for (simdjson::dom::key_value_pair field : SimdObject(value)) {
        PhpSerializeString(out, field.key);
        SimdPhpSerialize(field.value, out);
      }
    } else {
      PhpSerializeString(out, kDataColumn);
      SimdPhpSerialize(value, out);
    }
    if (parent_name != nullptr) {
      PhpSerializeString(out, *parent_name);
      PhpSerializeString(out, *parent_value);
    }
    out += "}";
  }
};

JsonFlattener::SimdRow& JsonFlattener::ScratchRow(size_t depth) {
  while (simd_rows_.size() <= depth) simd_rows_.push_back(std::make_unique<SimdRow>());
  return *simd_rows_[depth];
}

void JsonFlattener::ProcessParsed(const SimdDocument& doc, const std::string& type,
                                  const Json& parent_id, const RecordDigests* record_digests) {
  const element records = doc.root;
  // The first batch, a changed structure, parent columns, an empty batch: as before.
  bool no_parent = false;
  try {
    no_parent = ValidateParentId(parent_id).empty();
  } catch (const ExtractorError&) {
    // Parse's error, met where Process meets it.
  }
  const bool fast = no_parent && records.type() == element_type::ARRAY && streaming_ &&
                    streamed_any_ && structure_.generation() == streamed_generation_ &&
                    BatchAnalysisHoldsSimd(records, NodePath{type});
  if (!fast) {
    Json data = Json::parse(doc.body().data(), doc.body().data() + doc.body().size());
    ProcessBatch(data, &data, type, parent_id, record_digests);
    return;
  }
  try {
    NodePath path{type};
    structure_.SaveNodeValue(path, "nodeType", "array");
    structure_.GenerateHeaderNames();
  } catch (const ExtractorError& e) {
    throw ExtractorError(std::string("Error parsing response JSON: ") + e.what());
  }
  OpenSpool();
  const Json type_doc(type);
  for (const Json* d : {&type_doc, &parent_id}) {
    spool_buf_.clear();
    Json::to_cbor(*d, spool_buf_);
    SpoolDocument(spool_buf_.data(), spool_buf_.size(), false);
  }
  // The answer is the batch: Finish's Json parse of its text gives the records Process gets.
  SpoolDocument(reinterpret_cast<const uint8_t*>(doc.body().data()), doc.body().size(), true);
  if (!streaming_) return;
  if (structure_.generation() != streamed_generation_) {
    StopStreaming();  // as StreamBatch
    return;
  }
  StreamSimd(records, type, record_digests);
}

// AnalyzeArray, when it would change nothing.
bool JsonFlattener::BatchAnalysisHoldsSimd(element array, const NodePath& path_in) const {
  NodePath path = path_in;
  path.push_back(kArray);
  simdjson::dom::array records = SimdArray(array);
  const size_t size = records.size();
  if (size == 0) return false;
  if (size == 1 && records.at(0).value_unsafe().type() == element_type::NULL_VALUE) {
    return false;  // "No data returned"
  }
  if (shape_generation_ != structure_.generation() || shape_path_ != path) {
    const Json* node = SavedNode(path);
    shape_.reset(node != nullptr ? new ShapeNode(*node) : nullptr);
    shape_path_ = path;
    shape_generation_ = structure_.generation();
  }
  const ShapeNode* items = shape_.get();
  const char* old_type = nullptr;
  for (element row : records) {
    const char* held = nullptr;
    if (!AnalysisHoldsSimd(row, items, true, &held)) return false;
    if (old_type != nullptr && std::strcmp(held, old_type) != 0 && std::strcmp(held, "null") != 0 &&
        std::strcmp(old_type, "null") != 0) {
      return false;  // AnalyzeArray throws
    }
    old_type = held;
  }
  return true;
}

// AnalysisHolds.
bool JsonFlattener::AnalysisHoldsSimd(element item, const ShapeNode* node, bool in_array,
                                      const char** type) const {
  if (node == nullptr) return false;
  switch (item.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object object = SimdObject(item);
      if (SimdHasDuplicateKey(object)) return false;
      *type = "object";
      size_t position = 0;
      for (simdjson::dom::key_value_pair field : object) {
        const char* child_type = nullptr;
        if (!AnalysisHoldsSimd(field.value, node->Child(field.key, position++), field.key == kArray,
                               &child_type)) {
          return false;
        }
      }
      break;
    }
    case element_type::NULL_VALUE:
      *type = "null";
      break;
    case element_type::ARRAY: {
      if (in_array) return false;  // logged ("Converting nested array")
      *type = "array";
      const ShapeNode* items = node->Child(kArray, 0);
      if (items == nullptr) return false;
      simdjson::dom::array array = SimdArray(item);
      if (array.size() == 0 && !items->TypeHolds("null")) return false;
      const char* old_type = nullptr;
      for (element row : array) {
        const char* new_type = nullptr;
        if (!AnalysisHoldsSimd(row, items, true, &new_type)) return false;
        if (old_type != nullptr && std::strcmp(new_type, old_type) != 0 &&
            std::strcmp(new_type, "null") != 0 && std::strcmp(old_type, "null") != 0) {
          return false;  // AnalyzeArray throws
        }
        old_type = new_type;
      }
      break;
    }
    default:
      *type = "scalar";
  }
  return node->TypeHolds(*type);
}

// StreamBatch.
void JsonFlattener::StreamSimd(element records, const std::string& type,
                               const RecordDigests* digests) {
  SwapStreamed();
  try {
    const std::vector<std::string>* given = digests != nullptr && *digests ? (*digests)() : nullptr;
    if (given != nullptr && given->size() != SimdArray(records).size()) {
      given = nullptr;
    }
    ParseSimd(records, NodePath{type, kArray}, nullptr, given, nullptr);
    ++parsed_batches_streamed_;
  } catch (...) {
    // Finish's pass over the spool meets the same error, after what the later batches bring.
    SwapStreamed();
    StopStreaming();
    return;
  }
  SwapStreamed();
}

// Parse: `items` is an array, or a single item (a value Parse would wrap into one).
void JsonFlattener::ParseSimd(element items, const NodePath& path, const std::string* parent_id,
                              const std::vector<std::string>* digests,
                              std::shared_ptr<const RowPlan>* last_plan) {
  // ValidateParentId of a string id (never empty: "<path>_<md5>"): the JSON_parentId column.
  std::vector<std::pair<std::string, Json>> parent_pairs;
  if (parent_id != nullptr) {
    parent_pairs.emplace_back(structure_.GetParentTargetName("JSON_parentId"), Json(*parent_id));
  }
  CsvTable& file = CreateCsvFile(TableTypeOf(path), path, parent_pairs);
  std::vector<std::pair<std::string, Json>> parent_cols;
  for (const auto& p : parent_pairs) parent_cols.emplace_back(p.first, Json("string"));
  std::shared_ptr<const RowPlan> own_plan;
  if (last_plan == nullptr) last_plan = &own_plan;
  if (!parent_pairs.empty()) digests = nullptr;
  SimdRow& row_out = ScratchRow(path.size());
  SimdItem item;
  if (!parent_pairs.empty()) {
    item.parent_name = &parent_pairs[0].first;
    item.parent_value = parent_id;
  }
  auto one = [&](element value, size_t index) {
    const element_type t = value.type();
    // The analysis sends an array in an array to Parse (it logs a warning).
    if (t == element_type::ARRAY) throw ExtractorError("an array item is an array");
    item.value = value;
    item.is_object = t == element_type::OBJECT;
    if (item.is_object && item.parent_name != nullptr &&
        SimdObject(value).at_key(*item.parent_name).error() == simdjson::SUCCESS) {
      throw ExtractorError("a record has its parent column");  // Parse overwrites it
    }
    const std::string* digest = nullptr;
    if (digests != nullptr && item.is_object && !(*digests)[index].empty()) {
      digest = &(*digests)[index];
    }
    ParseRowSimd(item, path, parent_cols, "", row_out, digest, last_plan);
    file.WriteCells(row_out.cells);
  };
  if (items.type() == element_type::ARRAY) {
    size_t index = 0;
    for (element value : SimdArray(items)) one(value, index++);
  } else {
    one(items, 0);
  }
}

// ParseRow.
void JsonFlattener::ParseRowSimd(const SimdItem& row, const NodePath& path,
                                 const std::vector<std::pair<std::string, Json>>& parent_cols,
                                 const std::string& outer_hash, SimdRow& out,
                                 const std::string* digest,
                                 std::shared_ptr<const RowPlan>* last_plan) {
  std::shared_ptr<const RowPlan> plan = PlanFor(path, parent_cols, last_plan);
  out.Init(plan->layout);
  std::string array_parent_id;
  if (plan->needs_parent_id) {
    array_parent_id.reserve(plan->clean_path.size() + 33);
    array_parent_id += plan->clean_path;
    array_parent_id.push_back('_');
    if (digest != nullptr && outer_hash.empty()) {
      array_parent_id += *digest;
    } else {
      std::string serialized;
      row.Serialize(serialized);
      serialized += outer_hash;
      array_parent_id += Md5Hex(serialized);
    }
  }
  for (const ColumnPlan& column : plan->columns) {
    ParseFieldSimd(row, out, array_parent_id, column, plan->generation, path);
  }
}

// ParseField.
void JsonFlattener::ParseFieldSimd(const SimdItem& row, SimdRow& csv_row,
                                   const std::string& array_parent_id, const ColumnPlan& c,
                                   uint64_t plan_generation, const NodePath& path) {
  const bool fresh = structure_.generation() == plan_generation;
  auto child_path = [&]() {
    NodePath child = path;
    child.push_back(c.name);
    return child;
  };
  // The slot of the column's header, or with `fallback` of the path's when it has none.
  auto slot_of = [&](bool fallback) {
    if (fresh) {
      return fallback ? csv_row.SlotOf(c.fallback_slot, c.fallback)
                      : csv_row.SlotOf(c.header_slot, c.header);
    }
    std::string name = structure_.GetNodeProperty(child_path(), "headerNames");
    if (fallback && name.empty()) name = structure_.GetNodeProperty(path, "headerNames");
    return csv_row.SlotOf(csv_row.layout->Slot(name), name);
  };

  element value;
  const SimdItem::Field field = row.Find(c.name, &value);
  if (field == SimdItem::Field::kParent) {
    csv_row.cells[slot_of(true)] = *row.parent_value;
    return;
  }
  const bool is_set = field == SimdItem::Field::kValue && value.type() != element_type::NULL_VALUE;
  if (!is_set || (value.type() == element_type::ARRAY && SimdArray(value).size() == 0)) {
    if (!c.is_object) csv_row.cells[slot_of(true)] = std::string_view();
    return;
  }
  if (c.is_array) {
    csv_row.SetOwned(slot_of(false), array_parent_id);
    NodePath items = child_path();
    items.push_back(kArray);
    ParseSimd(value, items, &array_parent_id, nullptr, &c.rows_plan);
  } else if (c.is_object) {
    if (value.type() != element_type::OBJECT) {
      throw ExtractorError("Data parse error in '" + c.name + "' - 'object' was expected!");
    }
    SimdItem inner;
    inner.value = value;
    inner.is_object = true;
    SimdRow& child_row = ScratchRow(path.size() + 1);
    ParseRowSimd(inner, child_path(), {}, array_parent_id, child_row, nullptr, &c.rows_plan);
    for (size_t i = 0; i < child_row.cells.size(); ++i) {
      const std::string& column = child_row.layout->columns[i];
      const size_t slot = csv_row.SlotOf(csv_row.layout->Slot(column), column);
      const std::string_view cell = child_row.cells[i];
      if (!cell.empty() && cell.data() == child_row.owned[i].data()) {
        csv_row.SetOwned(slot, cell);  // the child row is reused: its text is copied
      } else {
        csv_row.cells[slot] = cell;
      }
    }
  } else if (SimdIsScalar(value)) {
    const size_t slot = slot_of(true);
    if (value.type() == element_type::STRING) {
      csv_row.cells[slot] = value.get_string().value_unsafe();
    } else {
      std::string& text = csv_row.owned[slot];
      text.clear();
      SimdPhpToString(value, text);
      csv_row.cells[slot] = text;
    }
  } else {
    // An array or object where the structure has a scalar: the analysis sends these to Parse.
    throw ExtractorError("Data parse error in '" + c.name + "' - unexpected array or object");
  }
}

}  // namespace swan::connectors
