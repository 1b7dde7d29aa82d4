// A data file's format from its name: what `swan table import` and the import route assume when
// no --format is given. One rule, documented in docs/api.md ("Import formats").
#pragma once

#include <optional>
#include <string>

namespace swan {

struct FileNameFormat {
  std::string format;     // "csv" | "parquet" | "jsonl" | "json"
  std::string delimiter;  // "\t" for .tsv; empty otherwise (CSV's default or the sniffed one)
  bool gzip = false;      // the name ends in .gz
};

// .csv, .tsv, .parquet (.pq), .jsonl, .ndjson, .json — each optionally followed by .gz;
// case-insensitive. nullopt for any other name (the caller then falls back to CSV).
std::optional<FileNameFormat> FormatFromFileName(const std::string& file_name);

}  // namespace swan
