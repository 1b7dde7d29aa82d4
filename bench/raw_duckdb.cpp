// The benchmark baseline: runs SQL on a plain in-process DuckDB (same library and settings Swan
// uses, no Swan code path around it) and prints the wall time of each statement in milliseconds.
//
//   swan_raw_duckdb "<sql>" ["<sql>" ...]   ->  one line per statement: "<ms>\t<first value>"
#include <chrono>
#include <cstdio>

#include "engine/duckdb.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: swan_raw_duckdb SQL [SQL ...]\n");
    return 2;
  }
  auto db = swan::engine::Database::Open({});
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }
  auto conn = swan::engine::Connection::Open(**db);
  if (!conn.ok()) return 1;
  for (int i = 1; i < argc; ++i) {
    auto start = std::chrono::steady_clock::now();
    std::string sql = argv[i];
    bool is_query =
        sql.rfind("SELECT", 0) == 0 || sql.rfind("WITH", 0) == 0 || sql.rfind("FROM", 0) == 0;
    swan::Result<swan::engine::Rows> rows = swan::engine::Rows{};
    if (is_query) {
      rows = (*conn)->Query(sql);
    } else if (swan::Status st = (*conn)->Execute(sql); !st.ok()) {
      rows = st;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!rows.ok()) {
      std::fprintf(stderr, "error: %s\n", rows.status().message().c_str());
      return 1;
    }
    std::string first;
    if (!rows->rows.empty() && !rows->rows[0].empty() && rows->rows[0][0])
      first = *rows->rows[0][0];
    std::printf("%.1f\t%s\n", ms, first.c_str());
  }
  return 0;
}
