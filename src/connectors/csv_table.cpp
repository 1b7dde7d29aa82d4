#include "connectors/csv_table.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace swan::connectors {

std::string UniqueWorkFile(const std::string& dir, const std::string& prefix,
                           const std::string& suffix) {
  static std::atomic<uint64_t> counter{0};
  return dir + "/" + prefix + "-" + std::to_string(++counter) + suffix;
}

CsvTable::CsvTable(std::string name, std::vector<std::string> header, std::string path)
    : name_(std::move(name)), header_(std::move(header)), path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw ExtractorError("cannot create " + path_ + ": " + std::strerror(errno), false);
  }
  WriteLine(header_);
}

CsvTable::CsvTable(std::string name, std::vector<std::string> header, std::string folder,
                   std::string source, std::string manifest, int64_t first_slice_bytes,
                   std::function<void(const std::string& source, const std::string& path)> done)
    : name_(std::move(name)),
      header_(std::move(header)),
      path_(std::move(folder)),
      manifest_(std::move(manifest)) {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // a table of an earlier pass
  slices_ = std::make_unique<CsvSliceWriter>(path_, std::move(source), std::move(done),
                                             first_slice_bytes);
  if (Status opened = slices_->Open(); !opened.ok()) {
    throw ExtractorError(opened.message(), false);
  }
}

CsvTable::~CsvTable() {
  if (file_ != nullptr) std::fclose(file_);
}

namespace {

// Appends `text` as a quoted CSV field: runs without a quote are copied whole.
void AppendQuoted(std::string& line, const char* text, size_t size) {
  line.push_back('"');
  const char* end = text + size;
  while (text < end) {
    const void* quote = std::memchr(text, '"', static_cast<size_t>(end - text));
    if (quote == nullptr) {
      line.append(text, end);
      break;
    }
    const char* q = static_cast<const char*>(quote);
    line.append(text, q + 1);
    line.push_back('"');
    text = q + 1;
  }
  line.push_back('"');
}

}  // namespace

void CsvTable::WriteLine(const std::vector<std::string>& fields) {
  line_.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line_.push_back(',');
    AppendQuoted(line_, fields[i].data(), fields[i].size());
  }
  line_.push_back('\n');
  WriteBuffered();
}

void CsvTable::WriteBuffered() {
  if (slices_ != nullptr) {
    if (Status written = slices_->Append(line_.data(), line_.size()); !written.ok()) {
      throw ExtractorError(written.message(), false);
    }
    return;
  }
  if (file_ == nullptr || ::fwrite_unlocked(line_.data(), 1, line_.size(), file_) != line_.size()) {
    throw ExtractorError("cannot write " + path_ + ": " + std::strerror(errno), false);
  }
}

void CsvTable::WriteRow(const std::vector<Json>& cells) {
  line_.clear();
  for (size_t i = 0; i < cells.size(); ++i) {
    const Json& cell = cells[i];
    if (cell.is_array() || cell.is_object()) {
      std::string column = i < header_.size() ? header_[i] : std::to_string(i);
      throw ExtractorError("Error writing '" + column + "' column of table '" + name_ +
                           "': cannot write an " + (cell.is_array() ? "array" : "object") +
                           " into a CSV cell");
    }
    if (i) line_.push_back(',');
    if (const std::string* text = cell.get_ptr<const std::string*>()) {
      AppendQuoted(line_, text->data(), text->size());
    } else {
      const std::string text_of = PhpToString(cell);
      AppendQuoted(line_, text_of.data(), text_of.size());
    }
  }
  line_.push_back('\n');
  WriteBuffered();
  ++rows_;
}

void CsvTable::WriteCells(const std::vector<std::string_view>& cells) {
  line_.clear();
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line_.push_back(',');
    AppendQuoted(line_, cells[i].data(), cells[i].size());
  }
  line_.push_back('\n');
  WriteBuffered();
  ++rows_;
}

void CsvTable::AppendRowsOf(CsvTable& other) {
  if (sliced() || other.sliced()) {
    throw ExtractorError("cannot merge the sliced table '" + name_ + "'", false);
  }
  other.Close();
  std::FILE* in = std::fopen(other.path().c_str(), "rb");
  if (in == nullptr) throw ExtractorError("cannot read " + other.path(), false);
  // Skip the header line: it is the first record; header names never hold a line break
  // unless quoted, so track quotes.
  bool in_quotes = false;
  int c = 0;
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '"') in_quotes = !in_quotes;
    if (c == '\n' && !in_quotes) break;
  }
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
    if (file_ == nullptr || std::fwrite(buf, 1, n, file_) != n) {
      std::fclose(in);
      throw ExtractorError("cannot write " + path_, false);
    }
  }
  std::fclose(in);
  rows_ += other.rows();
}

void CsvTable::Close() {
  if (slices_ != nullptr) {
    Status finished = slices_->Finish();
    if (!finished.ok()) throw ExtractorError(finished.message(), false);
    return;
  }
  if (file_ != nullptr) {
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) throw ExtractorError("cannot write " + path_ + ": " + std::strerror(errno), false);
  }
}

void CsvTable::Discard() {
  std::error_code ec;
  if (slices_ != nullptr) {
    slices_.reset();  // (its open slice is closed, not announced)
    std::filesystem::remove_all(path_, ec);
    if (!manifest_.empty()) std::filesystem::remove(manifest_, ec);
    return;
  }
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  std::filesystem::remove(path_, ec);
}

}  // namespace swan::connectors
