// An output table being written: an RFC 4180 CSV file (header row, every field quoted, "\n"
// line ends, UTF-8) plus what its Keboola manifest needs (primary key, incremental flag).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/csv_slices.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

// A file name in `dir` no other call of this process returned: "<dir>/<prefix>-<n><suffix>".
std::string UniqueWorkFile(const std::string& dir, const std::string& prefix,
                           const std::string& suffix);

class CsvTable {
 public:
  // Creates (truncates) `path` and writes the header row. Throws ExtractorError on I/O errors.
  CsvTable(std::string name, std::vector<std::string> header, std::string path);
  // A table written as Keboola's sliced CSV (csv_slices.h): headerless slices in `folder`
  // (out/tables/<source>), each announced to `done` once closed; `manifest` (the folder's
  // manifest, written by the caller before any slice closes) goes with the table in Discard.
  CsvTable(std::string name, std::vector<std::string> header, std::string folder,
           std::string source, std::string manifest, int64_t first_slice_bytes,
           std::function<void(const std::string& source, const std::string& path)> done);
  ~CsvTable();
  CsvTable(const CsvTable&) = delete;
  CsvTable& operator=(const CsvTable&) = delete;

  // One row; cells as PHP would write them (null "", true "1", false "", numbers as PHP
  // prints them). Throws ExtractorError for an array or object cell, naming the column.
  void WriteRow(const std::vector<Json>& cells);
  // One row of cells already in their text form.
  void WriteCells(const std::vector<std::string_view>& cells);
  // Appends the data rows (not the header) of another table with the same header.
  void AppendRowsOf(CsvTable& other);
  // Flushes and closes the file (a sliced table: announces its last slice); further writes are
  // errors.
  void Close();
  // Closes and removes what was written (a sliced table: its folder and manifest).
  void Discard();
  bool sliced() const { return slices_ != nullptr; }

  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }
  int64_t rows() const { return rows_; }
  std::vector<std::string> primary_key{};
  std::optional<bool> incremental{};

 private:
  void WriteLine(const std::vector<std::string>& fields);
  void WriteBuffered();  // writes line_

  std::string name_;
  std::vector<std::string> header_;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<CsvSliceWriter> slices_;  // instead of file_, for a sliced table
  std::string manifest_;
  int64_t rows_ = 0;
  std::string line_;  // the row being written, kept to reuse its capacity
};

}  // namespace swan::connectors
