#include "core/schedule/cron_expr.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "core/util/text_quote.h"

namespace qd {

namespace {

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR",
                                       "MAY", "JUN", "JUL", "AUG",
                                       "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED",
                                     "THU", "FRI", "SAT"};

// What one field accepts.
struct FieldSpec {
  const char* name;          // in messages
  int min;                   // lowest value
  int max;                   // highest value a number may name (day-of-week 7)
  int top;                   // where `*` and `a/n` stop (day-of-week 6)
  bool day;                  // `?` allowed
  const char* const* names;  // 3-letter names of min.., or nullptr
  int name_count;
};

constexpr FieldSpec kSecond{"second", 0, 59, 59, false, nullptr, 0};
constexpr FieldSpec kMinute{"minute", 0, 59, 59, false, nullptr, 0};
constexpr FieldSpec kHour{"hour", 0, 23, 23, false, nullptr, 0};
constexpr FieldSpec kDay{"day-of-month", 1, 31, 31, true, nullptr, 0};
constexpr FieldSpec kMonth{"month", 1, 12, 12, false, kMonthNames, 12};
constexpr FieldSpec kWeekday{"day-of-week", 0, 7, 6, true, kDayNames, 7};

// What may start an item: "a number, a name (SUN-SAT), '*' or '?'".
std::string Expected(const FieldSpec& spec) {
  std::string out = "a number";
  if (spec.names != nullptr) {
    out += std::string(", a name (") + spec.names[0] + "-" +
           spec.names[spec.name_count - 1] + ")";
  }
  return out + (spec.day ? ", '*' or '?'" : " or '*'");
}

// Numbers saturate here while their digits are read: any value past it is
// out of every field's range, and no digit string can overflow an int.
constexpr int kNumberCap = 1000000;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// A byte of the expression as a message shows it: 'x', or '\x01'.
std::string ShowChar(char c) {
  return "'" + Quote(std::string_view(&c, 1), 1, true) + "'";
}

std::string ShowText(std::string_view text) {
  return "'" + Quote(text, 24, true) + "'";
}

}  // namespace

std::string CronError::ToString() const {
  return "col " + std::to_string(column) + ": " + message;
}

int CronExpr::NextBit(uint64_t bits, int from, int max) {
  if (from < 0) from = 0;
  for (int v = from; v <= max; ++v) {
    if ((bits >> v) & 1) return v;
  }
  return -1;
}

bool CronExpr::MatchesDate(int month, int day, int weekday) const {
  if (!MatchesMonth(month)) return false;
  bool day_ok = Has(days_, day, 31);
  bool weekday_ok = Has(weekdays_, weekday, 6);
  if (days_any_ || weekdays_any_) return day_ok && weekday_ok;
  return day_ok || weekday_ok;
}

// The parser: one pass over the text, first error wins. Positions are
// 0-based byte offsets into the text; columns in errors are 1-based.
class CronParser {
 public:
  CronParser(std::string_view text, CronError* error)
      : text_(text), error_(error) {}

  bool Run(CronExpr* out);

 private:
  struct Span {
    size_t begin;
    size_t end;
  };

  bool Split(std::vector<Span>* fields);
  bool ParseField(const FieldSpec& spec, Span field, uint64_t* bits, bool* any);
  bool ParseItem(const FieldSpec& spec, Span field, size_t* pos,
                 uint64_t* bits);
  bool ParseValue(const FieldSpec& spec, size_t* pos, size_t end, int* out);
  bool ParseName(const FieldSpec& spec, size_t* pos, size_t end, int* out);
  bool ParseStep(const FieldSpec& spec, size_t* pos, size_t end, int* out);
  // Reads digits at *pos, saturating at kNumberCap.
  int ReadNumber(size_t* pos, size_t end) const;
  // The message for a character that cannot come next: Quartz's L, W and #
  // get their own.
  bool FailUnexpected(const FieldSpec& spec, size_t pos, size_t end,
                      const std::string& context);
  bool FailUnsupported(const FieldSpec& spec, size_t pos, char c);
  bool Fail(size_t pos, std::string message);

  std::string_view text_;
  CronError* error_;
};

bool CronParser::Fail(size_t pos, std::string message) {
  error_->column = static_cast<int>(pos) + 1;
  error_->message = std::move(message);
  return false;
}

