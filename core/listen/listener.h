// Listener: one `listeners:` entry in the master (docs/architecture.md,
// "Multiplex listeners").
//
// personality multiplex: the master holds every connection (a bufferevent
// in its loop) and cuts its input into requests with a FrameReader. A
// request runs in a request worker forked for that connection, or in the
// worker the connection kept from its previous request; the worker talks to
// the master over its own socketpair (RequestWire) and never sees a client
// socket. One request of a connection runs at a time, so its replies go back
// in order; later requests wait in the connection's queue (at most
// kMaxQueued, then reading from that client pauses).
//
// The fork fence: at most max_concurrent workers of this listener are alive
// (forked and not yet reaped). A connection that needs a worker when the
// fence is full waits in arrival order with its reading paused; the oldest
// idle kept-alive worker is reclaimed (its channel closed, so it exits) to
// make room, and a request still waiting after fence_timeout gets the
// handler's BusyReply().
//
// Keepalive: after a reply the worker stays bound to its connection for the
// connection's keepalive (listener, overridden per site, overridden per
// account), then its channel is closed. 0 closes it at once.
//
// Login (`login: required`): the first request runs Login() in a worker,
// which reports the outcome with the reply; requests that arrive meanwhile
// wait and run after it, in order. A refused login gets its reply and the
// connection is closed; so does a login whose worker died.
//
// Sessions: the master keeps each connection's session state and hands it
// to the connection's worker with every request; a worker sends it back
// when the request changed it. The master writes the record (outcome and
// state) to Redis behind the replies, at most every kSaveDelay per
// connection, for whoever looks, and deletes it when the connection closes.
// No worker reads it from Redis, so a worker never waits for Redis and a
// new worker never sees an older state than the last reply's.
//
// personality fork: every accepted connection gets its own worker, which
// owns the socket (ServeClient); max_connections bounds them.
//
// Used from the master's loop only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/config/config.h"
#include "core/config/redis_url.h"
#include "queuedaemon/request_handler.h"
#include "queuedaemon/status.h"

struct bufferevent;
struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;

namespace qd {

// The listener's state and counters since start, for metrics.
struct ListenerStats {
  std::string name;
  int connections = 0;
  int workers = 0;  // alive: forked and not reaped (the fence counts)
  int busy = 0;     // workers running a request
  int idle = 0;     // kept-alive workers waiting for their connection
  int waiting = 0;  // connections waiting at the fence
  uint64_t accepted = 0;
  uint64_t refused = 0;  // over max_connections
  uint64_t requests = 0;
  uint64_t forks = 0;
  uint64_t reclaimed = 0;      // idle workers closed to make room
  uint64_t busy_replies = 0;   // fence_timeout passed
  uint64_t error_replies = 0;  // a worker died during a request
  uint64_t too_long = 0;       // frames over max_frame
  uint64_t idle_closed = 0;    // idle_timeout passed
};

// Where the master writes sessions: asynchronous, in order (the forget of a
// key comes after its saves).
struct SessionStore {
  std::function<void(const std::string& key, const std::string& record,
                     Duration ttl)>
      save;
  std::function<void(const std::string& key)> forget;
};

class Listener {
 public:
  // `conn_prefix` starts every connection id ("generic:sip:1234:");
  // fork-personality workers open `redis` for their sessions; multiplex
  // sessions are written through `sessions`.
  Listener(event_base* base, ListenerConfig config, RequestHandler* handler,
           std::string conn_prefix, RedisUrl redis, SessionStore sessions);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens on `config.listen` ("host:port" or "unix:/path"):
  // a non-blocking descriptor for Open(). An error names the listener and
  // the address. Apart from Open() so that the master binds before it
  // drops its privileges and serves after.
  [[nodiscard]] static Status Bind(const ListenerConfig& config, int* fd);
  // Serves on `fd` from Bind() (taken over, closed on error), or binds now
  // when -1.
  Status Open(int fd = -1);
  // A reload: new settings and handler for what comes next. REQUIRES: the
  // same `listen` and personality.
  void Update(ListenerConfig config, RequestHandler* handler);
  // Stops accepting; connections are closed once their queued requests are
  // answered; idle workers are let go.
  void Shutdown();
  // SIGKILL to every worker.
  void KillAll();
  // Called for every reaped child; false when `pid` is not ours.
  bool OnExit(pid_t pid, int wait_status);
  // After Shutdown(): nothing left (no connection, no worker).
  bool finished() const;
  // Called when finished() becomes true.
  void set_on_finished(std::function<void()> cb) {
    on_finished_ = std::move(cb);
  }

  const ListenerConfig& config() const { return config_; }
  ListenerStats stats() const;

  static constexpr size_t kMaxQueued = 32;
  static constexpr Duration kSaveDelay{100};

 private:
  struct Conn;
  struct Proc;

  static void OnAccept(evconnlistener* l, int fd, ::sockaddr* addr, int len,
                       void* arg);
  static void OnAcceptError(evconnlistener* l, void* arg);
  static void OnConnRead(bufferevent* bev, void* arg);
  static void OnConnWrite(bufferevent* bev, void* arg);
  static void OnConnEvent(bufferevent* bev, short what, void* arg);
  static void OnConnIdle(int fd, short what, void* arg);
  static void OnProcRead(bufferevent* bev, void* arg);
  static void OnProcEvent(bufferevent* bev, short what, void* arg);
  static void OnKeepaliveEnd(int fd, short what, void* arg);
  static void OnFenceTimer(int fd, short what, void* arg);
  static void OnSaveTimer(int fd, short what, void* arg);

  void Accept(int fd);
  void ForkForClient(int fd);
  void TakeFrames(Conn* c);
  void Dispatch(Conn* c);
  bool StartWorker(Conn* c);
  void SendNext(Conn* c);
  void OnReply(Proc* p, struct WireMessage& message);
  void ProcGone(Proc* p);
  void Release(Proc* p);
  void MakeIdle(Proc* p);
  void Wait(Conn* c);
  void AdmitWaiting();
  bool HasWaiting() const;
  void FenceTimeouts();
  void Reply(Conn* c, const std::string& body);
  void CloseAfterFlush(Conn* c);
  void Close(Conn* c);
  void ArmIdle(Conn* c);
  void PauseRead(Conn* c);
  void CheckFinished();
  void MarkDirty(Conn* c);
  void SaveSessions();
  void ResumeRead(Conn* c);

  event_base* base_;
  ListenerConfig config_;
  RequestHandler* handler_;
  std::string conn_prefix_;
  RedisUrl redis_;
  SessionStore sessions_;
  evconnlistener* listener_ = nullptr;
  bool shutting_down_ = false;
  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::unordered_map<pid_t, std::unique_ptr<Proc>> procs_;
  int alive_ = 0;  // procs_ entries not reaped yet (the fence counts them)
  std::list<Proc*> idle_;       // oldest first
  std::deque<uint64_t> fence_;  // waiting connections, by serial
  event* fence_timer_ = nullptr;
  event* save_timer_ = nullptr;
  std::vector<uint64_t> dirty_;  // connections whose session is to be saved
  bool admitting_ = false;       // AdmitWaiting is dispatching a waiter
  const timeval* idle_tv_ = nullptr;  // a libevent common timeout
  ListenerStats stats_;
  std::function<void()> on_finished_;
};

}  // namespace qd
