// Read-only SQL over a project's tables. Each query runs in its own DuckDB instance that can
// reach only the segment files of the tables it may read (external access off, configuration
// locked), with a row limit and a time limit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "engine/duckdb.h"

namespace swan::query {

constexpr int64_t kSqlRowsMax = 100000;
constexpr int64_t kSqlRowsDefault = 1000;
constexpr int64_t kSqlTimeoutMsMax = 3600 * 1000;
constexpr int64_t kSqlTimeoutMsDefault = 30000;

// A table visible to the query as a view named by its full id ("in.sales.orders").
struct SqlTable {
  std::string full_id;
  std::string select_sql;          // the version's rows (may include _swan_ts)
  std::vector<std::string> files;  // the segment files it reads
};

struct SqlRequest {
  std::string sql;
  int64_t row_limit = kSqlRowsDefault;
  int64_t timeout_ms = kSqlTimeoutMsDefault;
};

struct SqlResult {
  engine::Rows rows;
  bool truncated = false;
  int64_t elapsed_ms = 0;
};

class SqlRunner {
 public:
  // Starts a thread that keeps a few blank DuckDB instances ready: opening one costs more than
  // many queries, so a query takes a ready instance and locks it down to its own files.
  SqlRunner(std::string memory_limit, int threads);
  ~SqlRunner();

  // Runs the query; at most row_limit rows are returned (truncated says there were more).
  Result<SqlResult> Run(const std::vector<SqlTable>& tables, const SqlRequest& request);
  // Writes the query's whole result to a Parquet file (for SQL into a table); returns rows.
  Result<int64_t> RunToParquet(const std::vector<SqlTable>& tables, const SqlRequest& request,
                               const std::string& out_path);

 private:
  template <typename T, typename F>
  Result<T> WithSandbox(const std::vector<SqlTable>& tables, const SqlRequest& request,
                        const std::vector<std::string>& extra_paths, F&& body);

  Result<std::unique_ptr<engine::Database>> OpenDatabase() const;
  Result<std::unique_ptr<engine::Database>> TakeDatabase();
  void Retire(std::unique_ptr<engine::Database> db);
  void RefillLoop();

  static constexpr size_t kSpareDatabases = 2;
  std::string memory_limit_;
  int threads_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<engine::Database>> spares_;
  std::vector<std::unique_ptr<engine::Database>> retired_;  // used instances, closed off-path
  bool stopping_ = false;
  std::thread refill_;
};

}  // namespace swan::query
