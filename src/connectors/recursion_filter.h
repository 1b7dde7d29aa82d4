// A child job's "recursionFilter" (Keboola's php-filter): "status!=Deleted", "id>20&type==a",
// "role==parent|id<400". Operators == != >= <= > < ~~ (like, % wildcard) !~ (not like); the
// field is a dotted path into the parent record; comparisons are on PHP strings (numeric
// strings compare as numbers). "|" binds looser than "&"; no parentheses; whitespace matters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/php_semantics.h"

namespace swan::connectors {

class RecursionFilter {
 public:
  // Throws ExtractorError on a filter without a known operator.
  explicit RecursionFilter(const std::string& expression);
  bool Matches(const Json& record) const;

  struct Node;  // the parsed expression (an implementation detail)

 private:
  std::shared_ptr<Node> root_;
};

}  // namespace swan::connectors
