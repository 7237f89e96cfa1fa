// HandlerRegistry: the names of everything that can be configured, and the
// factories behind them.
//
// The entry point registers the built-in handlers here, the PluginLoader
// registers what each plugin provides, and the master then builds the
// HandlerSet of a config from it (at start-up and on SIGHUP). Two kinds of
// names are kept apart: queue handlers (a queue's `handler:` key), request
// handlers (a listener's `handler:` key) and IoManagers (created in every
// worker after the fork). Registering a name of a kind twice keeps the first
// factory and records an error, which TakeError() reports: the Registry
// interface a plugin sees has no way to return one. Used from the master's main
// thread only; the factories it holds are copied into workers by fork.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "core/plugin/handler_set.h"
#include "queuedaemon/plugin.h"
#include "queuedaemon/status.h"

namespace qd {

class HandlerRegistry : public Registry {
 public:
  using IoManagerFactory = std::function<std::unique_ptr<IoManager>()>;

  HandlerRegistry() = default;
  HandlerRegistry(const HandlerRegistry&) = delete;
  HandlerRegistry& operator=(const HandlerRegistry&) = delete;

  // Registry. An empty name, a null factory or a name already registered
  // (of the same kind) records an error and registers nothing.
  void AddQueueHandler(const std::string& name,
                       QueueHandlerFactory factory) override;
  void AddRequestHandler(const std::string& name,
                         RequestHandlerFactory factory) override;
  void AddIoManager(const std::string& name, IoManagerFactory factory) override;

  // The first registration error recorded since the last call (one line,
  // e.g. "queue handler 'log' is registered twice"), and clears it; Ok when
  // there was none.
  Status TakeError();

  // Creates the handler of every (site, queue) and of every listener of
  // `config` into `*out`, replacing its contents. On error (unknown handler,
  // a factory refusing its options or throwing) returns a one-line message
  // starting with "FILE:LINE: sites.SITE.queues.QUEUE" (or
  // "listeners.NAME") and leaves `*out` untouched. Queue handlers are
  // given the new set's HandlerHost (HandlerConfig::xmpp, fetch_again).
  Status Build(const Config& config, HandlerSet* out) const;

  // Calls every IoManager factory, in registration order (in a worker, after
  // the fork). A factory returning nullptr adds nothing; an exception from a
  // factory propagates to the caller.
  std::vector<std::unique_ptr<IoManager>> MakeIoManagers() const;

  // The registered names, sorted.
  std::vector<std::string> HandlerNames() const;
  std::vector<std::string> RequestHandlerNames() const;
  std::vector<std::string> IoManagerNames() const;

 private:
  void RecordError(std::string message);
  Status BuildOne(const Config& config, const std::string& site,
                  const std::string& queue_name, const QueueConfig& queue,
                  HandlerSet* out) const;
  Status BuildListener(const Config& config, const std::string& name,
                       const ListenerConfig& listener, HandlerSet* out) const;
  // "unknown KINDhandler 'NAME' (known: ...; did you mean ...?)".
  static std::string UnknownHandler(const std::string& kind,
                                    const std::string& name,
                                    const std::vector<std::string>& known);

  std::map<std::string, QueueHandlerFactory> handlers_;
  std::map<std::string, RequestHandlerFactory> request_handlers_;
  std::vector<std::pair<std::string, IoManagerFactory>> io_managers_;
  Status error_;
};

}  // namespace qd
