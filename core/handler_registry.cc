#include "core/handler_registry.h"

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
  // A deep copy: a YAML::Node is a reference, and a handler must not be able
  // to change the config it was given.
  hc.options = queue.handler_options.IsMap()
                   ? YAML::Clone(queue.handler_options)
                   : YAML::Node(YAML::NodeType::Map);
  hc.where =
      (config.file.empty() ? std::string("built-in config") : config.file) +
      ":" + std::to_string(queue.line);
  std::string path = "sites." + site + ".queues." + queue_name;
  auto it = handlers_.find(queue.handler);
  if (it == handlers_.end()) {
    return Status::Error(hc.where + ": " + path +
                         ".handler: " + UnknownHandler(queue.handler));
  }
  std::string prefix =
      hc.where + ": " + path + ": handler '" + hc.handler + "': ";
  std::string error;
  std::unique_ptr<QueueHandler> handler;
  try {
    handler = it->second(hc, &error);
  } catch (const std::exception& e) {
    return Status::Error(prefix + e.what());
  } catch (...) {
    return Status::Error(prefix + "factory threw a non-standard exception");
  }
  if (handler == nullptr) {
    return Status::Error(prefix +
                         (error.empty() ? "factory made no handler" : error));
  }
  out->Add(site, queue_name, std::move(handler));
  return Status::Ok();
}

std::string HandlerRegistry::UnknownHandler(const std::string& name) const {
  std::vector<std::string> known = HandlerNames();
  if (known.empty()) {
    return "unknown handler '" + name + "' (no handlers are registered)";
  }
  std::string best = Suggest(name, known);
  std::string message = "unknown handler '" + name + "' (known: " + Join(known);
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

std::vector<std::string> HandlerRegistry::IoManagerNames() const {
  std::vector<std::string> names;
  for (const auto& entry : io_managers_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace qd
