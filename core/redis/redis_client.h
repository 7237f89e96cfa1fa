// RedisClient: one asynchronous connection to one Redis server, on a
// worker's event loop (hiredis async + its libevent adapter).
//
// Never blocks the loop. Commands are pipelined: Command() writes at once
// and the reply comes to its callback on a later loop turn, in order. When
// the connection drops, every pending callback gets a null reply, the client
// logs the outage once, reconnects with backoff (100 ms doubling to 5 s) and
// calls the on-connect hook again, where the owner re-sends whatever it
// needs. With credentials in the url, every connection first pipelines
// AUTH (then SELECT) and counts as connected only once AUTH is answered;
// a refused AUTH (WRONGPASS, NOAUTH) is a failed connect: logged once,
// retried with the same backoff. Messages never hold the password. hiredis 0.14
// has no async timeouts: a dead server is found by the kernel (TCP keepalive,
// set here), and a hung one (stopped, or a network path that drops everything:
// keepalive takes minutes) by the reply timeout: commands outstanding with no
// reply for that long drop the connection as if it had broken.
//
// A url with Sentinels (core/redis/redis_sentinel.h) is looked up before every
// connect, without blocking the loop; the server found must say "master"
// to ROLE (in the login pipeline) or the connect counts as failed (a user
// not allowed ROLE is let in unchecked, with a warning). A READONLY reply
// (a master demoted by a failover) drops the connection, so the reconnect
// asks the Sentinels again; reconnects back off only to 1 s then. Without
// Sentinels, READONLY (a url naming a replica) is logged once per
// connection. A failed SELECT is a failed connect, as a refused AUTH.
//
// A url with a Cluster's seeds (core/redis/cluster_lookup.h) is looked up
// the same way: the master of the url's key slot, checked with ROLE. MOVED
// (the slot has moved: resharding, or a replica promoted) and READONLY drop
// the connection, so the reconnect asks the cluster again. ASK (the slot is
// migrating and the command's key is already on the importing node) is
// followed: the command goes again, after ASKING, on a side connection to
// that node (core/redis/ask_router.h), and its reply, not the ASK, comes to
// its callback, later than the replies of commands sent after it on other
// keys (two commands on one key keep their order). To that end the client
// of a cluster url keeps each command's text until its reply; other urls
// keep nothing. Not followed (the command fails with the ASK, its owner
// retries, as it does for any error): scripts and everything between MULTI
// and EXEC (core/redis/ask_filter.h says why), and
// commands for a node whose side connection failed and is backing off.
// TRYAGAIN (a multi-key command whose keys are split by the migration)
// fails the command; it and an ASK not followed are logged once per
// connection. A MOVED or ASK from a url naming one node is logged once per
// connection with what to do. Single-threaded: used only from its loop.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/redis_url.h"
#include "core/redis/ask_filter.h"
#include "core/redis/ask_router.h"
#include "core/redis/redis_sentinel.h"
#include "core/redis/reply_arena.h"
#include "core/redis/server_lookup.h"
#include "core/util/respawn_backoff.h"

struct event;
struct event_base;
struct redisAsyncContext;

namespace qd {

class RedisClient {
 public:
  // `reply` is null when the connection was lost before the reply came.
  using Callback = std::function<void(redisReply* reply)>;

  // `name` appears in log lines ("site default reader").
  RedisClient(event_base* base, RedisUrl url, std::string name);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void set_on_connect(std::function<void()> cb) { on_connect_ = std::move(cb); }
  // Connects now and again after every loss, until Stop().
  void Start();
  // Drops the connection at once (pending callbacks get null replies).
  void Stop();
  bool connected() const { return connected_; }
  // 0 (the default): wait for replies however long. A blocking command's
  // own wait (XREADGROUP BLOCK) must fit inside it.
  void set_reply_timeout(std::chrono::milliseconds timeout);
  // Why the connection was last lost or refused ("" before any loss).
  const std::string& last_error() const { return last_error_; }
  // As configured (with Sentinels: the url they were asked with).
  const RedisUrl& url() const { return url_; }
  // Commands sent again to another node after ASK, since the start.
  uint64_t asks_followed() const { return asks_.followed(); }

  // Returns false (and does not call `cb`) when not connected.
  bool Command(const std::vector<std::string_view>& args, Callback cb);
  bool CommandArgv(int argc, const char** argv, const size_t* lens,
                   Callback cb);
  // Writes what the commands left in the output buffer now, as far as the
  // socket takes it without blocking, instead of on the next loop turn:
  // for a command that must reach the server before the caller blocks the
  // loop (a handler that runs long). The replies still come on the loop.
  void Flush();

