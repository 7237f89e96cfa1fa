// UnservedScan: one look for the streams under a site's queue keys
// (PREFIX:{SITE}:q:*) that no queue of the site's config serves: jobs
// XADDed to a misspelt queue, or left in a queue the config dropped, that
// no worker will ever read (docs/queues.md, "Streams no queue serves").
//
// By the wire contract (core/queue/queue_keys.h) every key under
// PREFIX:{SITE}:q: is a queue's stream; the delayed set, the dead streams
// (PREFIX:{SITE}:dead:QUEUE) and the other keys of the site live beside it,
// not under it. So a stream there is unserved exactly when the rest of its
// name is not a configured queue. Other Redis types under q: are left out
// (SCAN ... TYPE stream): a configured queue's key of another type is
// reported by the queue's own checks, and anything else is not a job.
//
// Transport-free: Command() is the next SCAN to send and Take() its reply,
// so queuectl drives it on a blocking connection and the master on its
// event loop, within the same bounds: kCount keys per call, kMaxCalls calls
// and kDeadline in all (a server with millions of keys is looked through
// in part, and says so), kMaxStreams streams kept (the /metrics series per
// site). Never KEYS: SCAN does not hold the server up. Not thread-safe.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "queuedaemon/status.h"

namespace qd {

class UnservedScan {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr int kCount = 1000;  // SCAN's COUNT hint
  static constexpr int kMaxCalls = 1000;
  static constexpr std::chrono::seconds kDeadline{10};
  static constexpr size_t kMaxStreams = 100;

  // Copies what it needs of `site`; the deadline runs from `now`.
  UnservedScan(const SiteConfig& site, Clock::time_point now);

  // True when `key` is a stream key of one of `site`'s queues
  // (PREFIX:{SITE}:q:QUEUE, QUEUE not empty) and `site` configures no queue
  // QUEUE; *queue (when not null) gets QUEUE then.
  static bool IsUnserved(const SiteConfig& site, std::string_view key,
                         std::string* queue = nullptr);
  // SCAN's MATCH pattern for `site`'s queue streams, glob characters
  // escaped: "qd:{default}:q:*".
  static std::string Pattern(const SiteConfig& site);

  // The SCAN command to send next. REQUIRES: !done().
  std::vector<std::string> Command() const;
  // Takes the reply to Command() (null: the connection was lost). An
  // error (no reply, an error reply, a reply not shaped as SCAN's) ends
  // the scan and is returned; what was found so far stays in keys().
  Status Take(const redisReply* reply, Clock::time_point now);

  bool done() const { return done_; }
  // Why the scan ended before the end of the keyspace ("stopped after
  // 10s"), "" when it reached the end (or failed: see Take()).
  const std::string& cut_short() const { return cut_short_; }
  // The unserved streams found, by key; at most kMaxStreams.
  const std::set<std::string>& keys() const { return keys_; }
  // More unserved streams were found than keys() holds.
  bool more() const { return more_; }
  // The queue name of one of keys(): the part after PREFIX:{SITE}:q:.
  std::string QueueOf(const std::string& key) const;

 private:
  bool Unserved(std::string_view key) const;

  std::string stream_prefix_;  // PREFIX:{SITE}:q:
  std::string pattern_;
  std::set<std::string> queues_;  // configured
  Clock::time_point deadline_;
  std::string cursor_ = "0";
  int calls_ = 0;
  bool done_ = false;
  std::string cut_short_;
  std::set<std::string> keys_;
  bool more_ = false;
};

}  // namespace qd
