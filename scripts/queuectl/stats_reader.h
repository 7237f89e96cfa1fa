// StatsReader: the numbers of `queuectl stats` for one site, read from its
// Redis in one pipelined round trip.
//
// Per queue:
//   ready    entries not yet delivered to group "workers": the group's "lag"
//            (XINFO GROUPS, Redis >= 7). Redis reports no lag once XDEL left
//            holes after the group's last delivered id (the daemon XDELs what
//            it acks); then ready = XLEN - pending, which is exact as long as
//            acked entries are deleted, as the wire contract says. Without
//            the group (no worker has read yet) every entry is ready: XLEN.
//   pending  delivered, not acked: the group's PEL size, the count that
//            XPENDING's summary form gives.
//   dead     XLEN of the dead stream.
// Per site: delayed = ZCARD of the site's delayed set (all queues together).
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <map>
#include <string>

#include "core/config.h"
#include "queuedaemon/status.h"
#include "core/redis_conn.h"

namespace qd::ctl {

struct QueueStats {
  int64_t ready = 0;
  int64_t pending = 0;
  int64_t dead = 0;
};

struct SiteStats {
  std::string site;
  std::string server;  // RedisConn::name()
  int64_t delayed = 0;
  std::map<std::string, QueueStats> queues;
};

class StatsReader {
 public:
  // Reads the numbers of every queue of `site`.
  static Status Read(const SiteConfig& site, RedisConn* conn, SiteStats* out);

 private:
  static Status ReadQueue(RedisConn* conn, QueueStats* out);
  static Status Integer(RedisConn* conn, int64_t* out);
  // Fills ready/pending from an XINFO GROUPS reply; false: no such group.
  static bool FromGroups(const redisReply& groups, int64_t xlen,
                         QueueStats* out);
  static const redisReply* Field(const redisReply& map, const char* name);
};

}  // namespace qd::ctl
