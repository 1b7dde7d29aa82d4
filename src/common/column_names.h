// Column names from any header text: the rule that turns "Product Name" into Product_Name.
//
// The rule is Keboola's (keboola/php-storage-names-sanitizer, ColumnNameSanitizer::sanitize), so
// that a project migrated from Keboola keeps its column names:
//   1. drop control characters and combining marks;
//   2. fold to ASCII the way glibc's iconv transliterates to Windows-1250, then letters with
//      diacritics to their base letter ("Příliš žluťoučký" -> "Prilis zlutoucky");
//   3. replace each run of characters outside [A-Za-z0-9_] with one "_", trim "_" at both ends;
//   4. PostgreSQL's system column names (oid, xmin, ctid...) get a trailing "_".
// Swan adds what Keboola leaves to the user, so that every header imports:
//   5. an empty result becomes column_<position> (1-based);
//   6. a name longer than 64 characters is cut to 64;
//   7. a name equal (ignoring case) to an earlier one gets the first free suffix _2, _3...
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace swan::names {

// Steps 1-4 for one header text; may return "".
std::string SqlFriendly(std::string_view text);

// The whole rule for a header row: one valid, unique name per label, in order.
std::vector<std::string> SqlFriendlyColumns(const std::vector<std::string>& labels);

}  // namespace swan::names
