// LimitGate: the concurrency and rate limits (docs/limits.md) of one site's
// queues, as one worker keeps them. The decisions are made in Redis by the
// scripts of limit_scripts.h, which hold the protocol; this class keeps the
// worker's side of it and never waits on a reply.
//
// A fetched job of a queue with a `limit` is held here, per bucket (the
// limit, or the limit and the job's limit_key), not in its queue's ready
// buffer, until it has budget:
//   concurrency  the worker holds slots in Redis, counted for it (the
//                holder is its consumer name). A job takes an idle one at
//                once, with no Redis command; only a job that finds none
//                asks for one more. A slot stays with the worker while it
//                has jobs of the bucket, and goes back once it has none,
//                or once others wait: every flush (after a run chunk) it
//                says how many it keeps, at least every 10 ms, and the
//                reply says whether jobs wait in Redis. An idle slot goes
//                back after 10 ms, or at once when a job of something
//                else is about to run (it might run long).
//   rate         every job asks for a grant; one acquire call at a time
//                asks for up to kBatch jobs while the worker runs others.
//                Take() confirms the grant as the job starts (a small
//                script, flushed before the handler can block the loop);
//                a grant older than half its lease, or with Redis
//                unreachable, is asked for again instead.
// An acquire's reply decides for each job: granted (to the ready buffer
// through Hooks::run), kept (a grant ahead that would take more than half
// the budget: asked again in its turn), or parked (the script moved it to
// the wait list: forgotten here). A job is encoded as a wait-list member
// (DelayedJob) only for a bucket where jobs wait, or when the script
// asked, so a limit that is not reached costs no payload bytes. A sweep on a
// timer (10 ms to 1 s, as the script says the next bucket is due) moves waiters
// back for budget that time frees: a start leaving its window, the lease
// of a worker that died (LimitSweep).
//
// Owned by the site's SiteConsumer, whose writer and queues it uses; the
// consumer hands jobs in (Hold) and takes them back when it gives back
// what it holds (GiveBack: drain, pause). Loop thread only, except
// Leases(), which the LeaseKeeper reads while a handler blocks the loop
// (nothing here changes then).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/queue/limit_bucket.h"
#include "core/queue/limit_call.h"
#include "core/queue/limit_sweep.h"
#include "core/queue/site_queue.h"
#include "core/redis/redis_client.h"

struct event;
struct event_base;

namespace qd {

class LimitGate {
 public:
  struct Hooks {
    std::function<void(HeldJob job)> run;  // granted: to the ready buffer
    // False while the consumer gives back what it holds (drain, pause):
    // then what a reply brings back is handed to `run` without a grant.
    std::function<bool()> open;
    // A reply decided on held jobs: the consumer may fetch or replay.
    std::function<void()> settled;
  };
  // The lease of the slots held in a bucket, for LeaseKeeper: ZADD KEY XX
  // (now + ms) HOLDER.
  struct Lease {
    std::string key;
    int64_t ms;
  };
  // A limit_key longer than this is refused (it is part of Redis keys).
  static constexpr size_t kMaxKey = 256;

  // `site`, `writer` and `queues` belong to the caller and outlive this;
  // `holder` is the worker's consumer name (HOST:ID:SLOT).
  LimitGate(event_base* base, const SiteConfig& site, RedisClient& writer,
            std::vector<SiteQueue>& queues, const std::string& holder,
            Hooks hooks);
  ~LimitGate();
  LimitGate(const LimitGate&) = delete;
  LimitGate& operator=(const LimitGate&) = delete;

