#include "core/queue/limit_gate.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/queue/delayed_job.h"
#include "core/queue/limit_scripts.h"
#include "core/queue/queue_keys.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

// Jobs per acquire call, and rate-granted jobs kept ready before asking
// for more: two calls' worth, so that the next grants are asked for while
// the last ones run.
constexpr size_t kBatch = 64;
constexpr size_t kAhead = 2 * kBatch;
// Wait-list members per acquire call (the first job always goes).
constexpr size_t kMaxMemberBytes = 8 << 20;
// After a failed call (Redis unreachable, an error reply).
constexpr milliseconds kRetry(500);

std::string_view FieldOf(const HeldJob::Fields& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.first == name) return f.second;
  }
  return {};
}

}  // namespace

LimitGate::LimitGate(event_base* base, const SiteConfig& site,
                     RedisClient& writer, std::vector<SiteQueue>& queues,
                     const std::string& holder, Hooks hooks)
    : writer_(writer),
      queues_(queues),
      hooks_(std::move(hooks)),
      call_(site, holder),
      sweep_(base, site, writer) {
  // The consumer numbers its queues in the order of site.queues.
  bool any = false;
  for (const auto& [name, q] : site.queues) {
    auto it = q.limit.empty() ? site.limits.end() : site.limits.find(q.limit);
    limit_of_.push_back(it == site.limits.end() ? nullptr : &it->second);
    any = any || limit_of_.back() != nullptr;
  }
  if (!any) limit_of_.clear();
  ask_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) { static_cast<LimitGate*>(self)->Ask(); },
      this);
  hold_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<LimitGate*>(self)->SendHolds();
      },
      this);
}

LimitGate::~LimitGate() {
  event_free(ask_timer_);
  event_free(hold_timer_);
}

std::string LimitGate::BucketId(const HeldJob& job) const {
  std::string id = limit_of_[job.queue]->name;
  std::string_view key = FieldOf(job.fields, "limit_key");
  if (!key.empty()) {
    id += ':';
    id += key;
  }
  return id;
}

LimitGate::Bucket& LimitGate::BucketOf(const HeldJob& job) {
  std::string id = BucketId(job);
  auto it = buckets_.find(id);
  if (it == buckets_.end()) {
    it = buckets_.emplace(id, Bucket()).first;
    it->second.id = id;
    it->second.limit = limit_of_[job.queue];
  }
  return it->second;
}

std::string LimitGate::Refusal(const HeldJob& job) const {
  size_t size = FieldOf(job.fields, "limit_key").size();
  if (size <= kMaxKey) return "";
  return "limit_key of " + std::to_string(size) + " bytes is longer than " +
         std::to_string(kMaxKey) + ": not run";
}

void LimitGate::Later(event* timer, milliseconds delay) {
  timeval later = ToTimeval(delay);
  evtimer_add(timer, &later);
}

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
    asked.push_back({id, n, std::max(0, b.held - b.busy)});
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
        if (FieldOf(fields, "jid").empty()) fields.emplace_back("jid", job.id);
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

// --- running and finishing --------------------------------------------------

bool LimitGate::Take(HeldJob* job) {
  if (idle_) {  // before a job that might run long: idle slots go back
    SendHolds(/*now=*/true);
    writer_.Flush();
  }
  if (!Gated(*job) || job->granted_ms == 0) return true;
  const LimitConfig* limit = limit_of_[job->queue];
  Bucket* b = nullptr;
  if (limit->concurrency > 0) {
    b = &BucketOf(*job);
    if (b->ready > 0) --b->ready;
  }
  if (limit->rate == 0) return true;
  if (granted_ready_ > 0) --granted_ready_;
  // A grant that Redis may have dropped (or cannot be confirmed now) is
  // asked for again: a start is never left uncounted.
  if (!writer_.connected() ||
      MonotonicMs() - job->granted_ms > LimitCall::kPendLeaseMs / 2) {
    if (b == nullptr) b = &BucketOf(*job);
    if (limit->concurrency > 0 && b->busy > 0) --b->busy;  // the slot idles
    job->granted_ms = 0;
    b->jobs.insert(b->jobs.begin() + static_cast<long>(b->asking),
                   std::move(*job));
    ++held_;
    ScheduleAsk();
    return false;
  }
  Confirm(*job);
  return true;
}

