#include "core/queue/site_consumer.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "core/plugin/handler_set.h"
#include "core/queue/enqueue_library_loader.h"
#include "core/queue/queue_keys.h"
#include "core/queue/stream_reply.h"
#include "core/queue/unique_lock.h"
#include "core/queue/unique_release_script.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

constexpr const char* kBlockMs = "1000";

}  // namespace

SiteConsumer::SiteConsumer(event_base* base, const SiteConfig& site,
                           const RedisUrl& url, std::string consumer,
                           const HandlerSet& handlers,
                           std::function<void()> wake)
    : site_(site),
      consumer_(std::move(consumer)),
      wake_(std::move(wake)),
      reader_(base, url, "site " + site.name + " reader"),
      writer_(base, url, "site " + site.name + " writer"),
      outcomes_(writer_, site, queues_),
      housekeeping_(
          base, site, writer_, queues_, consumer_,
          [this](std::vector<HeldJob>* claimed) { HoldClaimed(claimed); }),
      wrong_type_(base, site, writer_, queues_, [this] { MaybeFetch(); }),
      limits_(base, site, writer_, queues_, consumer_,
              {[this](HeldJob job) { HoldGranted(std::move(job)); },
               [this] { return !draining_ && !paused_; },
               [this] { AfterChunk(); }}),
      poll_backoff_(site.poll_interval,
                    std::min(site.poll_interval, milliseconds(1000))) {
  for (const auto& [name, q] : site.queues) {
    Queue queue;
    queue.name = name;
    queue.key = QueueKeys::Stream(site.prefix, site.name, name);
    queue.dead_key = QueueKeys::Dead(site.prefix, site.name, name);
    queue.unique_locks = QueueKeys::UniqueLocks(site.prefix, site.name, name);
    queue.config = &q;
    queue.handler = handlers.Find(site.name, name);
    queue.tags = {{"site", site.name}, {"queue", name}};
    queue_by_key_[queue.key] = static_cast<int>(queues_.size());
    queues_.push_back(std::move(queue));
    queue_turns_.Add(q.weight);
  }
  fetch_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<SiteConsumer*>(self)->MaybeFetch();
      },
      this);
  writer_.set_on_connect([this] { OnWriterConnected(); });
  reader_.set_on_connect([this] { OnReaderConnected(); });
}

SiteConsumer::~SiteConsumer() {
  draining_ = true;
  reader_.Stop();
  writer_.Stop();
  event_free(fetch_timer_);
}

void SiteConsumer::Start() {
  writer_.Start();
  reader_.Start();
}

// --- start-up: groups and replay -------------------------------------------

void SiteConsumer::OnWriterConnected() {
  EnsureLibrary();
  CreateGroups();
  outcomes_.FlushAcks();
  if (phase_ == Phase::kConnecting) phase_ = Phase::kReplay;
  if (phase_ == Phase::kReplay && !replay_in_flight_) ReplayNext();
  if (phase_ == Phase::kFetch && !draining_) housekeeping_.PromoteNow();
  if (draining_) Requeue();
}

// A reader that connects again may have lost a read in flight: the server
// delivered its entries (they are pending for this consumer) and the reply
// never came (Redis restarted from its AOF, a failover, a hung connection
// dropped). So it replays this consumer's pending entries again before
// fetching, once the jobs it holds have run, instead of leaving them to
// another worker's XAUTOCLAIM after the visibility timeout.
void SiteConsumer::OnReaderConnected() {
  if (phase_ == Phase::kFetch) {
    phase_ = Phase::kReplay;
    reconnect_replay_ = true;
  }
  if (phase_ == Phase::kReplay && !replay_in_flight_) ReplayNext();
  MaybeFetch();
}

// After every connect: a Redis restarted without persistence (or FUNCTION
// FLUSH) lost the library that FCALL qd_enqueue needs. The master said at
// start when the server has no functions at all; a refusal is said once.
void SiteConsumer::EnsureLibrary() {
  EnqueueLibraryLoader::Ensure(&writer_, [this](const auto& outcome) {
    using Result = EnqueueLibraryLoader::Result;
    std::string what = EnqueueLibraryLoader::Describe(outcome);
    if (outcome.result == Result::kLoaded) {
      spdlog::info("site {}: {}", site_.name, what);
    } else if (outcome.result == Result::kFailed && !library_warned_) {
      library_warned_ = true;
      spdlog::warn("site {}: {}", site_.name, what);
    } else {
      spdlog::debug("site {}: {}", site_.name, what);
    }
  });
}

