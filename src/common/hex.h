// Bytes as lowercase hex ("a0ff"): digests, signatures, random ids.
#pragma once

#include <cstddef>
#include <string>

namespace swan {

inline std::string HexLower(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

}  // namespace swan
