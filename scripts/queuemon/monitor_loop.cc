#include "scripts/queuemon/monitor_loop.h"

#include <event2/event.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "scripts/queuemon/json_view.h"
#include "scripts/queuemon/table_view.h"

namespace qd::mon {
namespace {

// Clear the screen, cursor home: the table redraws in place.
constexpr const char* kClearScreen = "\x1b[H\x1b[2J";

}  // namespace

MonitorLoop::MonitorLoop(Options options)
    : options_(std::move(options)),
      base_(event_base_new()),
      aggregator_(options_.prefix) {
  if (base_ == nullptr) throw std::runtime_error("event_base_new failed");
}

MonitorLoop::~MonitorLoop() {
  for (event* e : {tick_, timeout_, sigint_, sigterm_}) {
    if (e != nullptr) event_free(e);
  }
  listener_.reset();  // its event belongs to base_
  event_base_free(base_);
}

Status MonitorLoop::Open() {
  Status s = UdpListener::Open(
      base_, options_.listen,
      [this](std::string_view datagram) {
        ++received_;
        aggregator_.AddDatagram(datagram);
      },
      &listener_);
  if (!s.ok()) return s;
  std::fprintf(stderr, "queuemon: listening on %s\n",
               listener_->address().c_str());
  return Status::Ok();
}

int MonitorLoop::Run() {
  terminal_ = !options_.json && !options_.once && isatty(STDOUT_FILENO) == 1;
  tick_ = event_new(base_, -1, EV_PERSIST, &MonitorLoop::OnTick, this);
  timeval every = ToTimeval(options_.interval);
  event_add(tick_, &every);
  if (options_.timeout.count() > 0) {
    timeout_ = event_new(base_, -1, 0, &MonitorLoop::OnTimeout, this);
    timeval after = ToTimeval(options_.timeout);
    event_add(timeout_, &after);
  }
  sigint_ = evsignal_new(base_, SIGINT, &MonitorLoop::OnSignal, this);
  sigterm_ = evsignal_new(base_, SIGTERM, &MonitorLoop::OnSignal, this);
  event_add(sigint_, nullptr);
  event_add(sigterm_, nullptr);
  interval_start_ = Clock::now();
  if (event_base_dispatch(base_) < 0) {
    std::fprintf(stderr, "queuemon: the event loop failed\n");
    return kExitNothing;
  }
  return exit_code_;
}

void MonitorLoop::OnTick(int, short, void* arg) {
  static_cast<MonitorLoop*>(arg)->Tick();
}

void MonitorLoop::OnTimeout(int, short, void* arg) {
  auto* loop = static_cast<MonitorLoop*>(arg);
  if (loop->received_ > 0) return;  // --once prints on the next tick
  std::fprintf(stderr, "queuemon: nothing received on %s within %s\n",
               loop->listener_->address().c_str(),
               FormatDuration(loop->options_.timeout).c_str());
  loop->Stop(kExitNothing);
}

void MonitorLoop::OnSignal(int, short, void* arg) {
  static_cast<MonitorLoop*>(arg)->Stop(kExitOk);
}

void MonitorLoop::Tick() {
  Clock::time_point now = Clock::now();
  auto elapsed =
      std::chrono::duration_cast<Duration>(now - interval_start_).count();
  interval_start_ = now;
  Report report = aggregator_.TakeReport(EpochMs(), elapsed);
  if (options_.once && report.datagrams == 0) return;
  Print(report);
  if (options_.once) Stop(kExitOk);
}

void MonitorLoop::Print(const Report& report) {
  std::string out;
  if (options_.json) {
    out = RenderJson(report).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace);
    out += '\n';
  } else {
    if (terminal_) out = kClearScreen;
    out += RenderTable(report, listener_->address());
    if (!terminal_) out += '\n';  // a blank line between tables
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void MonitorLoop::Stop(int exit_code) {
  exit_code_ = exit_code;
  event_base_loopbreak(base_);
}

}  // namespace qd::mon