bool CronParser::Run(CronExpr* out) {
  std::vector<Span> fields;
  if (!Split(&fields)) return false;
  size_t i = 0;
  if (fields.size() == 6) {
    if (!ParseField(kSecond, fields[i++], &out->seconds_, nullptr)) {
      return false;
    }
  } else {
    out->seconds_ = 1;  // five fields: second 0
  }
  if (!ParseField(kMinute, fields[i++], &out->minutes_, nullptr) ||
      !ParseField(kHour, fields[i++], &out->hours_, nullptr) ||
      !ParseField(kDay, fields[i++], &out->days_, &out->days_any_) ||
      !ParseField(kMonth, fields[i++], &out->months_, nullptr) ||
      !ParseField(kWeekday, fields[i++], &out->weekdays_,
                  &out->weekdays_any_)) {
    return false;
  }
  // Sunday may be written 7; it matches as 0.
  constexpr uint64_t kSeven = uint64_t{1} << 7;
  if (out->weekdays_ & kSeven) out->weekdays_ = (out->weekdays_ | 1) & ~kSeven;
  out->text_ = std::string(text_);
  return true;
}

bool CronParser::Split(std::vector<Span>* fields) {
  if (text_.size() > CronExpr::kMaxLength) {
    return Fail(CronExpr::kMaxLength, "cron expression longer than " +
                                          std::to_string(CronExpr::kMaxLength) +
                                          " bytes");
  }
  size_t i = 0;
  while (i < text_.size()) {
    while (i < text_.size() && IsSpace(text_[i])) ++i;
    if (i == text_.size()) break;
    size_t begin = i;
    while (i < text_.size() && !IsSpace(text_[i])) ++i;
    if (fields->size() == 6) {
      return Fail(begin,
                  "too many fields: expected 5 (minute hour day-of-month "
                  "month day-of-week) or 6 (with seconds first)");
    }
    fields->push_back({begin, i});
  }
  if (fields->empty()) {
    return Fail(0,
                "empty cron expression: expected 5 fields (minute hour "
                "day-of-month month day-of-week) or 6 (with seconds first)");
  }
  if (text_[(*fields)[0].begin] == '@') {
    return Fail((*fields)[0].begin,
                "macros such as @daily are not supported: write the fields "
                "(e.g. '0 0 * * *')");
  }
  if (fields->size() < 5) {
    return Fail(fields->back().end,
                std::to_string(fields->size()) +
                    (fields->size() == 1 ? " field" : " fields") +
                    ": expected 5 (minute hour day-of-month month "
                    "day-of-week) or 6 (with seconds first)");
  }
  return true;
}

bool CronParser::ParseField(const FieldSpec& spec, Span field, uint64_t* bits,
                            bool* any) {
  std::string_view text = text_.substr(field.begin, field.end - field.begin);
  if (text == "?" && !spec.day) {
    return Fail(field.begin, std::string(spec.name) +
                                 ": '?' is only allowed in day-of-month and "
                                 "day-of-week (where it means '*')");
  }
  if (any != nullptr) *any = text == "*" || text == "?";
  size_t pos = field.begin;
  while (true) {
    if (!ParseItem(spec, field, &pos, bits)) return false;
    if (pos == field.end) return true;
    ++pos;  // ParseItem stops only at the end or at a ','
  }
}

bool CronParser::ParseItem(const FieldSpec& spec, Span field, size_t* pos,
                           uint64_t* bits) {
  const size_t begin = *pos;
  const size_t end = field.end;
  int lo = 0;
  int hi = 0;
  bool single = false;
  if (*pos < end && text_[*pos] == '?' && spec.day) {
    if (field.end - field.begin != 1) {
      return Fail(*pos, std::string(spec.name) +
                            ": '?' must be the whole field (it means '*')");
    }
    lo = spec.min;
    hi = spec.top;
    ++*pos;
  } else if (*pos < end && text_[*pos] == '*') {
    lo = spec.min;
    hi = spec.top;
    ++*pos;
  } else {
    if (!ParseValue(spec, pos, end, &lo)) return false;
    hi = lo;
    single = true;
    if (*pos < end && text_[*pos] == '-') {
      ++*pos;
      if (!ParseValue(spec, pos, end, &hi)) return false;
      single = false;
      if (hi < lo) {
        return Fail(begin,
                    std::string(spec.name) + " range " +
                        Quote(text_.substr(begin, *pos - begin), 24, true) +
                        " goes backwards (the first value must not be "
                        "greater than the second)");
      }
    }
  }
  int step = 1;
  if (*pos < end && text_[*pos] == '/') {
    ++*pos;
    if (!ParseStep(spec, pos, end, &step)) return false;
    if (single && hi < spec.top) hi = spec.top;  // a/n: from a up
  }
  if (*pos < end && text_[*pos] != ',') {
    return FailUnexpected(
        spec, *pos, end,
        " after " + ShowText(text_.substr(begin, *pos - begin)));
  }
  for (int v = lo; v <= hi; v += step) *bits |= uint64_t{1} << v;
  return true;
}

