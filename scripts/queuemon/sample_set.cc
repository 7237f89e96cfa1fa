#include "scripts/queuemon/sample_set.h"

#include <algorithm>
#include <cmath>

namespace qd::mon {

void SampleSet::Add(double value, double sample_rate) {
  ++seen_;
  count_ += 1 / sample_rate;
  sorted_ = false;
  if (samples_.size() < kMaxSamples) {
    samples_.push_back(value);
    return;
  }
  rng_ ^= rng_ << 13;  // xorshift64: fast, and fair enough for a reservoir
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  uint64_t slot = rng_ % seen_;
  if (slot < kMaxSamples) samples_[slot] = value;
}

void SampleSet::Clear() {
  samples_.clear();
  sorted_ = true;
  seen_ = 0;
  count_ = 0;
}

double SampleSet::Percentile(double p) {
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  double rank = std::ceil(p * static_cast<double>(samples_.size()) / 100);
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return samples_[std::min(index, samples_.size() - 1)];
}

}  // namespace qd::mon
