// LineHandler: the example plugin's "example-line" request handler.
//
// A small line protocol for a listener with `terminator: "\n"`, enough to
// try logins, per-connection session state and worker reuse by hand with
// `nc`: LOGIN, ECHO, SLOW, WHO and CRASH (see README.md). The accounts come
// from the listener's `accounts:` (password, optional site). Immutable after
// creation: the master makes it and every worker inherits it through fork,
// so it needs no locking.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "queuedaemon/request_handler.h"

namespace example {

class LineHandler : public qd::RequestHandler {
 public:
  struct Account {
    std::string password;
    std::string site;  // "" = the listener's `site`
  };

  // The factory registered as "example-line". Knows the option `accounts:
  // { NAME: { password: TEXT, site: SITE } }`; no accounts denies every
  // login.
  static std::unique_ptr<qd::RequestHandler> Create(
      const qd::RequestHandlerConfig& config, std::string* error);

  explicit LineHandler(std::map<std::string, Account> accounts)
      : accounts_(std::move(accounts)) {}

  // Accepts "LOGIN ACCOUNT PASSWORD" when the password matches.
  qd::LoginResult Login(std::string_view request,
                        qd::RequestContext& ctx) override;
  // Counts the request in the session ("requests") and answers it.
  std::string Handle(std::string_view request,
                     qd::RequestContext& ctx) override;

  std::string BusyReply() const override { return "BUSY"; }
  std::string ErrorReply() const override { return "ERROR"; }

 private:
  std::string Slow(std::string_view argument) const;
  std::string Who(qd::RequestContext& ctx, long long requests) const;

  std::map<std::string, Account> accounts_;
};

}  // namespace example
