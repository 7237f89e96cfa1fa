#include "core/xmpp/xmpp_keepalive.h"

#include <event2/event.h>

#include <algorithm>

#include "core/util/units.h"
#include "core/util/xml_builder.h"
#include "core/xmpp/xmpp_stream.h"

namespace qd {
namespace {

using std::chrono::milliseconds;

template <void (XmppKeepalive::*Method)()>
void TimerThunk(evutil_socket_t, short, void* arg) {
  (static_cast<XmppKeepalive*>(arg)->*Method)();
}

void ArmTimer(event* timer, milliseconds delay) {
  timeval tv = ToTimeval(delay);
  evtimer_add(timer, &tv);
}

}  // namespace

XmppKeepalive::XmppKeepalive(event_base* base, const XmppAccount& account,
                             XmppLinkCounters* counters, Hooks hooks)
    : account_(account), counters_(counters), hooks_(std::move(hooks)) {
  ping_timer_ =
      evtimer_new(base, &TimerThunk<&XmppKeepalive::OnPingTimer>, this);
  pong_timer_ =
      evtimer_new(base, &TimerThunk<&XmppKeepalive::OnPongTimeout>, this);
  whitespace_timer_ =
      evtimer_new(base, &TimerThunk<&XmppKeepalive::OnWhitespaceTimer>, this);
}

XmppKeepalive::~XmppKeepalive() {
  for (event* e : {ping_timer_, pong_timer_, whitespace_timer_}) {
    event_free(e);
  }
}

void XmppKeepalive::Start() {
  running_ = true;
  ArmTimer(ping_timer_, account_.ping_interval);
  ArmTimer(whitespace_timer_, account_.whitespace_interval);
}

void XmppKeepalive::Stop() {
  running_ = held_ = false;
  for (event* e : {ping_timer_, pong_timer_, whitespace_timer_}) {
    evtimer_del(e);
  }
  pings_.clear();
}

void XmppKeepalive::Wrote() { last_write_ = Clock::now(); }

// The answers to the pings in flight wait unread in the socket while held:
// on resume they get a whole ping_timeout from now, not from when sent.
void XmppKeepalive::Hold(bool held) {
  held_ = held;
  if (held) {
    evtimer_del(pong_timer_);
  } else if (running_ && !pings_.empty()) {
    auto now = Clock::now();
    for (auto& ping : pings_) ping.sent = now;
    ArmTimer(pong_timer_, account_.ping_timeout);
  }
}

void XmppKeepalive::Confirm(std::function<void(bool)> done) {
  SendPing(std::move(done));
}

std::vector<std::function<void(bool)>> XmppKeepalive::TakeBarriers() {
  std::deque<PendingPing> unanswered;
  unanswered.swap(pings_);
  std::vector<std::function<void(bool)>> out;
  for (auto& ping : unanswered) {
    if (ping.done) out.push_back(std::move(ping.done));
  }
  return out;
}

void XmppKeepalive::OnPingTimer() {
  if (!running_) return;
  ArmTimer(ping_timer_, account_.ping_interval);
  // One on its way already, or held: no answer could come.
  if (pings_.empty() && !held_) SendPing(nullptr);
}

void XmppKeepalive::SendPing(std::function<void(bool)> done) {
  std::string id = hooks_.next_id("ping");
  hooks_.write(XmlBuilder("iq")
                   .Attr("type", "get")
                   .Attr("id", id)
                   .Attr("to", account_.jid.domain)
                   .Child(XmlBuilder("ping").Attr("xmlns", kNsPing))
                   .Str());
  ++counters_->pings_sent;
  if (pings_.empty() && !held_) ArmTimer(pong_timer_, account_.ping_timeout);
  pings_.push_back({std::move(id), Clock::now(), std::move(done)});
}

// Any answer (result or error) proves the server read the stream up to the
// ping. The timer moves on to the next oldest ping still unanswered.
void XmppKeepalive::OnAnswer(const std::string& id) {
  auto it = std::find_if(pings_.begin(), pings_.end(),
                         [&](const PendingPing& p) { return p.id == id; });
  if (it == pings_.end()) return;
  ++counters_->pongs_received;
  auto done = std::move(it->done);
  pings_.erase(it);
  if (pings_.empty() || held_) {
    evtimer_del(pong_timer_);
  } else {
    auto left = std::chrono::duration_cast<milliseconds>(
        pings_.front().sent + account_.ping_timeout - Clock::now());
    ArmTimer(pong_timer_, std::max(left, milliseconds(0)));
  }
  if (done) done(true);
}

void XmppKeepalive::OnPongTimeout() {
  hooks_.dead("no answer to a ping within " +
              FormatDuration(account_.ping_timeout) + ": dead link");
}

void XmppKeepalive::OnWhitespaceTimer() {
  if (!running_) return;
  auto idle =
      std::chrono::duration_cast<milliseconds>(Clock::now() - last_write_);
  milliseconds left = account_.whitespace_interval - idle;
  if (left <= milliseconds(0)) {
    hooks_.write(" ");
    ++counters_->whitespace_sent;
    left = account_.whitespace_interval;
  }
  ArmTimer(whitespace_timer_, left);
}

}  // namespace qd
