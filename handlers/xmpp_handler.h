// XmppHandler: the built-in `xmpp` queue handler (docs/architecture.md,
// "XMPP").
//
// Payload: {"to": JID, "body": TEXT, "type": "chat"|"normal"} (type
// defaults to chat). The message goes out on the link of the queue's
// `account` (the config loader fills it in with the site's only account),
// which one worker slot holds (HandlerConfig::xmpp, the worker's
// XmppSender). The job's outcome is deferred (JobContext::Defer) until the
// server confirmed the message; while the link is down the handler's fetch
// gate (FetchOpen) keeps the queue's jobs in Redis, and a job already held
// is retried with the queue's backoff, so no message is lost while the
// server restarts. A payload that is not such an object, or whose `to` is
// not a JID, is dead-lettered with the reason.
//
// Like any plugin's handler it uses the public API only. Immutable after
// creation but for the sender it points to.
#pragma once

#include <memory>
#include <string>

#include "queuedaemon/queue_handler.h"
#include "queuedaemon/xmpp_sender.h"

namespace qd {

class XmppHandler : public QueueHandler {
 public:
  static std::unique_ptr<QueueHandler> Create(const HandlerConfig& config,
                                              std::string* error);
  // `xmpp` may be null (a hand-made config): then no account is held here.
  XmppHandler(std::string account, XmppSender* xmpp)
      : account_(std::move(account)), xmpp_(xmpp) {}

  JobResult handle(const Job& job, JobContext& ctx) override;
  // Open only in the worker that holds the account, while its link is ready.
  bool FetchOpen() const override;

  struct Message {
    std::string to, body, type;
  };
  // Parses a payload; on error returns false and says why in *error.
  static bool ParsePayload(std::string_view payload, Message* out,
                           std::string* error);

 private:
  std::string account_;
  XmppSender* xmpp_;
};

}  // namespace qd
