// LimitGate, its first half: holding jobs over their limit and asking
// Redis for their budget (limit_gate.cc has the rest: starting, finishing
// and giving slots back).
#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/queue/delayed_job.h"
#include "core/queue/limit_gate.h"
#include "core/queue/limit_scripts.h"
#include "core/queue/queue_keys.h"
#include "core/util/units.h"

namespace qd {

using std::chrono::milliseconds;

// --- holding and granting ---------------------------------------------------

void LimitGate::Hold(HeldJob job) {
  job.granted_ms = 0;
  Bucket& b = BucketOf(job);
  b.jobs.push_back(std::move(job));
  b.idle_ms = 0;
  ++held_;
  Pump(b);
}

void LimitGate::NoteIdle(Bucket& b) {
  if (!b.Idle()) {
    b.idle_ms = 0;
    return;
  }
  if (b.idle_ms != 0) return;
  b.idle_ms = MonotonicMs();
  idle_ = true;
  // Given back within kIdleMs even if no chunk ends meanwhile.
  if (!evtimer_pending(hold_timer_, nullptr)) {
    Later(hold_timer_, milliseconds(Bucket::kIdleMs));
  }
}

// A job of a concurrency limit takes an idle slot the worker holds, one
// job at a time in the ready buffer: a worker runs one job at a time, so
// it asks for a second slot only while a job of the bucket is still
// running (deferred) when the next one's turn comes.
void LimitGate::Pump(Bucket& b) {
  if (!hooks_.open() || b.waiting() == 0) return;
  if (b.GrantsLocally()) {
    HeldJob job = std::move(b.jobs[b.asking]);
    b.jobs.erase(b.jobs.begin() + static_cast<long>(b.asking));
    --held_;
    job.granted_ms = MonotonicMs();
    ++b.busy;
    ++b.ready;
    hooks_.run(std::move(job));
    return;
  }
  if (b.AskCount(1, granted_ready_ >= kAhead) > 0) ScheduleAsk();
}

// After the current callback: the jobs of one fetch go in one call.
void LimitGate::ScheduleAsk() {
  if (in_flight_ || evtimer_pending(ask_timer_, nullptr)) return;
  timeval now = {0, 0};
  evtimer_add(ask_timer_, &now);
}

void LimitGate::Ask() {
  if (in_flight_ || held_ == 0 || !hooks_.open()) return;
  if (!writer_.connected()) return Later(ask_timer_, kRetry);
  std::vector<Asked> asked;
  size_t total = 0;
  for (auto& [id, b] : buckets_) {
    size_t n = b.AskCount(kBatch - total, granted_ready_ >= kAhead);
    if (n == 0) continue;
    // A reserved job takes over its own slot, not an idle one: the worker
    // then counts one slot more, as Redis does.
    int free = b.NextReserved() ? 0 : std::max(0, b.held - b.busy);
    asked.push_back({id, n, free});
    b.asking = n;
    total += n;
    if (total >= kBatch) break;
  }
  if (asked.empty()) return;
  // Views into `owned` (reserved: it never moves) and into the jobs.
  std::vector<std::string> owned;
  owned.reserve(4 * asked.size() + 2 * total + 1);
  std::vector<std::string_view> args = call_.Eval(kLimitAcquireScript);
  owned.push_back(std::to_string(asked.size()));
  args.push_back(owned.back());
  for (const Asked& a : asked) {
    const Bucket& b = buckets_.at(a.bucket);
    args.push_back(a.bucket);
    owned.push_back(std::to_string(b.held));
    args.push_back(owned.back());
    owned.push_back(std::to_string(a.free));
    args.push_back(owned.back());
  }
  owned.push_back(std::to_string(total));
  args.push_back(owned.back());
  size_t member_bytes = 0;
  for (Asked& a : asked) {
    Bucket& b = buckets_.at(a.bucket);
    for (size_t i = 0; i < a.jobs; ++i) {
      const HeldJob& job = b.jobs[i];
      std::string member;
      if (b.waiters) {
        // As the retry path writes it: the job keeps its id in its new
        // entry.
        HeldJob::Fields fields = job.fields;
        if (job.Field("jid").empty()) fields.emplace_back("jid", job.id);
        if (member_bytes < kMaxMemberBytes) {
          member = DelayedJob::Encode(queues_[job.queue].name, fields);
        }
        member_bytes += member.size();
      }
      args.push_back(a.bucket);
      args.push_back(queues_[job.queue].name);
      args.push_back(job.id);
      owned.push_back(std::to_string(job.deliveries));
      args.push_back(owned.back());
      owned.push_back(std::move(member));
      args.push_back(owned.back());
    }
  }
  int64_t sent = MonotonicMs();
  in_flight_ = writer_.Command(
      args, [this, asked, sent](redisReply* r) { OnAsked(r, asked, sent); });
  if (!in_flight_) {
    for (const Asked& a : asked) buckets_.at(a.bucket).asking = 0;
    Later(ask_timer_, kRetry);
  }
}

// The acquire's reply: {CODES, {KEY, REASON, ...}} (limit_scripts.h).
void LimitGate::OnAsked(redisReply* r, std::vector<Asked> asked,
                        int64_t sent_ms) {
  in_flight_ = false;
  size_t total = 0;
  for (const Asked& a : asked) total += a.jobs;
  const redisReply* codes = nullptr;
  if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_ARRAY &&
      r->element[0]->elements == total) {
    codes = r->element[0];
  }
  if (codes == nullptr) {
    // Lost or refused: the jobs are still pending for this worker; Redis
    // is told again what the worker holds, and the jobs asked for again
    // after a pause.
    if (r != nullptr) call_.LogError("acquire", r);
    for (const Asked& a : asked) {
      Bucket& b = buckets_.at(a.bucket);
      b.asking = 0;
      b.tell = b.limit->concurrency > 0;
    }
    Later(ask_timer_, kRetry);
    Later(hold_timer_, kRetry);
    return;
  }
  call_.LogHeld(r->element[1]);
  bool open = hooks_.open();
  // Bookkeeping first, then the jobs go out: handing one over may give
  // back everything the gate holds (drain, pause), which must find it
  // settled.
  std::vector<HeldJob> out;
  size_t at = 0;
  for (const Asked& a : asked) {
    Bucket& b = buckets_.at(a.bucket);
    std::vector<HeldJob> back;
    int granted = 0;
    for (size_t i = 0; i < a.jobs; ++i, ++at) {
      HeldJob& job = b.jobs[i];
      switch (codes->element[at]->integer) {
        case 1:
          ++granted;
          if (!Granted(b, &job, sent_ms, open)) job.granted_ms = 0;
          out.push_back(std::move(job));
          break;
        case 3:  // must wait: asked again with its member
          b.waiters = true;
          back.push_back(std::move(job));
          break;
        case 0:  // not granted ahead: asked again in its turn
          back.push_back(std::move(job));
          break;
        case 2:  // parked in the wait list; acked, to be trimmed
          b.waiters = true;
          ++queues_[job.queue].untrimmed;
          break;
        default:  // 4: stays pending (logged); 5: no longer pending
          break;
      }
    }
    b.jobs.erase(b.jobs.begin(), b.jobs.begin() + static_cast<long>(a.jobs));
    held_ -= a.jobs - back.size();
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
      b.jobs.push_front(std::move(*it));
    }
    b.asking = 0;
    if (granted > 0) b.waiters = false;
    // The script took the idle slots first, then counted new ones.
    if (b.limit->concurrency > 0) b.held += std::max(0, granted - a.free);
    if (!open) {  // given back with the rest, and the idle slots too
      if (b.limit->concurrency > 0) {
        b.held = b.busy;
        b.tell = true;
      }
      for (auto& job : b.jobs) out.push_back(std::move(job));
      held_ -= b.jobs.size();
      b.jobs.clear();
    }
  }
  for (auto& job : out) hooks_.run(std::move(job));
  hooks_.settled();
  for (auto& [id, b] : buckets_) Pump(b);
  Continue();
}

bool LimitGate::Granted(Bucket& b, HeldJob* job, int64_t sent_ms, bool open) {
  job->granted_ms = sent_ms;
  if (open) {
    if (b.limit->concurrency > 0) {
      ++b.busy;
      ++b.ready;
    }
    if (b.limit->rate > 0) ++granted_ready_;
    return true;
  }
  if (b.limit->concurrency > 0) b.tell = true;  // the slot is idle
  if (b.limit->rate > 0) ops_.push_back(OpOf(*job, 'x'));
  return false;
}

}  // namespace qd
