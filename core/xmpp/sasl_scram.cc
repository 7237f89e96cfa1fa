#include "core/xmpp/sasl_scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/util/text_quote.h"

namespace qd {
namespace {

constexpr size_t kSha1Size = 20;
constexpr size_t kNonceBytes = 24;
constexpr std::string_view kGs2Header =
    "n,,";  // no channel binding, no authzid
constexpr std::string_view kGs2HeaderBase64 = "biws";
// How much of a server's message an error quotes (server messages carry
// no secret of ours).
constexpr size_t kMaxQuoted = 100;

// Wipes a secret before its memory is reused.
void Wipe(std::string* secret) {
  if (!secret->empty()) OPENSSL_cleanse(secret->data(), secret->size());
  secret->clear();
}

// ASCII only, whatever the process locale.
bool IsAsciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A SCRAM message is "a=value,b=value,...": one letter, '=', then a value
// without ','. Returns false on anything else.
using ScramAttrs = std::vector<std::pair<char, std::string_view>>;
bool SplitScram(std::string_view message, ScramAttrs* out) {
  out->clear();
  while (true) {
    size_t comma = message.find(',');
    std::string_view attr = message.substr(0, comma);
    if (attr.size() < 2 || attr[1] != '=' || !IsAsciiAlpha(attr[0]))
      return false;
    out->emplace_back(attr[0], attr.substr(2));
    if (comma == std::string_view::npos) return true;
    message.remove_prefix(comma + 1);
  }
}

// RFC 5802's "printable": %x21-2B / %x2D-7E.
bool IsNonce(std::string_view nonce) {
  return std::all_of(nonce.begin(), nonce.end(),
                     [](char c) { return c >= 0x21 && c <= 0x7e && c != ','; });
}

// RFC 5802 saslname: ',' and '=' escaped.
std::string EscapeUser(std::string_view user) {
  std::string out;
  for (char c : user) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

std::string Sha1(std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(),
             reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha1(),
             nullptr);
  out.resize(len);
  return out;
}

Status BadServerFirst(std::string_view why, std::string_view message) {
  return Status::Error("bad SCRAM server-first message (" + std::string(why) +
                       "): '" +
                       Quote(message, kMaxQuoted, /*ascii_only=*/true) + "'");
}

}  // namespace

ScramSha1Client::ScramSha1Client(std::string user, std::string password,
                                 std::string client_nonce)
    : user_(std::move(user)),
      password_(std::move(password)),
      nonce_(std::move(client_nonce)) {
  if (nonce_.empty()) {
    unsigned char random[kNonceBytes];
    if (RAND_bytes(random, sizeof(random)) != 1) {
      throw std::runtime_error("SCRAM: the OpenSSL random generator failed");
    }
    nonce_ = Base64Encode(
        std::string_view(reinterpret_cast<char*>(random), sizeof(random)));
  }
}

ScramSha1Client::~ScramSha1Client() {
  Wipe(&password_);
  Wipe(&server_signature_);
}

std::string ScramSha1Client::ClientFirst() {
  client_first_bare_ = "n=" + EscapeUser(user_) + ",r=" + nonce_;
  state_ = State::kSentFirst;
  return std::string(kGs2Header) + client_first_bare_;
}

Status ScramSha1Client::ServerFirst(std::string_view message,
                                    std::string* client_final) {
  if (state_ != State::kSentFirst) {
    return Status::Error("SCRAM server-first message out of order");
  }
  state_ = State::kFailed;  // until everything below checks out
  ScramAttrs attrs;
  if (!SplitScram(message, &attrs)) {
    return BadServerFirst("not a list of a=value", message);
  }
  if (attrs[0].first == 'm') {
    return BadServerFirst("unsupported mandatory extension", message);
  }
  if (attrs.size() < 3 || attrs[0].first != 'r' || attrs[1].first != 's' ||
      attrs[2].first != 'i') {
    return BadServerFirst("expected r=, s=, i=", message);
  }
  std::string_view nonce = attrs[0].second;
  if (nonce.size() <= nonce_.size() ||
      nonce.substr(0, nonce_.size()) != nonce_ || !IsNonce(nonce)) {
    return BadServerFirst("nonce does not extend ours", message);
  }
  std::string salt;
  if (!Base64Decode(attrs[1].second, &salt) || salt.empty()) {
    return BadServerFirst("bad salt", message);
  }
  std::string_view count = attrs[2].second;
  long iterations = 0;
  auto [end, ec] =
      std::from_chars(count.data(), count.data() + count.size(), iterations);
  if (count.empty() || ec != std::errc() ||
      end != count.data() + count.size() || iterations < kScramMinIterations ||
      iterations > kScramMaxIterations) {
    return BadServerFirst("iteration count not in " +
                              std::to_string(kScramMinIterations) + ".." +
                              std::to_string(kScramMaxIterations),
                          message);
  }

  std::string salted(kSha1Size, '\0');
  if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()),
                        static_cast<int>(iterations), EVP_sha1(), kSha1Size,
                        reinterpret_cast<unsigned char*>(salted.data())) != 1) {
    return Status::Error("SCRAM: PBKDF2 failed in OpenSSL");
  }
  Wipe(&password_);
  std::string without_proof =
      "c=" + std::string(kGs2HeaderBase64) + ",r=" + std::string(nonce);
  std::string auth_message =
      client_first_bare_ + "," + std::string(message) + "," + without_proof;
  std::string client_key = Hmac(salted, "Client Key");
  std::string client_signature = Hmac(Sha1(client_key), auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_signature[i];
  server_signature_ = Hmac(Hmac(salted, "Server Key"), auth_message);
  *client_final = without_proof + ",p=" + Base64Encode(proof);
  Wipe(&salted);
  Wipe(&client_key);
  Wipe(&client_signature);
  Wipe(&proof);
  state_ = State::kSentFinal;
  return Status::Ok();
}

Status ScramSha1Client::ServerFinal(std::string_view message) {
  if (state_ != State::kSentFinal) {
    return Status::Error("SCRAM server-final message out of order");
  }
  state_ = State::kFailed;
  ScramAttrs attrs;
  if (!SplitScram(message, &attrs)) {
    return Status::Error("bad SCRAM server-final message: '" +
                         Quote(message, kMaxQuoted, /*ascii_only=*/true) + "'");
  }
  if (attrs[0].first == 'e') {
    return Status::Error(
        "server refused SCRAM authentication: " +
        Quote(attrs[0].second, kMaxQuoted, /*ascii_only=*/true));
  }
  std::string signature;
  if (attrs[0].first != 'v' || !Base64Decode(attrs[0].second, &signature)) {
    return Status::Error("bad SCRAM server-final message: '" +
                         Quote(message, kMaxQuoted, /*ascii_only=*/true) + "'");
  }
  bool match = signature.size() == server_signature_.size() &&
               CRYPTO_memcmp(signature.data(), server_signature_.data(),
                             signature.size()) == 0;
  Wipe(&server_signature_);
  if (!match) {
    return Status::Error(
        "SCRAM server signature does not match: the server does not hold "
        "this account's keys (wrong server, or an impostor)");
  }
  state_ = State::kDone;
  return Status::Ok();
}

std::string SaslPlain(std::string_view user, std::string_view password) {
  std::string raw;
  raw.reserve(user.size() + password.size() + 2);
  raw += '\0';
  raw.append(user);
  raw += '\0';
  raw.append(password);
  std::string encoded = Base64Encode(raw);
  Wipe(&raw);
  return encoded;
}

}  // namespace qd
