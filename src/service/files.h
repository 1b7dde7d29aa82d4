// Services: the project's file storage (files jobs wrote to out/files), listed by tags and
// downloaded. A token of another project sees none of them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "service/caller.h"
#include "service/runtime.h"

namespace swan::service {

Result<std::vector<catalog::StoredFile>> ListFiles(Runtime& rt, const Caller& caller,
                                                   const catalog::Project& project,
                                                   const std::vector<std::string>& tags, int limit);
// A copy of the file's bytes at a fresh temporary path (the caller sends and deletes it).
Result<std::string> CopyFileForDownload(Runtime& rt, const Caller& caller,
                                        const catalog::Project& project, int64_t file_id,
                                        catalog::StoredFile* file);
nlohmann::json FileJson(const catalog::StoredFile& f);

}  // namespace swan::service
