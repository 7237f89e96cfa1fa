// ClientGate: what a listener does about clients that misbehave or may be
// hostile, apart from the request flow. It owns the per-address login
// throttle (LoginThrottle: after a failed login from an address, its
// connections wait their turn, login_delay apart, or are refused when no
// turn is free within half of login_timeout), the refusal of a connection
// at accept (the handler's refusal line, then close), the bookkeeping of a
// failed or timed-out login, and the counting and logging of what a client
// can cause at will (refusals, logins, oversize requests, unread replies)
// through LogLimiters, so that a flood costs a few lines. The listener
// still decides what to do with the connection.
// It counts what it refuses in the listener's stats. It reads the
// listener's config by reference, so a reload is seen at once. Used from
// the master's loop only.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "core/config/config.h"
#include "core/listen/client_conn.h"
#include "core/listen/listener_stats.h"
#include "core/listen/login_throttle.h"
#include "core/util/log_limiter.h"
#include "queuedaemon/request_handler.h"

namespace qd {

class ClientGate {
 public:
  // `config` and `stats` must outlive the gate.
  ClientGate(const ListenerConfig& config, ListenerStats* stats);
  ClientGate(const ClientGate&) = delete;
  ClientGate& operator=(const ClientGate&) = delete;

  // Refuses `fd` (taken over, closed) because max_connections is reached
  // or the listener shuts down.
  void RefuseFull(int fd, const RequestHandler& handler);
  // With login required (multiplex), the wait before a connection from
  // `peer` may log in: 0 unless its address failed a login lately. nullopt
  // when there is no turn within half of login_timeout: then `fd` is
  // refused (taken over, closed).
  std::optional<Duration> LoginTurn(int fd, const std::string& peer,
                                    const RequestHandler& handler);
  // `c` was not logged in within login_timeout: counted and logged; the
  // caller closes it.
  void LoginTimedOut(const ClientConn& c);
  // The login of `c` was refused: counted, logged, and its address's next
  // logins are throttled; the caller closes it.
  void LoginFailed(const ClientConn& c);
  // A request of `c` is over max_frame: counted and logged; the caller
  // answers and closes it.
  void TooLong(const ClientConn& c);
  // No reply of `c` was written within output_timeout: counted and logged;
  // the caller closes it.
  void OutputTimedOut(const ClientConn& c);
  // The unread replies of `c` are over max_output_hard: counted and logged;
  // the caller closes it.
  void OutputOverHard(const ClientConn& c);

 private:
  // Lines a client can cause at will, each kind through its own LogLimiter.
  enum class Line { kRefused, kTooLong, kLogin, kOutput, kCount };

  // True when a line of kind `line` may be written now; then *note is the
  // LogLimiter's note for the end of the line.
  bool Log(Line line, std::string* note);
  // The handler's refusal line, then the descriptor is closed.
  void Refuse(int fd, const RequestHandler& handler);

  const ListenerConfig& config_;
  ListenerStats* stats_;
  LoginThrottle throttle_;  // failed logins by peer address
  std::array<LogLimiter, static_cast<size_t>(Line::kCount)> log_;
};

}  // namespace qd
