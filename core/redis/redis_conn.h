// RedisConn: one synchronous hiredis connection, for code that may block:
// queuectl, and request workers (one request at a time, no event loop).
// Never use it inside an event loop.
//
// Opened from a RedisUrl: TCP or a unix socket (or the master the url's
// Sentinels name, which must then say "master" to ROLE), then AUTH when
// the url has credentials and SELECT db when db != 0. Every error it returns
// names the server ("redis 127.0.0.1:6379/0: Connection refused"), so a caller
// can print it as is. Pipelining is explicit: Append()/AppendRaw() queue
// commands locally, Read() flushes the queue and returns the next reply in
// order. After an I/O error the connection is unusable (hiredis sets its error
// for good).
//
// On a url with a Cluster's seeds, a command the node answers `ASK SLOT
// HOST:PORT` (the slot is migrating, the key already moved) is sent again,
// after ASKING, on a short connection to HOST:PORT (same login, the same
// timeouts), and its reply comes in place of the ASK; a failure there is an
// error naming that node. As with RedisClient, scripts (EVAL, FCALL), the
// commands of a MULTI block and AppendRaw()'s commands are not followed
// (core/redis/ask_filter.h): their ASK comes back as
// the reply. For that the text of each command Append()ed is kept until
// Read() returns its reply (only on a cluster url). Not thread-safe.
#pragma once

#include <hiredis/hiredis.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/redis_url.h"
#include "core/redis/ask_filter.h"
#include "core/redis/resp_buffer.h"
#include "queuedaemon/status.h"

namespace qd {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConn {
 public:
  ~RedisConn();
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // Connects (2 s timeout; `reply_timeout` per reply afterwards), logs in
  // and selects the db. A refused login reads "redis HOST:PORT/DB: AUTH
  // failed: WRONGPASS ..." (never the password).
  static Status Open(const RedisUrl& url, std::unique_ptr<RedisConn>* out,
                     timeval reply_timeout = {30, 0});
  // What Open() does, for code that keeps a raw context (the lease
  // keeper): connected within `timeout`, logged in, replies bounded by
  // `timeout`; null and *why (naming the server) when that failed.
  static redisContext* Connect(const RedisUrl& url, timeval timeout,
                               std::string* why);
  // The start-up check of a server the daemon will use: connects and, when
  // the server answers, logs in as Open() does and PINGs. Ok when all that
  // worked, and when the server cannot be reached (the daemon's clients
  // retry and log that); an error naming the server when it refused the
  // login or a command (WRONGPASS, NOAUTH, a db out of range).
  static Status CheckLogin(const RedisUrl& url, timeval timeout);
  // The start-up check of the sites' servers: an error when this one is a
  // Redis Cluster node that sends one of `keys` (a key of each site on it)
  // elsewhere (MOVED, ASK), as redirections are not followed; Ok
  // otherwise, unreachable included.
  static Status CheckSlot(const RedisUrl& url, timeval timeout,
                          const std::vector<std::string>& keys);
  // AUTH (when `url` has credentials) and SELECT (db != 0) on a connected
  // synchronous context, for code that holds a raw one. The error does not
  // name the server.
  static Status LogIn(redisContext* c, const RedisUrl& url);

  // "redis 127.0.0.1:6379/0" or "redis /run/redis.sock".
  const std::string& name() const { return name_; }

  // Sends one command and waits for its reply. An error reply ("ERR ...",
  // "WRONGTYPE ...") is returned as an error Status too. `reply` may be null.
  Status Call(const std::vector<std::string_view>& args,
              ReplyPtr* reply = nullptr);

  // Queues commands without sending them.
  void Append(const std::vector<std::string_view>& args);
  void AppendRaw(const RespBuffer& commands);
  // Sends what is queued, then waits for the next reply. Error replies are
  // returned as replies (type REDIS_REPLY_ERROR), not as a Status.
  Status Read(ReplyPtr* reply);

  // An error naming this server: "<name>: <what>".
  Status Error(const std::string& what) const;

 private:
  RedisConn(redisContext* c, std::string name)
      : c_(c), name_(std::move(name)) {}
  // `command` again on a short connection to the node `ask` names.
  Status FollowAsk(const redisReply* ask, const std::string& command,
                   ReplyPtr* reply);

  redisContext* c_;
  std::string name_;
  // A cluster url's node, with the credentials: for following ASK.
  RedisUrl at_;
  bool cluster_ = false;
  timeval reply_timeout_ = {30, 0};
  AskFilter ask_filter_;
  // Per command queued and not yet read: its text when it may follow ASK,
  // else "" (cluster urls only).
  std::deque<std::string> queued_;
};

}  // namespace qd
