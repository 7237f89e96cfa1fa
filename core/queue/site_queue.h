// HeldJob and SiteQueue: the jobs a worker holds for one site, per queue.
// Plain data shared by SiteConsumer (which fetches and hands out jobs) and
// JobOutcomes (which writes what became of them). Loop thread only, except
// that the LeaseKeeper reads the queue keys while a handler blocks the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "core/stats/statsd_sink.h"
#include "queuedaemon/queue_handler.h"

namespace qd {

// A fetched entry, owned until it is acked, retried or dead-lettered.
struct HeldJob {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  int queue = 0;  // index into SiteConsumer::queues()
  std::string id;
  Fields fields;
  int deliveries = 1;
  // LimitGate: when the acquire that granted its limit's budget was sent
  // (MonotonicMs); 0 = no grant held.
  int64_t granted_ms = 0;

  // The value of the first field `name`; "" when there is none.
  std::string_view Field(std::string_view name) const {
    for (const auto& f : fields) {
      if (f.first == name) return f.second;
    }
    return {};
  }
};

// One queue of a site as a worker holds it.
struct SiteQueue {
  std::string name;
  std::string key;       // PREFIX:{SITE}:q:NAME
  std::string dead_key;  // PREFIX:{SITE}:dead:NAME
  const QueueConfig* config = nullptr;
  QueueHandler* handler = nullptr;
  std::deque<HeldJob> ready;
  std::vector<std::string> acks;  // to XACK at the next flush
  // Entries of this stream this worker acked (done, retried, dead-lettered,
  // given back) since it last sent a trim (stream_trim.h).
  int64_t untrimmed = 0;
  // The last read of this stream came back full: it may hold more
  // (FetchPlan).
  bool more = false;
  // PREFIX:{SITE}:unique:NAME/ : a job's unique_key appended is its lock.
  std::string unique_locks;
  // Locks (key, jid) of unique jobs among `acks`, freed in the same flush.
  std::vector<std::pair<std::string, std::string>> releases;
  StatsdSink::Tags tags;  // site, queue: on this queue's metrics

  // Set aside: `key` holds another Redis type (another program wrote it),
  // which fails every XREADGROUP that names it. Not read, claimed or swept
  // while set aside; a TYPE check at `recheck_at` (backing off from 1 s to
  // 30 s) puts it back once the key is a stream again or gone. Empty: in
  // service.
  std::string wrong_type;  // the type found ("string", "hash" ...)
  std::chrono::steady_clock::time_point recheck_at;
  std::chrono::milliseconds recheck_every{0};

  // Read and claimed now: the handler's fetch gate
  // (QueueHandler::FetchOpen) is open and the queue is not set aside.
  bool FetchOpen() const {
    return wrong_type.empty() && (handler == nullptr || handler->FetchOpen());
  }
};

}  // namespace qd
