// Listener: one `listeners:` entry in the master (docs/architecture.md,
// "Multiplex listeners"). It ties the parts together and owns the request
// flow of its connections:
//
//   ListenSocket   the bound socket and accepting;
//   ClientConn     a connection: its buffers, framing and State;
//   ForkFence      the request workers (WorkerProc) and the connections
//                  waiting for one: at most max_concurrent alive;
//   ForkServerKeeper  the fork server that forks the request workers, so
//                  that the master forks none (restarted if it dies);
//   SessionWriter  the sessions' Redis copies, written behind the replies;
//   ClientGate     refusals at accept, the login throttle, and the
//                  counted, rate-limited lines a client can cause.
//
// personality multiplex: the master holds every connection and cuts its
// input into requests. A request runs in a request worker forked for that
// connection (by the listener's fork server, as the master's child), or in
// the worker the connection kept from its previous request; the worker
// talks to the master over its own socketpair
// (RequestWire) and never sees a client socket. One request of a connection
// runs at a time, so its replies go back in order; later requests wait in
// the connection's queue (at most kMaxQueued, or kMaxQueuedBytes, then
// reading from that client pauses). While a client's unread replies are
// over max_output none of its requests is read or started; past
// max_output_hard, or after output_timeout without progress, it is closed.
//
// Keepalive: after a reply the worker stays bound to its connection for the
// connection's keepalive (listener, overridden per site, overridden per
// account), then its channel is closed. 0 closes it at once.
//
// Login (`login: required`): the first request runs Login() in a worker,
// which reports the outcome with the reply; requests that arrive meanwhile
// wait and run after it, in order. A refused login gets its reply and the
// connection is closed; so does a login whose worker died, and a
// connection not logged in within login_timeout. After a failed login from
// an address, connections from it wait their turn (ClientGate,
// login_delay apart) before their login is read. Lines a client can cause
// at will (refusals, oversize frames, logins, unread replies) are logged
// through the ClientGate's LogLimiters: a flood costs a few lines.
//
// personality fork: every accepted connection gets its own worker, which
// owns the socket (ServeClient); max_connections bounds them.
//
// Used from the master's loop only. Connections are freed from their own
// callbacks (EOF, flushed, idle), as libevent allows for a bufferevent, and
// not touched after that. Workers are never freed synchronously: the
// callback that released one may still look at it (WorkerProc::OnRead
// checks its channel before decoding the next message), so the ForkFence
// frees a released, reaped worker only after the loop turn.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config/config.h"
#include "core/config/redis_url.h"
#include "core/listen/client_conn.h"
#include "core/listen/client_gate.h"
#include "core/listen/exit_book.h"
#include "core/listen/fork_fence.h"
#include "core/listen/fork_server_keeper.h"
#include "core/listen/listen_socket.h"
#include "core/listen/listener_stats.h"
#include "core/listen/session_writer.h"
#include "core/listen/worker_proc.h"
#include "queuedaemon/request_handler.h"
#include "queuedaemon/status.h"

struct event_base;
struct sockaddr;
struct timeval;

namespace qd {

class Listener : private ClientConn::Owner,
                 private WorkerProc::Owner,
                 private ForkFence::Owner,
                 private ForkServerKeeper::Owner {
 public:
  // `conn_prefix` starts every connection id ("generic:sip:1234:");
  // fork-personality workers open `redis` for their sessions; multiplex
  // sessions are written through `sessions`. `exits` (the ListenerSet's,
  // outliving the listener) holds exits reaped before their pid was known.
  Listener(event_base* base, ListenerConfig config, RequestHandler* handler,
           std::string conn_prefix, RedisUrl redis, SessionStore sessions,
           ExitBook* exits);
  ~Listener() override;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // ListenSocket::Bind: apart from Open() so that the master binds before
  // it drops its privileges and serves after.
  [[nodiscard]] static Status Bind(const ListenerConfig& config, int* fd);
  // Serves on `fd` from Bind() (taken over, closed on error), or binds now
  // when -1; a multiplex listener starts its fork server.
  Status Open(int fd = -1);
  // A reload: new settings and handler for what comes next (a multiplex
  // listener starts a new fork server; the old one's workers finish).
  // REQUIRES: the same `listen` and personality.
  void Update(ListenerConfig config, RequestHandler* handler);
  // Stops accepting; connections are closed once their queued requests are
  // answered; idle workers are let go.
  void Shutdown();
  // SIGKILL to every worker and fork server.
  void KillAll();
  // Called for every reaped child; false when `pid` is not ours (or not
  // known yet: see ExitBook).
  bool OnExit(pid_t pid, int wait_status);
  // After Shutdown(): nothing left (no connection, no worker, no fork
  // server).
  bool finished() const;
  // Called when finished() becomes true.
  void set_on_finished(std::function<void()> cb) {
    on_finished_ = std::move(cb);
  }

  const ListenerConfig& config() const { return config_; }
  ListenerStats stats() const;
  // The current fork server's pid, or -1.
  pid_t fork_server_pid() const { return forker_.pid(); }

  static constexpr size_t kMaxQueued = ClientConn::kMaxQueued;
  static constexpr Duration kSaveDelay = SessionWriter::kSaveDelay;

 private:
  // ClientConn::Owner: the one entry for a connection's events.
  void OnConnEvent(ClientConn* c, ClientConn::Event event) override;
  // WorkerProc::Owner.
  void OnWorkerReply(WorkerProc* p, WireMessage& message) override;
  void OnWorkerGone(WorkerProc* p, const std::string& error) override;
  void OnKeepaliveEnd(WorkerProc* p) override;
  // ForkFence::Owner.
  void Admit(uint64_t serial) override;
  void TimedOut(const std::vector<uint64_t>& serials) override;
  // ForkServerKeeper::Owner.
  void OnForked(WorkerProc* p, pid_t pid, int error,
                ForkServerKeeper::Clock::time_point asked) override;
  void OnForkLost(WorkerProc* p) override;
  void OnForkingChanged(bool ready) override;
  void OnForkServerEnded() override;

  void Accept(int fd, const ::sockaddr* peer, int peer_len);
  void ForkForClient(int fd);
  void OnEof(ClientConn* c);
  void CloseIfAnswered(ClientConn* c);
  void OnIdle(ClientConn* c);
  void TakeFrames(ClientConn* c);
  void ResumeRead(ClientConn* c);
  void Dispatch(ClientConn* c);
  bool StartWorker(ClientConn* c);
  void SendNext(ClientConn* c);
  bool EndLogin(ClientConn* c, const WireMessage& message);
  void KeepOrRelease(WorkerProc* p, ClientConn* c);
  void Wait(ClientConn* c);
  void Reply(ClientConn* c, const std::string& body);
  void CloseAfterFlush(ClientConn* c);
  void Close(ClientConn* c);
  void CheckFinished();
  bool multiplex() const;

  event_base* base_;
  ListenerConfig config_;  // before the parts that hold a reference to it
  RequestHandler* handler_;
  std::string conn_prefix_;
  RedisUrl redis_;
  ListenerStats stats_;
  ListenSocket socket_;
  SessionWriter sessions_;
  ForkFence fence_;
  ExitBook* exits_;
  ForkServerKeeper forker_;  // multiplex only
  ClientGate gate_;          // refusals, the login throttle, client log lines
  bool shutting_down_ = false;
  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<ClientConn>> conns_;
  const timeval* idle_tv_ = nullptr;  // a libevent common timeout
  std::function<void()> on_finished_;
};

}  // namespace qd
