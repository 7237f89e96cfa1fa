#include "scripts/queuemon/aggregator.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace qd::mon {
namespace {

// The row metrics, recognised by name (after the prefix) and type.
enum class RowMetric { kNone, kHandled, kFailed, kDuration, kRss, kState };

bool IsTiming(StatsdType type) {
  return type == StatsdType::kTimer || type == StatsdType::kHistogram ||
         type == StatsdType::kDistribution;
}

RowMetric Classify(std::string_view name, StatsdType type) {
  if (name == "jobs.handled" && type == StatsdType::kCounter) {
    return RowMetric::kHandled;
  }
  if (name == "jobs.failed" && type == StatsdType::kCounter) {
    return RowMetric::kFailed;
  }
  if (name == "job.duration" && IsTiming(type)) return RowMetric::kDuration;
  if (name == "worker.rss" && type == StatsdType::kGauge) {
    return RowMetric::kRss;
  }
  if (name == "state" && type == StatsdType::kEvent) return RowMetric::kState;
  return RowMetric::kNone;
}

void ApplyGauge(const StatsdValue& v, std::optional<double>* gauge) {
  *gauge = v.delta ? gauge->value_or(0) + v.number : v.number;
}

// The value of the last tag named `key`, "" if none.
std::string_view TagValue(const StatsdLine& line, std::string_view key) {
  std::string_view out;
  for (const auto& tag : line.tags) {
    if (tag.key == key) out = tag.value;
  }
  return out;
}

constexpr std::string_view kRowKeys[] = {"host", "id", "slot", "site", "queue"};

}  // namespace

Aggregator::Aggregator(const std::string& prefix)
    : prefix_(prefix.empty() ? "" : prefix + ".") {}

void Aggregator::AddDatagram(std::string_view datagram) {
  ++datagrams_;
  bad_lines_ += ParseStatsdDatagram(
      datagram, &line_, [this](const StatsdLine& line) { Add(line); },
      [this](const Status& s) { last_error_ = s.message(); });
}

void Aggregator::Add(const StatsdLine& line) {
  if (!AddToRow(line)) AddToSeries(line);
}

bool Aggregator::AddToRow(const StatsdLine& line) {
  std::string_view name = line.name;
  if (name.substr(0, prefix_.size()) != prefix_) return false;
  name.remove_prefix(prefix_.size());
  RowMetric metric = Classify(name, line.type);
  if (metric == RowMetric::kNone) return false;
  Row& row = FindRow(line);
  for (const StatsdValue& v : line.values) {
    switch (metric) {
      case RowMetric::kHandled:
        row.handled += v.number / line.sample_rate;
        break;
      case RowMetric::kFailed:
        row.failed += v.number / line.sample_rate;
        break;
      case RowMetric::kDuration:
        row.durations.Add(v.number, line.sample_rate);
        break;
      case RowMetric::kRss:
        ApplyGauge(v, &row.shown.rss);
        break;
      default:
        break;
    }
  }
  if (metric == RowMetric::kState) row.shown.state = line.text;
  return true;
}

void Aggregator::AddToSeries(const StatsdLine& line) {
  Series& series = FindSeries(line);
  if (line.type == StatsdType::kEvent) {
    series.count += 1;
    return;
  }
  for (const StatsdValue& v : line.values) {
    switch (line.type) {
      case StatsdType::kCounter:
        series.count += v.number / line.sample_rate;
        break;
      case StatsdType::kGauge:
        ApplyGauge(v, &series.shown.value);
        break;
      case StatsdType::kSet:
        if (series.members.size() < kMaxSetMembers &&
            series.members.find(v.text) == series.members.end()) {
          series.members.emplace(v.text);
        }
        break;
      default:  // the timings
        series.samples.Add(v.number, line.sample_rate);
        break;
    }
  }
}

Aggregator::Row& Aggregator::FindRow(const StatsdLine& line) {
  key_.clear();
  for (std::string_view key : kRowKeys) {
    key_ += TagValue(line, key);
    key_ += '\0';  // never in a tag: the parser refuses control bytes
  }
  auto it = rows_.find(key_);
  if (it != rows_.end()) return it->second;
  Row& row = rows_[key_];
  row.shown.host = TagValue(line, "host");
  row.shown.id = TagValue(line, "id");
  row.shown.slot = TagValue(line, "slot");
  row.shown.site = TagValue(line, "site");
  row.shown.queue = TagValue(line, "queue");
  return row;
}

Aggregator::Series& Aggregator::FindSeries(const StatsdLine& line) {
  tags_.assign(line.tags.begin(), line.tags.end());
  std::sort(tags_.begin(), tags_.end(),
            [](const StatsdTag& a, const StatsdTag& b) {
              return std::tie(a.key, a.value) < std::tie(b.key, b.value);
            });
  key_.assign(line.name);
  key_ += '\0';
  key_ += static_cast<char>('0' + static_cast<int>(line.type));
  for (const StatsdTag& tag : tags_) {
    key_ += '\0';
    key_ += tag.key;
    key_ += '\1';
    key_ += tag.value;
  }
  auto it = series_.find(key_);
  if (it != series_.end()) return it->second;
  Series& series = series_[key_];
  series.shown.name = line.name;
  series.shown.type = line.type;
  for (const StatsdTag& tag : tags_) {
    series.shown.tags.emplace_back(tag.key, tag.value);
  }
  return series;
}

Report Aggregator::TakeReport(int64_t now_ms, int64_t elapsed_ms) {
  Report report;
  report.ts_ms = now_ms;
  report.interval_ms = elapsed_ms;
  report.datagrams = datagrams_;
  report.bad_lines = bad_lines_;
  report.last_error = last_error_;
  double seconds = static_cast<double>(std::max<int64_t>(elapsed_ms, 1)) / 1000;
  for (auto& [key, row] : rows_) {
    WorkerRow& shown = report.rows.emplace_back(row.shown);
    shown.jobs_per_s = row.handled / seconds;
    shown.failures_per_s = row.failed / seconds;
    if (!row.durations.empty()) {
      shown.p50_ms = row.durations.Percentile(50);
      shown.p99_ms = row.durations.Percentile(99);
    }
    row.handled = row.failed = 0;
    row.durations.Clear();
  }
  for (auto& [key, series] : series_) {
    OtherMetric& shown = report.other.emplace_back(series.shown);
    switch (series.shown.type) {
      case StatsdType::kCounter:
        shown.count = series.count;
        shown.rate = series.count / seconds;
        break;
      case StatsdType::kGauge:
        break;
      case StatsdType::kSet:
        shown.count = static_cast<double>(series.members.size());
        break;
      case StatsdType::kEvent:
        shown.count = series.count;
        break;
      default:  // the timings
        shown.count = series.samples.count();
        if (!series.samples.empty()) {
          shown.p50 = series.samples.Percentile(50);
          shown.p99 = series.samples.Percentile(99);
        }
        break;
    }
    series.count = 0;
    series.samples.Clear();
    series.members.clear();
  }
  datagrams_ = 0;
  return report;
}

}  // namespace qd::mon
