// Report: what queuemon shows for one interval, as plain data. The
// Aggregator fills it; the table and JSON views render it. A value that is
// not known (no sample, no gauge yet) is an empty optional: null in JSON,
// "-" in the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/stats/statsd_line.h"

namespace qd::mon {

using TagList = std::vector<std::pair<std::string, std::string>>;

// One row of the daemon's table: the metrics of one (host, id, slot, site,
// queue), each taken from the tags of the line (a missing tag is "").
// Workers' own lines (RSS, state) carry no site or queue, so they make
// rows of their own next to the per-queue rows.
struct WorkerRow {
  std::string host, id, slot, site, queue;
  double jobs_per_s = 0;      // PREFIX.jobs.handled, weighted by 1/rate
  double failures_per_s = 0;  // PREFIX.jobs.failed
  std::optional<double> p50_ms, p99_ms;  // PREFIX.job.duration samples
  std::optional<double> rss;             // PREFIX.worker.rss, bytes
  std::string state;  // the text of the last PREFIX.state event, "" if none
};

// Any other series: a name, a type and a set of tags.
struct OtherMetric {
  std::string name;
  StatsdType type = StatsdType::kCounter;
  TagList tags;                 // sorted
  std::optional<double> rate;   // counters: per second
  std::optional<double> value;  // gauges: the current value
  // Counters, timers: events (weighted by 1/rate); sets: distinct members;
  // events: how many.
  std::optional<double> count;
  std::optional<double> p50, p99;  // timers, histograms, distributions
};

struct Report {
  int64_t ts_ms = 0;               // end of the interval, ms since the epoch
  int64_t interval_ms = 0;         // its length: rates are per second of it
  std::vector<WorkerRow> rows;     // sorted by their key
  std::vector<OtherMetric> other;  // sorted by type, name, tags
  uint64_t datagrams = 0;          // received in the interval
  uint64_t bad_lines = 0;          // since start
  std::string last_error;          // of the last bad line, "" if none
};

}  // namespace qd::mon
