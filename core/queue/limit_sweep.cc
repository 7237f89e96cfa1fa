#include "core/queue/limit_sweep.h"

#include <event2/event.h>

#include <algorithm>

#include "core/queue/limit_scripts.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

constexpr const char* kBuckets = "100";  // per call
constexpr milliseconds kMin(10);
constexpr milliseconds kIdle(1000);

}  // namespace

LimitSweep::LimitSweep(event_base* base, const SiteConfig& site,
                       RedisClient& writer)
    : writer_(writer), call_(site, "sweep") {
  timer_ = evtimer_new(
      base,
      +[](int, short, void* self) { static_cast<LimitSweep*>(self)->Sweep(); },
      this);
}

LimitSweep::~LimitSweep() { event_free(timer_); }

void LimitSweep::Start() { Later(milliseconds(0)); }

void LimitSweep::Stop() {
  stopped_ = true;
  evtimer_del(timer_);
}

void LimitSweep::Later(milliseconds delay) {
  if (stopped_) return;
  timeval later = ToTimeval(delay);
  evtimer_add(timer_, &later);
}

void LimitSweep::Sweep() {
  if (stopped_) return;
  if (!writer_.connected()) return Later(kIdle);
  std::vector<std::string_view> args = call_.Eval(kLimitSweepScript);
  args.push_back(kBuckets);
  if (!writer_.Command(args, [this](redisReply* r) { OnSwept(r); })) {
    Later(kIdle);
  }
}

// {MS, {KEY, REASON, ...}}: MS until the next bucket is due, -1 for none.
void LimitSweep::OnSwept(redisReply* r) {
  milliseconds next = kIdle;
  if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_INTEGER) {
    long long ms = r->element[0]->integer;
    if (ms >= 0) next = std::clamp(milliseconds(ms), kMin, kIdle);
    call_.LogHeld(r->element[1]);
  } else if (r != nullptr) {
    call_.LogError("sweep", r);
  }
  Later(next);
}

}  // namespace qd
