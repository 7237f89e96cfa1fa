// StatsdLine: one statsd or DogStatsD line, parsed strictly, and the
// parsers for a line and for a datagram of lines (docs/architecture.md,
// "Monitoring").
//
// Accepted (the etsy statsd and DogStatsD 1.1 text formats):
//   NAME:VALUE|TYPE[|@RATE][|#TAG,TAG...][|c:CONTAINER][|TSECONDS]
//     TYPE is c (counter), g (gauge), ms (timer), h (histogram), s (set) or
//     d (DogStatsD distribution). VALUE may be packed, "1:2:3" (several
//     samples in one line). A gauge value written with a sign (+N, -N) is a
//     delta. 0 < RATE <= 1. A TAG is KEY:VALUE or KEY (empty value).
//   _e{TITLE_LEN,TEXT_LEN}:TITLE|TEXT[|d:TS][|h:HOST][|k:KEY][|p:PRIO]
//     [|s:SOURCE][|t:ALERT][|#TAGS]    a DogStatsD event; the lengths are
//     the byte lengths of TITLE and TEXT and must match.
// Anything else is an error whose message says what is wrong and quotes the
// line (shortened and with control bytes escaped), e.g.
//   "bad value 'x1' in 'a:x1|c'".
// Lines longer than kMaxStatsdLine bytes are refused before parsing.
//
// A parsed StatsdLine holds string_views into the caller's text: it is valid
// only as long as that text. Its vectors are cleared, not freed, by the next
// parse, so reusing one StatsdLine costs no allocation once warmed up.
// Pure functions, no state: safe from any thread on distinct outputs. Any
// bytes are safe input (this is a fuzz target).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

constexpr size_t kMaxStatsdLine = 64 * 1024;

enum class StatsdType {
  kCounter,       // c
  kGauge,         // g
  kTimer,         // ms
  kHistogram,     // h
  kSet,           // s
  kDistribution,  // d
  kEvent,         // _e{..}
};

// "counter", "gauge", "timer", "histogram", "set", "distribution", "event".
const char* StatsdTypeName(StatsdType type);

struct StatsdTag {
  std::string_view key;
  std::string_view value;  // empty for a tag written without ':'
};

struct StatsdValue {
  std::string_view text;  // as written: "+3", "0.5", "alice" (a set member)
  double number = 0;      // 0 for sets
  bool delta = false;     // gauges only: written with a sign (+N, -N)
};

struct StatsdLine {
  StatsdType type = StatsdType::kCounter;
  std::string_view name;            // the metric name, or an event's title
  std::string_view text;            // an event's text; empty for metrics
  std::vector<StatsdValue> values;  // at least one; none for events
  double sample_rate = 1;           // 1 unless |@RATE
  std::vector<StatsdTag> tags;      // in the order written
};

// Parses one line (without its '\n'). On error *out is left in an
// unspecified but valid state.
Status ParseStatsdLine(std::string_view line, StatsdLine* out);

// Splits `datagram` at '\n' and parses each line into `*scratch`: calls
// `on_line(*scratch)` for each good line and `on_error(status)` (if set)
// for each bad one. Empty lines (a trailing newline, "\n\n") are skipped.
// Returns the number of bad lines.
size_t ParseStatsdDatagram(
    std::string_view datagram, StatsdLine* scratch,
    const std::function<void(const StatsdLine&)>& on_line,
    const std::function<void(const Status&)>& on_error = nullptr);

}  // namespace qd
