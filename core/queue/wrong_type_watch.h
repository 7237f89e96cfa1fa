// WrongTypeWatch: one site's queues whose key another program overwrote
// with another Redis type (a string, say). Such a key fails every
// XREADGROUP that names it, and with it the site's other queues.
//
// Owned by the site's SiteConsumer, which calls Check() whenever a reply is
// a WRONGTYPE error. Check() asks the TYPE of every queue key in service
// and sets the bad queues aside (SiteQueue::wrong_type), so the consumer
// reads the others at once. A set-aside key is checked again with a
// back-off (1 s doubling to 30 s); once it is a stream again, or gone, the
// queue is resumed and its consumer group made again. What it logs about a
// key comes once, then at most once a minute. Uses the consumer's writer
// connection and queue list. Single-threaded: the worker's loop.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/queue/site_queue.h"
#include "core/redis/redis_client.h"
#include "core/util/subject_log_limiter.h"

struct event;
struct event_base;

namespace qd {

class WrongTypeWatch {
 public:
  // `site`, `writer` and `queues` belong to the caller and must outlive
  // this. `resumed` runs once a resumed queue's group is made again.
  WrongTypeWatch(event_base* base, const SiteConfig& site, RedisClient& writer,
                 std::vector<SiteQueue>& queues, std::function<void()> resumed);
  ~WrongTypeWatch();
  WrongTypeWatch(const WrongTypeWatch&) = delete;
  WrongTypeWatch& operator=(const WrongTypeWatch&) = delete;

  // True for a WRONGTYPE error reply.
  static bool IsWrongType(const redisReply* reply);

  // TYPE of every queue in service; those holding another type are set
  // aside. `then(found)` runs with the last reply; `found` tells whether
  // any queue was set aside.
  void Check(std::function<void(bool found)> then);
  // No more rechecks (the consumer drains).
  void Stop() { stopped_ = true; }

 private:
  void SetAside(size_t queue, const std::string& type);
  void Recheck();  // the recheck timer's
  void Resume(size_t queue);
  bool AnyAside() const;

  const SiteConfig& site_;
  RedisClient& writer_;
  std::vector<SiteQueue>& queues_;
  std::function<void()> resumed_;
  bool stopped_ = false;
  event* recheck_timer_ = nullptr;  // while a queue is set aside: every 1 s
  SubjectLogLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace qd
