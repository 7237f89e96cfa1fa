#include "core/util/units.h"

#include <gtest/gtest.h>

#include <string>

namespace qd {
namespace {

using std::chrono::milliseconds;

// The parsed duration in milliseconds, or -1 with the error in *error.
long long Ms(std::string_view text, std::string* error = nullptr) {
  Duration d{-7};
  Status s = ParseDuration(text, &d);
  if (!s.ok()) {
    EXPECT_EQ(d.count(), -7) << "output written on error";
    if (error != nullptr) *error = s.message();
    return -1;
  }
  return d.count();
}

std::string DurationError(std::string_view text) {
  std::string error;
  EXPECT_EQ(Ms(text, &error), -1) << text;
  return error;
}

uint64_t Bytes(std::string_view text) {
  uint64_t out = 0;
  Status s = ParseSize(text, &out);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.message());
  return out;
}

std::string SizeError(std::string_view text) {
  uint64_t out = 12345;
  Status s = ParseSize(text, &out);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_EQ(out, 12345u) << "output written on error";
  return s.ok() ? "" : s.message();
}

uint64_t Soft(std::string_view text, uint64_t hard) {
  uint64_t out = 0;
  Status s = ParseSoftLimit(text, hard, &out);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.message());
  return out;
}

std::string SoftError(std::string_view text, uint64_t hard) {
  uint64_t out = 12345;
  Status s = ParseSoftLimit(text, hard, &out);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_EQ(out, 12345u) << "output written on error";
  return s.ok() ? "" : s.message();
}

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;
constexpr uint64_t kTiB = kGiB * 1024;

TEST(UnitsTest, DurationUnits) {
  EXPECT_EQ(Ms("250ms"), 250);
  EXPECT_EQ(Ms("5s"), 5000);
  EXPECT_EQ(Ms("2m"), 120000);
  EXPECT_EQ(Ms("1h"), 3600000);
  EXPECT_EQ(Ms("1d"), 86400000);
  EXPECT_EQ(Ms("0"), 0);
  EXPECT_EQ(Ms("0s"), 0);
}

TEST(UnitsTest, DurationBareNumberIsSeconds) {
  EXPECT_EQ(Ms("30"), 30000);
  EXPECT_EQ(Ms("1.5"), 1500);
}

TEST(UnitsTest, DurationDecimals) {
  EXPECT_EQ(Ms("1.5s"), 1500);
  EXPECT_EQ(Ms("0.25s"), 250);
  EXPECT_EQ(Ms("1.5m"), 90000);
  EXPECT_EQ(Ms("0.5h"), 1800000);
  EXPECT_EQ(Ms("2.0ms"), 2);
}

TEST(UnitsTest, DurationToleratesSpaces) {
  EXPECT_EQ(Ms(" 5s "), 5000);
  EXPECT_EQ(Ms("5 s"), 5000);
}

TEST(UnitsTest, DurationRejectsGarbage) {
  EXPECT_EQ(DurationError("5x"),
            "'5x' is not a duration (use e.g. 250ms, 5s, 2m, 1h)");
  for (const char* text : {"s", "abc", "5 s s", ".5s", "5.s", "1e3", "+5s",
                           "5S", "5sec", "5s5", "0x10", "1,5s"}) {
    EXPECT_NE(DurationError(text).find("is not a duration"), std::string::npos)
        << text;
  }
}

TEST(UnitsTest, DurationRejectsEmpty) {
  EXPECT_EQ(DurationError(""), "empty duration (use e.g. 250ms, 5s, 2m, 1h)");
  EXPECT_EQ(DurationError("  "), "empty duration (use e.g. 250ms, 5s, 2m, 1h)");
}

TEST(UnitsTest, DurationRejectsNegative) {
  std::string error = DurationError("-5s");
  EXPECT_NE(error.find("'-5s' is negative"), std::string::npos) << error;
  EXPECT_NE(error.find("e.g. 250ms"), std::string::npos) << error;
}

