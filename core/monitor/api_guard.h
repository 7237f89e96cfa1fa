// ApiGuard: who may use /api/v1 (docs/api.md, "Security").
//
// Cross-site refusal, for every request, reads included: a request that
// carries an Origin header whose value is not "http://" + its own Host
// header, or that says "Sec-Fetch-Site: cross-site", is refused 403, so a
// page of another site open in the operator's browser can neither act nor
// read through it. Clients that send neither (curl, scripts) pass.
//
// Actions need "Authorization: Bearer TOKEN" with the token of
// monitor.admin_token_file (read by the config loader at start and at each
// reload); without that file actions are off (403). The token is compared
// in constant time (both sides hashed with SHA-256, then CRYPTO_memcmp),
// so neither its bytes nor its length leak through timing. Pure: no I/O
// but the hash.
#pragma once

#include <string>

#include "core/monitor/http_request.h"

namespace qd {

class ApiGuard {
 public:
  struct Verdict {
    int status = 0;      // 0: allowed; else 401 or 403
    std::string reason;  // the error's text when refused
  };

  // The cross-site check.
  static Verdict CheckOrigin(const HttpRequest& request);
  // The token check of an action; `token` is the configured one ("" when
  // monitor.admin_token_file is not set).
  static Verdict CheckToken(const HttpRequest& request,
                            const std::string& token);
  // The TOKEN of "Authorization: Bearer TOKEN" (the scheme in any case);
  // false when the header is absent or of another scheme.
  static bool BearerOf(const HttpRequest& request, std::string* token);
  static bool SameSecret(const std::string& a, const std::string& b);
};

}  // namespace qd
