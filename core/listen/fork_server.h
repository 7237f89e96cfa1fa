// ForkServer: the master's end of one fork server process (the process
// itself is ForkServerMain, core/listen/fork_server_main.h).
//
// Owns the master's half of the process's socket and the requests sent on
// it that are not answered yet, oldest first, each with the WorkerProc it
// is for (owned by the ForkFence; a pending WorkerProc is never freed, as
// it cannot be reaped before its pid is known). Answers come back in the
// order of the requests. Two things end separately: the socket (State) and
// the process (reaped(), through the master's waitpid like every child).
// A fork server that answers nothing for kAnswerTimeout while requests
// wait (hung, or stopped) is killed and closed, so that no request waits
// for it forever. The time counts from the oldest request or the last
// answer, whichever is later: a burst of requests queued behind each other
// on a slow machine (forks under a sanitizer take tens of ms) is progress,
// not a hang.
//
// Used from the master's loop only. Its callback reports to its owner and
// stops; the owner must not free a ForkServer from inside that report
// (ForkServerKeeper frees them after the loop turn).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "queuedaemon/request_handler.h"

struct event;
struct event_base;

namespace qd {

class WorkerProc;

class ForkServer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kAnswerTimeout{5};

  enum class State {
    // Takes requests. In: Start(). Out: Retire() (kRetiring); its socket
    // broke or closed (kClosed).
    kRunning,
    // No more requests: it answers those sent, then sees EOF and exits. In:
    // Retire(). Out: EOF from it (kClosed).
    kRetiring,
    // The socket is closed; requests not answered were reported lost. In:
    // EOF or an error on the socket. Out: none (freed once reaped).
    kClosed,
  };

  class Owner {
   public:
    virtual ~Owner() = default;
    // The answer to the request for `proc`, sent at `asked`: `pid` > 0, or
    // -1 with `error` (an errno).
    virtual void OnForked(ForkServer* server, WorkerProc* proc, pid_t pid,
                          int error, Clock::time_point asked) = 0;
    // The socket closed (kClosed); `unanswered` lost their requests.
    virtual void OnClosed(ForkServer* server,
                          const std::vector<WorkerProc*>& unanswered) = 0;
  };

  // Forks the fork server for the listener `config` with `handler` (which
  // it takes a copy of, with the rest of the master's memory); nullptr
  // after logging why.
  static std::unique_ptr<ForkServer> Start(event_base* base,
                                           const ListenerConfig& config,
                                           RequestHandler& handler,
                                           Owner* owner);
  // Closes the socket (the process exits on its EOF) without reporting.
  ~ForkServer();
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  pid_t pid() const { return pid_; }
  State state() const { return state_; }
  // Retire() was called: its end is expected.
  bool retired() const { return retired_; }
  bool reaped() const { return reaped_; }
  void set_reaped() { reaped_ = true; }
  // Closed and reaped: nothing of it is left but this object.
  bool done() const { return state_ == State::kClosed && reaped_; }

  // Asks for a worker for connection `conn_id` that serves `worker_fd`
  // (closed here in any case); the answer goes to OnForked for `proc`.
  // False when it could not be asked (not kRunning, or its socket is full:
  // it is that far behind).
  [[nodiscard]] bool Fork(const std::string& conn_id, int worker_fd,
                          WorkerProc* proc);
  // kRunning -> kRetiring.
  void Retire();
  // Signals the process unless reaped.
  void Signal(int signal_number);

 private:
  struct Pending {
    WorkerProc* proc;
    Clock::time_point asked;
  };

  ForkServer(event_base* base, pid_t pid, int fd, std::string name,
             Owner* owner);
  static void OnReadable(int fd, short what, void* arg);
  static void OnAnswerTimer(int fd, short what, void* arg);
  void ArmAnswerTimer();
  // When the wait for the next answer began.
  Clock::time_point WaitingSince() const;
  void ReadAnswers();
  void Close();

  const pid_t pid_;
  int fd_;
  const std::string name_;  // the listener's, for the log
  Owner* owner_;
  event* read_ = nullptr;
  event* answer_timer_ = nullptr;  // pending while pending_ is not empty
  State state_ = State::kRunning;
  bool reaped_ = false;
  bool retired_ = false;
  std::deque<Pending> pending_;
  Clock::time_point last_answer_{};
};

}  // namespace qd
