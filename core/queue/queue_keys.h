// QueueKeys: the Redis key names of docs/architecture.md's wire contract, in
// one place.
//
//   PREFIX:{SITE}:q:QUEUE       stream of ready jobs, consumer group "workers"
//   PREFIX:{SITE}:delayed       sorted set of jobs waiting for their time
//                               (score = due time, ms since the epoch)
//   PREFIX:{SITE}:dead:QUEUE    stream of jobs that ran out of attempts
//   PREFIX:{SITE}:unique:QUEUE/KEY  string: the lock of a unique job
//                               (enqueue_library.h), its value the jid
//   PREFIX:{SITE}:periodic      hash: periodic entry name -> the last tick
//                               enqueued (ms since the epoch)
// Every key of a site carries the hash tag {SITE}, so that one call (and
// one Redis Cluster slot) covers all of a site's queues. Site and queue
// names never contain braces (the config loader refuses them).
#pragma once

#include <string>
#include <string_view>

namespace qd {

struct QueueKeys {
  static constexpr const char* kGroup = "workers";

  static std::string SiteTag(std::string_view prefix, std::string_view site) {
    std::string k(prefix);
    k += ":{";
    k += site;
    k += "}:";
    return k;
  }
  static std::string Stream(std::string_view prefix, std::string_view site,
                            std::string_view queue) {
    return SiteTag(prefix, site) + "q:" + std::string(queue);
  }
  static std::string Delayed(std::string_view prefix, std::string_view site) {
    return SiteTag(prefix, site) + "delayed";
  }
  static std::string Dead(std::string_view prefix, std::string_view site,
                          std::string_view queue) {
    return SiteTag(prefix, site) + "dead:" + std::string(queue);
  }
  // The unique locks of a queue: this and the job's unique_key. A queue
  // name never holds '/', so the locks of two queues cannot meet.
  static std::string UniqueLocks(std::string_view prefix, std::string_view site,
                                 std::string_view queue) {
    return SiteTag(prefix, site) + "unique:" + std::string(queue) + "/";
  }
  static std::string Periodic(std::string_view prefix, std::string_view site) {
    return SiteTag(prefix, site) + "periodic";
  }
  // Address confirmations the xmpp poller sends when due (score = ms).
  static std::string XmppConfirm(std::string_view prefix,
                                 std::string_view site) {
    return SiteTag(prefix, site) + "xmpp:confirm";
  }
};

}  // namespace qd
