// Aggregator: the statsd lines queuemon received, summed per interval.
//
// Lines named PREFIX.jobs.handled, PREFIX.jobs.failed (counters),
// PREFIX.job.duration (timer), PREFIX.worker.rss (gauge) and PREFIX.state
// events feed the daemon's table, one row per (host, id, slot, site,
// queue) tag tuple. Every other line, ours or any statsd client's, is a
// series of its own (name, type, tags) in the "other metrics" table.
//
// Per interval (reset by TakeReport): counts, timer samples, set members,
// event counts. Kept across intervals, as statsd does: gauge values, the
// last state, and every row and series once seen (a quiet series shows
// zero rates rather than vanishing). Malformed lines are counted and the
// last error kept; they never stop anything. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/stats/statsd_line.h"
#include "scripts/queuemon/report.h"
#include "scripts/queuemon/sample_set.h"

namespace qd::mon {

class Aggregator {
 public:
  // Distinct members a set series keeps per interval; more are not
  // counted (a bound on memory, not a statsd rule).
  static constexpr size_t kMaxSetMembers = 100000;

  // `prefix` as in the daemon's monitor.prefix ("qd"); "" for none.
  explicit Aggregator(const std::string& prefix);

  // Parses every line of one datagram and adds the good ones.
  void AddDatagram(std::string_view datagram);
  void Add(const StatsdLine& line);

  // The interval that ends now, `elapsed_ms` long (the rates' divisor), at
  // wall-clock `now_ms`. Starts the next interval.
  Report TakeReport(int64_t now_ms, int64_t elapsed_ms);

 private:
  struct Row {
    WorkerRow shown;  // keys, rss and state; rates filled by TakeReport
    double handled = 0;
    double failed = 0;
    SampleSet durations;
  };
  struct Series {
    OtherMetric shown;  // name, type, tags, gauge value
    double count = 0;
    SampleSet samples;
    std::set<std::string, std::less<>> members;
  };

  bool AddToRow(const StatsdLine& line);
  void AddToSeries(const StatsdLine& line);
  Row& FindRow(const StatsdLine& line);
  Series& FindSeries(const StatsdLine& line);

  std::string prefix_;  // with its '.' unless empty
  std::map<std::string, Row, std::less<>> rows_;
  std::map<std::string, Series, std::less<>> series_;
  std::string key_;              // scratch for lookups
  std::vector<StatsdTag> tags_;  // scratch: a line's tags, sorted
  StatsdLine line_;              // scratch for parsing
  uint64_t datagrams_ = 0;       // this interval
  uint64_t bad_lines_ = 0;       // since start
  std::string last_error_;
};

}  // namespace qd::mon
