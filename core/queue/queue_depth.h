// QueueDepth: how many jobs of one queue are ready, pending and dead, from
// the replies Redis gives (the numbers of `queuectl stats`, /metrics and the
// queue.* gauges).
//
//   ready    entries not yet delivered to group "workers": the group's "lag"
//            (XINFO GROUPS, Redis >= 7). Redis reports no lag once XDEL left
//            holes after the group's last delivered id (the daemon XDELs what
//            it acks); then ready = XLEN - pending, which is exact as long as
//            acked entries are deleted, as the wire contract says. Without
//            the group (no worker has read yet) every entry is ready: XLEN.
//   pending  delivered, not acked: the group's PEL size, the count that
//            XPENDING's summary form gives.
//   dead     XLEN of the dead stream.
// Per site, delayed = ZCARD of the site's delayed set (all queues together).
// The commands per queue, in this order: XLEN stream, XINFO GROUPS stream,
// XLEN dead stream.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qd {

struct SiteConfig;

struct QueueDepth {
  int64_t ready = 0;
  int64_t pending = 0;
  int64_t dead = 0;
  // Not empty: the stream or the dead stream holds another Redis type
  // ("KEY is not a stream"); the numbers are then not known.
  std::string error;

  // The three commands for queue `name` of `site`.
  static std::vector<std::vector<std::string>> Commands(
      const SiteConfig& site, const std::string& name);
  // Sets ready and pending from the XINFO GROUPS reply (an error reply or a
  // stream without the group: nothing delivered, all `xlen` ready).
  void FromGroups(const redisReply* groups, int64_t xlen);

 private:
  static const redisReply* Field(const redisReply& map, const char* name);
};

}  // namespace qd
