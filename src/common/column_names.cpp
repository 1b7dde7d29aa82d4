#include "common/column_names.h"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/transcode.h"

namespace swan::names {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its code point and advances i. Invalid bytes come
// back as U+FFFD one byte at a time.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

// Step 1: keeps tab, LF, CR, printable ASCII, U+00A0-U+02FF and U+0370 up (drops C0/C1 controls,
// DEL and the combining marks U+0300-U+036F).
bool Kept(char32_t cp) {
  return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) ||
         (cp >= 0xA0 && cp <= 0x2FF) || (cp >= 0x370 && cp <= 0x10FFFF);
}

// The ASCII letter of each Windows-1250 byte that is a letter with a diacritic (0 = none).
char FoldWindows1250(unsigned char b) {
  switch (b) {
    case 0x8A:
    case 0xA7:
    case 0xAA:
    case 0x8C:
      return 'S';  // Š § Ş Ś
    case 0x9A:
    case 0xBA:
    case 0x9C:
    case 0xDF:
      return 's';  // š ş ś ß
    case 0x8D:
    case 0xDE:
      return 'T';  // Ť Ţ
    case 0x9D:
    case 0xFE:
      return 't';  // ť ţ
    case 0x8E:
    case 0x8F:
    case 0xAF:
      return 'Z';  // Ž Ź Ż
    case 0x9E:
    case 0x9F:
    case 0xBF:
      return 'z';  // ž ź ż
    case 0xA5:
      return 'A';  // Ą
    case 0xB9:
      return 'a';  // ą
    case 0xA3:
    case 0xBC:
    case 0xC5:
      return 'L';  // Ł Ľ Ĺ
    case 0xB3:
    case 0xBE:
    case 0xE5:
      return 'l';  // ł ľ ĺ
    case 0xD7:
      return 'x';  // ×
    default:
      break;
  }
  // 0xC0-0xFE follow Latin-1's layout: upper case C0-DE, lower case E0-FE.
  static constexpr char kUpper[] = "RAAAALCCCEEEEIIDDNNOOOOxRUUUUYTs";  // C0..DF
  static constexpr char kLower[] = "raaaalccceeeeiiddnnoooo\0ruuuuyt";  // E0..FE (F7 is ÷)
  if (b >= 0xC0 && b <= 0xDF) return kUpper[b - 0xC0];
  if (b >= 0xE0 && b <= 0xFE) return kLower[b - 0xE0];
  return 0;
}

// Latin letters with diacritics (U+00C0-U+017F, and Extended-B and Additional) to their base
// letters. glibc's transliteration
// to Windows-1250 turns those outside that code page into '?' in the C locale ("Año" -> "A?o"),
// so they are folded here; for letters of the code page this gives what its folding gives.
std::string_view FoldLatin(char32_t cp) {
  static constexpr std::string_view kLatin1[64] = {
      "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
      "D", "N", "O", "O", "O", "O", "O",  "x", "O", "U", "U", "U", "U", "Y", "T", "s",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "t", "y"};
  static constexpr std::string_view kExtendedA =
      "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi"
      "IiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
  // Latin Extended-B (U+0180-U+024F) and Latin Extended Additional (U+1E00-U+1EFF, Vietnamese):
  // each letter's base letter by Unicode's decomposition, '.' where it has none.
  static constexpr std::string_view kExtendedB =
      "................................Oo.............Uu..............."
      ".............AaIiOoUuUuUuUuUu.AaAa....GgKkOoOo..j...Gg..NnAa...."
      "AaAaEeEeIiIiOoOoRrRrUuUuSsTt..Hh......AaEeOoOoOoOoYy............"
      "................";
  static constexpr std::string_view kExtendedAdditional =
      "AaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLlLlLlMm"
      "MmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVv"
      "WwWwWwWwWwXxXxYyZzZzZzhtwy.s....AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEe"
      "EeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy......";
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1[cp - 0xC0];
  if (cp >= 0x100 && cp <= 0x17F) return kExtendedA.substr(cp - 0x100, 1);
  std::string_view folded;
  if (cp >= 0x180 && cp <= 0x24F) folded = kExtendedB.substr(cp - 0x180, 1);
  if (cp >= 0x1E00 && cp <= 0x1EFF) folded = kExtendedAdditional.substr(cp - 0x1E00, 1);
  return folded == "." ? std::string_view() : folded;
}

