// JobObserver: what the queue consumer reports of its work as it does it,
// to whoever counts that work (the worker's WorkerStats: statsd and the
// slot board). Declared here and implemented above (core/worker/), so that
// queue/ depends on no higher folder. Called from the worker's loop only.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/stats/statsd_sink.h"

namespace qd {

class JobObserver {
 public:
  enum class Outcome { kOk, kRetry, kDead };

  virtual ~JobObserver() = default;

  // Whether the worker has jobs to run now (sampled for busy/idle).
  virtual void SetBusy(bool busy) = 0;
  // Around one handler call; `tags` are the queue's (site, queue).
  virtual void JobStarted(const StatsdSink::Tags& tags, std::string_view site,
                          std::string_view queue, std::string_view id,
                          int64_t enqueued_ms) = 0;
  virtual void JobFinished(const StatsdSink::Tags& tags, Outcome outcome) = 0;
  // Adds `n` to the counter `name` (e.g. "jobs.replayed").
  virtual void Count(std::string_view name, const StatsdSink::Tags& tags,
                     int64_t n = 1) = 0;
};

}  // namespace qd