void SiteConsumer::CreateGroups() {
  for (const auto& q : queues_) {
    if (!q.wrong_type.empty()) continue;
    writer_.Command(
        {"XGROUP", "CREATE", q.key, QueueKeys::kGroup, "0", "MKSTREAM"},
        [this, key = q.key](redisReply* r) {
          if (WrongTypeWatch::IsWrongType(r)) {
            wrong_type_.Check([](bool) {});
          } else if (ReplyIsError(r) && r != nullptr &&
                     ReplyString(r).rfind("BUSYGROUP", 0) != 0) {
            spdlog::error("XGROUP CREATE {}: {}", key, ReplyString(r));
          }
        });
  }
}

void SiteConsumer::ReplayNext() {
  // Held jobs are pending too: the "id 0" read would return them again.
  // AfterChunk() comes back here once they ran.
  if (draining_ || !writer_.connected() || ready_count_ > 0 ||
      limits_.held() > 0) {
    return;
  }
  outcomes_
      .FlushAcks();  // the next "id 0" read must not see what we just finished
  replay_in_flight_ = true;
  replay_batch_.clear();
  replay_counts_.clear();
  std::vector<std::string_view> read = {
      "XREADGROUP", "GROUP", QueueKeys::kGroup, consumer_,
      "COUNT",      "1",     "STREAMS"};
  size_t keys = 0;
  for (const auto& q : queues_) {
    if (!q.wrong_type.empty()) continue;  // set aside: nothing to read there
    read.push_back(q.key);
    ++keys;
  }
  if (keys == 0) return FinishReplayRead();
  for (size_t i = 0; i < keys; ++i) read.push_back("0");
  replay_pending_replies_ = 1 + static_cast<int>(keys);
  auto lost = std::make_shared<bool>(false);
  auto wrong_type = std::make_shared<bool>(false);
  auto step = [this, lost, wrong_type] {
    if (--replay_pending_replies_ > 0) return;
    if (*lost) {
      replay_in_flight_ = false;  // read again once reconnected
    } else if (*wrong_type) {
      // Read again without the queues found bad (none found: the key was
      // fixed in between).
      wrong_type_.Check([this](bool) {
        replay_in_flight_ = false;
        ReplayNext();
      });
    } else {
      FinishReplayRead();
    }
  };
  writer_.Command(read, [this, lost, wrong_type, step](redisReply* r) {
    if (r == nullptr) *lost = true;
    *wrong_type = WrongTypeWatch::IsWrongType(r);
    StreamReply::ParseRead(r, queue_by_key_, &replay_batch_);
    step();
  });
  for (const auto& q : queues_) {
    if (!q.wrong_type.empty()) continue;
    writer_.Command(
        {"XPENDING", q.key, QueueKeys::kGroup, "-", "+", "1", consumer_},
        [this, lost, step](redisReply* r) {
          if (r == nullptr) *lost = true;
          std::string id;
          int deliveries;
          if (StreamReply::FirstPending(r, &id, &deliveries)) {
            replay_counts_[id] = deliveries;
          }
          step();
        });
  }
}

void SiteConsumer::FinishReplayRead() {
  replay_in_flight_ = false;
  bool deleted_only = false;
  size_t jobs = 0;
  for (auto& job : replay_batch_) {
    if (job.fields.empty()) {  // deleted while pending: just forget it
      queues_[job.queue].acks.push_back(job.id);
      deleted_only = true;
      continue;
    }
    auto it = replay_counts_.find(job.id);
    if (it != replay_counts_.end()) job.deliveries = it->second;
    // After a reconnect no worker died: the lost read counted a delivery
    // that never ran.
    if (reconnect_replay_ && job.deliveries > 1) --job.deliveries;
    spdlog::info("site {}: replaying {} {} (delivery {})", site_.name,
                 queues_[job.queue].name, job.id, job.deliveries);
    if (stats_ != nullptr)
      stats_->Count("jobs.replayed", queues_[job.queue].tags);
    Hold(std::move(job));
    ++jobs;
  }
  if (jobs > 0) {
    wake_();
  } else if (deleted_only) {
    ReplayNext();
  } else {
    phase_ = Phase::kFetch;
    reconnect_replay_ = false;
    housekeeping_.Start();
    limits_.Start();
    MaybeFetch();
  }
}

// --- fetching ----------------------------------------------------------------

void SiteConsumer::SetPaused(bool paused) {
  if (paused_ == paused) return;
  paused_ = paused;
  housekeeping_.set_paused(paused);
  // Paused: what is held goes back to the stream (a read in flight gives
  // back what it brings when it returns); resumed: fetch again.
  if (paused_ && !read_in_flight_) Requeue();
  if (!paused_) MaybeFetch();
}

