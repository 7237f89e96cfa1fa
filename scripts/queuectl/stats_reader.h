// StatsReader: the numbers of `queuectl stats` for one site, read from its
// Redis in one pipelined round trip.
//
// The numbers per queue and site are QueueDepth's (core/queue/queue_depth.h).
// Then the streams under the site's queue keys that no configured queue
// serves (UnservedScan, core/queue/unserved_scan.h) and their lengths, and
// what each of the site's limits holds (LimitUsage,
// core/queue/limit_usage.h).
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/queue/limit_usage.h"
#include "core/queue/queue_depth.h"
#include "core/redis/redis_conn.h"
#include "queuedaemon/status.h"

namespace qd::ctl {

using QueueStats = QueueDepth;

// A stream under the site's queue keys that no configured queue serves.
struct UnservedStats {
  std::string key;    // PREFIX:{SITE}:q:NAME, as Redis has it (any bytes)
  std::string queue;  // NAME
  int64_t length = 0;
};

struct SiteStats {
  std::string site;
  std::string server;  // RedisConn::name()
  int64_t delayed = 0;
  std::map<std::string, QueueStats> queues;
  std::vector<UnservedStats> unserved;  // by key, at most kMaxStreams
  bool unserved_more = false;           // more than those were found
  std::string unserved_cut_short;       // why the look ended early, or ""
  // Not empty: the look for unserved streams failed (the rest is read).
  std::string unserved_error;
  std::vector<LimitUsage> limits;  // by name
};

class StatsReader {
 public:
  // Reads the numbers of every queue of `site`, then its unserved
  // streams.
  static Status Read(const SiteConfig& site, RedisConn* conn, SiteStats* out);

 private:
  // The unserved streams of `site` and their XLEN (a stream gone since the
  // SCAN counts 0).
  static Status ReadUnserved(const SiteConfig& site, RedisConn* conn,
                             SiteStats* out);
  static Status ReadLimits(const SiteConfig& site, RedisConn* conn,
                           SiteStats* out);
  // REQUIRES: the replies of QueueDepth::Commands(site, name) are next.
  static Status ReadQueue(const SiteConfig& site, const std::string& name,
                          RedisConn* conn, QueueStats* out);
  // An integer reply; a WRONGTYPE error sets *wrong_type instead of
  // failing (when wrong_type is not null).
  static Status Integer(RedisConn* conn, int64_t* out,
                        bool* wrong_type = nullptr);
};

}  // namespace qd::ctl
