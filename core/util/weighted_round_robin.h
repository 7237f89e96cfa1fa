// WeightedRoundRobin: whose turn it is among weighted candidates, by
// nginx's smooth weighted round robin (ngx_http_upstream_get_peer).
//
// Each turn, every candidate that can take it (the caller says which: a
// site or a queue with jobs ready) adds its weight to its current weight;
// the highest current weight wins (the first of equals) and gives back the
// sum of the weights that took part. While the same candidates take part,
// each wins in proportion to its weight, and the wins are spread out:
// weights 3 and 1 give a a b a, a a b a ..., not a a a b. With equal
// weights it is plain round robin. A candidate left out of a turn keeps its
// current weight and banks nothing, so a queue that was empty for a while
// does not come back with a burst. The current weights always add up to
// 0, so they stay within the sum of the weights.
//
// Serves the sites of a worker (QueueManager) and the queues of a site
// (SiteConsumer). Plain arithmetic, no clock, no locking: one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qd {

class WeightedRoundRobin {
 public:
  // Adds a candidate; its index is the number of those added before.
  // REQUIRES: weight >= 1.
  void Add(int weight) { candidates_.push_back({weight, 0}); }
  size_t size() const { return candidates_.size(); }

  // The index of this turn's winner among the candidates for which
  // `takes_part(index)` is true; -1 (and no change) when none is.
  template <typename TakesPart>
  int Next(const TakesPart& takes_part) {
    int best = -1;
    int64_t total = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      if (!takes_part(i)) continue;
      Candidate& c = candidates_[i];
      c.current += c.weight;
      total += c.weight;
      if (best < 0 || c.current > candidates_[best].current) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) candidates_[best].current -= total;
    return best;
  }

 private:
  struct Candidate {
    int64_t weight;   // 64 bits: a sum of int weights cannot overflow
    int64_t current;  // banked share of turns
  };
  std::vector<Candidate> candidates_;
};

}  // namespace qd
