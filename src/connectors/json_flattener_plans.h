// The row plans JsonFlattener keeps (json_flattener.cpp makes them; json_flattener_simd.cpp
// reads them too): what ParseRow asks the structure, answered once per structure generation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/json_flattener.h"

namespace swan::connectors {

// The structure's name of an array's items node, and the column of a scalar item's row.
extern const char* const kArray;
extern const char* const kDataColumn;

// A structure node as AnalysisHoldsSimd reads it, compiled once per structure generation: its
// nodeType and its object children under the key a record has for them (kArray for the items
// node). Records mostly list their fields in the structure's order: a lookup tries the child at
// the field's position first.
struct JsonFlattener::ShapeNode {
  std::string type;  // "" when the node has none
  std::vector<std::pair<std::string, std::unique_ptr<ShapeNode>>> children;

  explicit ShapeNode(const Json& node) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "nodeType" && it->is_string()) type = it->get<std::string>();
      if (!it->is_object() || (it.key() != kArray && !it.key().starts_with('_'))) continue;
      children.emplace_back(JsonStructure::DecodeNodeName(it.key()),
                            std::make_unique<ShapeNode>(*it));
    }
  }
  const ShapeNode* Child(std::string_view key, size_t position) const {
    if (position < children.size() && children[position].first == key)
      return children[position].second.get();
    for (const auto& [name, child] : children) {
      if (name == key) return child.get();
    }
    return nullptr;
  }
  // NodeTypeHolds.
  bool TypeHolds(std::string_view t) const {
    if (type.empty()) return false;
    return type == t || (t == "null" && (type == "scalar" || type == "object"));
  }
};

// The columns of one output row (a header list without its repeats) and where each sits.
struct JsonFlattener::RowLayout {
  std::vector<std::string> columns;
  std::unordered_map<std::string, size_t> index;

  explicit RowLayout(const std::vector<std::string>& headers) {
    for (const auto& h : headers) {
      if (index.count(h)) continue;
      index.emplace(h, columns.size());
      columns.push_back(h);
    }
  }
  // The slot of `column`, or -1.
  ptrdiff_t Slot(const std::string& column) const {
    auto it = index.find(column);
    return it == index.end() ? -1 : static_cast<ptrdiff_t>(it->second);
  }
};

// One column ParseRow visits, with the header names ParseField would look up for it.
struct JsonFlattener::ColumnPlan {
  std::string name;
  std::string type;
  std::string header;      // headerNames of <path>.<name>
  std::string fallback;    // header, or the headerNames of <path> when header is ""
  bool is_array = false;   // type == "array"
  bool is_object = false;  // type == "object"
  ptrdiff_t header_slot = -1;
  ptrdiff_t fallback_slot = -1;
  // ParseRow's last plan for the rows this column makes (its object's, its array items'): the
  // same path and parent column names for every record.
  mutable std::shared_ptr<const RowPlan> rows_plan;
};

struct JsonFlattener::RowPlan {
  uint64_t generation = 0;  // the structure's generation the lookups were made in
  bool kept = false;        // GetRowPlan keeps it: making it changed nothing
  std::shared_ptr<const RowLayout> layout;
  std::vector<ColumnPlan> columns;
  // The row's own id (JSON_parentId of its children) is only read by array and object columns.
  bool needs_parent_id = false;
  std::string clean_path;
};

// A row ParseRowSimd fills: its cells' text, each a part of the parsed answer or of `owned`.
struct JsonFlattener::SimdRow {
  std::shared_ptr<const RowLayout> layout;
  std::vector<std::string_view> cells;
  std::vector<std::string> owned;  // by slot: the text made for a cell (numbers, ids)

  void Init(std::shared_ptr<const RowLayout> l) {
    layout = std::move(l);
    cells.assign(layout->columns.size(), std::string_view());
    if (owned.size() < cells.size()) owned.resize(cells.size());
  }
  // A slot of the row (Row::SetAt's error for a column the row does not have).
  size_t SlotOf(ptrdiff_t slot, const std::string& column) const {
    if (slot < 0) {
      throw ExtractorError("Error assigning a value to a non-existing column '" + column + "'!");
    }
    return static_cast<size_t>(slot);
  }
  // Sets a cell to a text kept by the row.
  void SetOwned(size_t slot, std::string_view text) {
    owned[slot].assign(text.data(), text.size());
    cells[slot] = owned[slot];
  }
};

}  // namespace swan::connectors
