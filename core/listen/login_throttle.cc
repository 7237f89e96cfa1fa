#include "core/listen/login_throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace qd {

LoginThrottle::LoginThrottle(size_t capacity) : capacity_(capacity) {}

std::string LoginThrottle::PeerKey(const sockaddr* addr, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr == nullptr) return "unknown";
  if (addr->sa_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return text;
  }
  if (addr->sa_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) {
    in6_addr a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof(text));
      return text;
    }
    std::memset(&a.s6_addr[8], 0, 8);  // the /64
    inet_ntop(AF_INET6, &a, text, sizeof(text));
    return std::string(text) + "/64";
  }
  return addr->sa_family == AF_UNIX ? "unix" : "unknown";
}

std::optional<LoginThrottle::Duration> LoginThrottle::Book(
    const std::string& peer, Clock::time_point now, Duration delay,
    Duration max_wait) {
  Expire(now);
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return Duration(0);
  Entry& e = *it->second;
  Clock::time_point turn = std::max(now, e.next_turn);
  auto wait = std::chrono::duration_cast<Duration>(turn - now);
  if (wait > max_wait) return std::nullopt;
  e.next_turn = turn + delay;
  return wait;
}

void LoginThrottle::Failed(const std::string& peer, Clock::time_point now,
                           Duration delay) {
  Expire(now);
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) {
    if (by_peer_.size() >= capacity_) {
      by_peer_.erase(entries_.back().peer);
      entries_.pop_back();
    }
    entries_.push_front({peer, now, now});
    it = by_peer_.emplace(peer, entries_.begin()).first;
  } else {
    entries_.splice(entries_.begin(), entries_, it->second);
  }
  Entry& e = entries_.front();
  e.last_failure = now;
  e.next_turn = std::max(e.next_turn, now + delay);
}

void LoginThrottle::Expire(Clock::time_point now) {
  while (!entries_.empty() && now - entries_.back().last_failure >= kForget) {
    by_peer_.erase(entries_.back().peer);
    entries_.pop_back();
  }
}

}  // namespace qd
