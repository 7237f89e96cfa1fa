// ServerLookup: where the server of a url is, asked on an event loop before
// every connect (RedisClient): the master of a Sentinel-monitored group
// (SentinelLookup) or the node serving a key's Cluster slot (ClusterLookup).
//
// Both ask a list of servers in order, each with its own deadline, until
// one gives an answer; AskEachServer is that loop on an event loop, and
// AskEachServerBlocking the same for callers that may block (queuectl,
// request workers, start-up checks). What to ask and how to read the
// answer is theirs.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/redis_url.h"
#include "queuedaemon/status.h"

struct event;
struct event_base;
struct redisAsyncContext;

namespace qd {

class ServerLookup {
 public:
  // The server found (a copy of the url with its host and port) or the
  // error. Called on the loop; it may start another lookup or destroy the
  // lookup.
  using Done = std::function<void(const Status& status, RedisUrl server)>;

  virtual ~ServerLookup() = default;
  // One at a time: cancels a lookup in progress (its callback is not
  // called).
  virtual void Start(const RedisUrl& url, Done done) = 0;
  virtual void Cancel() = 0;
  virtual bool running() const = 0;
};

// A reply's text (empty for a null reply or one without a string).
std::string_view ReplyText(const redisReply* r);

// "10.0.0.1:7000", "[::1]:7000".
std::string DescribeServer(const RedisUrl::Server& s);

// Connects to each of `servers` in turn (`timeout` for the connect and for
// each reply) and calls `ask` on the connection until one returns Ok. The
// errors of the others are joined as "NOUN HOST:PORT: why; ..." into
// *errors.
Status AskEachServerBlocking(
    const std::vector<RedisUrl::Server>& servers, timeval timeout,
    const char* noun,
    const std::function<Status(redisContext* c, const RedisUrl::Server& s)>&
        ask,
    std::string* errors);

// The loop on an event loop: a subclass says which servers to ask, queues
// its commands on each new connection (the last with OnAnswer as its
// callback) and reads the answer.
class AskEachServer : public ServerLookup {
 public:
  ~AskEachServer() override;
  AskEachServer(const AskEachServer&) = delete;
  AskEachServer& operator=(const AskEachServer&) = delete;

  void Start(const RedisUrl& url, Done done) override;
  void Cancel() override;
  bool running() const override { return static_cast<bool>(done_); }

 protected:
  // `noun` names a server in errors ("sentinel", "node").
  AskEachServer(event_base* base, timeval timeout, const char* noun);

  virtual std::vector<RedisUrl::Server> ServersToAsk(const RedisUrl& url) = 0;
  // Queues the commands on `ac` (sent once it connects); the reply to the
  // last goes to OnAnswer.
  virtual void Queue(redisAsyncContext* ac) = 0;
  // The server found from the last reply of `asked`, or why not.
  virtual Status Answer(const redisReply* reply, const RedisUrl::Server& asked,
                        RedisUrl* server) = 0;
  // The error when no server answered; `errors` says what each said.
  virtual Status NoneAnswered(const std::string& errors) = 0;

  // The callback for the last command; a subclass may also use Failed()
  // from the callbacks of the others.
  static void OnAnswer(redisAsyncContext* ac, void* reply, void* privdata);
  // The server being asked failed: note why and ask the next.
  void Failed(const std::string& why);
  const RedisUrl& url() const { return url_; }

 private:
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnTimeout(int fd, short what, void* arg);
  void AskNext();
  // Closes the connection to the server being asked.
  void Close();
  void Finish(const Status& status, RedisUrl server);

  event_base* base_;
  timeval timeout_;
  const char* noun_;
  event* timer_ = nullptr;
  redisAsyncContext* ac_ = nullptr;
  RedisUrl url_;
  std::vector<RedisUrl::Server> ask_;
  size_t next_ = 0;  // the next of ask_
  std::string errors_;
  Done done_;
};

}  // namespace qd
