// RequestHandler: what a plugin author writes to answer a listener's clients.
//
// A listener (`listeners:` in the config) holds client connections in the
// master and cuts their input into requests at the listener's terminator.
// Each request runs in a worker process forked for it, or in the worker that
// connection kept alive from its previous request; a connection never has
// two workers, and its replies go back in request order.
//
// One instance per listener, created in the master at start-up (and on
// reload) by the factory registered under the handler's name, so a bad
// option stops start-up with a clear message. Workers inherit it through
// fork: Login() and Handle() run in a worker, one request at a time, and may
// block. The *Reply() methods run in the master and must not block.
//
// Replies are bytes without the terminator: the framework appends the
// listener's terminator. A thrown exception, or a worker that dies in the
// middle of a request, gets the client ErrorReply(); the connection stays.
#pragma once

#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace qd {

// What a handler learns about where it runs, at creation.
struct RequestHandlerConfig {
  std::string listener;  // the listener's name
  std::string handler;   // the registered name
  // The listener's keys that the framework does not know, plus `accounts`
  // without the framework's own per-account keys (worker_keepalive): a YAML
  // map, possibly empty. Reject keys you do not know.
  YAML::Node options;
  std::string where;  // "FILE:LINE" of the listener, for messages
};

// The state a handler keeps for one connection between requests: loaded
// before a request, saved after it when it changed (in Redis, as JSON, under
// PREFIX:{qd}:session:CONNECTION with the listener's session_ttl). Plain
// strings only: it is data, never code.
using SessionState = std::map<std::string, std::string>;

// A request's surroundings, valid during one Login() or Handle() call.
class RequestContext {
 public:
  virtual ~RequestContext() = default;
  // A logger whose lines carry the listener and the connection.
  virtual spdlog::logger& log() = 0;
  virtual const std::string& listener() const = 0;
  // This connection's id, unique in the Redis the daemon uses.
  virtual const std::string& connection() const = 0;
  // Who logged in, and for which site ("" until a login succeeded, or with
  // `login: none`: then site() is the listener's `site`).
  virtual const std::string& site() const = 0;
  virtual const std::string& account() const = 0;
  // This connection's state; changes are saved after the call.
  virtual SessionState& session() = 0;
};

// The outcome of Login().
struct LoginResult {
  bool ok = false;
  std::string account;  // who logged in (overrides per account apply)
  std::string site;     // "" = the listener's `site`
  std::string reply;    // sent to the client; on failure, then it is closed

  static LoginResult Accept(std::string account, std::string reply,
                            std::string site = "") {
    return {true, std::move(account), std::move(site), std::move(reply)};
  }
  static LoginResult Deny(std::string reply) {
    return {false, "", "", std::move(reply)};
  }
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // With `login: required`, the first request of every connection. The
  // default refuses everyone.
  virtual LoginResult Login(std::string_view request, RequestContext& ctx) {
    (void)request;
    (void)ctx;
    return LoginResult::Deny("DENIED");
  }
  // Every other request; returns the reply.
  virtual std::string Handle(std::string_view request, RequestContext& ctx) = 0;

  // Replies the master sends by itself (no worker involved):
  // a request waited longer than the listener's fence_timeout for a worker;
  virtual std::string BusyReply() const { return "BUSY"; }
  // the handler threw, or its worker died during the request;
  virtual std::string ErrorReply() const { return "ERROR"; }
  // a frame longer than max_frame (the connection is then closed);
  virtual std::string TooLongReply() const { return "ERROR request too long"; }
  // max_connections reached (the new connection is then closed).
  virtual std::string RefusedReply() const {
    return "ERROR too many connections";
  }
};

// Creates a listener's handler; on a bad option returns nullptr and sets
// *error to one line.
using RequestHandlerFactory = std::function<std::unique_ptr<RequestHandler>(
    const RequestHandlerConfig& config, std::string* error)>;

}  // namespace qd
