#include "storage/schema.h"

#include <algorithm>
#include <set>

#include "common/names.h"
#include "engine/duckdb.h"

namespace swan::storage {

using catalog::ColumnDef;

namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

int IntegerRank(const std::string& t) {
  static const char* kOrder[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"};
  for (int i = 0; i < 5; ++i) {
    if (t == kOrder[i]) return i;
  }
  return -1;
}

}  // namespace

std::string PrimaryKeyText(const std::vector<std::string>& pk) {
  std::string out = "[";
  for (size_t i = 0; i < pk.size(); ++i) out += (i ? "," : "") + pk[i];
  return out + "]";
}

bool SameType(const std::string& a, const std::string& b) { return Upper(a) == Upper(b); }

bool Widens(const std::string& from_raw, const std::string& to_raw) {
  std::string from = Upper(from_raw), to = Upper(to_raw);
  if (from == to || to == "VARCHAR") return true;
  int fi = IntegerRank(from), ti = IntegerRank(to);
  if (fi >= 0 && ti >= 0) return fi <= ti;
  if (fi >= 0 && to == "DOUBLE") return true;
  if (from == "FLOAT" && to == "DOUBLE") return true;
  if (from == "DATE" && to == "TIMESTAMP") return true;
  return false;
}

Status CheckPrimaryKey(const std::vector<std::string>& pk, const std::vector<ColumnDef>& columns) {
  std::set<std::string> seen;
  for (const auto& k : pk) {
    if (!seen.insert(k).second) {
      return Status::InvalidArgument("primary key column '" + k + "' is listed twice")
          .WithDetail("field", "primary_key");
    }
    bool found = std::any_of(columns.begin(), columns.end(),
                             [&](const ColumnDef& c) { return c.name == k; });
    if (!found) {
      return Status::InvalidArgument("primary key column '" + k + "' is not a column of the data")
          .WithDetail("field", "primary_key");
    }
  }
  return Status::Ok();
}

Status ValidateInputColumns(const std::vector<ColumnDef>& input, const std::string& display_name) {
  if (input.empty())
    return Status::InvalidArgument(display_name + ": the file has no columns")
        .WithDetail("file", display_name);
  std::set<std::string> seen;
  for (const auto& c : input) {
    Status st = names::ValidateColumn(c.name);
    if (!st.ok())
      return st.Prefix(display_name).WithDetail("file", display_name).WithDetail("column", c.name);
    if (!seen.insert(c.name).second) {
      return Status::InvalidArgument(display_name + ": column '" + c.name + "' appears twice")
          .WithDetail("file", display_name)
          .WithDetail("column", c.name);
    }
  }
  return Status::Ok();
}

Result<std::pair<std::string, std::vector<ColumnDef>>> InputProjection(
    const std::vector<ColumnDef>& input, const std::vector<ColumnDef>& table,
    const std::string& display_name) {
  std::string select;
  std::vector<ColumnDef> out;
  for (const auto& c : input) {
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const ColumnDef& t) { return t.name == c.name; });
    std::string ident = engine::QuoteIdent(c.name);
    if (!select.empty()) select += ", ";
    if (it == table.end() || SameType(it->type, c.type)) {
      select += ident;
      out.push_back(it == table.end() ? c : *it);
    } else if (Widens(c.type, it->type)) {
      select += "CAST(" + ident + " AS " + it->type + ") AS " + ident;
      out.push_back(*it);
    } else {
      return Status::Conflict(display_name + ": column " + c.name + " is " + c.type +
                              " in the file but " + it->type + " in the table")
          .WithDetail("file", display_name)
          .WithDetail("column", c.name);
    }
  }
  return std::make_pair(select, out);
}

Result<std::vector<ColumnDef>> MergeColumns(const std::vector<ColumnDef>& table,
                                            const std::vector<ColumnDef>& input) {
  std::vector<ColumnDef> out = table;
  for (const auto& c : input) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const ColumnDef& t) { return t.name == c.name; });
    if (it == out.end()) {
      out.push_back(c);
    } else if (!SameType(it->type, c.type)) {
      return Status::Conflict("column " + c.name + " is " + it->type + " in the table but " +
                              c.type + " in the load")
          .WithDetail("column", c.name);
    }
  }
  return out;
}

}  // namespace swan::storage
