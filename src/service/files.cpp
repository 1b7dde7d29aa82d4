#include "service/files.h"

#include <filesystem>

#include "common/fs.h"
#include "service/access.h"

namespace swan::service {

Result<std::vector<catalog::StoredFile>> ListFiles(Runtime& rt, const Caller& caller,
                                                   const catalog::Project& project,
                                                   const std::vector<std::string>& tags,
                                                   int limit) {
  // Files are not in buckets: a scoped token's rights do not reach them.
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  if (limit < 1 || limit > 1000)
    return Status::InvalidArgument("limit must be between 1 and 1000").WithDetail("field", "limit");
  return rt.catalog().ListFiles(project.id, tags, limit);
}

Result<std::string> CopyFileForDownload(Runtime& rt, const Caller& caller,
                                        const catalog::Project& project, int64_t file_id,
                                        catalog::StoredFile* file) {
  RETURN_IF_ERROR(RequireProjectManage(caller.token, project));
  ASSIGN_OR_RETURN(*file, rt.catalog().GetFile(project.id, file_id));
  const std::string copy = rt.store().NewTempPath(".download");
  std::error_code ec;
  std::filesystem::copy_file(rt.data_dir() + "/" + file->path, copy, ec);
  if (ec)
    return Status::Internal("cannot read file " + std::to_string(file_id) + ": " + ec.message());
  return copy;
}

nlohmann::json FileJson(const catalog::StoredFile& f) {
  nlohmann::json j = {{"id", f.id},
                      {"name", f.name},
                      {"tags", f.tags},
                      {"size_bytes", f.size_bytes},
                      {"is_permanent", f.is_permanent},
                      {"created_at", fs::IsoTime(f.created_at)}};
  j["job_id"] = f.job_id ? nlohmann::json(*f.job_id) : nlohmann::json(nullptr);
  return j;
}

}  // namespace swan::service
