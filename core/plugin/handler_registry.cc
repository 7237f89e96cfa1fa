#include "core/plugin/handler_registry.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "queuedaemon/suggest.h"

namespace qd {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Calls a handler factory; a null result or an exception becomes an error
// starting with `prefix`.
template <typename Handler, typename Factory, typename HandlerConfigT>
Status Make(const Factory& factory, const HandlerConfigT& hc,
            const std::string& prefix, std::unique_ptr<Handler>* out) {
  std::string error;
  try {
    *out = factory(hc, &error);
  } catch (const std::exception& e) {
    return Status::Error(prefix + e.what());
  } catch (...) {
    return Status::Error(prefix + "factory threw a non-standard exception");
  }
  if (*out == nullptr) {
    return Status::Error(prefix +
                         (error.empty() ? "factory made no handler" : error));
  }
  return Status::Ok();
}

// A deep copy: a YAML::Node is a reference, and a handler must not be able
// to change the config it was given.
YAML::Node CloneOptions(const YAML::Node& options) {
  return options.IsMap() ? YAML::Clone(options)
                         : YAML::Node(YAML::NodeType::Map);
}

std::string Where(const Config& config, int line) {
  return (config.file.empty() ? std::string("built-in config") : config.file) +
         ":" + std::to_string(line);
}

}  // namespace

void HandlerRegistry::AddQueueHandler(const std::string& name,
                                      QueueHandlerFactory factory) {
  if (name.empty() || !factory) {
    return RecordError("queue handler '" + name +
                       "': a handler needs a name and a factory");
  }
  if (!handlers_.emplace(name, std::move(factory)).second) {
    RecordError("queue handler '" + name + "' is registered twice");
  }
}

void HandlerRegistry::AddRequestHandler(const std::string& name,
                                        RequestHandlerFactory factory) {
  if (name.empty() || !factory) {
    return RecordError("request handler '" + name +
                       "': a handler needs a name and a factory");
  }
  if (!request_handlers_.emplace(name, std::move(factory)).second) {
    RecordError("request handler '" + name + "' is registered twice");
  }
}

void HandlerRegistry::AddIoManager(const std::string& name,
                                   IoManagerFactory factory) {
  if (name.empty() || !factory) {
    return RecordError("io manager '" + name +
                       "': a manager needs a name and a factory");
  }
  for (const auto& entry : io_managers_) {
    if (entry.first == name) {
      return RecordError("io manager '" + name + "' is registered twice");
    }
  }
  io_managers_.emplace_back(name, std::move(factory));
}

void HandlerRegistry::RecordError(std::string message) {
  if (error_.ok()) error_ = Status::Error(std::move(message));
}

Status HandlerRegistry::TakeError() {
  Status error = std::move(error_);
  error_ = Status::Ok();
  return error;
}

Status HandlerRegistry::Build(const Config& config, HandlerSet* out) const {
  HandlerSet built;
  // The map keys are the names: a hand-made Config may leave `name` empty.
  for (const auto& [site_name, site] : config.sites) {
    for (const auto& [queue_name, queue] : site.queues) {
      Status s = BuildOne(config, site_name, queue_name, queue, &built);
      if (!s.ok()) return s;
    }
  }
  for (const auto& [name, listener] : config.listeners) {
    Status s = BuildListener(config, name, listener, &built);
    if (!s.ok()) return s;
  }
  *out = std::move(built);
  return Status::Ok();
}

Status HandlerRegistry::BuildOne(const Config& config, const std::string& site,
                                 const std::string& queue_name,
                                 const QueueConfig& queue,
                                 HandlerSet* out) const {
  HandlerConfig hc;
  hc.site = site;
  hc.queue = queue_name;
  hc.handler = queue.handler;
  hc.options = CloneOptions(queue.handler_options);
  hc.where = Where(config, queue.line);
  HandlerHost* host = &out->host();
  hc.xmpp = host;
  hc.fetch_again = [host] { host->FetchAgain(); };
  std::string path = "sites." + site + ".queues." + queue_name;
  auto it = handlers_.find(queue.handler);
  if (it == handlers_.end()) {
    return Status::Error(hc.where + ": " + path + ".handler: " +
                         UnknownHandler("", queue.handler, HandlerNames()));
  }
  std::unique_ptr<QueueHandler> handler;
  Status s = Make(
      it->second, hc,
      hc.where + ": " + path + ": handler '" + hc.handler + "': ", &handler);
  if (s.ok()) out->Add(site, queue_name, std::move(handler));
  return s;
}

Status HandlerRegistry::BuildListener(const Config& config,
                                      const std::string& name,
                                      const ListenerConfig& listener,
                                      HandlerSet* out) const {
  RequestHandlerConfig hc;
  hc.listener = name;
  hc.handler = listener.handler;
  hc.options = CloneOptions(listener.handler_options);
  hc.where = Where(config, listener.line);
  std::string path = "listeners." + name;
  auto it = request_handlers_.find(listener.handler);
  if (it == request_handlers_.end()) {
    return Status::Error(
        hc.where + ": " + path + ".handler: " +
        UnknownHandler("request ", listener.handler, RequestHandlerNames()));
  }
  std::unique_ptr<RequestHandler> handler;
  Status s = Make(
      it->second, hc,
      hc.where + ": " + path + ": handler '" + hc.handler + "': ", &handler);
  if (s.ok()) out->AddListener(name, std::move(handler));
  return s;
}

std::string HandlerRegistry::UnknownHandler(
    const std::string& kind, const std::string& name,
    const std::vector<std::string>& known) {
  if (known.empty()) {
    return "unknown " + kind + "handler '" + name + "' (no " + kind +
           "handlers are registered)";
  }
  std::string best = Suggest(name, known);
  std::string message =
      "unknown " + kind + "handler '" + name + "' (known: " + Join(known);
  if (!best.empty()) message += "; did you mean '" + best + "'?";
  return message + ")";
}

std::vector<std::unique_ptr<IoManager>> HandlerRegistry::MakeIoManagers()
    const {
  std::vector<std::unique_ptr<IoManager>> managers;
  for (const auto& entry : io_managers_) {
    std::unique_ptr<IoManager> manager = entry.second();
    if (manager != nullptr) managers.push_back(std::move(manager));
  }
  return managers;
}

std::vector<std::string> HandlerRegistry::HandlerNames() const {
  std::vector<std::string> names;
  for (const auto& entry : handlers_) names.push_back(entry.first);
  return names;  // std::map keeps them sorted
}

std::vector<std::string> HandlerRegistry::RequestHandlerNames() const {
  std::vector<std::string> names;
  for (const auto& entry : request_handlers_) names.push_back(entry.first);
  return names;
}

std::vector<std::string> HandlerRegistry::IoManagerNames() const {
  std::vector<std::string> names;
  for (const auto& entry : io_managers_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace qd
