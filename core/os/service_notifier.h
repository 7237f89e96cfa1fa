// ServiceNotifier: the master's side of systemd's notify protocol
// (sd_notify(3)), for a unit of Type=notify (etc/queuedaemon.service):
//   READY=1 and MAINPID   once every worker slot reported ready;
//   RELOADING=1, READY=1  around a reload (SIGHUP, `queuectl reload`): the
//                         second when the new config is in force or was
//                         refused;
//   STOPPING=1            when a drain starts (TERM, INT, `queuectl stop`);
//   STATUS=               one line for `systemctl status`, sent with each of
//                         those and every kStatusEvery when it changed;
//   WATCHDOG=1            with WatchdogSec= in the unit, every half interval
//                         while the daemon is healthy (below).
// libsystemd sends the datagrams to $NOTIFY_SOCKET. Without that variable
// (not started by systemd, or by a unit of another Type) the object does
// nothing: no timer, no message, no log line.
//
// Only the master notifies. A service manager logs a warning for every
// message from another process of the unit (NotifyAccess=main drops them),
// and a program the daemon starts that speaks the protocol (a handler's
// command; redis-server when supervised) could report READY=1 for the whole
// daemon: so ForgetInChild() clears the variables in every process the
// master forks.
//
// The watchdog: the timer runs on the master's loop, so a ping proves the
// loop turns. It pings only while the daemon's Redis is healthy too:
// `healthy` (the master's Redis answers its PINGs) must have held within the
// last watchdog interval. Once the Redis that answered has been unreachable
// for longer than that, the pings stop and systemd restarts the daemon one
// interval later. Until `healthy` first holds (a start while Redis is down)
// the pings go on, since a restart cannot bring Redis back: an outage costs
// one restart, not one per interval until it ends. docs/operations.md
// ("Running under systemd") says what that restart is for.
//
// Single-threaded: every call and the timer run on the master's loop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "core/util/units.h"
#include "queuedaemon/status.h"

struct event;
struct event_base;

namespace qd {

class ServiceNotifier {
 public:
  using Clock = std::chrono::steady_clock;
  // How often STATUS= is refreshed when nothing happens.
  static constexpr Duration kStatusEvery{2000};

  struct Sources {
    std::function<std::string()> status;  // the line for STATUS= now
    std::function<bool()> healthy;        // the watchdog's condition
  };

  // Reads $NOTIFY_SOCKET and the watchdog interval ($WATCHDOG_USEC, when
  // $WATCHDOG_PID is unset or names this process). REQUIRES: `base`
  // outlives this object.
  ServiceNotifier(event_base* base, Sources sources);
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // Started by a service manager that listens for notifications.
  bool enabled() const { return enabled_; }
  // 0 when the unit has no WatchdogSec=.
  Duration watchdog() const { return watchdog_; }
  // The timer's period: kStatusEvery, or half the watchdog when shorter.
  Duration tick_every() const;

  // Arms the timer (nothing when !enabled()).
  void Start();
  // READY=1, MAINPID=<this process>, STATUS. Every worker is ready.
  void Ready();
  // RELOADING=1 and STATUS. Nothing before Ready(): during the start a
  // READY=1 would end it too early.
  void Reloading();
  // The reload ended (`result` not ok: refused, and why): READY=1, STATUS.
  // A refusal stays at the end of the STATUS line until the next reload.
  void Reloaded(const Status& result);
  // STOPPING=1 and STATUS: the drain began.
  void Stopping();
  // The timer's work: a WATCHDOG=1 ping if healthy within the interval,
  // STATUS= if kStatusEvery passed and it changed. Public for tests.
  void Tick(Clock::time_point now);

  // In every process the master forks: unsets NOTIFY_SOCKET, WATCHDOG_USEC
  // and WATCHDOG_PID, so that only the master notifies.
  static void ForgetInChild();
  // A daemonizing start, in the launcher right after the fork: tells the
  // service manager that `master` is the main process now (from the
  // launcher, which is the main process until then, so NotifyAccess=main
  // accepts it).
  static void PassMainPid(pid_t master);
  // The same start, in the master: the watchdog was the launcher's
  // (WATCHDOG_PID names it); it is this process's now.
  static void AdoptWatchdog(pid_t launcher);

 private:
  static void OnTimer(int fd, short what, void* arg);
  // `state` ("READY=1\n" ...) followed by STATUS=.
  void SendWithStatus(const std::string& state);
  void Send(const std::string& message);
  // The status source's line plus a refused reload, as one line.
  std::string StatusLine() const;

  event_base* base_;
  Sources sources_;
  bool enabled_ = false;
  Duration watchdog_{0};
  event* timer_ = nullptr;
  bool ready_ = false;      // READY=1 was sent for the start
  bool reloading_ = false;  // RELOADING=1 sent, its READY=1 not yet
  std::string refused_;     // why the last reload was refused
  std::string last_status_;
  Clock::time_point status_sent_;
  Clock::time_point last_healthy_;
  bool seen_healthy_ = false;  // `healthy` held once since the start
  bool pinging_ = true;        // for the log: one line when the pings stop
  bool send_failed_ = false;   // for the log: one line for the first error
};

}  // namespace qd
