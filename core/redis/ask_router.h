// AskRouter: where a RedisClient of a Redis Cluster sends the commands a
// node answered `ASK SLOT HOST:PORT` for: the side connection (AskLink) to
// HOST:PORT, made on first use, at most kMaxLinks of them (a link idle and
// not backing off gives way to a new node; none: the command is not
// followed). It counts the commands followed and logs the first of each
// connection of its client. Single-threaded, on its client's loop.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/config/redis_url.h"
#include "core/redis/ask_link.h"
#include "core/redis/cluster_slots.h"

struct event_base;

namespace qd {

class AskRouter {
 public:
  static constexpr size_t kMaxLinks = 8;

  // `name` appears in log lines; `connect_timeout` bounds each link's
  // connect and login.
  AskRouter(event_base* base, std::string name, timeval connect_timeout);

  // When `ask` is an ASK error naming a node that can take it: queues
  // `command` (its text) there after ASKING and returns true, `cb` to get
  // its reply (AskLink::Send). `at` is the server of the client's
  // connection: its credentials log the link in, its host stands for an
  // ASK without one. False, with `command` and `cb` left untouched, when
  // not followed.
  bool Follow(const redisReply* ask, const RedisUrl& at, std::string&& command,
              AskLink::Callback&& cb);
  // Closes every link: what they carry gets null replies.
  void CloseAll();
  // A new connection of the client: its first ASK followed is logged.
  void NewConnection() { logged_ = false; }
  // The links' reply deadline (0: kDefaultReplyTimeout).
  void set_reply_timeout(std::chrono::milliseconds timeout);
  uint64_t followed() const { return followed_; }

 private:
  static constexpr std::chrono::milliseconds kDefaultReplyTimeout{10000};
  AskLink* LinkTo(const ClusterNode& node, const RedisUrl& at);

  event_base* base_;
  std::string name_;
  timeval connect_timeout_;
  std::chrono::milliseconds reply_timeout_ = kDefaultReplyTimeout;
  std::map<std::string, std::unique_ptr<AskLink>> links_;  // by "host:port"
  uint64_t followed_ = 0;
  bool logged_ = false;
};

}  // namespace qd
