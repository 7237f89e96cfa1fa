// Redis Cluster: which node serves a url's key (RedisUrl::via_cluster(),
// from the config's `redis: { cluster: [host:port, ...] }`).
//
// A site's keys all carry the hash tag `{SITE}` (RedisUrl::cluster_key), so
// they share one slot and one master. Before every connect the seeds are
// asked in the order given, each with its own deadline, CLUSTER SLOTS (after
// AUTH with the url's credentials: a Cluster's nodes share them); the first
// valid map names the master of the key's slot (core/redis/cluster_slots.h).
// A slot that moves (resharding, a replica promoted after its master
// failed) is followed the way a Sentinel failover is: the old node answers
// MOVED (or READONLY, or is gone), RedisClient drops the connection, and the
// reconnect asks again. The nodes of the last map are asked after the
// seeds, so a seed list that has lost its nodes still finds the cluster.
//
// Two forms, as for Sentinel: LookupClusterNode blocks (queuectl, request
// workers, start-up checks); ClusterLookup runs on an event loop.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <string>
#include <vector>

#include "core/config/redis_url.h"
#include "core/redis/cluster_slots.h"
#include "core/redis/server_lookup.h"
#include "queuedaemon/status.h"

struct event_base;
struct redisAsyncContext;

namespace qd {

// The master of `url.cluster_key`'s slot: a copy of `url` with its host and
// port and no seeds (it keeps the key and the credentials). `timeout`
// bounds each node's connect and reply. The error names every node asked
// and what it said. REQUIRES: url.via_cluster().
Status LookupClusterNode(const RedisUrl& url, timeval timeout, RedisUrl* node);

// From a CLUSTER SLOTS reply of a node at `asked_host`: the master of
// `url`'s key as LookupClusterNode gives it, and in *map the map.
Status NodeFromSlots(const RedisUrl& url, const redisReply* reply,
                     const std::string& asked_host, ClusterSlots* map,
                     RedisUrl* node);

// The lookup on an event loop: one at a time, Start() again for the next.
class ClusterLookup : public AskEachServer {
 public:
  // Nodes of the last map kept to ask after the seeds.
  static constexpr size_t kMaxKnown = 32;

  ClusterLookup(event_base* base, timeval timeout);

 private:
  static void OnAuth(redisAsyncContext* ac, void* reply, void* privdata);
  std::vector<RedisUrl::Server> ServersToAsk(const RedisUrl& url) override;
  void Queue(redisAsyncContext* ac) override;
  Status Answer(const redisReply* reply, const RedisUrl::Server& asked,
                RedisUrl* node) override;
  Status NoneAnswered(const std::string& errors) override;

  std::vector<RedisUrl::Server> known_;  // from the last map
};

}  // namespace qd