bool CronParser::ParseValue(const FieldSpec& spec, size_t* pos, size_t end,
                            int* out) {
  if (*pos < end && IsAlpha(text_[*pos])) return ParseName(spec, pos, end, out);
  if (*pos >= end || !IsDigit(text_[*pos])) {
    return FailUnexpected(spec, *pos, end, "");
  }
  const size_t begin = *pos;
  int v = ReadNumber(pos, end);
  if (v < spec.min || v > spec.max) {
    return Fail(begin, std::string(spec.name) + " " +
                           Quote(text_.substr(begin, *pos - begin), 24, true) +
                           " out of range " + std::to_string(spec.min) + "-" +
                           std::to_string(spec.max));
  }
  *out = v;
  return true;
}

bool CronParser::ParseName(const FieldSpec& spec, size_t* pos, size_t end,
                           int* out) {
  const size_t begin = *pos;
  std::string word;
  while (*pos < end && IsAlpha(text_[*pos])) {
    word += static_cast<char>(
        std::toupper(static_cast<unsigned char>(text_[*pos])));
    ++*pos;
  }
  for (int i = 0; i < spec.name_count; ++i) {
    if (word == spec.names[i]) {
      *out = spec.min + i;
      return true;
    }
  }
  if (word == "L" || word == "LW") return FailUnsupported(spec, begin, 'L');
  if (word == "W") return FailUnsupported(spec, begin, 'W');
  std::string shown = ShowText(text_.substr(begin, *pos - begin));
  if (spec.names == nullptr) {
    return Fail(begin, std::string(spec.name) + ": " + shown +
                           " is not a number (names are allowed in month and "
                           "day-of-week only)");
  }
  return Fail(begin,
              std::string(spec.name) + ": " + shown + " is not a " +
                  (spec.names == kMonthNames ? "month name (JAN-DEC)"
                                             : "weekday name (SUN-SAT)"));
}

bool CronParser::ParseStep(const FieldSpec& spec, size_t* pos, size_t end,
                           int* out) {
  const int max_step = spec.top - spec.min + 1;
  if (*pos >= end || !IsDigit(text_[*pos])) {
    std::string found =
        *pos >= end ? "the end of the field" : ShowChar(text_[*pos]);
    return Fail(*pos, std::string(spec.name) +
                          ": expected a step number after '/', found " + found);
  }
  const size_t begin = *pos;
  int step = ReadNumber(pos, end);
  if (step < 1 || step > max_step) {
    return Fail(begin, std::string(spec.name) + " step " +
                           Quote(text_.substr(begin, *pos - begin), 24, true) +
                           " out of range 1-" + std::to_string(max_step));
  }
  *out = step;
  return true;
}

int CronParser::ReadNumber(size_t* pos, size_t end) const {
  int v = 0;
  while (*pos < end && IsDigit(text_[*pos])) {
    if (v < kNumberCap) v = v * 10 + (text_[*pos] - '0');
    ++*pos;
  }
  return v;
}

bool CronParser::FailUnexpected(const FieldSpec& spec, size_t pos, size_t end,
                                const std::string& context) {
  if (pos < end) {
    char c = text_[pos];
    if (c == 'L' || c == 'l' || c == 'W' || c == 'w' || c == '#') {
      return FailUnsupported(spec, pos, c);
    }
  }
  std::string found =
      pos >= end ? "the end of the field" : ShowChar(text_[pos]);
  if (context.empty()) {
    return Fail(pos, std::string(spec.name) + ": expected " + Expected(spec) +
                         ", found " + found);
  }
  return Fail(pos, std::string(spec.name) + ": unexpected " + found + context);
}

bool CronParser::FailUnsupported(const FieldSpec& spec, size_t pos, char c) {
  const char* what = "'#' (the n-th weekday of the month)";
  if (c == 'L' || c == 'l') what = "'L' (the last day)";
  if (c == 'W' || c == 'w') what = "'W' (the nearest weekday)";
  return Fail(pos, std::string(spec.name) + ": " + what +
                       " is not supported (Quartz syntax)");
}

std::optional<CronExpr> CronExpr::Parse(std::string_view text,
                                        CronError* error) {
  CronExpr expr;
  CronError ignored;
  CronParser parser(text, error != nullptr ? error : &ignored);
  if (!parser.Run(&expr)) return std::nullopt;
  return expr;
}

}  // namespace qd