void LimitGate::Confirm(const HeldJob& job) {
  std::string base = call_.tag() + "limit:" + BucketId(job);
  std::string pend = base + ":pend";
  std::string starts = base + ":starts";
  std::string grant = queues_[job.queue].name + "/" + job.id + "/" +
                      std::to_string(job.deliveries);
  ++confirms_in_flight_;
  writer_.Command({"EVAL", kLimitConfirmScript, "2", pend, starts, grant},
                  [this, lost = OpOf(job, 'c')](redisReply* r) {
                    --confirms_in_flight_;
                    if (r == nullptr) {  // perhaps not counted: again
                      ops_.push_back(lost);
                      Later(hold_timer_, kRetry);
                    } else if (r->type == REDIS_REPLY_ERROR) {
                      call_.LogError("confirm", r);
                    }
                  });
  // Before the handler, which may block the loop, is called.
  writer_.Flush();
}

LimitGate::GrantOp LimitGate::OpOf(const HeldJob& job, char op) const {
  return {BucketId(job), op, job.queue, job.id, std::to_string(job.deliveries)};
}

void LimitGate::Done(const HeldJob& job) {
  if (!Gated(job) || job.granted_ms == 0) return;
  if (limit_of_[job.queue]->concurrency == 0) return;
  Bucket& b = BucketOf(job);
  if (b.busy > 0) --b.busy;
  Pump(b);
  NoteIdle(b);
}

void LimitGate::Flush() {
  for (auto& [id, b] : buckets_) Pump(b);
  SendHolds();
  Ask();
}

// One call says, for every bucket where it matters, how many slots the
// worker keeps: those its jobs use, plus the idle ones while it has more
// jobs of the bucket and nobody waits (LimitBucket::Keep). At least every
// kIdleMs while it keeps any (its lease, and whether jobs wait), at once
// when it gives some back. One call at a time; what changes meanwhile goes with
// the next.
void LimitGate::SendHolds(bool now_all) {
  if (in_flight_) return;
  int64_t now = MonotonicMs();
  std::vector<std::string> listed;
  idle_ = false;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket& b = it->second;
    if (b.limit->concurrency > 0) {
      if (b.Idle() && b.idle_ms == 0) b.idle_ms = now;
      int keep = b.Keep(now, now_all);
      // Kept idle for now: back later, or before a job of something else.
      if (keep == b.held && b.Idle()) idle_ = true;
      if (keep != b.held || b.tell ||
          (b.held > 0 && now - b.told_ms >= Bucket::kIdleMs)) {
        b.held = keep;
        listed.push_back(it->first);
      }
      if (!b.Idle()) b.idle_ms = 0;
    }
    bool listed_now = !listed.empty() && listed.back() == it->first;
    it = b.Removable() && !listed_now ? buckets_.erase(it) : std::next(it);
  }
  if (idle_ && !evtimer_pending(hold_timer_, nullptr)) {
    Later(hold_timer_, milliseconds(Bucket::kIdleMs));
  }
  if (listed.empty() && ops_.empty()) return;
  if (!writer_.connected()) return Later(hold_timer_, kRetry);
  std::vector<GrantOp> ops = std::move(ops_);
  ops_.clear();
  std::vector<std::string> owned;
  owned.reserve(listed.size() + 2 * ops.size() + 2);
  std::vector<std::string_view> args = call_.Eval(kLimitHoldScript);
  owned.push_back(std::to_string(listed.size()));
  args.push_back(owned.back());
  for (const std::string& id : listed) {
    Bucket& b = buckets_.at(id);
    b.tell = false;
    b.told_ms = now;
    args.push_back(id);
    owned.push_back(std::to_string(b.held));
    args.push_back(owned.back());
  }
  owned.push_back(std::to_string(ops.size()));
  args.push_back(owned.back());
  static const std::string kOps[] = {"x", "c"};
  for (const GrantOp& op : ops) {
    args.push_back(op.bucket);
    args.push_back(op.op == 'x' ? kOps[0] : kOps[1]);
    args.push_back(queues_[op.queue].name);
    args.push_back(op.id);
    args.push_back(op.delivery);
  }
  in_flight_ = writer_.Command(
      args, [this, listed, ops = std::move(ops)](redisReply* r) mutable {
        OnHeld(r, listed, std::move(ops));
      });
  if (!in_flight_) {
    for (const std::string& id : listed) buckets_.at(id).tell = true;
    ops_.insert(ops_.begin(), ops.begin(), ops.end());
    Later(hold_timer_, kRetry);
  }
}