TEST(UnitsTest, DurationRejectsOverflow) {
  EXPECT_NE(DurationError("999999999999999999999s").find("too large"),
            std::string::npos);
  EXPECT_NE(DurationError("200000000000d").find("too large"),
            std::string::npos);
  EXPECT_EQ(Ms("9223372036854775807ms"), 9223372036854775807LL);
  EXPECT_NE(DurationError("9223372036854775808ms").find("too large"),
            std::string::npos);
}

TEST(UnitsTest, DurationRejectsSubMillisecond) {
  EXPECT_NE(DurationError("1.5ms").find("finer than a millisecond"),
            std::string::npos);
  EXPECT_NE(DurationError("0.0001s").find("finer than a millisecond"),
            std::string::npos);
}

TEST(UnitsTest, ErrorQuotesLongTextOnOneLine) {
  std::string error = DurationError(std::string(200, 'x') + "\n5s");
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_LT(error.size(), 150u);
}

TEST(UnitsTest, SizeBinaryUnits) {
  EXPECT_EQ(Bytes("512k"), 512 * kKiB);
  EXPECT_EQ(Bytes("512K"), 512 * kKiB);
  EXPECT_EQ(Bytes("1KiB"), kKiB);
  EXPECT_EQ(Bytes("1kiB"), kKiB);
  EXPECT_EQ(Bytes("256M"), 256 * kMiB);
  EXPECT_EQ(Bytes("256MiB"), 256 * kMiB);
  EXPECT_EQ(Bytes("256m"), 256 * kMiB);
  EXPECT_EQ(Bytes("1G"), kGiB);
  EXPECT_EQ(Bytes("1GiB"), kGiB);
  EXPECT_EQ(Bytes("2T"), 2 * kTiB);
  EXPECT_EQ(Bytes("2TiB"), 2 * kTiB);
}

TEST(UnitsTest, SizeDecimalUnits) {
  EXPECT_EQ(Bytes("1KB"), 1000u);
  EXPECT_EQ(Bytes("1kB"), 1000u);
  EXPECT_EQ(Bytes("10MB"), 10000000u);
  EXPECT_EQ(Bytes("1GB"), 1000000000u);
  EXPECT_EQ(Bytes("1TB"), 1000000000000u);
}

TEST(UnitsTest, SizeBytes) {
  EXPECT_EQ(Bytes("512"), 512u);
  EXPECT_EQ(Bytes("512B"), 512u);
  EXPECT_EQ(Bytes("512b"), 512u);
  EXPECT_EQ(Bytes("0"), 0u);
  EXPECT_EQ(Bytes("256 MiB"), 256 * kMiB);
}

TEST(UnitsTest, SizeDecimalsRoundToWholeBytes) {
  EXPECT_EQ(Bytes("1.5k"), 1536u);
  EXPECT_EQ(Bytes("0.5MiB"), kMiB / 2);
  EXPECT_EQ(Bytes("12.0MiB"), 12 * kMiB);
  EXPECT_EQ(Bytes("0.1k"), 102u);  // 102.4
  EXPECT_EQ(Bytes("1.5GB"), 1500000000u);
}

TEST(UnitsTest, SizeRejectsGarbage) {
  EXPECT_EQ(SizeError("12q"),
            "'12q' is not a size (use e.g. 512k, 256MiB, 1G)");
  for (const char* text :
       {"MiB", "abc", "1.k", ".5k", "1kk", "1Mi", "1P", "1 2", "1e6", "+1k"}) {
    EXPECT_NE(SizeError(text).find("is not a size"), std::string::npos) << text;
  }
}

TEST(UnitsTest, SizeRejectsEmptyNegativeOverflow) {
  EXPECT_EQ(SizeError(""), "empty size (use e.g. 512k, 256MiB, 1G)");
  EXPECT_NE(SizeError("-1M").find("'-1M' is negative"), std::string::npos);
  EXPECT_NE(SizeError("20000000T").find("too large"), std::string::npos);
  EXPECT_NE(SizeError("99999999999999999999").find("too large"),
            std::string::npos);
  EXPECT_EQ(Bytes("18446744073709551615"), UINT64_MAX);
  EXPECT_NE(SizeError("18446744073709551616").find("too large"),
            std::string::npos);
}