// Also the poll timer's: a poll due while the worker holds enough waits
// for a chunk to use it up (AfterChunk), so poll mode holds no more than
// listen mode however large the backlog.
void SiteConsumer::MaybeFetch() {
  if (draining_ || paused_ || phase_ != Phase::kFetch || read_in_flight_ ||
      !reader_.connected() || evtimer_pending(fetch_timer_, nullptr) ||
      limits_.held() >= 2 * FetchPlan::kLowWater ||
      !FetchPlan::Wanted(queues_, ready_count_)) {
    return;
  }
  Fetch();
}

void SiteConsumer::Fetch() {
  reading_ = FetchPlan::For(queues_, site_.mode != "poll");
  // None open: QueueManager::GatesChanged() fetches later.
  if (reading_.queues.empty()) return;
  std::string count = std::to_string(FetchPlan::kBatch);
  std::vector<std::string_view> args = {
      "XREADGROUP", "GROUP", QueueKeys::kGroup, consumer_, "COUNT", count};
  if (reading_.block) {
    args.push_back("BLOCK");
    args.push_back(kBlockMs);
  }
  args.push_back("STREAMS");
  for (int i : reading_.queues) args.push_back(queues_[i].key);
  for (size_t i = 0; i < reading_.queues.size(); ++i) args.push_back(">");
  read_in_flight_ =
      reader_.Command(args, [this](redisReply* r) { OnFetched(r); });
}

void SiteConsumer::set_reply_timeout(milliseconds timeout) {
  milliseconds block(timeout.count() > 0 ? std::atoi(kBlockMs) : 0);
  reader_.set_reply_timeout(timeout + block);
  writer_.set_reply_timeout(timeout);
}

void SiteConsumer::OnFetched(redisReply* r) {
  read_in_flight_ = false;
  if (r == nullptr) {
    if (draining_) Requeue();
    return;  // the reader reconnects and fetches again
  }
  if (WrongTypeWatch::IsWrongType(r)) {
    // Read the other queues at once (none found bad: the key was fixed in
    // between; after the usual pause).
    wrong_type_.Check([this](bool found) {
      if (found) {
        MaybeFetch();
      } else {
        timeval later = ToTimeval(milliseconds(500));
        evtimer_add(fetch_timer_, &later);
      }
    });
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    spdlog::warn("site {}: XREADGROUP: {}", site_.name, ReplyString(r));
    if (ReplyString(r).rfind("NOGROUP", 0) == 0) CreateGroups();
    timeval later = ToTimeval(milliseconds(500));
    evtimer_add(fetch_timer_, &later);
    return;
  }
  std::vector<HeldJob> got;
  StreamReply::ParseRead(r, queue_by_key_, &got);
  reading_.Note(got, &queues_);
  for (auto& job : got) Hold(std::move(job));
  if (draining_ || (paused_ && !got.empty())) {
    Requeue();
    return;
  }
  if (!got.empty()) {
    if (stats_ != nullptr) stats_->Count("fetch.batches", {});
    wake_();
  }
  if (site_.mode == "poll") {
    timeval next = ToTimeval(poll_backoff_.Next(!got.empty()));
    evtimer_add(fetch_timer_, &next);
  } else {
    MaybeFetch();
  }
}

// XAUTOCLAIM can return an entry this worker holds itself: fetched, then
// left in its buffer past the visibility timeout. Fresh reads (">") and the
// replay cannot repeat a held id, so only claims look, by scanning that
// queue's buffer and the jobs its LimitGate holds (claims are rare and at most
// kClaimBatch; a per-job hash set cost the drain ~9%). Deferred jobs are
// confirmed within ping_timeout, which the config keeps below
// visibility_timeout, and the job a handler is running is acked before the loop
// reads a claim's reply.
bool SiteConsumer::Buffered(const HeldJob& job) const {
  const auto& ready = queues_[job.queue].ready;
  return std::any_of(ready.begin(), ready.end(),
                     [&](const HeldJob& h) { return h.id == job.id; }) ||
         limits_.Holds(job);
}

void SiteConsumer::Hold(HeldJob job) {
  const Queue& q = queues_[job.queue];
  int deaths = job.deliveries - 1;
  if (deaths >= q.config->max_attempts) {
    Dead(job, "worker died " + std::to_string(deaths) + " times running it");
    return;
  }
  uint64_t size = 0;
  bool has_payload = false;
  for (const auto& [name, value] : job.fields) {
    size += name.size() + value.size();
    has_payload = has_payload || name == "payload";
  }
  // Every documented producer writes a payload; an entry without one is a
  // mistake (a misspelt field), not a job with an empty payload.
  if (!has_payload) {
    Dead(job, "no \"payload\" field: not run");
    return;
  }
  if (size > q.config->max_payload) {
    Dead(job, "job of " + FormatSize(size) + " exceeds max_payload " +
                  FormatSize(q.config->max_payload) + ": not run");
    return;
  }
  if (limits_.Gated(job)) {
    std::string refusal = limits_.Refusal(job);
    if (!refusal.empty()) return Dead(job, refusal);
    return limits_.Hold(std::move(job));
  }
  queues_[job.queue].ready.push_back(std::move(job));
  ++ready_count_;
}

