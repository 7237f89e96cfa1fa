// Parsing of the human-friendly units used in the config and on the command
// line: durations ("250ms", "5s", "2m", "1h", "1d"; a bare number is seconds)
// and sizes ("512k", "256MiB", "1G"; a bare number is bytes; k/M/G and
// KiB/MiB/GiB are both powers of 1024, KB/MB/GB powers of 1000).
// Pure functions, no state: safe anywhere.
#pragma once

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

}  // namespace qd
