// The catalog's entities. Times are Unix epoch milliseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swan::catalog {

struct Project {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t main_branch_id = 0;
  int64_t created_at = 0;
};

struct Bucket {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t branch_id = 0;
  std::string stage;  // "in" | "out"
  std::string name;
  std::string description;
  int64_t created_at = 0;
  std::string FullId() const { return stage + "." + name; }
};

struct ColumnDef {
  std::string name;
  std::string type;     // DuckDB type name
  std::string label{};  // the source's own text for the column ("Product Name"); empty = name
  bool operator==(const ColumnDef&) const = default;
};

// An immutable Parquet file. `path` is relative to the data directory.
struct Segment {
  int64_t id = 0;  // 0 = not yet in the catalog
  int64_t project_id = 0;
  std::string path;
  int64_t row_count = 0;
  int64_t bytes = 0;
  // An upsert segment's rows replace rows with the same primary key in earlier segments.
  bool replaces_keys = false;
  std::vector<ColumnDef> columns;
  int64_t created_at = 0;
};

struct TableVersion {
  int64_t id = 0;
  int64_t table_id = 0;
  int64_t number = 0;  // 1, 2, 3 ... per table
  std::string operation;
  std::vector<ColumnDef> columns;
  int64_t row_count = 0;
  int64_t bytes = 0;
  std::optional<int64_t> token_id;
  std::string token_description;
  int64_t created_at = 0;
  std::vector<Segment> segments;  // in read order (later segments win on key conflicts)
};

struct Table {
  int64_t id = 0;
  int64_t bucket_id = 0;
  std::string bucket_full_id;  // "in.sales"
  std::string name;
  std::vector<std::string> primary_key;
  int64_t head_version_id = 0;
  int64_t created_at = 0;
  std::string FullId() const { return bucket_full_id + "." + name; }
};

struct TokenScope {
  std::string bucket;  // full bucket id, "in.sales"
  std::string access;  // "read" | "write"
  bool operator==(const TokenScope&) const = default;
};

struct Token {
  int64_t id = 0;
  std::optional<int64_t> project_id;
  std::string project_name;
  std::string kind;  // "admin" | "master" | "scoped"
  std::string description;
  std::vector<TokenScope> scopes;
  std::optional<int64_t> expires_at;
  bool revoked = false;
  int64_t created_at = 0;
};

struct Event {
  int64_t id = 0;
  std::optional<int64_t> project_id;
  std::optional<int64_t> token_id;
  std::string action;  // "table.import", ...
  std::string object;  // "in.sales.orders", ...
  std::string details_json = "{}";
  std::string client_address;
  int64_t created_at = 0;
};

// What a writer proposes as a table's next version.
struct NewVersion {
  std::string operation;
  std::vector<ColumnDef> columns;
  int64_t row_count = 0;
  std::optional<int64_t> token_id;
  // Segments in read order: id != 0 reuses a catalog segment, id == 0 registers a new file.
  std::vector<Segment> segments;
};

struct GcReport {
  int64_t deleted_versions = 0;
  std::vector<std::string> deleted_segment_paths;  // rows already removed; files to unlink
  int64_t deleted_bytes = 0;
};

}  // namespace swan::catalog
