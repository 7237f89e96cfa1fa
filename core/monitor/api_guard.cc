#include "core/monitor/api_guard.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <strings.h>

namespace qd {
namespace {

bool EqualsNoCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

void Sha256(const std::string& text, unsigned char out[EVP_MAX_MD_SIZE],
            unsigned* len) {
  EVP_Digest(text.data(), text.size(), out, len, EVP_sha256(), nullptr);
}

}  // namespace

ApiGuard::Verdict ApiGuard::CheckOrigin(const HttpRequest& request) {
  const std::string* fetch_site = request.Header("Sec-Fetch-Site");
  if (fetch_site != nullptr && EqualsNoCase(*fetch_site, "cross-site")) {
    return {403, "cross-site request refused (Sec-Fetch-Site: cross-site)"};
  }
  const std::string* origin = request.Header("Origin");
  if (origin == nullptr) return {};
  const std::string* host = request.Header("Host");
  if (host == nullptr || host->empty() ||
      !EqualsNoCase(*origin, "http://" + *host)) {
    return {403, "cross-site request refused: Origin is not http:// + Host"};
  }
  return {};
}

ApiGuard::Verdict ApiGuard::CheckToken(const HttpRequest& request,
                                       const std::string& token) {
  if (token.empty()) {
    return {403, "actions are off: set monitor.admin_token_file"};
  }
  std::string given;
  if (!BearerOf(request, &given)) {
    return {401, "this action needs Authorization: Bearer TOKEN"};
  }
  if (!SameSecret(given, token)) return {401, "wrong token"};
  return {};
}

bool ApiGuard::BearerOf(const HttpRequest& request, std::string* token) {
  const std::string* auth = request.Header("Authorization");
  if (auth == nullptr || auth->size() < 7 ||
      strncasecmp(auth->data(), "Bearer ", 7) != 0) {
    return false;
  }
  size_t start = auth->find_first_not_of(' ', 7);
  *token = start == std::string::npos ? "" : auth->substr(start);
  return true;
}

bool ApiGuard::SameSecret(const std::string& a, const std::string& b) {
  unsigned char ha[EVP_MAX_MD_SIZE], hb[EVP_MAX_MD_SIZE];
  unsigned la = 0, lb = 0;
  Sha256(a, ha, &la);
  Sha256(b, hb, &lb);
  return la == lb && la > 0 && CRYPTO_memcmp(ha, hb, la) == 0;
}

}  // namespace qd
