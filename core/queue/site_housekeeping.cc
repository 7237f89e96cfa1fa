#include "core/queue/site_housekeeping.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "core/queue/consumer_sweep.h"
#include "core/queue/promoter_script.h"
#include "core/queue/queue_keys.h"
#include "core/queue/stream_reply.h"
#include "core/queue/stream_trim.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

constexpr milliseconds kPromoteEvery(500);
constexpr milliseconds kTrimEvery(1000);
// Every this many trim ticks, every queue is trimmed, acked in or not: what
// another program's group read since, a trim whose reply was lost, what a
// worker acked on another host before it died.
constexpr int kTrimAllEvery = 10;
constexpr const char* kPromoteLimit = "256";
constexpr const char* kClaimBatch = "64";
// A delayed job whose target key cannot take it waits this long before the
// promoter tries it again.
constexpr const char* kPromoteHoldMs = "10000";

}  // namespace

SiteHousekeeping::SiteHousekeeping(event_base* base, const SiteConfig& site,
                                   RedisClient& writer,
                                   std::vector<SiteQueue>& queues,
                                   const std::string& consumer, Claimed claimed)
    : site_(site),
      writer_(writer),
      queues_(queues),
      consumer_(consumer),
      claimed_(std::move(claimed)),
      tag_(QueueKeys::SiteTag(site.prefix, site.name)),
      delayed_key_(QueueKeys::Delayed(site.prefix, site.name)) {
  milliseconds min_visibility(300000);
  for (const auto& [name, q] : site.queues) {
    min_visibility = std::min(min_visibility, q.visibility_timeout);
  }
  claim_every_ =
      std::clamp(min_visibility / 4, milliseconds(100), milliseconds(5000));
  claim_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<SiteHousekeeping*>(self)->ClaimTick();
      },
      this);
  promote_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<SiteHousekeeping*>(self)->PromoteTick();
      },
      this);
  trim_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<SiteHousekeeping*>(self)->TrimTick(false);
      },
      this);
}

SiteHousekeeping::~SiteHousekeeping() {
  event_free(claim_timer_);
  event_free(promote_timer_);
  event_free(trim_timer_);
}

void SiteHousekeeping::Start() {
  if (stopped_) return;
  PromoteNow();
  timeval claim = ToTimeval(claim_every_);
  evtimer_add(claim_timer_, &claim);
  TrimTick(true);
}

void SiteHousekeeping::PromoteNow() {
  if (stopped_) return;
  timeval now = {0, 0};
  evtimer_add(promote_timer_, &now);
}

void SiteHousekeeping::Stop() {
  stopped_ = true;
  evtimer_del(claim_timer_);
  evtimer_del(promote_timer_);
  evtimer_del(trim_timer_);
}

void SiteHousekeeping::ClaimTick() {
  if (stopped_) return;
  timeval next = ToTimeval(claim_every_);
  evtimer_add(claim_timer_, &next);
  if (!writer_.connected() || paused_) return;
  SweepTick();
  for (size_t i = 0; i < queues_.size(); ++i) {
    const SiteQueue& q = queues_[i];
    if (!q.FetchOpen()) continue;
    std::string idle = std::to_string(q.config->visibility_timeout.count());
    writer_.Command({"XAUTOCLAIM", q.key, QueueKeys::kGroup, consumer_, idle,
                     "0-0", "COUNT", kClaimBatch},
                    [this, i](redisReply* r) { OnClaimed(i, r); });
  }
}

// The entries XAUTOCLAIM gave queue `queue`: their delivery counts are
// asked (XPENDING, one each, pipelined); with the last reply they go to
// `claimed_`.
void SiteHousekeeping::OnClaimed(size_t queue, redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 2) return;
  auto claimed = std::make_shared<std::vector<HeldJob>>();
  StreamReply::ParseEntries(static_cast<int>(queue), r->element[1],
                            claimed.get());
  for (size_t k = 0; k < claimed->size(); ++k) {
    const std::string& id = (*claimed)[k].id;
    bool last = k + 1 == claimed->size();
    writer_.Command(
        {"XPENDING", queues_[queue].key, QueueKeys::kGroup, id, id, "1"},
        [this, claimed, k, last](redisReply* p) {
          if (p == nullptr) return;  // lost: claimed again later
          std::string id;
          StreamReply::FirstPending(p, &id, &(*claimed)[k].deliveries);
          if (last) claimed_(claimed.get());
        });
  }
}

// With the claims, now and then: a quarter of the limit, between 1 s and
// 1 min apart.
void SiteHousekeeping::SweepTick() {
  milliseconds limit = site_.consumer_idle_limit;
  auto now = std::chrono::steady_clock::now();
  if (limit.count() == 0 || now < next_sweep_) return;
  next_sweep_ =
      now + std::clamp(limit / 4, milliseconds(1000), milliseconds(60000));
  for (const SiteQueue& q : queues_) {
    if (!q.wrong_type.empty()) continue;  // set aside: no group to sweep
    SweepConsumers(writer_, site_.name, q, consumer_, limit);
  }
}

void SiteHousekeeping::PromoteTick() {
  if (stopped_) return;
  timeval next = ToTimeval(kPromoteEvery);
  evtimer_add(promote_timer_, &next);
  if (!writer_.connected()) return;
  std::string now = std::to_string(EpochMs());
  // The site's queue names: a member naming another queue is refused.
  std::vector<std::string_view> eval = {
      "EVAL", kPromoterScript, "1",  delayed_key_,
      now,    kPromoteLimit,   tag_, kPromoteHoldMs};
  for (const SiteQueue& q : queues_) eval.push_back(q.name);
  writer_.Command(eval, [this](redisReply* r) { OnPromoted(r); });
}

// The promoter's reply: {moved, KEY, REASON, ...}. A key that holds jobs
// back is logged once, then at most once a minute while it still does.
void SiteHousekeeping::OnPromoted(redisReply* r) {
  if (r == nullptr) return;
  if (r->type == REDIS_REPLY_ERROR) {
    spdlog::error("site {}: promoter: {}", site_.name, ReplyString(r));
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 1; i + 1 < r->elements; i += 2) {
    std::string key(ReplyString(r->element[i]));
    if (!log_limiter_.Allow("promote " + key)) continue;
    spdlog::error(
        "site {}: delayed jobs for {} held back ({}): they stay in {} and "
        "are tried again every {} ms",
        site_.name, key, ReplyString(r->element[i + 1]), delayed_key_,
        kPromoteHoldMs);
  }
}

void SiteHousekeeping::TrimTick(bool all) {
  if (stopped_) return;
  timeval next = ToTimeval(kTrimEvery);
  evtimer_add(trim_timer_, &next);
  if (++trim_ticks_ % kTrimAllEvery == 0) all = true;
  for (SiteQueue& q : queues_) {
    if (all || q.untrimmed > 0) TrimStream(writer_, site_.name, q, trim_log_);
  }
}

}  // namespace qd
