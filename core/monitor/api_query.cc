#include "core/monitor/api_query.h"

#include <cctype>
#include <charconv>

namespace qd {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal digits only, and within 64 bits unsigned.
bool IsU64(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() &&
         s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Status ApiQuery::Parse(std::string_view query, ApiQuery* out) {
  ApiQuery parsed;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name, value;
    if (!Decode(pair.substr(0, eq), true, &name) ||
        (eq != std::string_view::npos &&
         !Decode(pair.substr(eq + 1), true, &value))) {
      return Status::Error("the query has a bad %-escape");
    }
    if (!parsed.values_.emplace(name, value).second) {
      return Status::Error("query parameter " + name + " given twice");
    }
  }
  *out = std::move(parsed);
  return Status::Ok();
}

Status ApiQuery::Count(int* count) const {
  int64_t n = 0;
  Status s = Number("count", 1, kMaxCount, kDefaultCount, &n);
  if (s.ok()) *count = static_cast<int>(n);
  return s;
}

Status ApiQuery::Offset(int64_t* offset) const {
  return Number("offset", 0, kMaxOffset, 0, offset);
}

Status ApiQuery::Cursor(std::string* cursor) const {
  auto it = values_.find("cursor");
  if (it == values_.end()) {
    cursor->clear();
    return Status::Ok();
  }
  if (!IsEntryId(it->second)) {
    return Status::Error(
        "cursor: expected the \"next\" of a previous page (an entry id such "
        "as 1700000000000-0)");
  }
  *cursor = it->second;
  return Status::Ok();
}

Status ApiQuery::Number(const char* name, int64_t min, int64_t max,
                        int64_t fallback, int64_t* out) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    *out = fallback;
    return Status::Ok();
  }
  const std::string& text = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() ||
      end != text.data() + text.size() || v < min || v > max) {
    return Status::Error(std::string(name) + ": expected a whole number from " +
                         std::to_string(min) + " to " + std::to_string(max));
  }
  *out = v;
  return Status::Ok();
}

bool ApiQuery::Decode(std::string_view in, bool plus_is_space,
                      std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = Hex(in[i + 1]);
      int lo = Hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return true;
}

bool ApiQuery::IsEntryId(std::string_view id) {
  size_t dash = id.find('-');
  return dash != std::string_view::npos && IsU64(id.substr(0, dash)) &&
         IsU64(id.substr(dash + 1));
}

}  // namespace qd
