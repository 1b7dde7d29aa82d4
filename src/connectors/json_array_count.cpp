#include "connectors/json_array_count.h"

#include <cstring>
#include <string>

namespace swan::connectors {
namespace {

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bytes of numbers and of true/false/null.
bool LiteralByte(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' ||
         c == 't' || c == 'r' || c == 'u' || c == 'f' || c == 'a' || c == 'l' || c == 's' ||
         c == 'n';
}

}  // namespace

std::optional<size_t> CountTopLevelArray(std::string_view body, int max_depth) {
  const char* p = body.data();
  const char* const end = p + body.size();
  while (p < end && Space(*p)) ++p;
  if (p == end || *p != '[') return std::nullopt;
  ++p;
  int depth = 1;
  std::string open = "[";  // the brackets open, innermost last
  size_t count = 0;
  bool expect_element = true;  // at depth 1, right after '[' or ','
  while (p < end) {
    const char c = *p;
    if (Space(c)) {
      ++p;
      continue;
    }
    if (depth == 1 && expect_element && c != ']' && c != ',') {
      ++count;
      expect_element = false;
    }
    switch (c) {
      case '"': {
        // To the closing quote, past escaped characters.
        ++p;
        while (true) {
          const char* q = static_cast<const char*>(std::memchr(p, '"', end - p));
          if (q == nullptr) return std::nullopt;
          size_t backslashes = 0;
          for (const char* b = q; b > p && b[-1] == '\\'; --b) ++backslashes;
          p = q + 1;
          if (backslashes % 2 == 0) break;
        }
        continue;
      }
      case '[':
      case '{':
        if (++depth > max_depth) return std::nullopt;
        open.push_back(c);
        break;
      case ']':
      case '}':
        if (open.back() != (c == ']' ? '[' : '{')) return std::nullopt;
        open.pop_back();
        if (--depth == 0) {
          ++p;
          while (p < end && Space(*p)) ++p;
          if (p != end) return std::nullopt;
          // "[1,]": a comma with nothing after it.
          if (expect_element && count > 0) return std::nullopt;
          return count;
        }
        break;
      case ',':
        if (depth == 1) {
          if (expect_element) return std::nullopt;  // "[,1]" or "[1,,2]"
          expect_element = true;
        }
        break;
      case ':':
        break;
      default:
        if (!LiteralByte(c)) return std::nullopt;
    }
    ++p;
  }
  return std::nullopt;  // cut short
}

}  // namespace swan::connectors