// {WAITING, {KEY, REASON, ...}}: per listed bucket, the jobs waiting in
// Redis: while any wait, the worker gives its idle slots back and asks
// Redis for each of its jobs (which then wait behind them).
void LimitGate::OnHeld(redisReply* r, const std::vector<std::string>& listed,
                       std::vector<GrantOp> ops) {
  in_flight_ = false;
  bool ok = r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == listed.size();
  if (!ok) {
    if (r != nullptr) call_.LogError("hold", r);
    // Lost: said again. Refused: an error is not worth repeating, the
    // slots expire with their lease.
    if (r == nullptr) {
      for (const std::string& id : listed) {
        auto it = buckets_.find(id);
        if (it != buckets_.end()) it->second.tell = true;
      }
      ops_.insert(ops_.begin(), ops.begin(), ops.end());
      Later(hold_timer_, kRetry);
    }
    Later(ask_timer_, kRetry);
    return;
  }
  call_.LogHeld(r->element[1]);
  for (size_t i = 0; i < listed.size(); ++i) {
    auto it = buckets_.find(listed[i]);
    if (it != buckets_.end()) {
      it->second.waiters = r->element[0]->element[i]->integer > 0;
    }
  }
  for (auto& [id, b] : buckets_) Pump(b);
  Continue();
}

// After a reply: what waited for the call in flight goes now.
void LimitGate::Continue() {
  SendHolds();
  Ask();
}

size_t LimitGate::GiveBack() {
  size_t moved = 0;
  for (auto& [id, b] : buckets_) {
    // Those in the acquire in flight are given back when it answers.
    for (size_t i = b.asking; i < b.jobs.size(); ++i) {
      queues_[b.jobs[i].queue].ready.push_back(std::move(b.jobs[i]));
      ++moved;
    }
    b.jobs.erase(b.jobs.begin() + static_cast<long>(b.asking), b.jobs.end());
  }
  held_ -= moved;
  for (auto& q : queues_) {
    for (auto& job : q.ready) {
      if (job.granted_ms == 0) continue;
      Bucket& b = BucketOf(job);
      if (b.limit->concurrency > 0 && b.busy > 0) --b.busy;
      if (b.limit->rate > 0) ops_.push_back(OpOf(job, 'x'));
      job.granted_ms = 0;
    }
  }
  granted_ready_ = 0;
  for (auto& [id, b] : buckets_) {
    b.ready = 0;
    if (b.held != b.busy) {
      b.held = b.busy;
      b.tell = true;
    }
  }
  SendHolds();
  return moved;
}

bool LimitGate::Holds(const HeldJob& job) const {
  for (const auto& [id, b] : buckets_) {
    for (const auto& h : b.jobs) {
      if (h.queue == job.queue && h.id == job.id) return true;
    }
  }
  return false;
}

bool LimitGate::Busy() const {
  if (in_flight_ || confirms_in_flight_ > 0) {
    return true;
  }
  if (!writer_.connected()) return false;
  if (!ops_.empty()) return true;
  for (const auto& [id, b] : buckets_) {
    if (b.tell) return true;
  }
  return false;
}

std::vector<LimitGate::Lease> LimitGate::Leases() const {
  std::vector<Lease> out;
  for (const auto& [id, b] : buckets_) {
    if (b.held == 0) continue;
    int64_t lease = 0;
    for (size_t q = 0; q < limit_of_.size(); ++q) {
      if (limit_of_[q] == b.limit) {
        lease = std::max(lease, queues_[q].config->visibility_timeout.count());
      }
    }
    out.push_back({call_.tag() + "limit:" + id + ":run", lease});
  }
  return out;
}

void LimitGate::Start() {
  if (!limit_of_.empty()) sweep_.Start();
}

void LimitGate::Stop() { sweep_.Stop(); }

}  // namespace qd
