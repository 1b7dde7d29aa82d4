// Tests for common/transcode: encodings converted to UTF-8 (round trips built byte by byte),
// gzip inputs, undecodable and cut bytes reported by line and column, large inputs streamed
// across buffer boundaries, encoding names, BOMs and the UTF-8 prefix check.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/transcode.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using transcode::Encoding;
using transcode::EncodingFromBom;
using transcode::EncodingName;
using transcode::FirstInvalidUtf8;
using transcode::ParseEncoding;
using transcode::TranscodeToUtf8;

constexpr Encoding kAllEncodings[] = {Encoding::kUtf8,        Encoding::kUtf16Le,
                                      Encoding::kUtf16Be,     Encoding::kLatin1,
                                      Encoding::kWindows1250, Encoding::kWindows1252};

// UTF-16 code units as bytes in the given order, with a BOM when asked.
std::string Utf16(const std::u16string& text, bool little_endian, bool bom) {
  std::u16string units = bom ? u"\uFEFF" + text : text;
  std::string out;
  for (char16_t u : units) {
    const char lo = static_cast<char>(u & 0xFF), hi = static_cast<char>(u >> 8);
    out += little_endian ? lo : hi;
    out += little_endian ? hi : lo;
  }
  return out;
}

// `text` as gzip members written by zlib's gz* functions (one member per element).
void WriteGzip(const std::string& path, const std::vector<std::string>& members) {
  bool first = true;
  for (const std::string& m : members) {
    gzFile f = gzopen(path.c_str(), first ? "wb" : "ab");  // "ab" starts a new member
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, m.data(), static_cast<unsigned>(m.size())), static_cast<int>(m.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
    first = false;
  }
}

class TranscodeTest : public ::testing::Test {
 protected:
  std::string In() const { return dir_.path() + "/in.csv"; }
  std::string Out() const { return dir_.path() + "/out.csv"; }

  // Converts `bytes` (a plain file) and returns the output, or the error's ToString().
  Result<std::string> Convert(const std::string& bytes, Encoding from) {
    WriteFile(In(), bytes);
    return ConvertFile(false, from);
  }
  Result<std::string> ConvertFile(bool gzip, Encoding from) {
    Result<uint64_t> written = TranscodeToUtf8(In(), gzip, from, Out(), "data.csv");
    if (!written.ok()) {
      EXPECT_FALSE(std::filesystem::exists(Out())) << "the partial output is left behind";
      return written.status();
    }
    std::string out = ReadFile(Out());
    EXPECT_EQ(*written, out.size());
    return out;
  }

  TempDir dir_;
};

#define EXPECT_CONVERTS(bytes, from, expected)    \
  do {                                            \
    Result<std::string> r = Convert(bytes, from); \
    ASSERT_TRUE(r.ok()) << r.status().ToString(); \
    EXPECT_EQ(*r, expected);                      \
  } while (0)

TEST_F(TranscodeTest, Windows1250) {
  EXPECT_CONVERTS(
      "P\xF8\xEDli\x9A \x9Elu\x9Dou\xE8k\xFD k\xF9\xF2 \xFAp\xECl \xEF\xE1"
      "belsk\xE9 \xF3"
      "dy\n",
      Encoding::kWindows1250, "Příliš žluťoučký kůň úpěl ďábelské ódy\n");
}

TEST_F(TranscodeTest, Windows1252) {
  EXPECT_CONVERTS("\x80 \x93quoted\x94 \x96 na\xEFve\n", Encoding::kWindows1252,
                  "€ “quoted” – naïve\n");
}

