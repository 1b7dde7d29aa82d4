// Unit tests of the header-text -> column-name rule (src/common/column_names.h): Keboola's
// sanitizer (steps 1-4) plus Swan's additions (empty -> column_<pos>, 64 characters, unique).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "common/column_names.h"
#include "common/names.h"

namespace swan::testing {
namespace {

using names::SqlFriendly;
using names::SqlFriendlyColumns;
using Names = std::vector<std::string>;

// Every name of the rule is a valid column: [A-Za-z0-9_]{1,64} and accepted by ValidateColumn.
void ExpectValidColumns(const Names& names) {
  static const std::regex re("[A-Za-z0-9_]{1,64}");
  for (const auto& n : names) {
    EXPECT_TRUE(std::regex_match(n, re)) << "'" << n << "'";
    EXPECT_TRUE(names::ValidateColumn(n).ok())
        << "'" << n << "': " << names::ValidateColumn(n).ToString();
  }
}

TEST(SqlFriendlyTest, KeboolasDocumentedExamples) {
  EXPECT_EQ(SqlFriendly("my column name"), "my_column_name");
  // Keboola's ColumnNameSanitizer keeps the "_" that follows a replaced run: its own test
  // (keboola/php-storage-names-sanitizer and keboola/sanitizer, ColumnNameSanitizerTest) expects
  // "dlazebni__kostky". ("dlazebni_kostky" is the older php-utils sanitizeColumnName.)
  EXPECT_EQ(SqlFriendly("_~dlažební  %_kostky_~"), "dlazebni__kostky");
}

// The rest of Keboola's ColumnNameSanitizerTest cases.
TEST(SqlFriendlyTest, KeboolasTestSuiteCases) {
  EXPECT_EQ(SqlFriendly("jp日本語"), "jp");
  EXPECT_EQ(SqlFriendly("emoji😀name"), "emoji_name");
  EXPECT_EQ(SqlFriendly("   "), "");
  EXPECT_EQ(SqlFriendly("123"), "123");
  EXPECT_EQ(SqlFriendly("_"), "");
  EXPECT_EQ(SqlFriendly("__test__"), "test");
  EXPECT_EQ(SqlFriendly("validName123"), "validName123");
  EXPECT_EQ(SqlFriendly("Valid_Name_123"), "Valid_Name_123");
  EXPECT_EQ(SqlFriendly("test@domain.com"), "test_domain_com");
  EXPECT_EQ(SqlFriendly("user-id#123"), "user_id_123");
  EXPECT_EQ(SqlFriendly("test!!!multiple!!!invalid"), "test_multiple_invalid");
  EXPECT_EQ(SqlFriendly("name@@@with@@@symbols"), "name_with_symbols");
  EXPECT_EQ(SqlFriendly("___leading_underscores"), "leading_underscores");
  EXPECT_EQ(SqlFriendly("123number_start"), "123number_start");
}

// Keboola's README and test expect "test_vn_da_cuoi": Vietnamese letters (U+1E00-U+1EFF) are
// folded by Swan's own table, because glibc's iconv turns them into "?" in the C locale.
TEST(SqlFriendlyTest, KeboolasVietnameseExample) {
  EXPECT_EQ(SqlFriendly("test-vn-đá cuội"), "test_vn_da_cuoi");
  EXPECT_EQ(SqlFriendly("Tiếng Việt"), "Tieng_Viet");
}

TEST(SqlFriendlyTest, SpacesPunctuationAndDiacritics) {
  EXPECT_EQ(SqlFriendly("Product Name"), "Product_Name");
  EXPECT_EQ(SqlFriendly("Příliš žluťoučký kůň"), "Prilis_zlutoucky_kun");
  EXPECT_EQ(SqlFriendly("Año"), "Ano");
  EXPECT_EQ(SqlFriendly("Total (USD)"), "Total_USD");
  EXPECT_EQ(SqlFriendly("2024 Sales"), "2024_Sales");
  EXPECT_EQ(SqlFriendly("already_fine"), "already_fine");
  EXPECT_EQ(SqlFriendly("CamelCase"), "CamelCase");  // case is kept
}

TEST(SqlFriendlyTest, SystemColumnsGetATrailingUnderscore) {
  EXPECT_EQ(SqlFriendly("oid"), "oid_");
  EXPECT_EQ(SqlFriendly("xmin"), "xmin_");
  EXPECT_EQ(SqlFriendly("ctid"), "ctid_");
  EXPECT_EQ(SqlFriendly("OID"), "OID_");
  EXPECT_EQ(SqlFriendly("oids"), "oids");  // only the exact names
}

TEST(SqlFriendlyTest, NothingUsableIsEmpty) {
  EXPECT_EQ(SqlFriendly(""), "");
  EXPECT_EQ(SqlFriendly("%%%"), "");
  EXPECT_EQ(SqlFriendly("___"), "");
}

TEST(SqlFriendlyColumnsTest, EmptyNamesBecomeColumnAndTheirPosition) {
  Names got = SqlFriendlyColumns({"id", "", "%%%"});
  EXPECT_EQ(got, (Names{"id", "column_2", "column_3"}));
  ExpectValidColumns(got);
}

TEST(SqlFriendlyColumnsTest, DuplicatesIgnoringCaseGetSuffixes) {
  Names got = SqlFriendlyColumns({"Amount", "amount", "Amount"});
  EXPECT_EQ(got, (Names{"Amount", "amount_2", "Amount_3"}));
  ExpectValidColumns(got);
  // Names that collide only after renaming.
  got = SqlFriendlyColumns({"Product Name", "Unit Price", "Product Name", "Product-Name"});
  EXPECT_EQ(got, (Names{"Product_Name", "Unit_Price", "Product_Name_2", "Product_Name_3"}));
  ExpectValidColumns(got);
  // A suffix that a later header already spells takes the next free one.
  got = SqlFriendlyColumns({"a", "a_2", "a"});
  EXPECT_EQ(got, (Names{"a", "a_2", "a_3"}));
  ExpectValidColumns(got);
}

TEST(SqlFriendlyColumnsTest, LongNamesAreCutTo64AndDuplicatesStayWithin64) {
  const std::string long_name(100, 'x');
  Names got = SqlFriendlyColumns({long_name, long_name, long_name});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::string(64, 'x'));
  EXPECT_EQ(got[1], std::string(62, 'x') + "_2");
  EXPECT_EQ(got[2], std::string(62, 'x') + "_3");
  for (const auto& n : got) EXPECT_LE(n.size(), 64u) << n;
  ExpectValidColumns(got);
}

TEST(SqlFriendlyColumnsTest, EveryResultIsAValidColumn) {
  const Names labels = {"my column name",
                        "test-vn-đá cuội",
                        "_~dlažební  %_kostky_~",
                        "Product Name",
                        "Příliš žluťoučký kůň",
                        "Año",
                        "Total (USD)",
                        "2024 Sales",
                        "oid",
                        "",
                        "%%%",
                        "Amount",
                        "amount",
                        "Amount",
                        std::string(100, 'y'),
                        std::string(100, 'y'),
                        "_swan_x",  // trimmed of its leading "_": not reserved any more
                        "日本語",
                        "émoji 😀 here",
                        "tab\there",
                        "\xff\xfe bad utf-8",
                        "a\"b'c`d^e~f"};
  Names got = SqlFriendlyColumns(labels);
  ASSERT_EQ(got.size(), labels.size());
  ExpectValidColumns(got);
  // Unique, ignoring case.
  for (size_t i = 0; i < got.size(); ++i) {
    for (size_t k = i + 1; k < got.size(); ++k) {
      std::string a = got[i], b = got[k];
      for (auto* s : {&a, &b})
        for (auto& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_NE(a, b) << "positions " << i << " and " << k;
    }
  }
  EXPECT_EQ(got[16], "swan_x");
}

TEST(ValidateColumnTest, LeadingDigitsAllowedReservedAndSpacesRefused) {
  EXPECT_TRUE(names::ValidateColumn("2024_Sales").ok());
  EXPECT_TRUE(names::ValidateColumn("column_1").ok());
  EXPECT_TRUE(names::ValidateColumn(std::string(64, 'a')).ok());
  EXPECT_FALSE(names::ValidateColumn(std::string(65, 'a')).ok());
  EXPECT_FALSE(names::ValidateColumn("_swan_x").ok());
  EXPECT_FALSE(names::ValidateColumn("a b").ok());
  EXPECT_FALSE(names::ValidateColumn("").ok());
}

}  // namespace
}  // namespace swan::testing
