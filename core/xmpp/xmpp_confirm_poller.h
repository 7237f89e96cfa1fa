// XmppConfirmPoller: the confirmation poller, the framework's example of a
// polling IoManager (StartPolling/Poll/PollDone, the IoMaster's backoff).
//
// Applications put address confirmations to send later into the sorted set
// PREFIX:{SITE}:xmpp:confirm: member = the xmpp job's payload
// ({"to": JID, "body": TEXT}), score = when it is due, in ms since the
// epoch. Every `confirm_interval` of the account (sooner while it finds
// work: after a hit the next poll comes at once) one Lua call moves up to
// kBatch due members into the site's xmpp stream, atomically (ZREM and XADD
// in one script: never lost, never doubled, whoever runs it), so polling
// feeds the queue and the xmpp handler sends them. Not-yet-due members stay.
// Equal members collapse in a sorted set: add a nonce to the payload if two
// identical messages must both go out. Runs in the worker that holds the
// account, so one daemon polls each site once.
#pragma once

#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/redis/redis_client.h"
#include "queuedaemon/io_manager.h"

namespace qd {

class XmppConfirmPoller : public IoManager {
 public:
  static constexpr int kBatch = 100;

  // Moves due members of `site`'s confirm set into its `queue` stream.
  // A connection with commands unanswered for `reply_timeout` is dropped
  // and made again (0: never).
  XmppConfirmPoller(const SiteConfig& site, RedisUrl url, std::string queue,
                    std::chrono::milliseconds interval,
                    std::chrono::milliseconds reply_timeout);
  ~XmppConfirmPoller() override;

  void Start() override;
  void Drain() override;
  bool Busy() const override { return in_flight_; }

 private:
  void Poll() override;

  const SiteConfig& site_;
  RedisUrl url_;
  std::string confirm_key_, stream_key_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds reply_timeout_;
  std::unique_ptr<RedisClient> redis_;
  bool in_flight_ = false;
};

}  // namespace qd
