// StatsdSink: statsd metrics from one process, aggregated per interval and
// sent as UDP datagrams (docs/architecture.md, "Monitoring").
//
// Recording is in memory only (no syscall, no allocation once a series has
// been seen): counters are summed, gauges keep their last value, timers
// keep a bounded reservoir of samples (kMaxSamples per series and interval,
// the rest counted) that goes out with a `|@rate` sample rate, so a statsd
// server still counts every job. Flush() (the owner calls it every
// monitor.interval) writes the interval's lines into datagrams of at most
// kMaxDatagram bytes (a line never spans two) on a non-blocking connected
// UDP socket. A full socket buffer or a dead receiver (ECONNREFUSED) drops
// that datagram and is counted, never retried, never logged more than once
// a minute: monitoring never slows or fails a job.
//
// Line syntax (monitor.tags):
//   dogstatsd  PREFIX.NAME:VALUE|TYPE[|@RATE]|#k:v,k:v     (Telegraf too)
//   plain      PREFIX.k.v.k.v.NAME:VALUE|TYPE[|@RATE]      (tags folded)
// Events (state changes) are DogStatsD events in dogstatsd mode,
//   _e{TITLE_LEN,TEXT_LEN}:PREFIX.state|TEXT|#k:v,...
// and a counter PREFIX.k.v....state.TEXT:1|c in plain mode.
// Tag keys and values are cleaned to [A-Za-z0-9_.-] (others become '_').
// Single-threaded: one sink per process, used from its loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

struct MonitorConfig;

class StatsdSink {
 public:
  using Tags = std::vector<std::pair<std::string, std::string>>;
  static constexpr size_t kMaxDatagram = 1432;
  static constexpr size_t kMaxSamples = 64;

  // `base_tags` go on every line of this process (host, id, slot). An empty
  // monitor.udp makes a sink that records nothing and sends nothing.
  static Status Open(const MonitorConfig& config, Tags base_tags,
                     std::unique_ptr<StatsdSink>* out);
  ~StatsdSink();
  StatsdSink(const StatsdSink&) = delete;
  StatsdSink& operator=(const StatsdSink&) = delete;

  bool enabled() const { return fd_ >= 0; }

  // `tags` are added to the base tags for this series.
  void Count(std::string_view name, const Tags& tags, int64_t n = 1);
  void Gauge(std::string_view name, const Tags& tags, double value);
  void Timing(std::string_view name, const Tags& tags, double ms);
  void Event(std::string_view state, const Tags& tags);

  // Sends what the interval recorded and starts a new interval. Returns the
  // number of datagrams written.
  int Flush();

  // Since Open: datagrams sent and dropped (socket full, receiver gone).
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

  // The lines one Flush() would send, for tests (does not reset).
  std::vector<std::string> PendingLines() const;

 private:
  StatsdSink() = default;
  struct Series;
  Series& Find(char type, std::string_view name, const Tags& tags);
  std::unique_ptr<Series> NewSeries(char type, std::string_view name,
                                    const Tags& tags) const;
  void AppendTags(const Tags& tags, std::string* out) const;
  // Calls `emit` once per unit of the interval's output: one line, or the
  // two lines of a negative gauge, which must share a datagram.
  void ForEachUnit(const std::function<void(std::string_view)>& emit) const;
  void Pack(std::string_view unit, int* written);
  bool Send(std::string_view datagram);
  void NoteDrop(const char* why);
  void StartInterval();

  int fd_ = -1;
  std::string where_;   // "monitor.udp HOST:PORT", for log lines
  std::string prefix_;  // cleaned, with its '.' ("" when none)
  bool plain_ = false;
  // Cleaned once: "k:v,k:v" (dogstatsd) or "k.v.k.v." (plain).
  std::string base_tags_;
  // Keyed by type + name + raw tags; the key's text is built once per
  // series, lookups reuse key_scratch_ (no allocation).
  std::map<std::string, std::unique_ptr<Series>, std::less<>> series_;
  std::vector<std::string> events_;  // dogstatsd event lines
  std::string key_scratch_;
  std::string datagram_;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;  // reservoir sampling
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  uint64_t drops_unlogged_ = 0;
  int64_t last_drop_log_ms_ = -1;  // steady clock; -1: never logged
};

}  // namespace qd
