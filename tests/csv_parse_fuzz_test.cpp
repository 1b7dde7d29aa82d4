// Random CSV-like inputs through dialect detection and the row check: no crash (CI runs this under
// ASan/UBSan too), and the row check's verdict does not depend on how the bytes arrive (the same
// bad rows whether the file comes whole or in pieces of 1 to 9 bytes, light or full).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "storage/csv_dialect.h"
#include "storage/csv_row_check.h"

namespace swan::storage {
namespace {

std::string RandomCsv(std::mt19937& rng) {
  static const std::string kAlphabet = "aab11,,,;\"\"'\\\n\n\r# \t|x";
  std::uniform_int_distribution<size_t> len(0, 400), pick(0, kAlphabet.size() - 1);
  std::string s;
  size_t n = len(rng);
  for (size_t i = 0; i < n; ++i) s += kAlphabet[pick(rng)];
  return s;
}

struct Verdict {
  int64_t bad = 0, rows = 0;
  std::vector<std::pair<int64_t, int64_t>> lines;
  bool operator==(const Verdict&) const = default;
};

Verdict Check(const CsvDialect& d, const std::string& text, bool full, std::mt19937* rng) {
  CsvRowCheck check(d, d.labels.size(), false, 1000, full);
  if (rng == nullptr) {
    check.Feed(text);
  } else {
    std::uniform_int_distribution<size_t> piece(1, 9);
    for (size_t i = 0; i < text.size();) {
      size_t n = std::min(piece(*rng), text.size() - i);
      check.Feed(std::string_view(text).substr(i, n));
      i += n;
    }
  }
  check.Finish();
  return {check.bad_count(), check.rows(), check.bad_lines()};
}

TEST(CsvParseFuzzTest, RandomInputsNeverCrashAndPiecesDoNotChangeTheVerdict) {
  std::mt19937 rng(20261203);
  int detected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = RandomCsv(rng);
    for (bool whole : {true, false}) {
      auto d = DetectCsvDialect(text, whole, {}, "fuzz.csv");
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << d.status().ToString();
        continue;
      }
      ++detected;
      ASSERT_FALSE(d->labels.empty());
      std::string body = d->bom ? text.substr(3) : text;
      Verdict at_once = Check(*d, body, true, nullptr);
      EXPECT_EQ(Check(*d, body, true, &rng), at_once) << "full check, in pieces: " << body;
      // The light check finds a subset of the full check's bad rows; in pieces, the same ones.
      Verdict light = Check(*d, body, false, nullptr);
      EXPECT_EQ(Check(*d, body, false, &rng), light) << "light check, in pieces: " << body;
      EXPECT_LE(light.bad, at_once.bad) << body;
    }
  }
  EXPECT_GT(detected, 1000);  // most random inputs have some dialect
}

TEST(CsvParseFuzzTest, TheLightCheckFindsTheExtraEmptyFieldTheFullCheckFinds) {
  CsvDialect d;
  d.labels = {"a", "b"};
  d.data_line = 1;
  // Long enough for the 16-byte scan, with the bad row at every offset within a block.
  for (size_t pad = 0; pad < 40; ++pad) {
    std::string text = "a,b\n" + std::string(pad, 'x') + ",1\n3,4,\n5,6\n";
    Verdict light = Check(d, text, false, nullptr), full = Check(d, text, true, nullptr);
    ASSERT_EQ(light.bad, 1) << text;
    EXPECT_EQ(light.lines, full.lines) << text;
    EXPECT_EQ(light.lines[0].first, 3) << text;
  }
}

}  // namespace
}  // namespace swan::storage