TEST_F(TranscodeTest, Latin1EveryByte) {
  EXPECT_CONVERTS("caf\xE9\n", Encoding::kLatin1, "café\n");
  std::string all, expected;
  for (int b = 1; b < 256; ++b) {
    all += static_cast<char>(b);
    if (b < 0x80) {
      expected += static_cast<char>(b);
    } else {  // U+0080..U+00FF
      expected += static_cast<char>(0xC0 | (b >> 6));
      expected += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  EXPECT_CONVERTS(all, Encoding::kLatin1, expected);
}

TEST_F(TranscodeTest, Utf8IsCopiedWithoutItsBom) {
  const std::string text = "id,name\n1,Příliš 😀\n";
  EXPECT_CONVERTS(text, Encoding::kUtf8, text);
  EXPECT_CONVERTS("\xEF\xBB\xBF" + text, Encoding::kUtf8, text);
  EXPECT_CONVERTS(
      "\xEF\xBB\xBF"
      "a",
      Encoding::kLatin1, "ï»¿a");  // latin-1 has no BOM
  EXPECT_CONVERTS("", Encoding::kUtf8, "");
  EXPECT_CONVERTS("\xEF\xBB\xBF", Encoding::kUtf8, "");
}

TEST_F(TranscodeTest, Utf16BothByteOrdersWithSurrogatePairs) {
  const std::u16string text = u"id,emoji\n1,a😀b ž\n";
  const std::string utf8 = "id,emoji\n1,a😀b ž\n";
  EXPECT_CONVERTS(Utf16(text, true, true), Encoding::kUtf16Le, utf8);
  EXPECT_CONVERTS(Utf16(text, false, true), Encoding::kUtf16Be, utf8);
  EXPECT_CONVERTS(Utf16(text, true, false), Encoding::kUtf16Le, utf8);
  EXPECT_CONVERTS(Utf16(text, false, false), Encoding::kUtf16Be, utf8);
  // "utf-16" parses as LE; a BOM decides the byte order, whichever order was named.
  ASSERT_EQ(*ParseEncoding("utf-16"), Encoding::kUtf16Le);
  EXPECT_CONVERTS(Utf16(text, false, true), Encoding::kUtf16Le, utf8);
  EXPECT_CONVERTS(Utf16(text, true, true), Encoding::kUtf16Be, utf8);
  EXPECT_CONVERTS(Utf16(u"", true, true), Encoding::kUtf16Le, "");
}

TEST_F(TranscodeTest, EveryEncodingNamesItselfInItsErrors) {
  for (Encoding e : kAllEncodings) {
    Result<std::string> r = Convert(std::string(1, '\x81'), e);  // 1 byte: bad or cut everywhere
    if (e == Encoding::kLatin1) {
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      continue;
    }
    ASSERT_FALSE(r.ok()) << EncodingName(e);
    EXPECT_EQ(r.status().message(), "data.csv: line 1, column 1: bytes that are not valid " +
                                        std::string(EncodingName(e)) + " (0x81)");
  }
}

TEST_F(TranscodeTest, InvalidByteGivesLineAndColumnInCharacters) {
  // Line 3 holds é € a b (7 UTF-8 bytes, 4 characters) before the undefined byte 0x81.
  Result<std::string> r = Convert(
      "id,x\r\n1,\x80\n\xE9\x80"
      "ab\x81"
      "cd\n",
      Encoding::kWindows1252);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "data.csv: line 3, column 5: bytes that are not valid windows-1252 (0x81)");
  EXPECT_EQ(r.status().details().at("file"), "data.csv");
  EXPECT_EQ(r.status().details().at("line"), "3");
  EXPECT_EQ(r.status().details().at("column"), "5");

  for (const char* undefined : {"\x81", "\x83", "\x88", "\x90", "\x98"}) {
    r = Convert(std::string("ok\n") + undefined, Encoding::kWindows1250);
    ASSERT_FALSE(r.ok()) << static_cast<int>(static_cast<unsigned char>(undefined[0]));
    EXPECT_EQ(r.status().details().at("line"), "2");
  }
}

TEST_F(TranscodeTest, BrokenUtf8IsRefusedWithItsBytes) {
  struct Case {
    std::string bytes, shown, column;
  } cases[] = {
      {"ab\xC3(", "0xC3", "3"},                   // a lead byte without its continuation
      {"\xC0\xAF", "0xC0", "1"},                  // overlong '/'
      {"x\xE0\x80\xAF", "0xE0", "2"},             // overlong, 3 bytes
      {"\xED\xA0\x80", "0xED", "1"},              // a surrogate
      {"\xC3\xA9\xF4\x90\x80\x80", "0xF4", "2"},  // past U+10FFFF (glibc's iconv accepts it)
      {"a\xF5\x80\x80\x80", "0xF5", "2"},
      {"a\x80", "0x80", "2"},            // a lone continuation byte
      {"ab\xE2\x82", "0xE2 0x82", "3"},  // cut by the end of the file
      {"ab\xF0\x9F\x98", "0xF0 0x9F 0x98", "3"},
      {"\xE2\x82\xAC\xE2\x82(", "0xE2 0x82", "2"},  // the maximal ill-formed subpart
  };
  for (const Case& c : cases) {
    Result<std::string> r = Convert(c.bytes, Encoding::kUtf8);
    ASSERT_FALSE(r.ok()) << c.shown;
    EXPECT_EQ(r.status().message(), "data.csv: line 1, column " + c.column +
                                        ": bytes that are not valid utf-8 (" + c.shown + ")");
  }
}

TEST_F(TranscodeTest, BrokenUtf16IsRefused) {
  // An odd byte count: the last code unit is cut.
  Result<std::string> r = Convert(Utf16(u"a,b\nc", true, true) + "d", Encoding::kUtf16Le);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "data.csv: line 2, column 2: bytes that are not valid utf-16le (0x64)");
  // A high surrogate at the end.
  r = Convert(Utf16(u"ab", false, false) + "\xD8\x3D", Encoding::kUtf16Be);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "data.csv: line 1, column 3: bytes that are not valid utf-16be (0xD8 0x3D)");
  // A high surrogate followed by no low one, and a lone low surrogate.
  r = Convert(Utf16(u"€\n", true, false) + "\x3D\xD8" + Utf16(u"x", true, false),
              Encoding::kUtf16Le);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "data.csv: line 2, column 1: bytes that are not valid utf-16le (0x3D 0xD8 0x78 0x00)");
  r = Convert(Utf16(u"€€", true, false) + std::string("\x00\xDC", 2), Encoding::kUtf16Le);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "data.csv: line 1, column 3: bytes that are not valid utf-16le (0x00 0xDC)");
}

