// StatsReader: the numbers of `queuectl stats` for one site, read from its
// Redis in one pipelined round trip.
//
// The numbers per queue and site are QueueDepth's (core/queue/queue_depth.h).
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <map>
#include <string>

#include "core/config/config.h"
#include "core/queue/queue_depth.h"
#include "core/redis/redis_conn.h"
#include "queuedaemon/status.h"

namespace qd::ctl {

using QueueStats = QueueDepth;

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
  // REQUIRES: the replies of QueueDepth::Commands(site, name) are next.
  static Status ReadQueue(const SiteConfig& site, const std::string& name,
                          RedisConn* conn, QueueStats* out);
  // An integer reply; a WRONGTYPE error sets *wrong_type instead of
  // failing (when wrong_type is not null).
  static Status Integer(RedisConn* conn, int64_t* out,
                        bool* wrong_type = nullptr);
};

}  // namespace qd::ctl
