// SampleSet: the samples of one timer series in one interval, for its
// count and percentiles.
//
// Memory is bounded: beyond kMaxSamples the set keeps a uniform reservoir
// (Vitter's algorithm R), so a flood still yields fair percentiles. The
// count is weighted: a sample sent with `|@0.1` stands for 10 events, so
// count() is what the senders measured, while the percentiles come from
// the samples as they are. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qd::mon {

class SampleSet {
 public:
  static constexpr size_t kMaxSamples = 10000;

  // REQUIRES: 0 < sample_rate <= 1.
  void Add(double value, double sample_rate);
  // Forgets everything: a new interval.
  void Clear();

  bool empty() const { return seen_ == 0; }
  // The events the samples stand for: the sum of 1/rate.
  double count() const { return count_; }

  // The nearest-rank percentile of the samples kept: the smallest sample
  // with at least p% of the samples at or below it (p50 of 1..100 is 50,
  // p99 is 99). REQUIRES: !empty(), 0 < p <= 100. Sorts the samples (hence
  // not const).
  double Percentile(double p);

 private:
  std::vector<double> samples_;
  bool sorted_ = true;
  uint64_t seen_ = 0;
  double count_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace qd::mon
