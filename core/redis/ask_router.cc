#include "core/redis/ask_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <utility>

namespace qd {

AskRouter::AskRouter(event_base* base, std::string name,
                     timeval connect_timeout)
    : base_(base), name_(std::move(name)), connect_timeout_(connect_timeout) {}

bool AskRouter::Follow(const redisReply* ask, const RedisUrl& at,
                       std::string&& command, AskLink::Callback&& cb) {
  if (ask == nullptr || ask->type != REDIS_REPLY_ERROR || ask->str == nullptr) {
    return false;
  }
  std::string_view text(ask->str, ask->len);
  ClusterRedirect to;
  if (text.substr(0, 4) != "ASK " || !ParseRedirect(text, at.host, &to)) {
    return false;
  }
  AskLink* link = LinkTo(to.node, at);
  if (link == nullptr ||
      !link->Send(std::move(command), std::move(cb), std::string(text))) {
    return false;
  }
  ++followed_;
  if (!logged_) {
    logged_ = true;
    spdlog::info(
        "{}: redis {}: {}: the slot is migrating; commands on keys already "
        "moved go to {} after ASKING",
        name_, at.Describe(), text, to.node.Describe());
  }
  return true;
}

AskLink* AskRouter::LinkTo(const ClusterNode& node, const RedisUrl& at) {
  std::string key = node.Describe();
  auto it = links_.find(key);
  if (it != links_.end()) return it->second.get();
  if (links_.size() >= kMaxLinks) {
    // A link with nothing queued and no back-off to remember gives way.
    auto spare =
        std::find_if(links_.begin(), links_.end(), [](const auto& entry) {
          return entry.second->idle() && !entry.second->backing_off();
        });
    if (spare == links_.end()) return nullptr;
    links_.erase(spare);
  }
  RedisUrl there = at;  // the credentials, db and key of the connection
  there.is_unix = false;
  there.host = node.host;
  there.port = node.port;
  AskLink::Limits limits;
  limits.connect_timeout = connect_timeout_;
  limits.reply_timeout = reply_timeout_;
  auto link = std::make_unique<AskLink>(base_, std::move(there), name_, limits);
  return links_.emplace(key, std::move(link)).first->second.get();
}

void AskRouter::CloseAll() {
  // Moved out first: a null reply's callback may send (and find no link).
  auto links = std::move(links_);
  links_.clear();
  links.clear();
}

void AskRouter::set_reply_timeout(std::chrono::milliseconds timeout) {
  reply_timeout_ = timeout.count() > 0 ? timeout : kDefaultReplyTimeout;
  for (auto& [node, link] : links_) link->set_reply_timeout(reply_timeout_);
}

}  // namespace qd
