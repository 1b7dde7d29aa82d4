#include "jobs/file_mapping.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fs.h"
#include "jobs/manifest.h"

namespace swan::jobs {

using nlohmann::json;

namespace {

constexpr int kDefaultFileLimit = 10;  // Keboola's default for a tag query
constexpr int kFileLimitMax = 1000;

Status MappingError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + ": " + what).WithDetail("field", field);
}

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& s : v)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

const json& Files(const json& storage, const char* direction) {
  static const json kEmpty = json::array();
  if (!storage.is_object() || !storage.contains(direction)) return kEmpty;
  const json& d = storage[direction];
  if (!d.is_object() || !d.contains("files") || !d["files"].is_array()) return kEmpty;
  return d["files"];
}

// A name that stays one plain file name in a folder.
std::string SafeName(std::string name) {
  for (char& c : name)
    if (c == '/' || c == '\0') c = '_';
  if (name.empty() || name == "." || name == "..") name = "file";
  return name;
}

}  // namespace

Result<json> WriteInputFiles(JobContext& ctx, const json& storage, const std::string& files_dir) {
  json usage = json::array();
  const json& entries = Files(storage, "input");
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = entries[i];
    const std::string field = "storage.input.files[" + std::to_string(i) + "]";
    if (!e.is_object()) return MappingError(field, "must be an object");
    if (e.contains("query") || e.contains("source")) {
      return MappingError(field, "Swan selects files by `tags` only (no query or source search)");
    }
    const std::vector<std::string> tags = Strings(e.value("tags", json::array()));
    if (tags.empty()) return MappingError(field + ".tags", "must list at least one tag");
    int limit = kDefaultFileLimit;
    if (e.contains("limit")) {
      if (!e["limit"].is_number_integer() || e["limit"].get<int64_t>() < 1 ||
          e["limit"].get<int64_t>() > kFileLimitMax)
        return MappingError(field + ".limit", "must be from 1 to " + std::to_string(kFileLimitMax));
      limit = static_cast<int>(e["limit"].get<int64_t>());
    }
    ASSIGN_OR_RETURN(auto files, ctx.catalog.ListFiles(ctx.project.id, tags, limit));
    for (const auto& f : files) {
      InputFileInfo info;
      info.id = f.id;
      info.name = f.name;
      info.created = KeboolaTimestamp(
          std::chrono::system_clock::time_point(std::chrono::milliseconds(f.created_at)));
      info.tags = f.tags;
      info.size_bytes = f.size_bytes;
      info.max_age_days = f.is_permanent ? 0 : 15;
      const std::string dest = files_dir + "/" + InputFileName(info);
      if (ctx.env.FileExists(dest)) continue;  // two entries chose the same file
      const std::string src = ctx.data_dir + "/" + f.path;
      // A hard link shares the bytes read-only in spirit: the component could write through it,
      // so copy instead (files are usually small; the copy is the price of isolation).
      std::error_code ec;
      std::filesystem::copy_file(src, dest, ec);
      if (ec)
        return Status::Internal("cannot copy file " + std::to_string(f.id) + ": " + ec.message());
      std::ofstream m(dest + ".manifest", std::ios::binary);
      m << InputFileManifest(info).dump(2);
      if (!m.flush()) return Status::Internal("cannot write " + dest + ".manifest");
      ctx.log.Info("input file " + std::to_string(f.id) + " (" + f.name + ") into in/files/" +
                   InputFileName(info));
      usage.push_back({{"file", f.name}, {"id", f.id}, {"bytes", f.size_bytes}});
    }
  }
  return usage;
}

std::string ProjectFilesDir(int64_t project_id) { return "files/p" + std::to_string(project_id); }

Status StageOutputFiles(JobContext& ctx, const json& storage, const std::string& files_dir,
                        StagedFiles* out) {
  if (!ctx.env.FileExists(files_dir)) return Status::Ok();
  ASSIGN_OR_RETURN(auto entries, ctx.env.List(files_dir));
  ASSIGN_OR_RETURN(auto sources, PairOutputSources(entries));
  const json& mappings = Files(storage, "output");
  const std::string rel_dir = ProjectFilesDir(ctx.project.id);
  RETURN_IF_ERROR(ctx.env.MakeDirs(ctx.data_dir + "/" + rel_dir));
  for (const auto& s : sources) {
    const std::string shown = "out/files/" + s.name;
    if (s.is_sliced) {
      return Status::InvalidArgument(shown + " is a folder: out/files takes files")
          .WithDetail("file", shown);
    }
    OutputFileManifest manifest;
    if (!s.manifest_path.empty()) {
      ASSIGN_OR_RETURN(std::string text, fs::ReadFileText(s.manifest_path));
      ASSIGN_OR_RETURN(manifest, ParseOutputFileManifest(text, shown + ".manifest"));
    }
    for (const auto& m : mappings) {
      if (!m.is_object() || m.value("source", std::string()) != s.name) continue;
      if (m.contains("tags")) manifest.tags = Strings(m["tags"]);
      if (m.contains("is_permanent") && m["is_permanent"].is_boolean())
        manifest.is_permanent = m["is_permanent"].get<bool>();
    }
    catalog::StoredFile f;
    f.project_id = ctx.project.id;
    f.name = SafeName(s.name);
    f.tags = manifest.tags;
    f.is_permanent = manifest.is_permanent;
    f.job_id = ctx.job.id;
    f.path = rel_dir + "/" + fs::RandomHex(8) + "-" + f.name;
    const std::string dest = ctx.data_dir + "/" + f.path;
    RETURN_IF_ERROR(ctx.env.Rename(s.data_path, dest));
    out->files.push_back(f);  // before the checks below: a failure still removes it
    ASSIGN_OR_RETURN(out->files.back().size_bytes, ctx.env.FileSize(dest));
    RETURN_IF_ERROR(ctx.env.SyncFileAndDir(dest));
    ctx.log.Info("output file " + shown + " (" + std::to_string(out->files.back().size_bytes) +
                 " bytes" + (f.tags.empty() ? "" : ", tags " + json(f.tags).dump()) + ")");
  }
  return Status::Ok();
}

Status RegisterOutputFiles(catalog::Catalog& tx, const StagedFiles& staged) {
  for (const auto& f : staged.files) RETURN_IF_ERROR(tx.CreateFile(f).status());
  return Status::Ok();
}

void DropOutputFiles(JobContext& ctx, const StagedFiles& staged) {
  for (const auto& f : staged.files) (void)ctx.env.RemoveFile(ctx.data_dir + "/" + f.path);
}

}  // namespace swan::jobs
