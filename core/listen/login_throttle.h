// LoginThrottle: spaces the logins of a peer address that failed one, so
// that guessing passwords from one address goes at one guess per `delay`
// however many connections it opens, while other addresses are not slowed.
//
// Once a login from an address failed, every new connection from it books
// a turn: turns are `delay` apart, and a connection waits for its turn
// before its login runs. A connection whose turn would be further away
// than `max_wait` books none and is refused. An address is forgotten
// kForget after its last failure. The table holds at most `capacity`
// addresses; past that the one that failed longest ago is dropped (an
// attacker with many addresses can push others out, but never grow the
// master). IPv6 peers are keyed by their /64, which one host commonly has
// whole. Pure policy: times are passed in, so tests drive the clock. Used
// from the master's loop only.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

namespace qd {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  static constexpr size_t kCapacity = 4096;
  static constexpr Duration kForget{300000};

  explicit LoginThrottle(size_t capacity = kCapacity);

  // The address a connection is throttled by: "203.0.113.7",
  // "2001:db8:1:2::/64" (an IPv4-mapped IPv6 address counts as IPv4),
  // "unix" for every peer of a unix socket.
  static std::string PeerKey(const sockaddr* addr, socklen_t len);

  // A connection from `peer` at `now`: how long it waits for its turn (0
  // for an address with no recent failure), which is booked; nullopt when
  // the wait would exceed `max_wait` (nothing is booked).
  std::optional<Duration> Book(const std::string& peer, Clock::time_point now,
                               Duration delay, Duration max_wait);
  // A login from `peer` failed at `now`.
  void Failed(const std::string& peer, Clock::time_point now, Duration delay);
  size_t size() const { return by_peer_.size(); }

 private:
  struct Entry {
    std::string peer;
    Clock::time_point last_failure;
    Clock::time_point next_turn;
  };
  // Drops the entries whose last failure is kForget old (from the back).
  void Expire(Clock::time_point now);

  const size_t capacity_;
  std::list<Entry> entries_;  // most recent failure first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_peer_;
};

}  // namespace qd
