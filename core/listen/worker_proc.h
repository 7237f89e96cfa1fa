// WorkerProc: the master's end of one request worker of a listener.
//
// Owns the worker's channel (the master's half of its socketpair, a
// SocketStream speaking RequestWire) and its keepalive timer, and knows the
// connection it is bound to. Two things end separately: the channel (closed
// by the master, or broken by the worker's death) and the process (reaped).
// The process's end is reaped(); the channel and the work are State. The
// ForkFence owns every WorkerProc of its listener and frees one once both
// have ended, after the loop turn in which the second ended.
//
// Used from the master's loop only. Its channel callback goes on with it
// after reporting a reply to the owner (the next message may be buffered
// already), which is safe only because the owner never frees a WorkerProc
// synchronously; a released one just has no channel left.
#pragma once

#include <sys/types.h>

#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "core/listen/request_wire.h"
#include "core/listen/socket_stream.h"

struct event;
struct event_base;

namespace qd {

class ClientConn;

class WorkerProc {
 public:
  enum class State {
    // personality fork: the worker owns its client socket and has no
    // channel. In: forked for an accepted connection. Out: none (freed
    // once reaped).
    kServing,
    // Bound to its connection between requests, channel open. In: forked
    // for a connection; every reply (Replied()); taken out of the idle list
    // for the next request. Out: the next request (kBusy); kept alive with
    // nothing queued (kIdle); released (kReleased).
    kBound,
    // Running a request of its connection (or of one that left meanwhile:
    // conn() null). In: Send(). Out: the reply (kBound, and from there at
    // once kIdle or kReleased as the listener decides); the channel broke
    // (kReleased).
    kBusy,
    // Kept alive for its connection's next request: in the ForkFence's idle
    // list, keepalive timer running. In: from kBound, a reply with nothing
    // queued. Out: the next request (kBound, then at once kBusy); keepalive
    // over, or reclaimed by the fence for a waiting connection (kReleased).
    kIdle,
    // Channel closed (its EOF tells the worker to exit) or broken; unbound.
    // In: CloseChannel(). Out: freed once reaped (after that loop turn).
    kReleased,
  };

  // Who hears a worker's channel and timer (its Listener).
  class Owner {
   public:
    virtual ~Owner() = default;
    // One message from the worker. May release `proc` but never free it:
    // the caller reads on while its channel is open.
    virtual void OnWorkerReply(WorkerProc* proc, WireMessage& message) = 0;
    // The channel broke (EOF or error: `error` empty) or the worker broke
    // the protocol (`error` says how). May release `proc`.
    virtual void OnWorkerGone(WorkerProc* proc, const std::string& error) = 0;
    // The keepalive timer of an idle worker ran out. May release `proc`.
    virtual void OnKeepaliveEnd(WorkerProc* proc) = 0;
  };

  // A fork-personality worker (kServing).
  explicit WorkerProc(pid_t pid);
  // A multiplex worker bound to `conn` (kBound), talking over `channel_fd`
  // (taken over). `pid` is -1 while its fork server has not said it yet
  // (set_pid).
  WorkerProc(event_base* base, pid_t pid, int channel_fd, ClientConn* conn,
             Owner* owner);
  ~WorkerProc();
  WorkerProc(const WorkerProc&) = delete;
  WorkerProc& operator=(const WorkerProc&) = delete;

  // -1 until known: never signal it then.
  pid_t pid() const { return pid_; }
  void set_pid(pid_t pid) { pid_ = pid; }
  State state() const { return state_; }
  bool busy() const { return state_ == State::kBusy; }
  // The channel is closed (or was never there): the worker is on its way
  // out, and is freed once reaped.
  bool released() const { return chan_ == nullptr; }
  bool reaped() const { return reaped_; }
  void set_reaped() { reaped_ = true; }

  ClientConn* conn() const { return conn_; }
  void set_conn(ClientConn* conn) { conn_ = conn; }

  // Sends one request (its header's JSON text, WireHeader::Request) over
  // the channel. REQUIRES: kBound or kIdle (the fence took it out of its
  // idle list).
  void Send(std::string_view header, std::string_view body);
  // Its reply came: kBound. REQUIRES: kBusy.
  void Replied() { state_ = State::kBound; }
  // Closes the channel (kReleased) and stops the keepalive timer.
  void CloseChannel();

 private:
  friend class ForkFence;  // kIdle: the idle list and the keepalive timer

  static void OnRead(SocketStream* stream, void* arg);
  static void OnEvent(SocketStream* stream, short what, void* arg);
  static void OnKeepalive(int fd, short what, void* arg);

  pid_t pid_;
  Owner* owner_ = nullptr;
  State state_;
  bool reaped_ = false;
  std::unique_ptr<SocketStream> chan_;  // null once closed
  event* keepalive_timer_ = nullptr;
  ClientConn* conn_ = nullptr;
  std::list<WorkerProc*>::iterator idle_pos_;  // in kIdle
};

}  // namespace qd
