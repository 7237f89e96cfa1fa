// UniqueLock: the lock a unique job holds (docs/unique-jobs.md), as the
// worker finds it from the job's fields: the key is the queue's lock prefix
// and the job's `unique_key`, the value its jid (the `jid` field, else the
// entry id: what FCALL qd_enqueue wrote, and what a retry keeps). A job
// without a `unique_key` field, or with an empty one, holds no lock. Plain
// data; the scan over the fields is the whole cost for other jobs.
#pragma once

#include <string>

#include "core/queue/site_queue.h"

namespace qd {

struct UniqueLock {
  std::string key;
  std::string jid;

  // True and *out filled when `job` holds a lock of queue `q`.
  static bool Of(const SiteQueue& q, const HeldJob& job, UniqueLock* out) {
    const std::string* unique_key = nullptr;
    const std::string* jid = nullptr;
    for (const auto& [name, value] : job.fields) {
      if (name == "unique_key") unique_key = &value;
      if (name == "jid" && !value.empty()) jid = &value;  // as Job does
    }
    if (unique_key == nullptr || unique_key->empty()) return false;
    out->key = q.unique_locks + *unique_key;
    out->jid = jid != nullptr ? *jid : job.id;
    return true;
  }
};

}  // namespace qd
