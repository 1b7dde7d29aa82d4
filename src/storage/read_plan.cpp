#include "storage/read_plan.h"

#include <set>

#include "engine/duckdb.h"

namespace swan::storage {

using engine::QuoteIdent;
using engine::QuoteLiteral;

namespace {

std::string ParquetList(const std::string& data_dir,
                        const std::vector<const catalog::Segment*>& segs) {
  std::string out = "read_parquet([";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) out += ", ";
    out += QuoteLiteral(data_dir + "/" + segs[i]->path);
  }
  return out + "]" + (segs.size() > 1 ? ", union_by_name = true)" : ")");
}

// The projection onto the version's schema: columns a segment lacks are typed NULLs.
std::string Projection(const catalog::TableVersion& v, const std::set<std::string>& present,
                       const std::string& alias) {
  std::string out;
  for (const auto& c : v.columns) {
    if (!out.empty()) out += ", ";
    if (present.count(c.name)) {
      out += alias + QuoteIdent(c.name);
    } else {
      out += "CAST(NULL AS " + c.type + ") AS " + QuoteIdent(c.name);
    }
  }
  if (!out.empty()) out += ", ";
  return out + alias + "_swan_ts";
}

std::set<std::string> ColumnsOf(const std::vector<const catalog::Segment*>& segs) {
  std::set<std::string> out;
  for (const auto* s : segs) {
    for (const auto& c : s->columns) out.insert(c.name);
  }
  return out;
}

}  // namespace

std::vector<std::string> SegmentPaths(const std::string& data_dir,
                                      const catalog::TableVersion& version) {
  std::vector<std::string> out;
  for (const auto& s : version.segments) out.push_back(data_dir + "/" + s.path);
  return out;
}

std::string VersionSelectSql(const std::string& data_dir, const catalog::TableVersion& v,
                             const std::vector<std::string>& primary_key) {
  if (v.segments.empty()) {
    // An empty table: the schema with no rows.
    std::string out = "SELECT ";
    for (const auto& c : v.columns)
      out += "CAST(NULL AS " + c.type + ") AS " + QuoteIdent(c.name) + ", ";
    return out + "CAST(NULL AS TIMESTAMP) AS _swan_ts WHERE false";
  }
  bool any_replacing = false;
  for (size_t i = 1; i < v.segments.size(); ++i) any_replacing |= v.segments[i].replaces_keys;
  if (primary_key.empty() || !any_replacing) {
    std::vector<const catalog::Segment*> all;
    for (const auto& s : v.segments) all.push_back(&s);
    return "SELECT " + Projection(v, ColumnsOf(all), "") + " FROM " + ParquetList(data_dir, all);
  }
  // Merge on read: a row of segment i is live unless a later key-replacing segment has its key.
  std::string out;
  for (size_t i = 0; i < v.segments.size(); ++i) {
    std::vector<const catalog::Segment*> self = {&v.segments[i]};
    std::vector<const catalog::Segment*> later;
    for (size_t j = i + 1; j < v.segments.size(); ++j) {
      if (v.segments[j].replaces_keys) later.push_back(&v.segments[j]);
    }
    if (!out.empty()) out += "\nUNION ALL\n";
    out += "SELECT " + Projection(v, ColumnsOf(self), "s.") + " FROM " +
           ParquetList(data_dir, self) + " AS s";
    if (!later.empty()) {
      std::string keys, on;
      for (const auto& k : primary_key) {
        if (!keys.empty()) keys += ", ";
        keys += QuoteIdent(k);
        if (!on.empty()) on += " AND ";
        on += "s." + QuoteIdent(k) + " IS NOT DISTINCT FROM d." + QuoteIdent(k);
      }
      out += " ANTI JOIN (SELECT " + keys + " FROM " + ParquetList(data_dir, later) + ") AS d ON " +
             on;
    }
  }
  return out;
}

}  // namespace swan::storage
