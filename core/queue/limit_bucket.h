// LimitBucket: one worker's side of one bucket of a limit (the limit, or
// the limit and a job's limit_key, docs/limits.md): the jobs it holds for
// it in order, and the concurrency slots Redis counts for the worker and
// what uses them. LimitGate owns the buckets and makes the Redis calls;
// the decisions that need no call are here. Plain data, loop thread only
// (LimitGate::Leases reads it while a handler blocks the loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "core/config/config.h"
#include "core/queue/site_queue.h"

namespace qd {

struct LimitBucket {
  // A slot idle this long with no job for it goes back to Redis; a worker
  // that keeps slots says so at least this often.
  static constexpr int64_t kIdleMs = 10;

  std::string id;  // NAME or NAME:KEY
  const LimitConfig* limit = nullptr;
  std::deque<HeldJob> jobs;  // held here, in order; the first `asking`
  size_t asking = 0;         // are in the acquire in flight
  int held = 0;              // concurrency slots Redis counts for this worker
  int busy = 0;              // of those, taken by granted jobs not done yet
  int ready = 0;             // granted jobs in a ready buffer, not taken yet
  // Jobs wait in Redis for this bucket, as far as the worker knows (its
  // own were parked, or a hold reply said so): its jobs go to Redis, each
  // with its member, to queue behind them, and its idle slots go back.
  // Cleared by a grant, or a hold reply that says none wait.
  bool waiters = false;
  bool tell = false;    // `held` changed without Redis knowing
  int64_t told_ms = 0;  // when Redis was last told `held`
  int64_t idle_ms = 0;  // since when a slot is idle with no job here

  bool concurrency_only() const { return limit->rate == 0; }
  // Jobs not in the acquire in flight.
  size_t waiting() const { return jobs.size() - asking; }
  // The next job may take an idle slot the worker holds, with no call: a
  // concurrency limit, nobody waiting in Redis, and no granted job of the
  // bucket still in the ready buffer (a worker runs one job at a time).
  bool GrantsLocally() const {
    return concurrency_only() && !waiters && ready == 0 && busy < held &&
           waiting() > 0 && !NextReserved();
  }
  // The next job came back from the wait list (field `limit_waited`, set
  // by the script that moved it) with a slot reserved for it in Redis:
  // only an acquire takes that slot over; run on an idle slot of the
  // worker's, it would leave the reservation held until its lease ends.
  bool NextReserved() const {
    return waiting() > 0 && !jobs[asking].Field("limit_waited").empty();
  }
  // How many of its jobs to ask Redis for, with `room` left in the call:
  // under a concurrency limit one slot the worker lacks (when the next
  // job's turn comes and none is idle), or every job while others wait
  // (each is then parked); a rate's jobs ask ahead unless `rate_full`.
  size_t AskCount(size_t room, bool rate_full) const {
    if (waiting() == 0 || room == 0) return 0;
    if (concurrency_only() && !waiters) {
      return ready == 0 && (busy >= held || NextReserved()) ? 1 : 0;
    }
    if (!concurrency_only() && rate_full) return 0;
    return waiting() < room ? waiting() : room;
  }
  // Holds an idle slot and no job to use it.
  bool Idle() const { return jobs.empty() && busy < held; }
  // The slots to keep now: the idle ones go back while others wait, once
  // idle for kIdleMs, or at once with `now_all` (a job of something else
  // is about to run, and might run long).
  int Keep(int64_t now, bool now_all) const {
    bool idle = Idle() && idle_ms != 0;
    if (waiters || (idle && (now_all || now - idle_ms >= kIdleMs))) {
      return busy;
    }
    return held;
  }
  // Nothing held, asked for or to tell: the gate may drop it.
  bool Removable() const {
    return jobs.empty() && held == 0 && busy == 0 && ready == 0 &&
           asking == 0 && !tell;
  }
};

}  // namespace qd
