// XmppKeepalive: the liveness of one ready XmppLink, and its delivery
// barrier.
//
// Owns the link's pings in flight and three timers on the link's loop:
//   - ping: a XEP-0199 ping every ping_interval (unless one is already on
//     its way);
//   - pong: ping_timeout for the oldest unanswered ping; when it fires the
//     link is dead;
//   - whitespace: a single space once nothing was written for
//     whitespace_interval, so NATs and the server's idle timers keep the
//     TCP connection.
// Confirm() is the barrier: a ping whose answer (result or error) proves the
// server read the stream up to it, since a server handles a stream's
// stanzas in order.
//
// While the link holds its reading (XmppLink::HoldReading: the inbound
// queue's Redis is behind), answers cannot arrive: the pong timer is off,
// and comes back with a whole ping_timeout when reading resumes; no
// keepalive ping is sent (barriers still are). Spaces still go out, for
// the NATs on the way.
//
// The keepalive writes, names its pings and reports a dead link through
// Hooks its XmppLink gives it; it never sees the connection. Runs only
// between Start() (the link became ready) and Stop() (the link closed).
// Not thread-safe: used from the link's loop only.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/xmpp_account.h"
#include "core/xmpp/xmpp_link_counters.h"

struct event;
struct event_base;

namespace qd {

class XmppKeepalive {
 public:
  // What the keepalive asks of its link. REQUIRES: all three set.
  struct Hooks {
    // Writes on the ready stream (and is then reported through Wrote()).
    std::function<void(std::string_view data)> write;
    // A stanza id unique on the link ("ping-7").
    std::function<std::string(std::string_view prefix)> next_id;
    // A ping went unanswered: the link must fail with `why`.
    std::function<void(const std::string& why)> dead;
  };

  // REQUIRES: `base`, `account` and `counters` outlive the keepalive.
  XmppKeepalive(event_base* base, const XmppAccount& account,
                XmppLinkCounters* counters, Hooks hooks);
  ~XmppKeepalive();
  XmppKeepalive(const XmppKeepalive&) = delete;
  XmppKeepalive& operator=(const XmppKeepalive&) = delete;

  // The link became ready: arms the ping and whitespace timers.
  void Start();
  // The link closed: disarms every timer and drops the pings in flight
  // without calling their `done` (TakeBarriers() first to call them).
  void Stop();
  // Every write on the link, handshake included: the whitespace timer
  // counts idleness from the last one.
  void Wrote();
  // The link stopped (true) or resumed (false) reading: no ping can be
  // answered meanwhile, so none is overdue. Stop() clears it.
  void Hold(bool held);

  // Sends a ping; done(true) when the server answers it. REQUIRES: started.
  void Confirm(std::function<void(bool delivered)> done);
  // An iq result or error with `id`: the answer to one of our pings, if it
  // names one (others are ignored).
  void OnAnswer(const std::string& id);
  // Moves out the `done` of every barrier still unanswered, oldest first,
  // leaving no ping in flight: the failing link calls them with false.
  std::vector<std::function<void(bool)>> TakeBarriers();

 private:
  using Clock = std::chrono::steady_clock;
  // Pings in flight, oldest first; pong_timer_ runs for the oldest.
  struct PendingPing {
    std::string id;
    Clock::time_point sent;
    std::function<void(bool)> done;  // may be empty (a keepalive ping)
  };

  void SendPing(std::function<void(bool)> done);
  void OnPingTimer();
  void OnPongTimeout();
  void OnWhitespaceTimer();

  const XmppAccount& account_;
  XmppLinkCounters* counters_;
  Hooks hooks_;
  bool running_ = false;  // between Start() and Stop()
  bool held_ = false;     // Hold(true): pong_timer_ stays off
  std::deque<PendingPing> pings_;
  Clock::time_point last_write_;
  event* ping_timer_ = nullptr;        // next ping
  event* pong_timer_ = nullptr;        // ping_timeout
  event* whitespace_timer_ = nullptr;  // whitespace_interval
};

}  // namespace qd
