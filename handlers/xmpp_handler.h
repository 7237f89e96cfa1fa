// XmppHandler: the built-in `xmpp` queue handler (docs/architecture.md,
// "XMPP").
//
// Payload: {"to": JID, "body": TEXT, "type": "chat"|"normal"} (type
// defaults to chat). The message goes out on the link of the queue's
// `account` (the config loader fills it in with the site's only account),
// which the worker's XmppManager holds in one slot. The job is acked only
// when the server confirmed the message (XmppManager's barrier); while the
// link is down the handler's fetch gate keeps the queue's jobs in Redis,
// and a job already held is retried with the queue's backoff, so no
// message is lost while the server restarts. A payload that is not such an
// object, or whose `to` is not a JID, is dead-lettered with the reason.
//
// Unlike the other built-in handlers it uses core internals (the worker's
// XmppManager, the deferred outcome of JobContextImpl, FetchGate).
#pragma once

#include <memory>
#include <string>

#include "core/queue/fetch_gate.h"
#include "queuedaemon/queue_handler.h"

namespace qd {

class XmppHandler : public QueueHandler, public FetchGate {
 public:
  static std::unique_ptr<QueueHandler> Create(const HandlerConfig& config,
                                              std::string* error);
  explicit XmppHandler(std::string account) : account_(std::move(account)) {}

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
};

}  // namespace qd