  // Whether `job`'s queue has a limit: then Hold() takes it.
  bool Gated(const HeldJob& job) const {
    return !limit_of_.empty() && limit_of_[job.queue] != nullptr;
  }
  // Why a gated job cannot run under its limit ("" = it can).
  std::string Refusal(const HeldJob& job) const;
  // REQUIRES: Gated(job) and Refusal(job) is "".
  void Hold(HeldJob job);
  // `*job` was taken from a ready buffer to run now. False when it may not
  // (its rate grant is stale, or cannot be confirmed): the gate took it
  // back to ask again.
  bool Take(HeldJob* job);
  // `job` ran and its outcome is written (ack, retry, dead).
  void Done(const HeldJob& job);
  // After a run chunk: says what the worker holds, asks for more.
  void Flush();
  // Moves every held job into its queue's ready buffer and gives back the
  // budget of the granted jobs there; returns how many it moved.
  size_t GiveBack();
  // Jobs held here (waiting for budget or in an acquire).
  size_t held() const { return held_; }
  // Whether the entry of `job` is one of them (a scan: for claims only).
  bool Holds(const HeldJob& job) const;
  // Calls in flight, or a release not yet sent while connected.
  bool Busy() const;
  // The sweep: started once the replay is done; stopped for good on drain.
  void Start();
  void Stop();
  // The buckets where this worker holds slots.
  std::vector<Lease> Leases() const;

 private:
  // Jobs per acquire call, and rate-granted jobs kept ready before asking
  // for more: two calls' worth, so that the next grants are asked for while
  // the last ones run.
  static constexpr size_t kBatch = 64;
  static constexpr size_t kAhead = 2 * kBatch;
  // Wait-list members per acquire call (the first job always goes).
  static constexpr size_t kMaxMemberBytes = 8 << 20;
  // After a failed call (Redis unreachable, an error reply).
  static constexpr std::chrono::milliseconds kRetry{500};

  using Bucket = LimitBucket;
  // A rate grant to report: "x" given back unstarted, "c" a confirmation
  // whose reply was lost.
  struct GrantOp {
    std::string bucket;
    char op;
    int queue;
    std::string id;
    std::string delivery;
  };
  // A bucket in the acquire in flight: its jobs at the front of `jobs`.
  struct Asked {
    std::string bucket;
    size_t jobs;
    int free;  // idle slots the call said the worker held
  };

  std::string BucketId(const HeldJob& job) const;
  Bucket& BucketOf(const HeldJob& job);
  // Grants idle slots to the bucket's next jobs; asks Redis for the rest.
  void Pump(Bucket& b);
  void ScheduleAsk();
  void Ask();
  void OnAsked(redisReply* reply, std::vector<Asked> asked, int64_t sent_ms);
  // Counts a granted job in; false when it is being given back (then its
  // budget goes back too).
  bool Granted(Bucket& b, HeldJob* job, int64_t sent_ms, bool open);
  // `now`: give back every idle slot of a bucket with no job, however
  // briefly idle (a job of something else is about to run).
  void SendHolds(bool now = false);
  void Continue();
  // Notes whether the bucket holds an idle slot and no job.
  void NoteIdle(Bucket& b);
  void OnHeld(redisReply* reply, const std::vector<std::string>& listed,
              std::vector<GrantOp> ops);
  void Confirm(const HeldJob& job);
  GrantOp OpOf(const HeldJob& job, char op) const;
  void Later(event* timer, std::chrono::milliseconds delay);

  RedisClient& writer_;
  std::vector<SiteQueue>& queues_;
  Hooks hooks_;
  LimitCall call_;
  LimitSweep sweep_;
  std::vector<const LimitConfig*> limit_of_;  // by queue index; null = none
  std::map<std::string, Bucket> buckets_;     // by id; dropped once empty
  size_t held_ = 0;                           // jobs in the buckets
  size_t granted_ready_ = 0;  // rate-granted jobs in the ready buffers
  // One acquire or hold call at a time: each says what the worker holds,
  // as the replies before it left it.
  bool in_flight_ = false;
  int confirms_in_flight_ = 0;
  bool idle_ = false;            // some bucket may hold an idle slot and no job
  std::vector<GrantOp> ops_;     // to send with the next hold call
  event* ask_timer_ = nullptr;   // asks after the current callback
  event* hold_timer_ = nullptr;  // says what is held, later
};

}  // namespace qd
