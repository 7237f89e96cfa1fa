// HandlerSet: the QueueHandler of every configured (site, queue) and the
// RequestHandler of every listener, owned.
//
// Built in the master by HandlerRegistry::Build before the fork (and again on
// SIGHUP); workers inherit it and look a queue's handler up by name. It owns
// the handlers: they live as long as the set. Movable, not copyable. Lookups
// are const and do not allocate; a set is not modified once built, so any
// number of readers may use it. It also owns the HandlerHost its handlers
// were given (HandlerConfig::xmpp, fetch_again), which the worker that runs
// the set attaches to after the fork.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/plugin/handler_host.h"
#include "queuedaemon/queue_handler.h"
#include "queuedaemon/request_handler.h"

namespace qd {

class HandlerSet {
 public:
  HandlerSet() = default;
  HandlerSet(HandlerSet&&) = default;
  HandlerSet& operator=(HandlerSet&&) = default;
  HandlerSet(const HandlerSet&) = delete;
  HandlerSet& operator=(const HandlerSet&) = delete;

  // Takes `handler` as the handler of `queue` of `site`, replacing any
  // earlier one. REQUIRES: handler != nullptr.
  void Add(const std::string& site, const std::string& queue,
           std::unique_ptr<QueueHandler> handler);

  // The handler of `queue` of `site`, or nullptr when there is none. The
  // pointer is valid as long as the set.
  QueueHandler* Find(std::string_view site, std::string_view queue) const;

  // The number of (site, queue) handlers held.
  size_t size() const { return size_; }

  // Takes `handler` as the RequestHandler of listener `name`.
  void AddListener(const std::string& name,
                   std::unique_ptr<RequestHandler> handler);
  // The RequestHandler of listener `name`, or nullptr.
  RequestHandler* FindListener(std::string_view name) const;

  // What this set's handlers reach in the worker that runs them. Not part
  // of the handlers' value, so a worker holding the set const attaches to
  // it. Stable: it does not move with the set.
  HandlerHost& host() const { return *host_; }

 private:
  using Queues =
      std::map<std::string, std::unique_ptr<QueueHandler>, std::less<>>;
  std::map<std::string, Queues, std::less<>> sites_;
  std::map<std::string, std::unique_ptr<RequestHandler>, std::less<>>
      listeners_;
  size_t size_ = 0;
  std::unique_ptr<HandlerHost> host_ = std::make_unique<HandlerHost>();
};

}  // namespace qd
