// ForkServerKeeper: keeps a multiplex listener's fork server running
// (docs/architecture.md, "Multiplex listeners").
//
// Owns the listener's ForkServers: the current one, which takes requests,
// and older ones (retired by a reload, or gone) until their socket is closed
// and their process reaped. A new config or handler (Start() again) starts
// a new fork server and retires the old one, which answers the requests
// sent to it and exits; the workers it forked go on, as they are the
// master's children. A fork server that dies is restarted after a back-off
// (kMinBackoff, doubling up to kMaxBackoff while restarts keep dying before
// a fork succeeded); meanwhile ready() is false and connections wait at the
// fence. Stop() retires the current one for good (the listener finished).
//
// Used from the master's loop only. Done ForkServers are freed after the
// loop turn, as their own callback may be running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/listen/fork_server.h"
#include "core/util/units.h"
#include "queuedaemon/request_handler.h"

struct event;
struct event_base;

namespace qd {

class ForkServerKeeper : private ForkServer::Owner {
 public:
  using Clock = ForkServer::Clock;
  static constexpr Duration kMinBackoff{100};
  static constexpr Duration kMaxBackoff{5000};

  class Owner {
   public:
    virtual ~Owner() = default;
    // A worker was forked for `proc` (`pid` > 0), or not (-1, `error` an
    // errno). `asked`: when the request was sent.
    virtual void OnForked(WorkerProc* proc, pid_t pid, int error,
                          Clock::time_point asked) = 0;
    // The fork server that had the request of `proc` ended without
    // answering it: whether a worker was forked is unknown.
    virtual void OnForkLost(WorkerProc* proc) = 0;
    // ready() changed.
    virtual void OnForkingChanged(bool ready) = 0;
    // A fork server's socket is closed and its process reaped (finished()
    // may have become true).
    virtual void OnForkServerEnded() = 0;
  };

  ForkServerKeeper(event_base* base, Owner* owner);
  // Closes every socket (each process exits on its EOF).
  ~ForkServerKeeper() override;
  ForkServerKeeper(const ForkServerKeeper&) = delete;
  ForkServerKeeper& operator=(const ForkServerKeeper&) = delete;

  // Starts a fork server for `config` and `handler` (the listener's, which
  // outlive the keeper or the next Start()); the current one retires.
  void Start(const ListenerConfig& config, RequestHandler& handler);
  // A fork server takes requests.
  bool ready() const { return current_ != nullptr; }
  // ForkServer::Fork on the current one; false when not ready().
  [[nodiscard]] bool Fork(const std::string& conn_id, int worker_fd,
                          WorkerProc* proc);
  // A reaped child: false when `pid` is not one of our fork servers.
  bool OnExit(pid_t pid, int wait_status);
  // No more fork servers: the current one retires, none is restarted.
  void Stop();
  // Signals every fork server not reaped yet.
  void SignalAll(int signal_number);
  // After Stop(): every fork server is closed and reaped.
  bool finished() const { return stopped_ && servers_.empty(); }
  // The current fork server's pid, or -1.
  pid_t pid() const { return current_ ? current_->pid() : -1; }

 private:
  // ForkServer::Owner.
  void OnForked(ForkServer* server, WorkerProc* proc, pid_t pid, int error,
                Clock::time_point asked) override;
  void OnClosed(ForkServer* server,
                const std::vector<WorkerProc*>& unanswered) override;

  // Starts a fork server as current_; false (a restart scheduled) when it
  // could not.
  bool Launch();
  void Retire(ForkServer* server);
  void ScheduleRestart();
  static void OnRestart(int fd, short what, void* arg);
  // Moves the done server out of servers_; freed after the loop turn.
  void Done(ForkServer* server);
  static void OnFreeDone(int fd, short what, void* arg);

  event_base* base_;
  Owner* owner_;
  const ListenerConfig* config_ = nullptr;  // for restarts
  RequestHandler* handler_ = nullptr;
  std::vector<std::unique_ptr<ForkServer>> servers_;  // not done yet
  std::vector<std::unique_ptr<ForkServer>> done_;     // freed after the turn
  ForkServer* current_ = nullptr;  // kRunning, in servers_; null if none
  bool stopped_ = false;
  Duration backoff_ = kMinBackoff;  // the next restart's delay
  event* restart_ = nullptr;
  event* free_done_ = nullptr;
};

}  // namespace qd
