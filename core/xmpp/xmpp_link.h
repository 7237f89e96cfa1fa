// XmppLink: one XMPP client link (RFC 6120) for one account, kept alive on a
// worker's libevent loop (docs/architecture.md, "XMPP").
//
// The link owns its bufferevent (plain TCP, then an OpenSSL filter after
// STARTTLS), its XmppStream parser and its timers. Start() connects; from
// then on the link reconnects by itself after every failure until Stop():
//
//   connect (evdns, never blocking the loop) -> stream header -> features
//   -> STARTTLS (certificate chain against ca_file or the system store, and
//      the JID's domain as host name) -> new stream -> SASL SCRAM-SHA-1
//      (preferred) or PLAIN (only over TLS unless allow_plain_without_tls)
//   -> new stream -> resource binding -> initial presence -> ready.
//
// While ready, its XmppKeepalive pings (XEP-0199) every ping_interval; no
// answer (result or error) within ping_timeout is a dead link. A single space
// is written when nothing else was sent for whitespace_interval, so NATs and
// the server's idle timers keep the TCP connection. The server's own pings
// are answered.
//
// Flow control: HoldReading(true) stops reading the socket of a ready link
// (what was read already is still parsed and handed on), so what the server
// sends waits in the TCP buffers until HoldReading(false); a hold outlives
// reconnects (a new connection does its handshake, then holds once ready).
// No ping answer can arrive while held, so the keepalive waits for none. A
// write that fails on a ready link (the server closed the connection) is
// not the end yet: the link first reads what the server sent before it.
//
// Failures: a socket error, a stream error, </stream:stream>, a dead ping,
// SASL <failure> (wrong password), a TLS verification failure, a handshake
// that does not finish within connect_timeout: the link logs one line
// saying why (never the password), calls on_down(reason) if it was ready,
// and retries after an exponential backoff of reconnect_min doubling to
// reconnect_max, plus up to a quarter of jitter; the backoff is reset only
// when a link becomes ready, so a permanent error never loops fast.
//
// Not thread-safe: used from its loop only. Callbacks run on the loop; a
// callback may call Send()/Message()/Stop() but must not destroy the link.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/config/xmpp_account.h"
#include "core/util/respawn_backoff.h"
#include "core/xmpp/xmpp_keepalive.h"
#include "core/xmpp/xmpp_link_counters.h"
#include "core/xmpp/xmpp_sasl.h"
#include "core/xmpp/xmpp_stream.h"

struct bufferevent;
struct event;
struct event_base;
struct evdns_base;
struct ssl_ctx_st;
struct ssl_st;

namespace qd {

class XmppLink {
 public:
  // Every state, and what the link waits for in it.
  enum class State {
    kStopped,         // not started, or Stop(): nothing
    kConnecting,      // DNS and TCP connect
    kOpening,         // the stream header and <stream:features>
    kStartTls,        // <proceed/> after our <starttls/>
    kTlsHandshake,    // the OpenSSL filter's handshake
    kAuthenticating,  // SASL challenge/success/failure
    kBinding,         // the bind (and, if required, session) results
    kReady,           // authenticated, bound, presence sent
    kWaitingRetry     // the backoff timer
  };

  using Counters = XmppLinkCounters;

  // `dns` may be null: the link then makes its own evdns_base (with the
  // system's resolv.conf and hosts). Does not connect until Start().
  XmppLink(event_base* base, XmppAccount account, evdns_base* dns = nullptr);
  ~XmppLink();
  XmppLink(const XmppLink&) = delete;
  XmppLink& operator=(const XmppLink&) = delete;

  void set_on_ready(std::function<void()> cb) { on_ready_ = std::move(cb); }
  void set_on_down(std::function<void(const std::string& reason)> cb) {
    on_down_ = std::move(cb);
  }
  // Every stanza the link does not handle itself (messages, presences).
  void set_on_stanza(std::function<void(const XmlElement&)> cb) {
    on_stanza_ = std::move(cb);
  }

  // Connects now, and again after every failure, until Stop().
  void Start();
  // Stops (true) or resumes (false) reading once ready; see the top.
  void HoldReading(bool hold);
  bool holding_reading() const { return hold_reading_; }
  // Closes the stream (best effort) and the connection; no reconnect.
  void Stop();

  // Writes one complete stanza. False (nothing written) unless ready.
  bool Send(std::string_view stanza);
  // Sends <message to type><body/></message>; type "chat" or "normal".
  bool Message(std::string_view to, std::string_view body,
               std::string_view type = "chat");
  // A delivery barrier: sends a XEP-0199 ping and calls done(true) when the
  // server answers it. A server handles a stream's stanzas in order, so the
  // answer means every stanza written before it reached the server. done is
  // called with false when the link fails first (not after Stop(), which
  // drops it). False (done dropped) unless ready.
  bool Confirm(std::function<void(bool delivered)> done);

  State state() const { return state_; }
  bool ready() const { return state_ == State::kReady; }
  // Why the last attempt or link failed ("" before any failure).
  const std::string& last_error() const { return last_error_; }
  // The full JID the server bound (valid once ready).
  const std::string& bound_jid() const { return bound_jid_; }
  const Counters& counters() const { return counters_; }
  const XmppAccount& account() const { return account_; }

 private:
  static void OnRead(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);

  void Connect();
  std::string Where() const;  // "host:port"
  void Fail(const std::string& why);
  void CloseConnection();
  void Write(std::string_view data);
  void WriteNow(std::string_view data);
  void OpenStream();
  void StartTls();

  void OnStanza(const XmlElement& stanza);
  void OnStreamEnd();
  void OnFeatures(const XmlElement& features);
  void StartAuth(const XmlElement& mechanisms);
  void OnSasl(const XmlElement& stanza);
  void OnIq(const XmlElement& iq);
  void BecomeReady();
  // Applies hold_reading_ to the ready connection and its keepalive.
  void ApplyHold();
  // After a failed write: reads what is left, then fails with `why`.
  void ReadToTheEnd(const std::string& why);

  void ArmTimer(event* timer, std::chrono::milliseconds delay);
  void OnHandshakeTimeout();
  std::string NextId(std::string_view prefix);

  event_base* base_;
  XmppAccount account_;
  evdns_base* dns_;
  bool own_dns_ = false;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  std::string ssl_ctx_error_;  // why ssl_ctx_ is unusable; "" when fine
  ssl_st* ssl_ = nullptr;      // owned by bev_ once the filter exists
  bufferevent* bev_ = nullptr;
  XmppStream stream_;
  State state_ = State::kStopped;
  uint64_t generation_ = 0;  // bumped per connection: stale callbacks stop
  bool tls_active_ = false;
  bool tls_pending_ = false;  // <proceed/> seen; wrap after this read
  bool session_needed_ = false;
  bool hold_reading_ = false;  // HoldReading(); applied while kReady
  std::string write_failed_;   // why, while ReadToTheEnd() reads
  XmppSasl sasl_;              // this connection's authentication
  std::string bind_id_, session_id_;
  uint64_t next_id_ = 0;
  std::string last_error_;
  std::string bound_jid_;
  RespawnBackoff backoff_;
  Counters counters_;
  XmppKeepalive keepalive_;  // runs while kReady

  event* retry_timer_ = nullptr;
  event* handshake_timer_ = nullptr;  // connect_timeout

  std::function<void()> on_ready_;
  std::function<void(const std::string&)> on_down_;
  std::function<void(const XmlElement&)> on_stanza_;
};

}  // namespace qd
