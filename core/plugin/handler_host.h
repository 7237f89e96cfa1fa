// HandlerHost: what the handlers of one HandlerSet reach in the worker that
// runs them: its XMPP links (handed out as HandlerConfig::xmpp) and its
// queues' fetch-again (HandlerConfig::fetch_again).
//
// Handlers are made in the master, before the fork, and what they reach
// exists only in a worker, after it. So each HandlerSet owns one host, made
// with it, and every factory of the set gets pointers into it; the worker
// attaches its XmppManager and QueueManager after the fork and detaches them
// before they go. Until then (and in the master for good) the host holds no
// XMPP account and fetch-again does nothing. Change callbacks that handlers
// register at creation are kept here and called for every change of the
// attached sender.
//
// Not thread-safe: the master's thread before the fork, the worker's loop
// after it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "queuedaemon/xmpp_sender.h"

namespace qd {

class HandlerHost : public XmppSender {
 public:
  HandlerHost() = default;
  HandlerHost(const HandlerHost&) = delete;
  HandlerHost& operator=(const HandlerHost&) = delete;

  // XmppSender, forwarded to the attached sender; without one nothing is
  // held (Send: kNotHere). OnChange callbacks stay here, for any sender.
  bool Holds(const std::string& account) const override;
  bool Ready(const std::string& account) const override;
  std::string LastError(const std::string& account) const override;
  SendResult Send(const std::string& account, std::string_view to,
                  std::string_view body, std::string_view type,
                  Done done) override;
  void OnChange(ChangeCallback callback) override;

  // From now on the XmppSender calls go to `sender`, and its changes reach
  // the registered callbacks. REQUIRES: `sender` stays alive until
  // Detach(); at most one sender attached at a time.
  void AttachXmpp(XmppSender* sender);
  // What FetchAgain() calls from now on.
  void AttachQueues(std::function<void()> fetch_again);
  // Forgets both (a worker that ends, before its managers go).
  void Detach();

  // What HandlerConfig::fetch_again calls: the attached queues' callback,
  // or nothing.
  void FetchAgain() const;

 private:
  XmppSender* xmpp_ = nullptr;
  std::vector<ChangeCallback> on_change_;
  std::function<void()> fetch_again_;
};

}  // namespace qd
