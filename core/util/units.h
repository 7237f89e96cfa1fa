// Parsing of the human-friendly units used in the config and on the command
// line: durations ("250ms", "5s", "2m", "1h", "1d"; a bare number is seconds)
// and sizes ("512k", "256MiB", "1G"; a bare number is bytes; k/M/G and
// KiB/MiB/GiB are both powers of 1024, KB/MB/GB powers of 1000).
// Also the two conversions every timer and timestamp needs. Pure functions,
// no state: safe anywhere.
#pragma once

#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "queuedaemon/status.h"

namespace qd {

using Duration = std::chrono::milliseconds;

// Parses `text` into `*out`. On error the message says what was expected,
// e.g. "'5x' is not a duration (use e.g. 250ms, 5s, 2m, 1h)".
Status ParseDuration(std::string_view text, Duration* out);
Status ParseSize(std::string_view text, uint64_t* out);

// The soft memory limit: either a size, or a percent of `hard_limit`
// ("90%", "12.5%"; 0 < percent <= 100).
Status ParseSoftLimit(std::string_view text, uint64_t hard_limit,
                      uint64_t* out);

// For log lines: "1.5s", "250ms"; "12.0MiB", "512B".
std::string FormatDuration(Duration d);
std::string FormatSize(uint64_t bytes);

// For libevent timers.
inline timeval ToTimeval(Duration d) {
  return {static_cast<time_t>(d.count() / 1000),
          static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// steady_clock (CLOCK_MONOTONIC) in ms: the same clock in every process of
// the host, so a worker's heartbeat can be read by its master.
inline int64_t MonotonicMs() {
  return std::chrono::duration_cast<Duration>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Wall-clock ms since the epoch: the time unit of the Redis wire contract
// (enqueued_at, failed_at, delayed-set scores).
inline int64_t EpochMs() {
  return std::chrono::duration_cast<Duration>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace qd
