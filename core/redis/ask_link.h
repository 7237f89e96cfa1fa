// AskLink: the side connection on which a RedisClient of a Redis Cluster
// sends again the commands a node answered `ASK SLOT HOST:PORT` for (the
// slot is migrating and the command's key is already on HOST:PORT), each
// preceded by ASKING, which lets the importing node serve that one command.
//
// One AskLink per node named by an ASK, owned by the RedisClient whose
// commands it carries; it logs in with the client's credentials (a
// cluster's nodes share them) and is bounded in every way:
//   - commands are queued in order and their replies come in that order,
//     so two commands on one key keep their order across the ASK;
//   - connect and login must finish within `connect_timeout`, and while
//     commands are outstanding a reply must come every `reply_timeout`;
//   - with nothing outstanding for `idle`, the connection is closed;
//   - a failure (refused connect, refused AUTH, a deadline, a closed
//     connection) fails every queued command and backs off (100 ms
//     doubling to 5 s) before the next connect; commands offered meanwhile
//     are refused (Send() returns false) and fail as if not followed.
// A command that fails here gets the ASK error it was first answered (an
// error reply, as when ASK was not followed), so its owner takes its usual
// error path; Close() (the client's own connection went) gives null
// replies instead, as a lost connection does.
//
// Single-threaded: used only from the loop of its client. Callbacks may
// destroy the AskLink (the client stopping); nothing touches it after.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <deque>
#include <functional>
#include <string>

#include "core/config/redis_url.h"
#include "core/util/respawn_backoff.h"

struct event;
struct event_base;
struct redisAsyncContext;

namespace qd {

class AskLink {
 public:
  using Callback = std::function<void(redisReply* reply)>;

  struct Limits {
    timeval connect_timeout = {0, 500000};
    std::chrono::milliseconds reply_timeout{5000};
    std::chrono::milliseconds idle{2000};
  };

  // `node` is the node's address with the client's credentials (no seeds);
  // `name` appears in log lines.
  AskLink(event_base* base, RedisUrl node, std::string name, Limits limits);
  ~AskLink();  // as Close()
  AskLink(const AskLink&) = delete;
  AskLink& operator=(const AskLink&) = delete;

  // Queues ASKING + `command` (one command in RESP) and connects first when
  // needed; `cb` gets the command's reply, or an error reply holding
  // `ask_error` when the link fails first. False while backing off after a
  // failure, or when the connect fails at once: `command` and `cb` are then
  // left to the caller (taken only on true).
  bool Send(std::string&& command, Callback&& cb, std::string ask_error);
  // Closes the connection: queued commands get null replies.
  void Close();
  // No command queued nor outstanding.
  bool idle() const { return pending_.empty(); }
  bool backing_off() const { return state_ == State::kBackingOff; }
  void set_reply_timeout(std::chrono::milliseconds t) {
    limits_.reply_timeout = t;
  }
  const RedisUrl& node() const { return node_; }

 private:
  enum class State {
    kClosed,      // no connection: Send() connects (start; idle; Close())
    kConnecting,  // connect and AUTH sent, not yet answered; commands
                  // queue behind them (Send() on kClosed; out by the AUTH
                  // reply or no AUTH: kReady, or a failure: kBackingOff)
    kReady,       // logged in (out by idle: kClosed; failure: kBackingOff)
    kBackingOff,  // failed; the timer moves it to kClosed
  };
  struct Pending {
    Callback cb;
    std::string ask_error;
  };

  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnAuth(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnTimer(int fd, short what, void* arg);
  bool Connect();
  void Write(const std::string& command);
  // Re-arms the timer for what the state waits for.
  void Arm();
  // Frees the connection without calling anything.
  void Detach();
  // Closes, backs off, then fails what is queued; `this` may be gone after.
  void Fail(const std::string& why);

  event_base* base_;
  RedisUrl node_;
  std::string name_;
  Limits limits_;
  State state_ = State::kClosed;
  redisAsyncContext* ac_ = nullptr;
  event* timer_ = nullptr;
  std::deque<Pending> pending_;  // in the order sent; their replies come so
  RespawnBackoff backoff_;
  std::chrono::milliseconds retry_in_{0};  // this pause (kBackingOff)
  bool failure_logged_ = false;            // until a login works again
};

}  // namespace qd
