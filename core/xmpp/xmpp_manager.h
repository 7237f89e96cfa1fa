// XmppManager: the IoManager that keeps a worker's XMPP links
// (docs/architecture.md, "XMPP").
//
// One link per configured account in the whole daemon, not one per worker:
// an account lives in slot SlotOf(name, slots) (a stable hash of its name),
// so the worker that replaces a dead or recycled one in that slot takes the
// account over, and every other worker leaves it alone. The links run on the
// worker's own loop (XmppLink).
//
// Sending: the manager is the worker's XmppSender (queuedaemon/
// xmpp_sender.h), which handlers reach through the HandlerHost the worker
// attaches it to. Send() writes the message to the ready link and collects
// its `done`; after the current loop turn one delivery barrier (a ping,
// XmppLink::Confirm) follows everything written since the last one, and its
// answer calls every collected `done(true)`. A link that fails first calls
// them with false: the handler retries those jobs (at least once: a message
// the server got just before the failure may be sent twice).
//
// Receiving: an account with an `inbound` queue gets an XmppInbound that
// turns the messages its link receives into jobs, and holds the link's
// reading while the site's Redis does not take them. A draining worker
// hands such an account over first: it sends unavailable presence (the
// server then keeps new messages offline for the slot's next worker) and
// a barrier whose answer means every message routed here before it was
// read; it exits once those are written.
//
// Busy() while messages wait for their barrier, received messages wait to
// be written or a hand-over waits for its barrier, so a draining worker
// exits only after the server confirmed what it sent and Redis took what
// it received (or the link failed).
// Not thread-safe: the worker's loop only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/stats/statsd_sink.h"
#include "core/xmpp/xmpp_inbound.h"
#include "core/xmpp/xmpp_link.h"
#include "queuedaemon/io_manager.h"
#include "queuedaemon/xmpp_sender.h"

struct event;

namespace qd {

class XmppManager : public IoManager, public XmppSender {
 public:
  // The slot (0..slots-1) that holds `account`; stable across builds and
  // hosts (FNV-1a of the name).
  static int SlotOf(std::string_view account, int slots);

  // Links the accounts of `config` whose slot is `slot` of `slots`.
  // `config` must outlive the manager.
  XmppManager(const Config& config, int slot, int slots);
  ~XmppManager() override;

  // Where the inbound queues count (may be null). REQUIRES: before Start().
  void set_stats(StatsdSink* stats) { stats_ = stats; }

  void Start() override;
  void Drain() override;
  bool Busy() const override;

  // XmppSender. OnChange callbacks run whenever a link becomes ready or goes
  // down (the queue gates).
  bool Holds(const std::string& account) const override;
  bool Ready(const std::string& account) const override;
  std::string LastError(const std::string& account) const override;
  SendResult Send(const std::string& account, std::string_view to,
                  std::string_view body, std::string_view type,
                  Done done) override;
  void OnChange(ChangeCallback callback) override;

 private:
  struct Held {
    // Before the link, which calls into it, so that it is destroyed after.
    std::unique_ptr<XmppInbound> inbound;  // when the account receives
    std::unique_ptr<XmppLink> link;
    std::vector<Done> unconfirmed;  // written since the last barrier
    bool handed_over = false;       // Drain() sent unavailable presence
  };
  // The account's XmppInbound, or null when its site's Redis is unusable
  // (the queues log why).
  std::unique_ptr<XmppInbound> MakeInbound(const XmppAccount& account,
                                           XmppLink* link);
  void HandOver(Held& held);
  static void OnBarrierTimer(int fd, short what, void* arg);
  void SendBarriers();
  void LinkDown(Held& held);
  void Changed(const std::string& account);

  const Config& config_;
  int slot_, slots_;
  std::map<std::string, Held> held_;
  event* barrier_timer_ = nullptr;
  size_t in_flight_ = 0;     // messages written, not yet confirmed or failed
  size_t handing_over_ = 0;  // hand-over barriers not yet answered
  StatsdSink* stats_ = nullptr;
  std::vector<ChangeCallback> on_change_;
};

}  // namespace qd
