// ApiQuery: the query string of an /api/v1 request ("cursor=C&count=N"),
// percent-decoded, and the checks of the parameters the endpoints take.
// Every check answers a clear Status (the 400's message) rather than
// letting a malformed value reach Redis. Names the endpoints do not know
// are ignored (a cache-buster such as "_=1" is harmless). Pure, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "queuedaemon/status.h"

namespace qd {

class ApiQuery {
 public:
  static constexpr int kDefaultCount = 50;
  static constexpr int kMaxCount = 100;
  // The delayed listing's offset: beyond it a page is not worth a ZRANGE.
  static constexpr int64_t kMaxOffset = 1000000000;

  // Splits and decodes `query` ('+' is a space); a bad %-escape or a name
  // given twice is an error.
  [[nodiscard]] static Status Parse(std::string_view query, ApiQuery* out);

  // count: 1..kMaxCount, kDefaultCount when absent.
  [[nodiscard]] Status Count(int* count) const;
  // cursor: "" when absent, else a stream entry id MS-SEQ (IsEntryId).
  [[nodiscard]] Status Cursor(std::string* cursor) const;
  // offset: 0..kMaxOffset, 0 when absent.
  [[nodiscard]] Status Offset(int64_t* offset) const;

  // Percent-decodes `in` (with `plus_is_space`, '+' becomes ' '); false on
  // a '%' not followed by two hex digits.
  static bool Decode(std::string_view in, bool plus_is_space, std::string* out);
  // "MS-SEQ": both parts decimal and within 64 bits, as Redis writes entry
  // ids.
  static bool IsEntryId(std::string_view id);

 private:
  // The whole number `name` holds, within [min, max]; `fallback` when
  // absent.
  Status Number(const char* name, int64_t min, int64_t max, int64_t fallback,
                int64_t* out) const;

  std::map<std::string, std::string> values_;
};

}  // namespace qd
