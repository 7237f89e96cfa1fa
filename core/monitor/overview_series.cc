#include "core/monitor/overview_series.h"

namespace qd {
namespace {

double PerSecond(int64_t now, int64_t before, int64_t ms) {
  if (ms <= 0 || now < before) return 0;
  return static_cast<double>(now - before) * 1000.0 / static_cast<double>(ms);
}

}  // namespace

void OverviewSeries::Add(int64_t now_ms, int64_t processed, int64_t failed,
                         int64_t ready) {
  Point p;
  p.t_ms = now_ms;
  p.ready = ready;
  if (primed_) {
    p.processed_per_s =
        PerSecond(processed, last_processed_, now_ms - last_ms_);
    p.failed_per_s = PerSecond(failed, last_failed_, now_ms - last_ms_);
  }
  primed_ = true;
  last_ms_ = now_ms;
  last_processed_ = processed;
  last_failed_ = failed;
  ring_[next_] = p;
  next_ = (next_ + 1) % kCapacity;
  if (size_ < kCapacity) ++size_;
}

std::vector<OverviewSeries::Point> OverviewSeries::Points() const {
  std::vector<Point> out;
  out.reserve(size_);
  size_t start = (next_ + kCapacity - size_) % kCapacity;
  for (size_t i = 0; i < size_; ++i)
    out.push_back(ring_[(start + i) % kCapacity]);
  return out;
}

}  // namespace qd
