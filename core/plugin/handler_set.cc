#include "core/plugin/handler_set.h"

namespace qd {

void HandlerSet::Add(const std::string& site, const std::string& queue,
                     std::unique_ptr<QueueHandler> handler) {
  auto& slot = sites_[site][queue];
  if (slot == nullptr) ++size_;
  slot = std::move(handler);
}

QueueHandler* HandlerSet::Find(std::string_view site,
                               std::string_view queue) const {
  auto s = sites_.find(site);
  if (s == sites_.end()) return nullptr;
  auto q = s->second.find(queue);
  return q == s->second.end() ? nullptr : q->second.get();
}

void HandlerSet::AddListener(const std::string& name,
                             std::unique_ptr<RequestHandler> handler) {
  listeners_[name] = std::move(handler);
}

RequestHandler* HandlerSet::FindListener(std::string_view name) const {
  auto it = listeners_.find(name);
  return it == listeners_.end() ? nullptr : it->second.get();
}

}  // namespace qd
