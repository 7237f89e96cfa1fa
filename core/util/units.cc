#include "core/util/units.h"

#include <cctype>
#include <cstdio>
#include <iterator>
#include <limits>

namespace qd {
namespace {

constexpr char kDurationHint[] = "(use e.g. 250ms, 5s, 2m, 1h)";
constexpr char kSizeHint[] = "(use e.g. 512k, 256MiB, 1G)";
constexpr char kSoftLimitHint[] =
    "(use a percent of memory_limit, e.g. 90% or 12.5%, or a size, e.g. "
    "200MiB)";
constexpr int kMaxScale = 18;        // 10^18 still fits in 64 bits
constexpr int kMaxPercentScale = 9;  // keeps hard_limit * percent in 128 bits
constexpr size_t kMaxQuoted = 64;
constexpr uint64_t kMaxAmbiguousBytes = 100;  // a bare soft limit this small

using Wide = unsigned __int128;  // holds any mantissa times any unit

// A non-negative decimal number as written: value = mantissa / 10^scale.
struct Decimal {
  uint64_t mantissa = 0;
  int scale = 0;
};

enum class Parsed { kOk, kEmpty, kNegative, kInvalid, kTooLarge, kInexact };

// The text in quotes for a message: one line, not too long.
std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, kMaxQuoted)) {
    out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  }
  if (text.size() > kMaxQuoted) out += "...";
  return out + "'";
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) {
    text.remove_prefix(1);
  }
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text[text.size() - 1]))) {
    text.remove_suffix(1);
  }
  return text;
}

