#include "core/listen/listener_set.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace qd {

ListenerSet::ListenerSet(event_base* base, std::string conn_prefix,
                         RedisUrl redis, SessionStore sessions,
                         std::function<void()> on_finished)
    : base_(base),
      conn_prefix_(std::move(conn_prefix)),
      redis_(std::move(redis)),
      sessions_(std::move(sessions)),
      on_finished_(std::move(on_finished)) {}

ListenerSet::~ListenerSet() = default;

std::unique_ptr<Listener> ListenerSet::Make(const ListenerConfig& config,
                                            const HandlerSet& handlers) {
  auto listener = std::make_unique<Listener>(
      base_, config, handlers.FindListener(config.name),
      conn_prefix_ + config.name + ":", redis_, sessions_, &exits_);
  listener->set_on_finished(on_finished_);
  return listener;
}

Status ListenerSet::Bind(const Config& config,
                         std::map<std::string, int>* fds) {
  for (const auto& [name, lc] : config.listeners) {
    int fd = -1;
    Status s = Listener::Bind(lc, &fd);
    if (!s.ok()) {
      for (const auto& [n, bound] : *fds) close(bound);
      fds->clear();
      return s;
    }
    (*fds)[name] = fd;
  }
  return Status::Ok();
}

Status ListenerSet::Open(const Config& config, const HandlerSet& handlers,
                         std::map<std::string, int> fds) {
  Status s;
  for (const auto& [name, lc] : config.listeners) {
    auto bound = fds.find(name);
    int fd = bound != fds.end() ? bound->second : -1;
    if (bound != fds.end()) fds.erase(bound);
    if (!s.ok()) {
      if (fd >= 0) close(fd);
      continue;
    }
    auto listener = Make(lc, handlers);
    s = listener->Open(fd);
    if (s.ok()) listeners_[name] = std::move(listener);
  }
  for (const auto& [name, fd] : fds) close(fd);
  WarnIfOverDescriptorLimit(config);
  return s;
}

uint64_t ListenerSet::DescriptorsNeeded(const Config& config) {
  uint64_t needed = kOwnDescriptors;
  for (const auto& [name, lc] : config.listeners) {
    if (lc.personality == "multiplex") {
      needed += static_cast<uint64_t>(lc.max_connections) +
                static_cast<uint64_t>(lc.max_concurrent);
    }
  }
  return needed;
}

// Past the limit accepts fail and pause (ListenSocket): the daemon goes on,
// but max_connections cannot be reached. Said once at start.
void ListenerSet::WarnIfOverDescriptorLimit(const Config& config) {
  rlimit limit = {};
  if (config.listeners.empty() || getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return;
  }
  uint64_t needed = DescriptorsNeeded(config);
  if (needed <= limit.rlim_cur) return;
  spdlog::warn(
      "listeners: max_connections and max_concurrent allow {} descriptors "
      "(with {} for the master's own), over the descriptor limit {} (ulimit "
      "-n, LimitNOFILE=): past it accepts pause until descriptors free up",
      needed, kOwnDescriptors, static_cast<uint64_t>(limit.rlim_cur));
}

void ListenerSet::Apply(const Config& config, const HandlerSet& handlers) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    auto next = config.listeners.find(it->first);
    const ListenerConfig& was = it->second->config();
    if (next != config.listeners.end() && next->second.listen == was.listen &&
        next->second.personality == was.personality) {
      it->second->Update(next->second, handlers.FindListener(it->first));
      ++it;
      continue;
    }
    spdlog::info("listener {}: removed or moved by the reload: closing",
                 it->first);
    Retire(std::move(it->second));
    it = listeners_.erase(it);
  }
  for (const auto& [name, lc] : config.listeners) {
    if (listeners_.count(name) != 0) continue;
    auto listener = Make(lc, handlers);
    Status s = listener->Open();
    if (!s.ok()) {
      spdlog::error("reload: {}", s.message());
      continue;
    }
    listeners_[name] = std::move(listener);
  }
}

void ListenerSet::Retire(std::unique_ptr<Listener> listener) {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                [](const auto& l) { return l->finished(); }),
                 retired_.end());
  listener->Shutdown();
  retired_.push_back(std::move(listener));
}

void ListenerSet::Shutdown() {
  for (auto& [name, l] : listeners_) l->Shutdown();
}

void ListenerSet::KillAll() {
  for (auto& [name, l] : listeners_) l->KillAll();
  for (auto& l : retired_) l->KillAll();
}

bool ListenerSet::OnExit(pid_t pid, int wait_status) {
  for (auto& [name, l] : listeners_) {
    if (l->OnExit(pid, wait_status)) return true;
  }
  for (auto it = retired_.begin(); it != retired_.end(); ++it) {
    if ((*it)->OnExit(pid, wait_status)) {
      if ((*it)->finished()) retired_.erase(it);
      return true;
    }
  }
  exits_.Record(pid, wait_status);
  return false;
}

bool ListenerSet::finished() const {
  return std::all_of(retired_.begin(), retired_.end(),
                     [](const auto& l) { return l->finished(); }) &&
         std::all_of(
             listeners_.begin(), listeners_.end(),
             [](const auto& entry) { return entry.second->finished(); });
}

std::vector<ListenerStats> ListenerSet::Stats() const {
  std::vector<ListenerStats> stats;
  for (const auto& [name, l] : listeners_) stats.push_back(l->stats());
  return stats;
}

}  // namespace qd
