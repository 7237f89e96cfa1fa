#include "core/os/service_notifier.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/util/text_quote.h"

namespace qd {
namespace {

// A STATUS= line longer than this is cut (systemctl shows one line).
constexpr size_t kMaxStatusBytes = 400;

}  // namespace

ServiceNotifier::ServiceNotifier(event_base* base, Sources sources)
    : base_(base),
      sources_(std::move(sources)),
      enabled_(std::getenv("NOTIFY_SOCKET") != nullptr) {
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) {
    watchdog_ =
        std::chrono::duration_cast<Duration>(std::chrono::microseconds(usec));
  }
}

ServiceNotifier::~ServiceNotifier() {
  if (timer_ != nullptr) event_free(timer_);
}

Duration ServiceNotifier::tick_every() const {
  if (watchdog_.count() <= 0) return kStatusEvery;
  return std::max(Duration(1), std::min(kStatusEvery, watchdog_ / 2));
}

void ServiceNotifier::Start() {
  if (!enabled_ || timer_ != nullptr) return;
  status_sent_ = Clock::now();
  timer_ = event_new(base_, -1, EV_PERSIST, &ServiceNotifier::OnTimer, this);
  timeval every = ToTimeval(tick_every());
  evtimer_add(timer_, &every);
  if (watchdog_.count() > 0) {
    spdlog::info("systemd: notifying; watchdog {}, pinging every {}",
                 FormatDuration(watchdog_), FormatDuration(tick_every()));
  } else {
    spdlog::info("systemd: notifying; no watchdog");
  }
}

void ServiceNotifier::OnTimer(int, short, void* arg) {
  static_cast<ServiceNotifier*>(arg)->Tick(Clock::now());
}

void ServiceNotifier::Ready() {
  if (!enabled_ || ready_) return;
  ready_ = true;
  SendWithStatus("READY=1\nMAINPID=" + std::to_string(getpid()) + "\n");
}

void ServiceNotifier::Reloading() {
  if (!enabled_ || !ready_ || reloading_) return;
  reloading_ = true;
  // MONOTONIC_USEC: what Type=notify-reload (systemd 253) asks for with
  // RELOADING=1; older managers ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 +
                  static_cast<uint64_t>(ts.tv_nsec) / 1000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) +
       "\nSTATUS=reloading the config");
}

void ServiceNotifier::Reloaded(const Status& result) {
  if (!enabled_ || !reloading_) return;
  reloading_ = false;
  refused_ = result.ok() ? "" : result.message();
  SendWithStatus("READY=1\n");
}

void ServiceNotifier::Stopping() {
  if (!enabled_) return;
  SendWithStatus("STOPPING=1\n");
}

void ServiceNotifier::Tick(Clock::time_point now) {
  if (!enabled_) return;
  if (watchdog_.count() > 0) {
    if (sources_.healthy && sources_.healthy()) {
      last_healthy_ = now;
      seen_healthy_ = true;
    }
    auto unhealthy = std::chrono::duration_cast<Duration>(now - last_healthy_);
    bool ping = !seen_healthy_ || unhealthy <= watchdog_;
    if (ping) Send("WATCHDOG=1");
    if (ping != pinging_) {
      pinging_ = ping;
      if (ping) {
        spdlog::info("systemd watchdog: Redis answers again; pinging");
      } else {
        spdlog::warn(
            "systemd watchdog: the daemon's Redis has not answered for {}, "
            "longer than WatchdogSec: no more pings, systemd will restart "
            "the daemon",
            FormatDuration(unhealthy));
      }
    }
  }
  if (now - status_sent_ < kStatusEvery) return;
  std::string line = StatusLine();
  status_sent_ = now;
  if (line == last_status_) return;
  Send("STATUS=" + line);
  last_status_ = line;
}

void ServiceNotifier::SendWithStatus(const std::string& state) {
  std::string line = StatusLine();
  Send(state + "STATUS=" + line);
  last_status_ = line;
}

std::string ServiceNotifier::StatusLine() const {
  std::string line = sources_.status ? sources_.status() : "";
  if (!refused_.empty()) line += "; last reload refused: " + refused_;
  return Quote(line, kMaxStatusBytes);
}

void ServiceNotifier::Send(const std::string& message) {
  int r = sd_notify(0, message.c_str());
  if (r < 0 && !send_failed_) {
    send_failed_ = true;  // once: the socket is the service manager's
    spdlog::warn("systemd: cannot notify: {}", std::strerror(-r));
  }
}

void ServiceNotifier::ForgetInChild() {
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

void ServiceNotifier::PassMainPid(pid_t master) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
  (void)sd_notify(0, ("MAINPID=" + std::to_string(master)).c_str());
}

void ServiceNotifier::AdoptWatchdog(pid_t launcher) {
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid == nullptr || std::to_string(launcher) != pid) return;
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
}

}  // namespace qd
