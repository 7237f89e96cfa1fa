// ClientConn: one client connection of a multiplex listener, held by the
// master (docs/architecture.md, "Multiplex listeners").
//
// Owns the client's socket (a SocketStream) and its idle timer, cuts its input
// into requests (FrameReader) and keeps them queued until they go to a worker
// (at most kMaxQueued of them and about kMaxQueuedBytes), bounds its unsent
// replies (max_output, output_timeout), and holds what the connection is:
// its id, its login (site, account, keepalive), its session state and its
// State. It decides nothing about
// workers or the fence: it reports its events through one callback, and its
// Listener moves it between states. The worker bound to it (if any) is a
// WorkerProc owned by the listener's ForkFence.
//
// Used from the master's loop only. Its callbacks touch nothing of it after
// reporting an event, because the owner may free it then (on any event);
// a SocketStream may be freed from its own callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/listen/frame_reader.h"
#include "core/listen/socket_stream.h"
#include "core/util/units.h"
#include "queuedaemon/request_handler.h"

struct event;
struct event_base;
struct timeval;

namespace qd {

class WorkerProc;

class ClientConn {
 public:
  // Where a connection is in its life. One value at a time; the Listener
  // moves it, and the comment on each value says what does.
  enum class State {
    // `login: required` and no request has gone to a worker yet: the next
    // one runs Login(). In: accepted on such a listener; a fence_timeout
    // that dropped the login frame (kLoginWaiting). Out: its first frame
    // goes to a worker (kLoggingIn); no worker can be had (kLoginWaiting);
    // an oversize frame, or Shutdown() with nothing queued (kClosing); the
    // client leaves or idles out (freed).
    kLogin,
    // Not read yet: accepted from an address that failed a login lately,
    // it waits for its turn (LoginThrottle) before it reads its login. In:
    // accepted so. Out: its turn (kLogin, reading); login_timeout or the
    // client leaves (freed).
    kLoginDelayed,
    // kLogin, waiting at the fence (in ForkFence's queue, reading paused).
    // In: kLogin needed a worker and the fence was full (or a fork
    // failed). Out: the fence admits it (kLogin, then at once kLoggingIn
    // if it gets its worker); fence_timeout (busy reply for the login
    // frame, kLogin, and back here at once if more are queued); the client
    // leaves (freed).
    kLoginWaiting,
    // Its login request runs in its worker. In: from kLogin. Out: the
    // reply: accepted (kReady), refused (kClosing); the worker died (error
    // reply, kClosing); an oversize frame came behind it (kClosing); the
    // client leaves (freed; the worker's reply is dropped).
    kLoggingIn,
    // Logged in or no login needed; no request in a worker, none at the
    // fence. Queued requests are dispatched at once. In: accepted on a
    // listener without login; a reply; the fence admits it or timed it out.
    // Out: a request goes to its worker (kRunning) or waits (kWaiting);
    // closing (kClosing); the client leaves or idles out (freed).
    kReady,
    // At the fence: it needs a worker and none can be forked yet (in
    // ForkFence's queue, reading paused). In: from kReady. Out: the fence
    // admits it (kReady, then kRunning if it gets its worker); fence_timeout
    // (busy reply for its oldest request, kReady with reading resumed, and
    // back here at once if more are queued); the client leaves (freed).
    kWaiting,
    // A request runs in its worker. In: from kReady. Out: the reply or the
    // worker's death (kReady); an oversize frame came behind it
    // (kClosing); the client leaves (freed; the worker's reply is dropped).
    kRunning,
    // No more requests start; reading stopped; freed once its output is
    // flushed (or the client leaves). A request already in its worker
    // (see running()) still gets its reply written. In: an oversize frame,
    // a refused or failed login, or Shutdown() with nothing left to answer.
    // Out: freed.
    kClosing,
  };

  // What the connection reports to its owner.
  enum class Event {
    kInput,          // bytes arrived (reading is enabled)
    kFlushed,        // in kClosing: the output is all written
    kDrained,        // not closing: the output fell to half of max_output
                     // after Reply() had taken it over max_output
    kEof,            // the client closed its end (input_ended() from now on)
    kError,          // the socket failed (socket_error() says why)
    kIdle,           // idle_timeout passed since ArmIdle()
    kOutputTimeout,  // replies waited output_timeout without any written
    kLoginTimeout,   // ArmLoginTimeout()'s time passed before LoggedIn()
    kTurn,           // in kLoginDelayed: Hold()'s time passed
  };
  // Who hears a connection's events (its Listener).
  class Owner {
   public:
    virtual ~Owner() = default;
    // May free `conn`.
    virtual void OnConnEvent(ClientConn* conn, Event event) = 0;
  };

  // At most this many requests wait in a connection's queue, and no more
  // are taken once they hold kMaxQueuedBytes (so at most that plus one
  // max_frame); then reading from it pauses.
  static constexpr size_t kMaxQueued = 32;
  static constexpr size_t kMaxQueuedBytes = 1 << 20;