  // Subscribes to `channel`: `on_message` gets each message's payload. The
  // subscription is sent again after every reconnect. A client with a
  // subscription is in pub/sub mode: use it for nothing else.
  using MessageCallback = std::function<void(std::string_view payload)>;
  void Subscribe(const std::string& channel, MessageCallback on_message);

 private:
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  // A cluster url's commands: the callback and the command's text.
  struct Pending;
  static void OnClusterReply(redisAsyncContext* ac, void* reply,
                             void* privdata);
  // Hands `p`'s command to the side connection of the node `ask` names;
  // false (and `p` untouched) when it cannot go there.
  bool FollowAsk(const redisReply* ask, Pending* p);
  bool Send(const std::string& resp, std::string_view name, Callback cb);
  // AUTH and ROLE, sent before anything else: Ready() once both answered.
  static void OnLogin(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnMessage(redisAsyncContext* ac, void* reply, void* privdata);
  void SendSubscribe(const std::string& channel);
  static void OnRetry(int fd, short what, void* arg);
  static void OnWatch(int fd, short what, void* arg);
  void Sent();
  // Looks the master up first when the url has Sentinels.
  void Connect();
  void ConnectTo(RedisUrl at);
  // "<at_>: <why>" for messages about the server reached.
  std::string AtServer(const std::string& why) const;
  // Frees the connection (pending callbacks get null replies), then Lost().
  void Drop(const std::string& why, bool refused = false);
  // Logs `reply` and `what` as a warning unless *logged; sets it.
  void WarnOnce(bool* logged, std::string_view reply, const char* what);
  // READONLY and MOVED drop the connection; an ASK not followed and
  // TRYAGAIN are logged once.
  void Inspect(const redisReply* error);
  // Logged in (or no login needed): commands may go.
  void Ready();
  // `refused`: the server refused our credentials.
  void Lost(const std::string& why, bool refused = false);

  event_base* base_;
  RedisUrl url_;
  RedisUrl at_;  // the server of the current connection (url_ or its master)
  // When url_ has Sentinels or a Cluster's seeds.
  std::unique_ptr<ServerLookup> lookup_;
  std::string name_;
  AskRouter asks_;  // cluster urls: where commands answered ASK go
  redisAsyncContext* ac_ = nullptr;
  int login_replies_ = 0;             // AUTH and ROLE replies still to come
  bool cluster_logged_ = false;       // MOVED/ASK, once per connection
  bool tryagain_logged_ = false;      // TRYAGAIN, the same
  AskFilter ask_filter_;              // reset per connection
  bool readonly_logged_ = false;      // READONLY without Sentinels, the same
  bool role_refusal_logged_ = false;  // ROLE refused (NOPERM), once
  bool connected_ = false;
  bool stopped_ = true;
  bool outage_logged_ = false;
  bool refusal_logged_ = false;  // the outage's log line said AUTH failed
  std::string last_error_;
  std::chrono::steady_clock::time_point down_since_;
  RespawnBackoff backoff_;
  ReplyArena arena_;  // every reply of ac_ (its objects die with the next)
  event* retry_timer_ = nullptr;
  event* watch_timer_ = nullptr;  // reply timeout checks, when set
  std::chrono::milliseconds reply_timeout_{0};
  std::chrono::milliseconds watch_every_{1000};
  std::chrono::steady_clock::time_point last_watch_;
  int outstanding_ = 0;  // commands sent, reply not yet in
  std::chrono::steady_clock::time_point progress_;  // last reply, or first send
  std::function<void()> on_connect_;
  // By channel; hiredis keeps a pointer to the callback while subscribed.
  std::map<std::string, std::unique_ptr<MessageCallback>> subscriptions_;
};

// Reply helpers: hiredis replies as string views.
inline std::string_view ReplyString(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}
inline bool ReplyIsError(const redisReply* r) {
  return r == nullptr || r->type == REDIS_REPLY_ERROR;
}
// A Redis Cluster redirection (MOVED or ASK): the key's slot is elsewhere.
inline bool ReplyIsRedirect(const redisReply* r) {
  std::string_view text = ReplyString(r);
  return r != nullptr && r->type == REDIS_REPLY_ERROR &&
         (text.substr(0, 6) == "MOVED " || text.substr(0, 4) == "ASK ");
}

}  // namespace qd