TEST_F(TranscodeTest, GzipInputIsInflatedAsItIsRead) {
  const std::string cp1250 =
      "id,name\n1,\x9E"
      "lu\x9D"
      "ou\xE8k\xFD\n";
  const std::string utf8 = "id,name\n1,žluťoučký\n";
  WriteGzip(In(), {cp1250});
  Result<std::string> r = ConvertFile(true, Encoding::kWindows1250);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, utf8);

  // Several members (files joined with cat); the UTF-16 BOM in the first one.
  const std::string utf16 = Utf16(u"id,e\n1,😀\n2,ž\n", false, true);
  WriteGzip(In(), {utf16.substr(0, 5), utf16.substr(5, 6), "", utf16.substr(11)});
  r = ConvertFile(true, Encoding::kUtf16Le);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "id,e\n1,😀\n2,ž\n");

  // Undecodable bytes inside gzip are found the same way.
  WriteGzip(In(), {"a\nb\n\xE9\x81"});
  r = ConvertFile(true, Encoding::kWindows1252);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "data.csv: line 3, column 2: bytes that are not valid windows-1252 (0x81)");
}

TEST_F(TranscodeTest, BrokenGzipIsRefused) {
  WriteGzip(In(), {"id,name\n1,a\n2,b\n"});
  const std::string gz = ReadFile(In());
  WriteFile(In(), gz.substr(0, gz.size() - 4));
  Result<std::string> r = ConvertFile(true, Encoding::kLatin1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "data.csv: gzip stream truncated at byte " + std::to_string(gz.size() - 4));

  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  WriteFile(In(), bad_crc);
  r = ConvertFile(true, Encoding::kLatin1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("data.csv: corrupt gzip data"), std::string::npos)
      << r.status().message();

  WriteFile(In(), gz + "trailing");
  r = ConvertFile(true, Encoding::kLatin1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "data.csv: not gzip data at byte " + std::to_string(gz.size()));

  WriteFile(In(), "");
  r = ConvertFile(true, Encoding::kLatin1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "data.csv: empty gzip stream");
}

