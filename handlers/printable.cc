#include "printable.h"

namespace qd {
namespace {

void AppendEscaped(unsigned char c, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  switch (c) {
    case '\n':
      *out += "\\n";
      return;
    case '\r':
      *out += "\\r";
      return;
    case '\t':
      *out += "\\t";
      return;
    case '\\':
      *out += "\\\\";
      return;
  }
  if (c >= 0x20 && c < 0x7f) {
    *out += static_cast<char>(c);
    return;
  }
  *out += "\\x";
  *out += kHex[c >> 4];
  *out += kHex[c & 0xf];
}

}  // namespace

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t n = text.size() < max_bytes ? text.size() : max_bytes;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    AppendEscaped(static_cast<unsigned char>(text[i]), &out);
  }
  if (n < text.size()) {
    out += "...(+" + std::to_string(text.size() - n) + " bytes)";
  }
  return out;
}

}  // namespace qd
