// HeldJob and SiteQueue: the jobs a worker holds for one site, per queue.
// Plain data shared by SiteConsumer (which fetches and hands out jobs) and
// JobOutcomes (which writes what became of them). Loop thread only, except
// that the LeaseKeeper reads the queue keys while a handler blocks the loop.
#pragma once

#include <deque>
#include <string>
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
};

// One queue of a site as a worker holds it.
struct SiteQueue {
  std::string name;
  std::string key;       // PREFIX:{SITE}:q:NAME
  std::string dead_key;  // PREFIX:{SITE}:dead:NAME
  const QueueConfig* config = nullptr;
  QueueHandler* handler = nullptr;
  std::deque<HeldJob> ready;
  std::vector<std::string> acks;  // to XACK + XDEL at the next flush
  int current_weight = 0;         // smooth weighted round robin
  StatsdSink::Tags tags;          // site, queue: on this queue's metrics

  // The handler's fetch gate (QueueHandler::FetchOpen).
  bool FetchOpen() const { return handler == nullptr || handler->FetchOpen(); }
};

}  // namespace qd
