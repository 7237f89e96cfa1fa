// Base64 (RFC 4648) on OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: for
// SASL, and for payloads that are not valid UTF-8 in JSON documents (the
// delayed set's members).
#pragma once

#include <string>
#include <string_view>

namespace qd {

// Standard base64 (RFC 4648, with padding, no line breaks).
std::string Base64Encode(std::string_view data);
// Strict: the length is a multiple of 4, only the alphabet and at most two
// trailing '='; anything else (whitespace too) is refused. "" decodes to "".
[[nodiscard]] bool Base64Decode(std::string_view text, std::string* out);

}  // namespace qd