// A job granted its limit's budget; or, while giving back, any job the
// gate had (it is given back with the rest).
void SiteConsumer::HoldGranted(HeldJob job) {
  queues_[job.queue].ready.push_back(std::move(job));
  ++ready_count_;
  if (draining_ || paused_) {
    if (!read_in_flight_) Requeue();
  } else {
    wake_();
  }
}

bool SiteConsumer::TakeNext(HeldJob* out) {
  if (!HasReady()) return false;
  int turn =
      queue_turns_.Next([&](size_t i) { return !queues_[i].ready.empty(); });
  if (turn < 0) return false;
  Queue& q = queues_[turn];
  *out = std::move(q.ready.front());
  q.ready.pop_front();
  --ready_count_;
  // A stale rate grant is asked for again: the gate took the job back.
  if (!limits_.Take(out)) return TakeNext(out);
  return true;
}

void SiteConsumer::HoldClaimed(std::vector<HeldJob>* claimed) {
  for (auto& job : *claimed) {
    if (Buffered(job)) continue;  // ours already
    spdlog::info("site {}: claimed idle job {} (delivery {})", site_.name,
                 job.id, job.deliveries);
    if (stats_ != nullptr) {
      stats_->Count("jobs.replayed", queues_[job.queue].tags);
    }
    Hold(std::move(job));
  }
  wake_();
}

// --- outcomes ----------------------------------------------------------------

void SiteConsumer::Ack(const HeldJob& job) {
  limits_.Done(job);
  Queue& q = queues_[job.queue];
  q.acks.push_back(job.id);
  UniqueLock lock;
  if (UniqueLock::Of(q, job, &lock)) {
    q.releases.emplace_back(std::move(lock.key), std::move(lock.jid));
  }
}

// Sent and flushed before the handler runs: a handler that blocks the loop
// would otherwise hold the command in the output buffer until it returns.
// If it cannot go (Redis down), the release at the job's end frees the
// lock instead (it frees only a lock that still names this job).
void SiteConsumer::Starting(const HeldJob& job) {
  const Queue& q = queues_[job.queue];
  UniqueLock lock;
  if (q.config->unique_until != "start" || !UniqueLock::Of(q, job, &lock)) {
    return;
  }
  bool sent = writer_.Command(
      {"EVAL", kUniqueReleaseScript, "1", lock.key, lock.jid},
      [this, key = lock.key](redisReply* r) {
        if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
          spdlog::warn("site {}: freeing unique lock {} at start: {}",
                       site_.name, key, ReplyString(r));
        }
      });
  if (sent) writer_.Flush();
}

void SiteConsumer::Retry(const HeldJob& job, const std::string& reason,
                         milliseconds delay) {
  limits_.Done(job);
  outcomes_.Retry(job, reason, delay);
}

void SiteConsumer::Dead(const HeldJob& job, const std::string& reason) {
  limits_.Done(job);
  outcomes_.Dead(job, reason);
}

void SiteConsumer::Send(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  if (!writer_.Command(views, nullptr)) {
    spdlog::error("site {}: redis unavailable, dropped {} {}", site_.name,
                  args[0], args.size() > 1 ? args[1] : "");
  }
}

void SiteConsumer::AfterChunk() {
  outcomes_.FlushAcks();
  limits_.Flush();
  if (phase_ == Phase::kReplay && ready_count_ == 0 && !replay_in_flight_) {
    ReplayNext();
  }
  MaybeFetch();
}

// --- drain -------------------------------------------------------------------

void SiteConsumer::Drain() {
  if (draining_) return;
  draining_ = true;
  evtimer_del(fetch_timer_);
  wrong_type_.Stop();
  housekeeping_.Stop();
  limits_.Stop();
  if (!read_in_flight_) Requeue();
}

void SiteConsumer::Requeue() {
  outcomes_.FlushAcks();
  ready_count_ += limits_.GiveBack();
  if (ready_count_ == 0) return;
  outcomes_.Requeue();
  ready_count_ = 0;
}

bool SiteConsumer::Busy() const {
  return read_in_flight_ || outcomes_.Busy() || limits_.Busy();
}

}  // namespace qd
