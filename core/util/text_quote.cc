#include "core/util/text_quote.h"

#include <algorithm>
#include <cstdio>

namespace qd {

std::string Quote(std::string_view text, size_t max, bool ascii_only) {
  std::string out;
  size_t n = std::min(text.size(), max);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || (ascii_only && c > 0x7f)) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > n) out += "...";
  return out;
}

}  // namespace qd
