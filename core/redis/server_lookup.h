// ServerLookup: where the server of a url is, asked on an event loop before
// every connect (RedisClient): the master of a Sentinel-monitored group
// (SentinelLookup) or the node serving a key's Cluster slot (ClusterLookup).
#pragma once

#include <functional>

#include "core/config/redis_url.h"
#include "queuedaemon/status.h"

namespace qd {

class ServerLookup {
 public:
  // The server found (a copy of the url with its host and port) or the
  // error. Called on the loop; it may start another lookup or destroy the
  // lookup.
  using Done = std::function<void(const Status& status, RedisUrl server)>;

  virtual ~ServerLookup() = default;
  // One at a time: cancels a lookup in progress (its callback is not
  // called).
  virtual void Start(const RedisUrl& url, Done done) = 0;
  virtual void Cancel() = 0;
  virtual bool running() const = 0;
};

}  // namespace qd
