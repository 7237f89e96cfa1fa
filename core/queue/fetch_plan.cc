#include "core/queue/fetch_plan.h"

namespace qd {

bool FetchPlan::Wanted(const std::vector<SiteQueue>& queues, size_t held) {
  if (held < kLowWater) return true;
  for (const auto& q : queues) {
    if (q.more && q.FetchOpen() && q.ready.size() < kLowWater) return true;
  }
  return false;
}

FetchPlan FetchPlan::For(const std::vector<SiteQueue>& queues, bool listen) {
  FetchPlan plan;
  bool left_out = false;
  for (size_t i = 0; i < queues.size(); ++i) {
    if (!queues[i].FetchOpen()) continue;
    if (queues[i].ready.size() >= kLowWater) {
      left_out = true;
    } else {
      plan.queues.push_back(static_cast<int>(i));
    }
  }
  plan.block = listen && !left_out;
  return plan;
}

void FetchPlan::Note(const std::vector<HeldJob>& got,
                     std::vector<SiteQueue>* queues) const {
  std::vector<int> count(queues->size(), 0);
  for (const auto& job : got) {
    if (job.queue >= 0 && job.queue < static_cast<int>(count.size())) {
      ++count[job.queue];
    }
  }
  for (int i : this->queues) (*queues)[i].more = count[i] >= kBatch;
}

}  // namespace qd
