#include "core/xmpp/xmpp_manager.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

namespace qd {
int XmppManager::SlotOf(std::string_view account, int slots) {
  uint32_t h = 2166136261u;
  for (unsigned char c : account) {
    h ^= c;
    h *= 16777619u;
  }
  return slots > 0 ? static_cast<int>(h % static_cast<uint32_t>(slots)) : 0;
}

XmppManager::XmppManager(const Config& config, int slot, int slots)
    : IoManager("xmpp"), config_(config), slot_(slot), slots_(slots) {}

XmppManager::~XmppManager() {
  // Links stop without calling anyone back: jobs still waiting for their
  // barrier stay pending in Redis and the slot's next worker replays them.
  held_.clear();
  if (barrier_timer_ != nullptr) event_free(barrier_timer_);
}

void XmppManager::Start() {
  barrier_timer_ = evtimer_new(base(), &XmppManager::OnBarrierTimer, this);
  for (const auto& [name, account] : config_.xmpp) {
    if (SlotOf(name, slots_) != slot_) continue;
    Held& held = held_[name];
    held.link = std::make_unique<XmppLink>(base(), account);
    if (account.receives()) {
      held.inbound = MakeInbound(account, held.link.get());
    }
    if (held.inbound) {
      XmppInbound* inbound = held.inbound.get();
      held.link->set_on_stanza(
          [inbound](const XmlElement& stanza) { inbound->OnStanza(stanza); });
      inbound->Start();
    }
    held.link->set_on_ready([this, name = name] { Changed(name); });
    held.link->set_on_down([this, &held, name = name](const std::string&) {
      LinkDown(held);
      Changed(name);
    });
    spdlog::info("xmpp {}: held by this worker (slot {} of {})", name, slot_,
                 slots_);
    held.link->Start();
  }
}

std::unique_ptr<XmppInbound> XmppManager::MakeInbound(
    const XmppAccount& account, XmppLink* link) {
  auto site = config_.sites.find(account.inbound_site);
  if (site == config_.sites.end()) return nullptr;  // the loader refuses it
  RedisUrl url;
  if (!config_.RedisOf(site->second).Resolve(&url).ok()) return nullptr;
  auto inbound = std::make_unique<XmppInbound>(
      base(), account, site->second, url, config_.daemon.heartbeat_timeout,
      [link](bool hold) { link->HoldReading(hold); });
  inbound->set_stats(stats_);
  spdlog::info("xmpp {}: received messages go to queue {} of site {}",
               account.name, account.inbound_queue, account.inbound_site);
  return inbound;
}

bool XmppManager::Busy() const {
  if (in_flight_ > 0 || handing_over_ > 0) return true;
  for (const auto& [name, held] : held_) {
    if (held.inbound && held.inbound->waiting() > 0) return true;
  }
  return false;
}

void XmppManager::Drain() {
  for (auto& [name, held] : held_) {
    if (held.inbound && !held.handed_over) HandOver(held);
  }
}

// Unavailable presence: the server routes no more messages here (they wait
// offline for the account's next login). The barrier's answer then means
// that every message it routed here before has been read.
void XmppManager::HandOver(Held& held) {
  held.handed_over = true;
  if (!held.link->Send("<presence type='unavailable'/>")) return;
  ++handing_over_;
  std::string name = held.link->account().name;
  bool sent = held.link->Confirm([this, name](bool answered) {
    --handing_over_;
    if (answered) {
      spdlog::info(
          "xmpp {}: unavailable; new messages wait offline for the "
          "next login",
          name);
    }
  });
  if (!sent) --handing_over_;
}

bool XmppManager::Holds(const std::string& account) const {
  return held_.count(account) != 0;
}

bool XmppManager::Ready(const std::string& account) const {
  auto it = held_.find(account);
  return it != held_.end() && it->second.link->ready();
}

std::string XmppManager::LastError(const std::string& account) const {
  auto it = held_.find(account);
  return it == held_.end() ? std::string() : it->second.link->last_error();
}

void XmppManager::OnChange(ChangeCallback callback) {
  on_change_.push_back(std::move(callback));
}

void XmppManager::Changed(const std::string& account) {
  for (const auto& callback : on_change_) callback(account);
}

XmppManager::SendResult XmppManager::Send(const std::string& account,
                                          std::string_view to,
                                          std::string_view body,
                                          std::string_view type, Done done) {
  auto it = held_.find(account);
  if (it == held_.end()) return SendResult::kNotHere;
  if (!it->second.link->Message(to, body, type)) return SendResult::kDown;
  it->second.unconfirmed.push_back(std::move(done));
  ++in_flight_;
  // One barrier per loop turn covers every message of the run chunk.
  if (!evtimer_pending(barrier_timer_, nullptr)) {
    timeval now = {0, 0};
    evtimer_add(barrier_timer_, &now);
  }
  return SendResult::kSent;
}

void XmppManager::OnBarrierTimer(int, short, void* arg) {
  static_cast<XmppManager*>(arg)->SendBarriers();
}

void XmppManager::SendBarriers() {
  for (auto& [name, held] : held_) {
    if (held.unconfirmed.empty()) continue;
    auto batch = std::make_shared<std::vector<Done>>();
    batch->swap(held.unconfirmed);
    bool sent = held.link->Confirm([this, batch](bool delivered) {
      in_flight_ -= batch->size();
      for (auto& done : *batch) done(delivered);
    });
    if (!sent) {  // went down in between (LinkDown already ran)
      in_flight_ -= batch->size();
      for (auto& done : *batch) done(false);
    }
  }
}

// Messages written but not yet behind a barrier fail with the link (those
// behind one are failed by the link itself).
void XmppManager::LinkDown(Held& held) {
  std::vector<Done> batch;
  batch.swap(held.unconfirmed);
  in_flight_ -= batch.size();
  for (auto& done : batch) done(false);
}

}  // namespace qd
