// AcceptPause: what a listening socket does when accept() fails for want of
// descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), the way
// nginx and pgbouncer do it: stop accepting for a short pause, then try
// again, and log once per episode rather than once per failed accept.
//
// Why: a listening socket stays readable while connections wait in its
// backlog, so a loop that only logs the error and returns is woken again at
// once and spins at full CPU, writing a log line each turn. Paused, the
// waiting connections stay in the backlog and are accepted when descriptors
// free up (a client that gives up first sees a connect or read timeout).
//
// The owner says how to switch its accept events off and on (a Toggle), so
// that any listener can use it: an evconnlistener (evconnlistener_disable /
// _enable) or a raw accept event. An episode starts with the first shortage
// (one warning, with the error and the pause) and ends at the next accept
// that succeeds (one line with its length and the count of failed
// accepts). AcceptPause owns its timer. Single-threaded: every call, the
// Toggle and the destructor run on the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

struct event;
struct event_base;

namespace qd {

class AcceptPause {
 public:
  // Called with false to stop accepting, with true to start again.
  using Toggle = std::function<void(bool accept)>;

  // `name` heads the log lines ("monitor.http"). REQUIRES: `base` outlives
  // this object; pause > 0.
  AcceptPause(event_base* base, std::string name,
              std::chrono::milliseconds pause, Toggle toggle);
  // Cancels a pending resume; the Toggle is not called.
  ~AcceptPause();
  AcceptPause(const AcceptPause&) = delete;
  AcceptPause& operator=(const AcceptPause&) = delete;

  // Whether accept()'s `error` (an errno) means the process or the system
  // is short of descriptors or memory: a condition that a retry at once
  // cannot fix.
  static bool IsShortage(int error);

  // Call after a failed accept with its errno. For a shortage, stops
  // accepting through the Toggle, resumes after the pause and returns true:
  // the caller has nothing more to do. For any other error returns false
  // and changes nothing: the caller logs it.
  [[nodiscard]] bool OnAcceptError(int error);
  // Call after each accept that succeeded: ends an episode. Cheap when
  // there is none.
  void OnAccepted();

  // True between a shortage and the end of its pause.
  bool paused() const { return paused_; }
  // Failed accepts in the current episode (0: none running).
  uint64_t failures() const { return failures_; }
  // Episodes started since construction.
  uint64_t episodes() const { return episodes_; }

 private:
  static void OnResume(int fd, short what, void* arg);

  std::string name_;
  std::chrono::milliseconds pause_;
  Toggle toggle_;
  event* timer_;
  bool paused_ = false;
  uint64_t failures_ = 0;
  uint64_t episodes_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace qd
