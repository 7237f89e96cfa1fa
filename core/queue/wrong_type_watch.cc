#include "core/queue/wrong_type_watch.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "core/queue/queue_keys.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

// A set-aside queue's key is checked again after 1 s, then 2, 4 ... 30 s.
constexpr milliseconds kRecheckFirst(1000);
constexpr milliseconds kRecheckMax(30000);

}  // namespace

WrongTypeWatch::WrongTypeWatch(event_base* base, const SiteConfig& site,
                               RedisClient& writer,
                               std::vector<SiteQueue>& queues,
                               std::function<void()> resumed)
    : site_(site),
      writer_(writer),
      queues_(queues),
      resumed_(std::move(resumed)) {
  recheck_timer_ = evtimer_new(
      base,
      +[](int, short, void* self) {
        static_cast<WrongTypeWatch*>(self)->Recheck();
      },
      this);
}

WrongTypeWatch::~WrongTypeWatch() { event_free(recheck_timer_); }

bool WrongTypeWatch::IsWrongType(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_ERROR &&
         ReplyString(r).rfind("WRONGTYPE", 0) == 0;
}

void WrongTypeWatch::Check(std::function<void(bool found)> then) {
  auto left = std::make_shared<int>(1);  // released after the loop
  auto found = std::make_shared<bool>(false);
  auto step = [left, found, then] {
    if (--*left == 0) then(*found);
  };
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!queues_[i].wrong_type.empty()) continue;
    bool sent = writer_.Command(
        {"TYPE", queues_[i].key}, [this, i, found, step](redisReply* r) {
          std::string type(r != nullptr && r->type == REDIS_REPLY_STATUS
                               ? ReplyString(r)
                               : "");
          if (!type.empty() && type != "stream" && type != "none" &&
              queues_[i].wrong_type.empty()) {
            SetAside(i, type);
            *found = true;
          }
          step();
        });
    if (sent) ++*left;
  }
  step();
}

void WrongTypeWatch::SetAside(size_t index, const std::string& type) {
  SiteQueue& q = queues_[index];
  q.wrong_type = type;
  q.recheck_every = kRecheckFirst;
  q.recheck_at = std::chrono::steady_clock::now() + q.recheck_every;
  if (log_limiter_.Allow(q.key)) {
    spdlog::error(
        "site {}: queue {} set aside: key {} holds a {}, not a stream; the "
        "site's other queues go on, this one resumes once the key is a "
        "stream again or deleted",
        site_.name, q.name, q.key, type);
  }
  if (!evtimer_pending(recheck_timer_, nullptr)) {
    timeval second = ToTimeval(milliseconds(1000));
    evtimer_add(recheck_timer_, &second);
  }
}

void WrongTypeWatch::Recheck() {
  if (stopped_ || !AnyAside()) return;
  timeval second = ToTimeval(milliseconds(1000));
  evtimer_add(recheck_timer_, &second);
  auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < queues_.size(); ++i) {
    SiteQueue& q = queues_[i];
    if (q.wrong_type.empty() || now < q.recheck_at || !writer_.connected()) {
      continue;
    }
    q.recheck_every = std::min(q.recheck_every * 2, kRecheckMax);
    q.recheck_at = now + q.recheck_every;
    writer_.Command({"TYPE", q.key}, [this, i](redisReply* r) {
      if (r == nullptr || r->type != REDIS_REPLY_STATUS) return;
      std::string type(ReplyString(r));
      SiteQueue& q = queues_[i];
      if (q.wrong_type.empty()) return;
      if (type == "stream" || type == "none") {
        Resume(i);
      } else if (log_limiter_.Allow(q.key)) {
        spdlog::error("site {}: queue {} still set aside: key {} holds a {}",
                      site_.name, q.name, q.key, type);
      }
    });
  }
}

void WrongTypeWatch::Resume(size_t index) {
  SiteQueue& q = queues_[index];
  q.wrong_type.clear();
  log_limiter_.Forget(q.key);
  spdlog::info("site {}: queue {} resumed: key {} can be read again",
               site_.name, q.name, q.key);
  // Its group went with the old value; made again before the next read.
  writer_.Command(
      {"XGROUP", "CREATE", q.key, QueueKeys::kGroup, "0", "MKSTREAM"},
      [this](redisReply*) { resumed_(); });
}

bool WrongTypeWatch::AnyAside() const {
  return std::any_of(queues_.begin(), queues_.end(),
                     [](const SiteQueue& q) { return !q.wrong_type.empty(); });
}

}  // namespace qd
