// ConsumerSweep: forgets the consumers of a queue's group whose workers are
// gone. Every worker that ever read a queue left a consumer (HOST:ID:SLOT)
// in its group: a host taken out of service, a daemon id renamed, slots of
// a daemon that now runs fewer threads. Redis keeps them forever; they
// clutter XINFO and make "who holds what" hard to read.
//
// One script call per queue deletes (XGROUP DELCONSUMER) every consumer
// with nothing pending and idle longer than the site's
// consumer_idle_limit. Deleting a consumer drops its pending entries, so
// the check and the delete must be one atomic step: a consumer that
// fetched between an XINFO and a DELCONSUMER from outside would lose its
// jobs (still in the stream, but pending for nobody: never delivered
// again). Entries of a dead consumer are first taken over by XAUTOCLAIM
// after the visibility timeout; then it has nothing pending and goes too. A
// live worker's consumer may go too: on Redis 7.0 a read that finds nothing
// does not count as activity, so on a queue quiet for longer than the limit
// every consumer is idle. That is harmless: it is created again by the next
// entry delivered to it, as at its first read.
//
//   EVAL <script> 1 STREAM GROUP IDLE_MS KEEP
// returns the names deleted. Run by every worker now and then (harmless
// when several do).
#pragma once

#include <chrono>
#include <string>

namespace qd {

class RedisClient;
struct SiteQueue;

// Sweeps `queue`'s group on `writer`; logs what went, for `site`. `keep`
// (the caller's own consumer) is never deleted.
void SweepConsumers(RedisClient& writer, const std::string& site,
                    const SiteQueue& queue, const std::string& keep,
                    std::chrono::milliseconds idle_limit);

}  // namespace qd
