#include "connectors/recursion_filter.h"

#include <regex>

namespace swan::connectors {

struct RecursionFilter::Node {
  // A leaf (column, op, value) or an operator ('&' / '|') with two operands.
  char logical = 0;
  std::shared_ptr<Node> left, right;
  std::string column, op, value;

  bool Eval(const Json& record) const {
    if (logical == '&') return left->Eval(record) && right->Eval(record);
    if (logical == '|') return left->Eval(record) || right->Eval(record);
    auto found = GetDataFromPath(column, record, ".");
    std::string v = found ? PhpToString(*found) : "";
    if (op == "==") return v == value;
    if (op == "!=") return v != value;
    if (op == ">=") return PhpCompareStrings(v, value) >= 0;
    if (op == "<=") return PhpCompareStrings(v, value) <= 0;
    if (op == ">") return PhpCompareStrings(v, value) > 0;
    if (op == "<") return PhpCompareStrings(v, value) < 0;
    std::string pattern = "^";
    for (char c : value) {
      if (c == '%') {
        pattern += ".*?";
      } else if (std::string("\\^$.|?*+()[]{}/-#").find(c) != std::string::npos) {
        pattern += "\\";
        pattern.push_back(c);
      } else {
        pattern.push_back(c);
      }
    }
    pattern += "$";
    bool like = std::regex_search(v, std::regex(pattern));
    return op == "~~" ? like : !like;
  }
};

namespace {

std::shared_ptr<RecursionFilter::Node> Leaf(const std::string& s);

}  // namespace

static std::shared_ptr<RecursionFilter::Node> Build(const std::vector<std::string>& parts) {
  if (parts.size() % 2 == 0) {
    std::string joined;
    for (const auto& p : parts) joined += p;
    throw ExtractorError("Invalid syntax in logical expression: '" + joined + "'.");
  }
  if (parts.size() == 1) return Leaf(parts[0]);
  for (char op : {'|', '&'}) {
    for (size_t i = 1; i < parts.size(); i += 2) {
      if (parts[i].size() == 1 && parts[i][0] == op) {
        auto node = std::make_shared<RecursionFilter::Node>();
        node->logical = op;
        node->left = Build(std::vector<std::string>(parts.begin(), parts.begin() + i));
        node->right = Build(std::vector<std::string>(parts.begin() + i + 1, parts.end()));
        return node;
      }
    }
  }
  throw ExtractorError("Invalid logical operator: '" + parts[1] + "'.");
}

namespace {

std::shared_ptr<RecursionFilter::Node> Leaf(const std::string& s) {
  std::string op;
  size_t best = std::string::npos;
  for (const char* candidate : {">=", "<=", "==", "!=", "~~", "!~"}) {
    size_t pos = s.find(candidate);
    if (pos != std::string::npos && pos < best) {
      best = pos;
      op = candidate;
    }
  }
  if (op.empty()) {
    for (const char* candidate : {">", "<"}) {
      size_t pos = s.find(candidate);
      if (pos != std::string::npos && pos < best) {
        best = pos;
        op = candidate;
      }
    }
  }
  if (op.empty()) {
    throw ExtractorError("Error creating a filter from " + s +
                         ": Operator couldn't be determined. Please use one of [==, !=, >=, <=, "
                         ">, <, ~~, !~]");
  }
  auto node = std::make_shared<RecursionFilter::Node>();
  node->op = op;
  node->column = s.substr(0, best);
  // explode() then list(): the value ends at a second occurrence of the operator.
  std::string rest = s.substr(best + op.size());
  size_t again = rest.find(op);
  node->value = again == std::string::npos ? rest : rest.substr(0, again);
  return node;
}

}  // namespace

RecursionFilter::RecursionFilter(const std::string& expression) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : expression) {
    if (c == '&' || c == '|') {
      parts.push_back(cur);
      parts.emplace_back(1, c);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  root_ = Build(parts);
}

bool RecursionFilter::Matches(const Json& record) const {
  Json object = record;
  if (!record.is_object()) {
    object = Json::object();
    if (!record.is_null()) object["scalar"] = record;
  }
  return root_->Eval(object);
}

}  // namespace swan::connectors