  // A connection on accepted `fd` (taken over; std::bad_alloc closes it),
  // reading, in kLogin or kReady as `config.login` says. `config`
  // (the listener's) outlives the connection; a reload's new limits apply
  // to it from then on.
  // `peer` names the client's address (LoginThrottle::PeerKey).
  static std::unique_ptr<ClientConn> Accept(event_base* base, int fd,
                                            uint64_t serial, std::string id,
                                            std::string peer,
                                            const ListenerConfig& config,
                                            Owner* owner);
  ~ClientConn();
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  uint64_t serial() const { return serial_; }
  const std::string& id() const { return id_; }
  const std::string& peer() const { return peer_; }
  State state() const { return state_; }
  void set_state(State state) { state_ = state; }
  // At the fence: kWaiting or kLoginWaiting.
  bool waiting() const;
  // Leaves the fence: back to kLogin or kReady. REQUIRES: waiting().
  void StopWaiting();
  // A request of it is in its worker: kLoggingIn, kRunning, or kClosing
  // with a busy worker.
  bool running() const;

  // Cuts the buffered input into queued requests until the queue is full
  // (reading then pauses) or no whole frame is left. Returns how
  // many were queued; *too_long when a frame exceeded max_frame (the
  // caller answers and closes). Nothing is taken in kClosing.
  size_t TakeFrames(bool* too_long);
  const std::deque<std::string>& queued() const { return queued_; }
  std::string PopQueued();
  void DropQueued();
  // kMaxQueued requests, or kMaxQueuedBytes of them.
  bool queue_full() const;

  void PauseRead();
  // Enables reading again unless it is enabled, the connection is closing
  // or at the fence, its queue is full, its output over max_output or its
  // input ended; true when it did (the caller then takes what arrived
  // meanwhile).
  bool ResumeRead();
  // Restarts the idle timer; `tv` null (no idle_timeout) leaves it off.
  void ArmIdle(const timeval* tv);
  // kLoginTimeout comes after `timeout` unless LoggedIn() is called first.
  void ArmLoginTimeout(Duration timeout);
  void LoggedIn();
  // Enters kLoginDelayed, not reading; kTurn comes after `wait`.
  // REQUIRES: kLogin, nothing read yet.
  void Hold(Duration wait);

  // Appends `body` and `terminator` to the output. True when that took the
  // output over max_output: reading pauses, and kDrained comes once the
  // client has read it down to half.
  bool Reply(const std::string& body, const std::string& terminator);
  // Bytes of replies not yet written to the socket.
  size_t output_size() const;
  // Over max_output: no request of it is read or started.
  bool output_full() const;
  // Enters kClosing and stops reading. True when the output is already
  // empty (the caller frees it now); otherwise kFlushed comes when it is.
  bool CloseAfterFlush();

  WorkerProc* worker() const { return worker_; }  // bound, busy or idle
  void set_worker(WorkerProc* worker) { worker_ = worker; }

  const std::string& site() const { return site_; }
  const std::string& account() const { return account_; }
  Duration keepalive() const { return keepalive_; }
  // A login's outcome, or the listener's site at accept.
  void SetLogin(std::string site, std::string account, Duration keepalive);
  // Its id, site and account as a request header carries them
  // (WireHeader::Identity), kept from SetLogin() on.
  const std::string& wire_identity() const { return wire_identity_; }
  // The client sent EOF: nothing more comes, but what it sent is still
  // buffered (TakeFrames() takes it) and its replies can still be written.
  // Apart from State, which is about requests: any state may have it.
  bool input_ended() const { return input_ended_; }
  // errno of the failure kError reported.
  int socket_error() const { return stream_->error(); }
  const SessionState& session() const { return session_; }
  SessionState* mutable_session() { return &session_; }

 private:
  ClientConn(uint64_t serial, std::string id, std::string peer,
             const ListenerConfig& config, Owner* owner);
  void SetCallbacks(bool watch_output);

  static void OnRead(SocketStream* stream, void* arg);
  static void OnWrite(SocketStream* stream, void* arg);
  static void OnStreamEvent(SocketStream* stream, short what, void* arg);
  static void OnIdle(int fd, short what, void* arg);
  static void OnLoginTimer(int fd, short what, void* arg);
  static void OnTurn(int fd, short what, void* arg);

  const uint64_t serial_;
  const std::string id_;
  const std::string peer_;
  const ListenerConfig& config_;
  Owner* owner_;
  FrameReader framer_;
  std::unique_ptr<SocketStream> stream_;
  event* idle_timer_ = nullptr;
  event* login_timer_ = nullptr;  // login_timeout
  event* turn_timer_ = nullptr;   // kLoginDelayed's wait
  State state_ = State::kReady;
  std::deque<std::string> queued_;  // requests not yet sent to a worker
  size_t queued_bytes_ = 0;         // their sizes added up
  WorkerProc* worker_ = nullptr;
  bool input_ended_ = false;
  std::string site_;
  std::string account_;
  Duration keepalive_{0};
  std::string wire_identity_;
  SessionState session_;  // handed to each worker with the request
};

}  // namespace qd