// About 20 MB of windows-1250 lines: every buffer boundary cuts somewhere, the output matches.
TEST_F(TranscodeTest, LargeInputStreamsInFixedBuffers) {
  std::string cp1250, utf8;
  cp1250.reserve(21 << 20);
  utf8.reserve(30 << 20);
  size_t lines = 0;
  while (cp1250.size() < (20u << 20)) {
    const std::string n = std::to_string(lines++);
    cp1250 += n + ",P\xF8\xEDli\x9A \x9Elu\x9Dou\xE8k\xFD k\xF9\xF2,\x84quoted\x93\n";
    utf8 += n + ",Příliš žluťoučký kůň,„quoted“\n";
  }
  WriteFile(In(), cp1250);
  Result<std::string> r = ConvertFile(false, Encoding::kWindows1250);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), utf8.size());
  EXPECT_TRUE(*r == utf8);

  // The same through gzip, with an undefined byte at the very end: the line is counted across
  // every buffer.
  WriteGzip(In(), {cp1250, "x\x98"});
  r = ConvertFile(true, Encoding::kWindows1250);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details().at("line"), std::to_string(lines + 1));
  EXPECT_EQ(r.status().details().at("column"), "2");
}

// UTF-16 whose surrogate pairs and UTF-8 whose 4-byte sequences straddle the 1 MiB reads.
TEST_F(TranscodeTest, MultibyteSequencesAcrossReadBoundaries) {
  std::u16string text = u"ab";  // after the BOM: pairs start at byte 6, so 1 MiB reads cut them
  std::string utf8 = "ab";
  while (text.size() < 3 * transcode::kTranscodeInputBytes / 2) {
    text += u"😀";
    utf8 += "😀";
  }
  Result<std::string> r = Convert(Utf16(text, true, true), Encoding::kUtf16Le);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == utf8);

  for (const std::string prefix : {"", "a", "ab", "abc"}) {
    r = Convert(prefix + utf8, Encoding::kUtf8);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r == prefix + utf8);
  }
}

