#include "line_handler.h"

#include <spdlog/logger.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "queuedaemon/handler_options.h"

namespace example {
namespace {

constexpr long long kMaxSlowMs = 60000;
const char kRequestsKey[] = "requests";  // in the session state

// Reads `{ password: TEXT, site: SITE }` into *account.
bool ParseAccount(const std::string& name, const YAML::Node& node,
                  LineHandler::Account* account, std::string* error) {
  std::string prefix = "account '" + name + "': ";
  if (!node.IsMap()) {
    *error = prefix + "expected a map with a password";
    return false;
  }
  qd::Status s =
      qd::HandlerOptions("example-line", node, {"password", "site"}, "key")
          .CheckKeys();
  if (!s.ok()) {
    *error = prefix + s.message();
    return false;
  }
  YAML::Node password = node["password"];
  YAML::Node site = node["site"];
  if (!password.IsDefined() || !password.IsScalar()) {
    *error = prefix + "missing password (expected a string)";
    return false;
  }
  if (site.IsDefined() && !site.IsScalar()) {
    *error = prefix + "site: expected a string";
    return false;
  }
  account->password = password.Scalar();
  if (site.IsDefined()) account->site = site.Scalar();
  return true;
}

bool ParseAccounts(const YAML::Node& node,
                   std::map<std::string, LineHandler::Account>* accounts,
                   std::string* error) {
  if (!node.IsDefined() || node.IsNull()) return true;
  if (!node.IsMap()) {
    *error = "option 'accounts': expected a map of NAME: { password: ... }";
    return false;
  }
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>("");
    if (!ParseAccount(name, entry.second, &(*accounts)[name], error)) {
      return false;
    }
  }
  return true;
}

// Compares in a time that depends on the lengths only, so that a client
// cannot find a password one character at a time by timing replies.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t size = std::max(a.size(), b.size());
  for (size_t i = 0; i < size; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0;
    unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

// `nc -C` ends lines with "\r\n"; the listener cuts at "\n" only.
std::string_view StripCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Splits "VERB REST" at the first space; REST is "" without one.
std::string_view SplitWord(std::string_view line, std::string_view* rest) {
  size_t space = line.find(' ');
  *rest = space == std::string_view::npos ? std::string_view()
                                          : line.substr(space + 1);
  return line.substr(0, space);
}

// Adds this request to the session's count and returns the new count. A
// missing or unreadable count starts again from zero.
long long CountRequest(qd::SessionState& session) {
  long long requests = 0;
  const std::string& stored = session[kRequestsKey];
  std::from_chars(stored.data(), stored.data() + stored.size(), requests);
  session[kRequestsKey] = std::to_string(++requests);
  return requests;
}

}  // namespace

std::unique_ptr<qd::RequestHandler> LineHandler::Create(
    const qd::RequestHandlerConfig& config, std::string* error) {
  // Reject what we do not know: a typo must stop start-up, not be ignored.
  qd::HandlerOptions options("example-line", config.options, {"accounts"});
  qd::Status s = options.CheckKeys();
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  std::map<std::string, Account> accounts;
  if (!ParseAccounts(options.Get("accounts"), &accounts, error)) {
    return nullptr;
  }
  return std::make_unique<LineHandler>(std::move(accounts));
}

qd::LoginResult LineHandler::Login(std::string_view request,
                                   qd::RequestContext& ctx) {
  std::string_view rest;
  std::string_view verb = SplitWord(StripCr(request), &rest);
  std::string_view password;
  std::string name(SplitWord(rest, &password));
  auto account = accounts_.find(name);
  bool ok = verb == "LOGIN" && account != accounts_.end() &&
            ConstantTimeEquals(password, account->second.password);
  // Never log the password.
  ctx.log().debug("example-line: login as '{}': {}", name,
                  ok ? "accepted" : "denied");
  if (!ok) return qd::LoginResult::Deny("DENIED");
  return qd::LoginResult::Accept(name, "OK", account->second.site);
}

std::string LineHandler::Handle(std::string_view request,
                                qd::RequestContext& ctx) {
  long long requests = CountRequest(ctx.session());
  std::string_view argument;
  std::string_view verb = SplitWord(StripCr(request), &argument);
  ctx.log().debug("example-line: request {} of this connection: {}", requests,
                  verb);
  if (verb == "ECHO") return std::string(argument);
  if (verb == "SLOW") return Slow(argument);
  if (verb == "WHO") return Who(ctx, requests);
  if (verb == "CRASH") std::abort();  // shows ErrorReply() and a new worker
  if (verb == "LOGIN") {
    return ctx.account().empty() ? "ERROR no login on this listener"
                                 : "ERROR already logged in";
  }
  return "ERROR unknown command";
}

std::string LineHandler::Slow(std::string_view argument) const {
  long long ms = 0;
  const char* end = argument.data() + argument.size();
  auto [stop, status] = std::from_chars(argument.data(), end, ms);
  if (argument.empty() || status != std::errc() || stop != end) {
    return "ERROR bad number";
  }
  ms = std::clamp(ms, 0LL, kMaxSlowMs);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return "DONE";
}

std::string LineHandler::Who(qd::RequestContext& ctx,
                             long long requests) const {
  const std::string& account = ctx.account();
  return std::to_string(getpid()) + " " + (account.empty() ? "-" : account) +
         " " + std::to_string(requests);
}

}  // namespace example
