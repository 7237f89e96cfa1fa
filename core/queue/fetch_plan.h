// FetchPlan: when a worker reads a site's streams again, which of them, and
// whether that read may block (XREADGROUP ... BLOCK).
//
// A read brings up to kBatch entries per stream. The worker reads again
// when it holds less than a batch in all (the read then overlaps the run
// of what is held instead of leaving the worker idle for a round trip per
// batch), or when a queue whose last read came back full (its stream may
// hold more) holds less than a batch. The second rule keeps queue weights
// true under a flood: each queue's buffer is refilled as the weighted round
// robin uses it up. Reading only when the site's total ran low fed every
// flooded queue one batch per read, and so ran them 1:1 whatever their
// weights.
//
// A queue that holds a batch already is left out of the read (its jobs
// wait their turn anyway), so a worker holds less than two batches per
// queue. A read that leaves out such a queue does not block: a blocking
// read holds the reader until a job comes for the queues it names (or the
// BLOCK ends), so the left-out queue's stream could not be read when its
// buffer runs dry. An empty non-blocking read clears the queues' `more`,
// so it is not repeated before the site runs low again.
//
// Pure functions of the queues' state; the SiteConsumer sends the read.
#pragma once

#include <cstddef>
#include <vector>

#include "core/queue/site_queue.h"

namespace qd {

struct FetchPlan {
  static constexpr int kBatch = 128;  // COUNT: entries per stream and read
  static constexpr size_t kLowWater = kBatch;

  // Whether a read is due; `held` = the jobs held for all the queues.
  static bool Wanted(const std::vector<SiteQueue>& queues, size_t held);
  // The read to send now: the open queues (SiteQueue::FetchOpen) holding
  // less than a batch; blocking when `listen` and no open queue was left
  // out.
  static FetchPlan For(const std::vector<SiteQueue>& queues, bool listen);
  // After the read's reply, `got` its entries: sets the `more` of each
  // queue read.
  void Note(const std::vector<HeldJob>& got,
            std::vector<SiteQueue>* queues) const;

  std::vector<int> queues;  // indices into the site's queues, in order
  bool block = false;
};

}  // namespace qd