TEST_F(TranscodeTest, OutputIsPrivateAndReplaced) {
  WriteFile(Out(), std::string(1000, 'x'));
  ASSERT_EQ(::chmod(Out().c_str(), 0644), 0);
  Result<std::string> r = Convert("caf\xE9", Encoding::kLatin1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "café");
  struct stat st {};
  ASSERT_EQ(::stat(Out().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TranscodeTest, UnreadableInputIsInternal) {
  Result<uint64_t> r =
      TranscodeToUtf8(dir_.path() + "/missing.csv", false, Encoding::kUtf8, Out(), "data.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_FALSE(std::filesystem::exists(Out()));
}

TEST(ParseEncodingTest, AcceptedNames) {
  const std::pair<const char*, Encoding> cases[] = {
      {"utf-8", Encoding::kUtf8},         {"UTF8", Encoding::kUtf8},
      {"utf-16", Encoding::kUtf16Le},     {"UTF16", Encoding::kUtf16Le},
      {"utf-16le", Encoding::kUtf16Le},   {"UTF-16BE", Encoding::kUtf16Be},
      {"latin-1", Encoding::kLatin1},     {"Latin1", Encoding::kLatin1},
      {"ISO-8859-1", Encoding::kLatin1},  {"windows-1250", Encoding::kWindows1250},
      {"CP1250", Encoding::kWindows1250}, {"Windows-1252", Encoding::kWindows1252},
      {"cp1252", Encoding::kWindows1252},
  };
  for (const auto& [name, encoding] : cases) {
    Result<Encoding> r = ParseEncoding(name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_EQ(*r, encoding) << name;
  }
  for (Encoding e : kAllEncodings) {
    Result<Encoding> r = ParseEncoding(EncodingName(e));
    ASSERT_TRUE(r.ok()) << EncodingName(e);
    EXPECT_EQ(*r, e);
  }
}

TEST(ParseEncodingTest, UnknownNamesListTheAcceptedOnes) {
  const std::vector<std::string> names = {"",
                                          "ascii",
                                          "utf-32",
                                          "utf-8 ",
                                          "cp1251",
                                          "utf16le",
                                          std::string("utf-8\0", 6),
                                          std::string(100, 'x')};
  for (const std::string& name : names) {
    Result<Encoding> r = ParseEncoding(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().details().at("field"), "encoding");
    for (const char* accepted :
         {"utf-8", "utf-16le", "utf-16be", "latin-1", "windows-1250", "windows-1252"}) {
      EXPECT_NE(r.status().message().find(accepted), std::string::npos) << r.status().message();
    }
    EXPECT_LT(r.status().message().size(), 300u) << "the user's text is echoed bounded";
  }
  EXPECT_EQ(ParseEncoding("ascii").status().message().rfind("unknown encoding 'ascii': ", 0), 0u);
}

TEST(EncodingFromBomTest, OnlyUtf16Boms) {
  EXPECT_EQ(EncodingFromBom("\xFF\xFE"
                            "a"),
            Encoding::kUtf16Le);
  EXPECT_EQ(EncodingFromBom("\xFE\xFF"), Encoding::kUtf16Be);
  EXPECT_EQ(EncodingFromBom("\xEF\xBB\xBF"
                            "id"),
            std::nullopt);
  EXPECT_EQ(EncodingFromBom("id,name"), std::nullopt);
  EXPECT_EQ(EncodingFromBom("\xFF"), std::nullopt);
  EXPECT_EQ(EncodingFromBom(""), std::nullopt);
}

TEST(FirstInvalidUtf8Test, Cases) {
  // Valid, multibyte included.
  EXPECT_EQ(FirstInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("id,name\n"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("Příliš žluťoučký € 😀 \xF4\x8F\xBF\xBF"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8(std::string("a\0b", 3)), std::nullopt);
  // Invalid: the offset of the sequence's first byte.
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3(x"), 2u);    // bad continuation
  EXPECT_EQ(FirstInvalidUtf8("\xE2\x82(x"), 0u);  // bad third byte
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);    // overlong 2 bytes
  EXPECT_EQ(FirstInvalidUtf8("\xC1\xBF"), 0u);
  EXPECT_EQ(FirstInvalidUtf8("é\xE0\x80\xAF"), 2u);     // overlong 3 bytes
  EXPECT_EQ(FirstInvalidUtf8("\xF0\x80\x80\xAF"), 0u);  // overlong 4 bytes
  EXPECT_EQ(FirstInvalidUtf8("a\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("abc\xF5\x80\x80\x80"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("a\x80"), 1u);  // lone continuation
  EXPECT_EQ(FirstInvalidUtf8("\xFF"), 0u);
  EXPECT_EQ(FirstInvalidUtf8("ok\xFE"), 2u);
  // Cut by the end of the prefix: fine when the bytes so far can begin a valid sequence.
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("ab\xE2\x82"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("ab\xF0\x9F\x98"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("ab\xE0\x80"), 2u);  // can never be valid, cut or not
  EXPECT_EQ(FirstInvalidUtf8("ab\xED\xA0"), 2u);
}

TEST(ValidUtf8, ReplacesInvalidAndCutSequencesAndKeepsValidText) {
  EXPECT_EQ(transcode::ValidUtf8("plain"), "plain");
  EXPECT_EQ(transcode::ValidUtf8("Pr\xC3\xA1ha"), "Pr\xC3\xA1ha");
  EXPECT_EQ(transcode::ValidUtf8("a\xFF"
                                 "b"),
            "a\xEF\xBF\xBD"
            "b");                                                   // a Latin-1 byte
  EXPECT_EQ(transcode::ValidUtf8("Pr\xC3"), "Pr\xEF\xBF\xBD");      // cut at the end
  EXPECT_EQ(transcode::ValidUtf8("x\xE2\x82"), "x\xEF\xBF\xBD");    // a cut 3-byte sequence
  EXPECT_EQ(transcode::ValidUtf8("\xE2\x82\xAC"), "\xE2\x82\xAC");  // the euro sign, whole
  EXPECT_TRUE(!transcode::FirstInvalidUtf8(
      transcode::ValidUtf8(std::string("\x80\xC0\xAF\xED\xA0\x80z", 7))));
}

}  // namespace
}  // namespace swan::testing
