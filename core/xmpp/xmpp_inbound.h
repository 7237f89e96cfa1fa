// XmppInbound: writes the messages one account receives into its inbound
// queue, and holds the link's reading while Redis does not take them
// (docs/xmpp.md, "Receiving messages").
//
// The XmppManager hands it every stanza its ready link does not handle
// itself. A message that becomes a job (XmppInboundMessage) waits in
// memory until its XADD to PREFIX:{SITE}:q:QUEUE is confirmed; the XADDs
// are pipelined, in the order received, on the inbound's own RedisClient
// to the site's server (sites may live on different servers).
//
// Nothing received is dropped for want of Redis. Once kMaxWaiting messages
// (or kMaxWaitingBytes of them) wait, hold(true) makes the link stop
// reading its socket: what the server sends next stays in the kernel's
// buffers and the server's. Once no more than half of those wait,
// hold(false) reads on. The link parses what it had already read before
// it stops, so the bound is the window plus one socket read (a stanza is
// at most 1 MiB), or plus what the socket still held when the server
// closed the connection meanwhile (the link reads that before it fails). A
// refused XADD (an error reply: OOM, WRONGTYPE, NOPERM) is sent again after 100
// ms doubling to 5 s, its error logged once a minute; one lost with the
// connection is sent again once the RedisClient has reconnected (it backs off
// by itself). Waiting messages outlive the link's reconnects: the server
// counted them delivered when TCP took them. They are lost only when the worker
// ends before Redis took them (it waits for them while it drains, up to the
// daemon's shutdown_timeout).
//
// Delivery is at least once: an XADD whose reply was lost with the
// connection is sent again and may then be in the stream twice.
// Not thread-safe: the worker's loop only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/redis/redis_client.h"
#include "core/stats/statsd_sink.h"
#include "core/util/log_limiter.h"
#include "core/util/respawn_backoff.h"
#include "core/util/subject_log_limiter.h"
#include "core/xmpp/xmpp_inbound_message.h"
#include "core/xmpp/xmpp_stream.h"

struct event;
struct event_base;

namespace qd {

class XmppInbound {
 public:
  static constexpr size_t kMaxWaiting = 32;
  static constexpr size_t kMaxWaitingBytes = 1 << 20;

  struct Counters {
    uint64_t received = 0;     // messages that became jobs (written or not)
    uint64_t written = 0;      // XADDs confirmed
    uint64_t dropped = 0;      // senders not in inbound_from, invalid from
    uint64_t ignored = 0;      // messages: groupchat, headline, error, no body
    uint64_t write_fails = 0;  // XADDs refused or lost, sent again
    uint64_t holds = 0;        // times the link was told to stop reading
  };

  // `account` (with receives()) must outlive the inbound; `site` is its
  // inbound site.
  // `hold(true)` asks the link to stop reading, `hold(false)` to resume.
  // Commands unanswered for `reply_timeout` drop the Redis connection
  // (0: never).
  XmppInbound(event_base* base, const XmppAccount& account,
              const SiteConfig& site, RedisUrl url,
              std::chrono::milliseconds reply_timeout,
              std::function<void(bool hold)> hold);
  ~XmppInbound();
  XmppInbound(const XmppInbound&) = delete;
  XmppInbound& operator=(const XmppInbound&) = delete;

  // Counts into `stats` (may be null) from now on: xmpp.inbound.received,
  // .written and .dropped, tagged with the account, site and queue.
  void set_stats(StatsdSink* stats) { stats_ = stats; }

  // Connects to the site's Redis (and again after every loss).
  void Start();
  // A stanza of the account's ready link.
  void OnStanza(const XmlElement& stanza);

  // Messages received and not yet written.
  size_t waiting() const { return waiting_.size(); }
  bool holding() const { return holding_; }
  const Counters& counters() const { return counters_; }

 private:
  struct Waiting {
    uint64_t seq;                   // names its XADD's reply
    std::vector<std::string> argv;  // XADD KEY * FIELD VALUE ...
    size_t bytes;
    bool sent = false;  // the XADD is out, its reply not yet in
  };

  static void OnRetryTimer(int fd, short what, void* arg);
  void Add(const XmppInboundMessage& message);
  void Drop(const std::string& from, const char* why);
  // Sends every waiting XADD not yet sent (not while a retry is pending).
  void Flush();
  void OnReply(uint64_t seq, redisReply* reply);
  // hold(true) past the window, hold(false) once half of it is written.
  void UpdateHold();
  void Count(const char* name);

  const XmppAccount& account_;
  std::string key_;  // PREFIX:{SITE}:q:QUEUE
  std::function<void(bool)> hold_;
  std::unique_ptr<RedisClient> redis_;
  std::deque<Waiting> waiting_;  // in the order received
  size_t waiting_bytes_ = 0;
  uint64_t next_seq_ = 0;
  bool stopping_ = false;  // in the destructor: replies are ignored
  bool holding_ = false;
  bool hold_logged_ = false;  // the hold's start was logged: log its end
  bool failing_ = false;      // a write failed since the last success
  std::chrono::steady_clock::time_point held_since_;
  RespawnBackoff retry_backoff_;
  event* retry_timer_ = nullptr;
  LogLimiter drop_log_;          // senders not allowed: a burst at most
  SubjectLogLimiter error_log_;  // one line a minute per Redis error
  StatsdSink* stats_ = nullptr;
  StatsdSink::Tags tags_;
  Counters counters_;
};

}  // namespace qd
