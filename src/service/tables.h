// Services: tables — list, create, delete, import, export, preview, versions, restore, compact.
// Each call checks the caller's rights; each change commits its audit event with the new version
// (TableStore's CommitHook), so neither exists without the other.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "service/caller.h"
#include "service/runtime.h"
#include "storage/load_options.h"

namespace swan::service {

struct TableWithHead {
  catalog::Table table;
  catalog::TableVersion head;
};

// Tables of the project the caller may read; of one bucket when bucket_id is not empty.
Result<std::vector<TableWithHead>> ListTables(Runtime& rt, const Caller& caller,
                                              const catalog::Project& project,
                                              const std::string& bucket_id);
Result<TableWithHead> GetTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                               const std::string& table_id);

struct CreateTableRequest {
  std::string table_id;  // "in.sales.orders"; the bucket is created when missing
  std::vector<catalog::ColumnDef> columns;
  std::vector<std::string> primary_key;
};
Result<TableWithHead> CreateTable(Runtime& rt, const Caller& caller,
                                  const catalog::Project& project,
                                  const CreateTableRequest& request);
Status DeleteTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                   const std::string& table_id);

// Checks that the caller may write `table_id` before its body is received.
Status CheckImportAllowed(const Caller& caller, const std::string& table_id);
// Loads request.file_path (a server-local file) into `table_id`, creating the bucket and the
// table when missing. `details` are added to the audit event (e.g. bytes received).
Result<storage::WriteResult> ImportTable(Runtime& rt, const Caller& caller,
                                         const catalog::Project& project,
                                         const std::string& table_id,
                                         storage::ImportRequest request,
                                         const nlohmann::json& details = nlohmann::json::object());

// Writes the selected rows to `out_path`; returns the table (for naming the download).
Result<catalog::Table> ExportTable(Runtime& rt, const Caller& caller,
                                   const catalog::Project& project, const std::string& table_id,
                                   const storage::ReadRequest& request,
                                   storage::ExportFormat format, bool gzip,
                                   const std::string& out_path);

struct Preview {
  engine::Rows rows;  // at most the limit asked
  bool truncated = false;
  std::map<std::string, std::string> labels;  // column name -> label, where it has one
};
// request.limit: default limits::kPreviewRowsDefault, at most limits::kPreviewRowsMax.
Result<Preview> PreviewTable(Runtime& rt, const Caller& caller, const catalog::Project& project,
                             const std::string& table_id, storage::ReadRequest request);

Result<std::vector<catalog::TableVersion>> ListVersions(Runtime& rt, const Caller& caller,
                                                        const catalog::Project& project,
                                                        const std::string& table_id);
Result<storage::WriteResult> RestoreTable(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& table_id, int64_t number);
Result<storage::WriteResult> CompactTable(Runtime& rt, const Caller& caller,
                                          const catalog::Project& project,
                                          const std::string& table_id);

}  // namespace swan::service