TEST(UnitsTest, SoftLimitPercent) {
  EXPECT_EQ(Soft("90%", 1000), 900u);
  EXPECT_EQ(Soft("100%", 1000), 1000u);
  EXPECT_EQ(Soft("12.5%", 1000), 125u);
  EXPECT_EQ(Soft("90%", 256 * kMiB), 256 * kMiB * 9 / 10);
  EXPECT_EQ(Soft("0.5%", 1000), 5u);
  EXPECT_EQ(Soft(" 50 %", 1000), 500u);
  EXPECT_EQ(Soft("100%", UINT64_MAX), UINT64_MAX);
}

TEST(UnitsTest, SoftLimitSize) {
  EXPECT_EQ(Soft("200MiB", 256 * kMiB), 200 * kMiB);
  EXPECT_EQ(Soft("1000", 1), 1000u);  // the caller compares with hard
  EXPECT_EQ(Soft("90B", 1000), 90u);
}

TEST(UnitsTest, SoftLimitSmallBareNumberIsAmbiguous) {
  EXPECT_EQ(SoftError("90", 1000),
            "'90' is ambiguous: write 90% for a percent of memory_limit, or "
            "90B for bytes");
  EXPECT_NE(SoftError("12.5", 1000).find("is ambiguous"), std::string::npos);
  EXPECT_EQ(Soft("101", 1000), 101u);
}

TEST(UnitsTest, SoftLimitRejectsBadPercents) {
  for (const char* text :
       {"0%", "0.0%", "100.1%", "150%", "-5%", "%", "abc%", "5k%", "90%%"}) {
    std::string error = SoftError(text, 1000);
    EXPECT_NE(error.find("is not a soft limit"), std::string::npos) << text;
    EXPECT_NE(error.find("e.g. 90%"), std::string::npos) << error;
  }
}

TEST(UnitsTest, SoftLimitRejectsZeroAndGarbage) {
  EXPECT_NE(SoftError("0B", 1000).find("a soft limit must be above 0"),
            std::string::npos);
  EXPECT_NE(SoftError("0.01%", 10).find("comes to 0 bytes"), std::string::npos);
  EXPECT_NE(SoftError("lots", 1000).find("'lots' is not a soft limit"),
            std::string::npos);
  EXPECT_NE(SoftError("", 1000).find("is not a soft limit"), std::string::npos);
}

TEST(UnitsTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(1000)), "1s");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(milliseconds(1250)), "1.25s");
  EXPECT_EQ(FormatDuration(milliseconds(120000)), "2m");
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "1.5m");
  EXPECT_EQ(FormatDuration(milliseconds(3600000)), "1h");
  EXPECT_EQ(FormatDuration(milliseconds(86400000)), "1d");
  EXPECT_EQ(FormatDuration(milliseconds(-1500)), "-1.5s");
}

TEST(UnitsTest, FormatDurationParsesBack) {
  for (long long ms : {0LL, 1LL, 999LL, 1500LL, 25000LL, 90000LL, 3600000LL}) {
    EXPECT_EQ(Ms(FormatDuration(milliseconds(ms))), ms) << ms;
  }
}

TEST(UnitsTest, FormatSize) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(512), "512B");
  EXPECT_EQ(FormatSize(1023), "1023B");
  EXPECT_EQ(FormatSize(kKiB), "1.0KiB");
  EXPECT_EQ(FormatSize(1536), "1.5KiB");
  EXPECT_EQ(FormatSize(12 * kMiB), "12.0MiB");
  EXPECT_EQ(FormatSize(kMiB - 1), "1.0MiB");
  EXPECT_EQ(FormatSize(3 * kGiB), "3.0GiB");
  EXPECT_EQ(FormatSize(5 * kTiB), "5.0TiB");
  EXPECT_EQ(FormatSize(UINT64_MAX), "16.0EiB");
}

TEST(UnitsTest, FormatSizeParsesBack) {
  EXPECT_EQ(Bytes(FormatSize(12 * kMiB)), 12 * kMiB);
  EXPECT_EQ(Bytes(FormatSize(1536)), 1536u);
}

}  // namespace
}  // namespace qd