// Step 2. Characters iconv cannot transliterate come back as '?' (and become '_' in step 3).
std::string ToAscii(std::string_view text) {
  std::string kept;
  for (size_t i = 0; i < text.size();) {
    char32_t cp = NextCodePoint(text, i);
    if (!Kept(cp)) continue;
    // The quote-like characters are protected from the transliteration, which may add its own
    // (iconv writes "'" for an acute it cannot place) that are then removed.
    static constexpr std::string_view kProtected = "`'\"^~";
    if (auto p = kProtected.find(static_cast<char>(cp)); cp < 0x80 && p != std::string_view::npos) {
      kept += static_cast<char>(1 + p);
      continue;
    }
    if (std::string_view folded = FoldLatin(cp); !folded.empty()) {
      kept += folded;
      continue;
    }
    transcode::AppendUtf8(cp, kept);
  }
  std::string converted;
  iconv_t cd = iconv_open("WINDOWS-1250//TRANSLIT", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    converted = kept;
  } else {
    std::string buffer(kept.size() * 4 + 16, '\0');
    char* in = kept.data();
    size_t in_left = kept.size();
    char* out = buffer.data();
    size_t out_left = buffer.size();
    while (in_left > 0) {
      if (iconv(cd, &in, &in_left, &out, &out_left) != static_cast<size_t>(-1)) break;
      if (errno == EILSEQ || errno == EINVAL) {  // skip a byte iconv cannot read at all
        ++in;
        --in_left;
        continue;
      }
      break;  // E2BIG cannot happen: the buffer holds 4 bytes per input byte
    }
    converted.assign(buffer.data(), out);
    iconv_close(cd);
  }
  std::string ascii;
  for (unsigned char b : converted) {
    if (b >= 0x80) {
      char folded = FoldWindows1250(b);
      ascii += folded ? folded : static_cast<char>(b);
    } else if (b == '`' || b == '\'' || b == '"' || b == '^' || b == '~') {
      continue;  // added by the transliteration
    } else if (b >= 1 && b <= 5) {
      ascii += "`'\"^~"[b - 1];
    } else {
      ascii += static_cast<char>(b);
    }
  }
  return ascii;
}

bool IsWordChar(unsigned char c) { return std::isalnum(c) || c == '_'; }

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string SqlFriendly(std::string_view text) {
  std::string ascii = ToAscii(text);
  std::string out;
  bool in_run = false;
  for (unsigned char c : ascii) {
    if (c < 0x80 && IsWordChar(c)) {
      out += static_cast<char>(c);
      in_run = false;
    } else if (!in_run) {
      out += '_';
      in_run = true;
    }
  }
  size_t begin = out.find_first_not_of('_');
  if (begin == std::string::npos) return "";
  out = out.substr(begin, out.find_last_not_of('_') - begin + 1);
  static const std::set<std::string> kSystemColumns = {"oid",  "tableoid", "xmin", "cmin",
                                                       "xmax", "cmax",     "ctid"};
  if (kSystemColumns.count(Lower(out))) out += '_';
  return out;
}

std::vector<std::string> SqlFriendlyColumns(const std::vector<std::string>& labels) {
  constexpr size_t kMaxLength = 64;
  std::vector<std::string> names;
  std::set<std::string> taken;  // lower case
  for (size_t i = 0; i < labels.size(); ++i) {
    std::string name = SqlFriendly(labels[i]);
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    name = name.substr(0, kMaxLength);
    if (taken.count(Lower(name))) {
      for (int n = 2;; ++n) {
        std::string suffix = "_" + std::to_string(n);
        std::string candidate = name.substr(0, kMaxLength - suffix.size()) + suffix;
        if (!taken.count(Lower(candidate))) {
          name = candidate;
          break;
        }
      }
    }
    taken.insert(Lower(name));
    names.push_back(name);
  }
  return names;
}

}  // namespace swan::names
