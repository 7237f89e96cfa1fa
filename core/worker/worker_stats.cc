#include "core/worker/worker_stats.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <chrono>

#include "core/config/config.h"
#include "core/os/memory_usage.h"
#include "core/os/process.h"
#include "core/util/units.h"
#include "core/worker/slot_board.h"

namespace qd {
namespace {

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The time part of a stream entry id ("1700000000000-3"), 0 if none.
int64_t IdTimeMs(std::string_view id) {
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), ms);
  return ec == std::errc() && end != id.data() ? ms : 0;
}

}  // namespace

WorkerStats::WorkerStats(const Config& config, int slot, SlotBoard* board)
    : IoManager("stats"), config_(config), board_(board) {
  StatsdSink::Tags base = {{"host", Process::HostName()},
                           {"id", config.daemon.id},
                           {"slot", std::to_string(slot)}};
  Status s = StatsdSink::Open(config.monitor, std::move(base), &sink_);
  if (!s.ok()) {
    spdlog::error("statsd off: {}", s.message());
    MonitorConfig off;
    off.udp.clear();
    (void)StatsdSink::Open(off, {}, &sink_);
  }
}

WorkerStats::~WorkerStats() = default;

void WorkerStats::Start() {
  if (sink_->enabled()) WakeAfter(config_.monitor.interval);
}

void WorkerStats::JobStarted(const StatsdSink::Tags& tags,
                             std::string_view site, std::string_view queue,
                             std::string_view id, int64_t enqueued_ms) {
  int64_t now_ms = EpochMs();
  if (board_ != nullptr) board_->JobStarted(site, queue, id, now_ms);
  if (!sink_->enabled()) return;
  if (enqueued_ms <= 0) enqueued_ms = IdTimeMs(id);
  if (enqueued_ms > 0 && now_ms >= enqueued_ms) {
    sink_->Timing("job.queue_latency", tags,
                  static_cast<double>(now_ms - enqueued_ms));
  }
  job_started_us_ = MonotonicUs();
}

void WorkerStats::JobFinished(const StatsdSink::Tags& tags, Outcome outcome) {
  if (board_ != nullptr) board_->JobFinished(outcome != Outcome::kOk);
  if (!sink_->enabled()) return;
  sink_->Timing("job.duration", tags,
                static_cast<double>(MonotonicUs() - job_started_us_) / 1000.0);
  switch (outcome) {
    case Outcome::kOk:
      sink_->Count("jobs.handled", tags);
      break;
    case Outcome::kRetry:
      sink_->Count("jobs.failed", tags);
      sink_->Count("jobs.retried", tags);
      break;
    case Outcome::kDead:
      sink_->Count("jobs.failed", tags);
      sink_->Count("jobs.dead", tags);
      break;
  }
}

void WorkerStats::Count(std::string_view name, const StatsdSink::Tags& tags,
                        int64_t n) {
  sink_->Count(name, tags, n);
}

void WorkerStats::Event(const std::string& state) {
  if (!sink_->enabled()) return;
  sink_->Event(state, {});
  reported_state_ = state;
  Flush();
}

void WorkerStats::OnTimer() {
  Flush();
  WakeAfter(config_.monitor.interval);
}

void WorkerStats::Flush() {
  // busy/idle only once the worker is past start-up and not stopping.
  if (reported_state_ == "listening" || reported_state_ == "busy" ||
      reported_state_ == "idle") {
    std::string state = busy_ ? "busy" : "idle";
    if (state != reported_state_) {
      sink_->Event(state, {});
      reported_state_ = state;
    }
  }
  MemoryUsage m;
  if (MemoryUsage::Read(getpid(), &m)) {
    sink_->Gauge("worker.rss", {}, static_cast<double>(m.rss));
  }
  if (inflight_) {
    sink_->Gauge("worker.inflight", {}, static_cast<double>(inflight_()));
  }
  sink_->Flush();
}

}  // namespace qd
