// Redis Sentinel: where the master of a Sentinel-monitored group is.
//
// A url with Sentinels (RedisUrl::via_sentinel(), from the config's
// `redis: { sentinel: [...], master: NAME }`) is looked up before every
// connection: the Sentinels are asked in the order given, each with its
// own deadline, `SENTINEL get-master-addr-by-name NAME`; the first address
// one gives is used. Whoever connects then checks with ROLE that the server
// is a master (RoleIsMaster): a Sentinel that has not yet seen a failover
// names the old master, which may be back as a replica. So a failover is
// followed without subscribing to the Sentinels' +switch-master: the old
// master's connections break (or its writes fail with READONLY, which
// RedisClient takes as a lost connection), the reconnect asks again, and
// the answer changes once the Sentinels have promoted a replica.
//
// The Sentinels are asked without AUTH (a Sentinel with requirepass is not
// supported yet). Two forms: LookupMaster blocks (queuectl, request
// workers, the lease keeper's thread, start-up checks); SentinelLookup runs
// on an event loop (RedisClient).
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <string>
#include <vector>

#include "core/config/redis_url.h"
#include "core/redis/server_lookup.h"
#include "queuedaemon/status.h"

struct event_base;
struct redisAsyncContext;

namespace qd {

// The master of `url`'s Sentinels: a copy of `url` with the master's host
// and port and no Sentinels (it keeps master_name, the db and the
// credentials). `timeout` bounds each Sentinel's connect and reply. The
// error names every Sentinel asked and what it said.
// REQUIRES: url.via_sentinel().
Status LookupMaster(const RedisUrl& url, timeval timeout, RedisUrl* master);

// A reply to `SENTINEL get-master-addr-by-name`: ["host", "port"], or nil
// when that Sentinel does not monitor the name.
Status ParseMasterAddr(const redisReply* reply, std::string* host, int* port);

// A reply to ROLE says "master".
bool RoleIsMaster(const redisReply* reply);

// The lookup on an event loop: one at a time, Start() again for the next.
// The callback gets the master (as LookupMaster) or the error; it may start
// another lookup or destroy this object.
class SentinelLookup : public AskEachServer {
 public:
  SentinelLookup(event_base* base, timeval timeout);

 private:
  std::vector<RedisUrl::Server> ServersToAsk(const RedisUrl& url) override;
  void Queue(redisAsyncContext* ac) override;
  Status Answer(const redisReply* reply, const RedisUrl::Server& asked,
                RedisUrl* master) override;
  Status NoneAnswered(const std::string& errors) override;
};

}  // namespace qd
