// MonitorLoop: queuemon's one event loop: the UDP listener, the interval
// timer that turns the Aggregator's interval into a Report and prints it,
// the --timeout timer, and SIGINT/SIGTERM (libevent signal events whose
// callbacks end the loop).
//
// Output goes to stdout: with --json one object per interval per line;
// otherwise the tables, on a terminal redrawn in place (ANSI clear and
// home) and else one after the other. With --once only the first interval
// that received a datagram is printed, and the program ends. Owns the
// event_base and everything on it. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/util/units.h"
#include "queuedaemon/status.h"
#include "scripts/queuemon/aggregator.h"
#include "scripts/queuemon/udp_listener.h"

struct event;
struct event_base;

namespace qd::mon {

// Exit codes, the contract scripts rely on.
constexpr int kExitOk = 0;       // stopped by a signal, or --once printed
constexpr int kExitNothing = 1;  // --timeout passed with nothing received
constexpr int kExitUsage = 2;    // bad option, bad or busy --listen

class MonitorLoop {
 public:
  struct Options {
    std::string listen = "127.0.0.1:8125";
    Duration interval{1000};
    bool json = false;
    bool once = false;
    Duration timeout{0};  // 0: none
    std::string prefix = "qd";
  };

  explicit MonitorLoop(Options options);
  ~MonitorLoop();
  MonitorLoop(const MonitorLoop&) = delete;
  MonitorLoop& operator=(const MonitorLoop&) = delete;

  // Binds the listener and says so on stderr ("queuemon: listening on
  // ADDRESS"). An error is a usage error.
  Status Open();
  // REQUIRES: Open() succeeded. Returns the exit code.
  int Run();

 private:
  using Clock = std::chrono::steady_clock;
  static void OnTick(int fd, short what, void* arg);
  static void OnTimeout(int fd, short what, void* arg);
  static void OnSignal(int fd, short what, void* arg);
  void Tick();
  void Print(const Report& report);
  void Stop(int exit_code);

  Options options_;
  event_base* base_;
  std::unique_ptr<UdpListener> listener_;
  Aggregator aggregator_;
  event* tick_ = nullptr;
  event* timeout_ = nullptr;
  event* sigint_ = nullptr;
  event* sigterm_ = nullptr;
  bool terminal_ = false;
  Clock::time_point interval_start_;
  uint64_t received_ = 0;  // datagrams since start
  int exit_code_ = kExitOk;
};

}  // namespace qd::mon