uint64_t PowerOf10(int n) {
  uint64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// Consumes leading digits of `*text` into `*number`; false on overflow.
bool TakeDigits(std::string_view* text, Decimal* number, bool fraction) {
  while (!text->empty() &&
         std::isdigit(static_cast<unsigned char>((*text)[0]))) {
    uint64_t digit = (*text)[0] - '0';
    if (number->mantissa >
        (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return false;
    }
    number->mantissa = number->mantissa * 10 + digit;
    if (fraction && ++number->scale > kMaxScale) return false;
    text->remove_prefix(1);
  }
  return true;
}

// Splits "12.5 MiB" into the number and the unit ("MiB"). The number is
// digits with an optional fraction ("0.5", not ".5" or "5.").
Parsed SplitNumber(std::string_view text, Decimal* number,
                   std::string_view* unit) {
  text = Trim(text);
  if (text.empty()) return Parsed::kEmpty;
  if (text[0] == '-') return Parsed::kNegative;
  if (!std::isdigit(static_cast<unsigned char>(text[0]))) {
    return Parsed::kInvalid;
  }
  if (!TakeDigits(&text, number, false)) return Parsed::kTooLarge;
  if (!text.empty() && text[0] == '.') {
    text.remove_prefix(1);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
      return Parsed::kInvalid;
    }
    if (!TakeDigits(&text, number, true)) return Parsed::kTooLarge;
  }
  *unit = Trim(text);
  return Parsed::kOk;
}

// number * multiplier, rounded to the nearest whole unit (or required to be
// whole when `exact`), at most `limit`.
Parsed Scale(Decimal number, uint64_t multiplier, uint64_t limit, bool exact,
             uint64_t* out) {
  Wide product = static_cast<Wide>(number.mantissa) * multiplier;
  Wide divisor = PowerOf10(number.scale);
  if (exact && product % divisor != 0) return Parsed::kInexact;
  Wide value = (product + divisor / 2) / divisor;
  if (value > limit) return Parsed::kTooLarge;
  *out = static_cast<uint64_t>(value);
  return Parsed::kOk;
}

// Milliseconds per duration unit; 0 when the unit is unknown.
uint64_t DurationUnit(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit.empty() || unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 60 * 60 * 1000;
  if (unit == "d") return 24 * 60 * 60 * 1000;
  return 0;
}

// Bytes per size unit, any case: "", "b"; "k", "kib" (1024); "kb" (1000);
// likewise m, g, t. 0 when the unit is unknown.
uint64_t SizeUnit(std::string_view unit) {
  std::string lower;
  for (char c : unit) lower += std::tolower(static_cast<unsigned char>(c));
  if (lower.empty() || lower == "b") return 1;
  size_t exponent = std::string_view("kmgt").find(lower[0]) + 1;
  if (exponent == 0) return 0;  // npos + 1
  std::string_view rest = std::string_view(lower).substr(1);
  uint64_t base = rest.empty() || rest == "ib" ? 1024 : rest == "b" ? 1000 : 0;
  uint64_t multiplier = 1;
  for (size_t i = 0; i < exponent; ++i) multiplier *= base;
  return multiplier;
}

Status UnitError(Parsed result, std::string_view text, const char* what,
                 const char* hint) {
  std::string quoted = Quoted(Trim(text));
  switch (result) {
    case Parsed::kEmpty:
      return Status::Error(std::string("empty ") + what + " " + hint);
    case Parsed::kNegative:
      return Status::Error(quoted + " is negative: a " + what +
                           " is never below 0 " + hint);
    case Parsed::kTooLarge:
      return Status::Error(quoted + " is too large for a " + what);
    case Parsed::kInexact:
      return Status::Error(quoted + " is finer than a millisecond " + hint);
    default:
      return Status::Error(quoted + " is not a " + what + " " + hint);
  }
}

// "90%" of `hard_limit`, rounded down.
Status SoftLimitFromPercent(std::string_view text, uint64_t hard_limit,
                            uint64_t* out) {
  Decimal percent;
  std::string_view unit;
  Parsed result = SplitNumber(text.substr(0, text.size() - 1), &percent, &unit);
  Wide hundred = static_cast<Wide>(100) * PowerOf10(percent.scale);
  if (result != Parsed::kOk || !unit.empty() || percent.mantissa == 0 ||
      percent.mantissa > hundred || percent.scale > kMaxPercentScale) {
    return Status::Error(Quoted(text) +
                         " is not a soft limit: a percent must be above 0 "
                         "and at most 100 " +
                         kSoftLimitHint);
  }
  *out = static_cast<uint64_t>(static_cast<Wide>(hard_limit) *
                               percent.mantissa / hundred);
  return Status::Ok();
}

Status SoftLimitFromSize(std::string_view text, uint64_t* out) {
  if (!ParseSize(text, out).ok()) {
    return Status::Error(Quoted(text) + " is not a soft limit " +
                         kSoftLimitHint);
  }
  // "soft_limit: 90" is surely 90%, not 90 bytes: make the writer say so.
  bool bare = text.find_first_not_of("0123456789.") == std::string::npos;
  if (bare && *out > 0 && *out <= kMaxAmbiguousBytes) {
    std::string number(text);
    return Status::Error(Quoted(text) + " is ambiguous: write " + number +
                         "% for a percent of memory_limit, or " + number +
                         "B for bytes");
  }
  return Status::Ok();
}

// "1.5" from 1500 / 1000: up to three decimals, trailing zeros dropped.
std::string FormatFraction(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  std::string text = buf;
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

}  // namespace

Status ParseDuration(std::string_view text, Duration* out) {
  Decimal number;
  std::string_view unit;
  Parsed result = SplitNumber(text, &number, &unit);
  uint64_t multiplier = DurationUnit(unit);
  if (result == Parsed::kOk && multiplier == 0) result = Parsed::kInvalid;
  uint64_t ms = 0;
  if (result == Parsed::kOk) {
    uint64_t limit = std::numeric_limits<Duration::rep>::max();
    result = Scale(number, multiplier, limit, /*exact=*/true, &ms);
  }
  if (result != Parsed::kOk) {
    return UnitError(result, text, "duration", kDurationHint);
  }
  *out = Duration(static_cast<Duration::rep>(ms));
  return Status::Ok();
}

Status ParseSize(std::string_view text, uint64_t* out) {
  Decimal number;
  std::string_view unit;
  Parsed result = SplitNumber(text, &number, &unit);
  uint64_t multiplier = SizeUnit(unit);
  if (result == Parsed::kOk && multiplier == 0) result = Parsed::kInvalid;
  uint64_t bytes = 0;
  if (result == Parsed::kOk) {
    uint64_t limit = std::numeric_limits<uint64_t>::max();
    result = Scale(number, multiplier, limit, /*exact=*/false, &bytes);
  }
  if (result != Parsed::kOk) return UnitError(result, text, "size", kSizeHint);
  *out = bytes;
  return Status::Ok();
}

Status ParseSoftLimit(std::string_view text, uint64_t hard_limit,
                      uint64_t* out) {
  std::string_view trimmed = Trim(text);
  uint64_t limit = 0;
  bool percent = !trimmed.empty() && trimmed.back() == '%';
  Status s = percent ? SoftLimitFromPercent(trimmed, hard_limit, &limit)
                     : SoftLimitFromSize(trimmed, &limit);
  if (!s.ok()) return s;
  if (limit == 0) {
    return Status::Error(Quoted(trimmed) +
                         " comes to 0 bytes: a soft limit must be above 0 " +
                         kSoftLimitHint);
  }
  *out = limit;
  return Status::Ok();
}

std::string FormatDuration(Duration d) {
  if (d.count() < 0) return "-" + FormatDuration(-d);
  static constexpr struct {
    Duration::rep ms;
    const char* suffix;
  } kUnits[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  for (const auto& unit : kUnits) {
    if (d.count() >= unit.ms) {
      return FormatFraction(static_cast<double>(d.count()) / unit.ms, 3) +
             unit.suffix;
    }
  }
  return std::to_string(d.count()) + "ms";
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB",
                                           "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  // 1023.95 and up would print as "1024.0": show it as 1.0 of the next unit.
  while (value >= 1023.95 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f%s", value, kUnits[unit]);
  return buf;
}

}  // namespace qd
