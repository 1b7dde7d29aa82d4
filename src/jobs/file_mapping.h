// Keboola's file input and output mappings: files a job gets in in/files (storage.input.files[],
// chosen by tags) and files it leaves in out/files (kept in the project's file storage with
// their tags, from their manifests and storage.output.files[]).
//
// Thread-safety: free functions over one job's context.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobs/job_context.h"

namespace swan::jobs {

// Copies (hard-links when it can) each selected file to in/files/<id>_<name> with its manifest;
// returns the usage records ({file, id, bytes}).
Result<nlohmann::json> WriteInputFiles(JobContext& ctx, const nlohmann::json& storage,
                                       const std::string& files_dir);

// The out/files of a finished job, moved into the file storage but not yet in the catalog: the
// job's final commit registers them (RegisterOutputFiles); DropOutputFiles deletes them when
// the job fails.
// Where a project's files are kept, relative to the data directory ("files/p<id>"). Project ids
// are never reused, so the folder is the project's alone and goes with it.
std::string ProjectFilesDir(int64_t project_id);

struct StagedFiles {
  std::vector<catalog::StoredFile> files;
};
Status StageOutputFiles(JobContext& ctx, const nlohmann::json& storage,
                        const std::string& files_dir, StagedFiles* out);
Status RegisterOutputFiles(catalog::Catalog& tx, const StagedFiles& staged);
void DropOutputFiles(JobContext& ctx, const StagedFiles& staged);

}  // namespace swan::jobs
