#include "core/util/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace qd {
namespace {

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  // EVP_EncodeBlock takes an int length: encode in slices of whole 3-byte
  // groups, which concatenate without padding in between.
  constexpr size_t kSlice = 3 * 16 * 1024;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (size_t at = 0; at < data.size(); at += kSlice) {
    size_t n = std::min(kSlice, data.size() - at);
    std::string block((n + 2) / 3 * 4 + 1, '\0');
    int len = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(block.data()),
        reinterpret_cast<const unsigned char*>(data.data() + at),
        static_cast<int>(n));
    out.append(block.data(), static_cast<size_t>(len));
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0 || text.size() > (1u << 30)) return false;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() &&
         text[text.size() - 1 - padding] == '=')
    ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    char c = text[i];
    if (!IsAsciiAlnum(c) && c != '+' && c != '/') return false;
  }
  if (text.empty()) return true;
  out->resize(text.size() / 4 * 3);
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
  if (len < 0) return false;
  // EVP_DecodeBlock counts the bytes the padding stands for, as zeros.
  out->resize(static_cast<size_t>(len) - padding);
  return true;
}

}  // namespace qd
