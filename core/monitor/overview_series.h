// OverviewSeries: the last 15 minutes of the daemon in one-second samples,
// for /api/v1/overview: jobs finished and failed per second, and the jobs
// ready over all sites. The master adds a sample every second (a ring of
// kCapacity points: memory stays bounded however long it runs). Rates come
// from the difference of two totals: a counter that went backwards (never
// expected) counts 0. Single-threaded: the master's loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qd {

class OverviewSeries {
 public:
  static constexpr size_t kCapacity = 900;

  struct Point {
    int64_t t_ms = 0;
    double processed_per_s = 0;
    double failed_per_s = 0;
    int64_t ready = 0;  // -1: no site's depth known
  };

  // One sample at `now_ms` of the totals since start.
  void Add(int64_t now_ms, int64_t processed, int64_t failed, int64_t ready);
  // Oldest first, at most kCapacity.
  std::vector<Point> Points() const;
  size_t size() const { return size_; }

 private:
  std::array<Point, kCapacity> ring_{};
  size_t next_ = 0;  // where the next point goes
  size_t size_ = 0;
  bool primed_ = false;  // a previous sample exists
  int64_t last_ms_ = 0;
  int64_t last_processed_ = 0;
  int64_t last_failed_ = 0;
};

}  // namespace qd
