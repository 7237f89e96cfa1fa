// QueueDepth: how many jobs of one queue are ready, pending and dead, from
// the replies Redis gives (the numbers of `queuectl stats` and `check`,
// /metrics, /status and the queue.* gauges: all of them come through here).
//
//   ready    entries not yet delivered to group "workers". Not XLEN: acked
//            entries stay in the stream until a trim (stream_trim.h), so
//            XLEN counts done jobs too. It is the group's "lag" (XINFO
//            GROUPS, Redis >= 7.0), capped at XLEN - pending (on Redis 7.0
//            the lag keeps counting an undelivered entry someone XDELed
//            once the trim took its tombstone: the cap puts a drained queue
//            back at 0). Redis gives no lag while such a tombstone lies
//            after the group's last-delivered-id; then the entries after
//            that id are counted, at most kCountLimit (ready_exact false:
//            "at least that many"). Without the group (no worker has read
//            yet) every entry is ready: XLEN.
//   pending  delivered, not acked: the group's PEL size, the count that
//            XPENDING's summary form gives.
//   dead     XLEN of the dead stream.
//   oldest_ready_ms  the first undelivered entry's id time (one XRANGE
//            COUNT 1 after the group's last-delivered-id).
// Per site, delayed = ZCARD of the site's delayed set (all queues together).
// The commands per queue, in this order: XLEN stream, the depth script
// (one EVAL_RO, so it runs on a replica too), XLEN dead stream.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qd {

struct SiteConfig;

struct QueueDepth {
  // The most entries the fallback counts (Redis gave no lag).
  static constexpr int64_t kCountLimit = 10000;

  int64_t ready = 0;
  bool ready_exact = true;  // false: ready is kCountLimit, or more
  int64_t pending = 0;
  int64_t dead = 0;
  // The time part of the oldest ready entry's id: when it was added, for
  // ids Redis picked (XADD *); 0 = none ready, or not known (no group).
  int64_t oldest_ready_ms = 0;
  // Not empty: the stream or the dead stream holds another Redis type
  // ("KEY is not a stream"); the numbers are then not known.
  std::string error;

  // The three commands for queue `name` of `site`.
  static std::vector<std::vector<std::string>> Commands(
      const SiteConfig& site, const std::string& name);
  // Sets ready and pending from the depth script's reply (the second
  // command) and the stream's XLEN (the first): an error reply, or a stream
  // without the group, means nothing delivered: all `xlen` ready.
  void FromReply(const redisReply* depth, int64_t xlen);
};

}  // namespace qd
