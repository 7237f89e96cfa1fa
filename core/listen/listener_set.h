// ListenerSet: the master's listeners, by name, across reloads.
//
// Bind() binds every configured listener at start-up (an error stops the
// daemon before any worker starts), before the master drops its
// privileges; Open() serves them once the handlers are built. Apply() takes a
// reloaded config: listeners with the same `listen` and personality keep their
// sockets, connections and workers and take the new settings and handler;
// removed or moved ones shut down gracefully (their connections are answered,
// then closed) and new ones open. A listener that cannot bind on reload is
// logged and skipped; the rest of the reload goes on. Used from the master's
// loop.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/listen/exit_book.h"
#include "core/listen/listener.h"
#include "core/plugin/handler_set.h"

struct event_base;

namespace qd {

class ListenerSet {
 public:
  // `conn_prefix`, `redis` and `sessions` as for Listener.
  // `on_finished` is called whenever a listener finishes after Shutdown().
  ListenerSet(event_base* base, std::string conn_prefix, RedisUrl redis,
              SessionStore sessions, std::function<void()> on_finished);
  ~ListenerSet();

  // Binds the sockets of every listener of `config`; the first error is
  // returned (what was bound is closed).
  [[nodiscard]] static Status Bind(const Config& config,
                                   std::map<std::string, int>* fds);
  // Serves every listener of `config`, on the descriptors `fds` from Bind()
  // holds (taken over; a listener without one binds now).
  Status Open(const Config& config, const HandlerSet& handlers,
              std::map<std::string, int> fds = {});
  void Apply(const Config& config, const HandlerSet& handlers);
  void Shutdown();
  void KillAll();
  bool OnExit(pid_t pid, int wait_status);
  // Every listener, retired ones included, has finished (after Shutdown).
  bool finished() const;
  bool empty() const { return listeners_.empty() && retired_.empty(); }
  std::vector<ListenerStats> Stats() const;  // by name, live ones only

  // What the master may hold for `config`'s listeners at most: each
  // multiplex listener's max_connections and max_concurrent (a channel per
  // worker), plus kOwnDescriptors for the rest of the master (Redis links,
  // the monitor's connections, logs, worker slots).
  static uint64_t DescriptorsNeeded(const Config& config);
  static constexpr uint64_t kOwnDescriptors = 64;

 private:
  std::unique_ptr<Listener> Make(const ListenerConfig& config,
                                 const HandlerSet& handlers);
  void Retire(std::unique_ptr<Listener> listener);
  static void WarnIfOverDescriptorLimit(const Config& config);

  event_base* base_;
  std::string conn_prefix_;
  RedisUrl redis_;
  SessionStore sessions_;
  std::function<void()> on_finished_;
  // Exits no listener claimed: a worker reaped before its listener learnt
  // its pid from the fork server. Before the listeners, which hold it.
  ExitBook exits_;
  std::map<std::string, std::unique_ptr<Listener>> listeners_;
  // Shut down by a reload, kept until their connections and workers end.
  std::vector<std::unique_ptr<Listener>> retired_;
};

}  // namespace qd
