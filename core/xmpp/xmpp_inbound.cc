#include "core/xmpp/xmpp_inbound.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "core/queue/queue_keys.h"
#include "core/util/text_quote.h"
#include "core/util/units.h"

namespace qd {
namespace {

using std::chrono::milliseconds;

// How much of a sender's address a log line quotes.
constexpr size_t kMaxQuoted = 200;

}  // namespace

XmppInbound::XmppInbound(event_base* base, const XmppAccount& account,
                         const SiteConfig& site, RedisUrl url,
                         milliseconds reply_timeout,
                         std::function<void(bool)> hold)
    : account_(account),
      key_(QueueKeys::Stream(site.prefix, site.name, account.inbound_queue)),
      hold_(std::move(hold)),
      redis_(std::make_unique<RedisClient>(
          base, std::move(url),
          "site " + site.name + " xmpp " + account.name + " inbound")),
      retry_backoff_(milliseconds(100), milliseconds(5000),
                     milliseconds::max()),
      error_log_(std::chrono::minutes(1)),
      tags_{{"account", account.name},
            {"site", site.name},
            {"queue", account.inbound_queue}} {
  redis_->set_reply_timeout(reply_timeout);
  redis_->set_on_connect([this] { Flush(); });
  retry_timer_ = evtimer_new(base, &XmppInbound::OnRetryTimer, this);
}

XmppInbound::~XmppInbound() {
  stopping_ = true;
  redis_->Stop();  // calls the replies still due, with null: ignored
  event_free(retry_timer_);
  if (!waiting_.empty()) {
    spdlog::error("xmpp {}: {} received messages were never written to {}",
                  account_.name, waiting_.size(), key_);
  }
}

void XmppInbound::Start() { redis_->Start(); }

void XmppInbound::OnStanza(const XmlElement& stanza) {
  if (!stanza.Is("message", kNsClient)) return;
  XmppInboundMessage message;
  switch (XmppInboundMessage::From(stanza, account_, EpochMs(), &message)) {
    case XmppInboundMessage::Verdict::kJob:
      return Add(message);
    case XmppInboundMessage::Verdict::kIgnored:
      ++counters_.ignored;
      return;
    case XmppInboundMessage::Verdict::kNotAllowed:
      return Drop(message.from, "the sender is not in inbound_from");
    case XmppInboundMessage::Verdict::kBadFrom:
      return Drop(message.from, "its from is not a valid JID");
  }
}

// A sender can send as much as it likes: the lines come in bursts at most.
void XmppInbound::Drop(const std::string& from, const char* why) {
  ++counters_.dropped;
  Count("xmpp.inbound.dropped");
  std::string note;
  if (drop_log_.Allow(std::chrono::steady_clock::now(), &note)) {
    spdlog::warn("xmpp {}: message from '{}' dropped: {}{}", account_.name,
                 Quote(from, kMaxQuoted), why, note);
  }
}

void XmppInbound::Add(const XmppInboundMessage& message) {
  Waiting w;
  w.seq = next_seq_++;
  w.argv = {"XADD", key_, "*"};
  w.bytes = 0;
  for (auto& [name, value] : message.Fields()) {
    w.bytes += name.size() + value.size();
    w.argv.push_back(std::move(name));
    w.argv.push_back(std::move(value));
  }
  waiting_bytes_ += w.bytes;
  waiting_.push_back(std::move(w));
  ++counters_.received;
  Count("xmpp.inbound.received");
  Flush();
  UpdateHold();
}

void XmppInbound::Flush() {
  if (stopping_ || evtimer_pending(retry_timer_, nullptr)) return;
  for (Waiting& w : waiting_) {
    if (w.sent) continue;
    std::vector<std::string_view> args(w.argv.begin(), w.argv.end());
    uint64_t seq = w.seq;
    // Not connected: the RedisClient's on-connect hook flushes again.
    if (!redis_->Command(args, [this, seq](redisReply* r) { OnReply(seq, r); }))
      return;
    w.sent = true;
  }
}

void XmppInbound::OnRetryTimer(int, short, void* arg) {
  static_cast<XmppInbound*>(arg)->Flush();
}

// Replies come in order, but a refused XADD is sent again later, so each
// reply names its message.
void XmppInbound::OnReply(uint64_t seq, redisReply* reply) {
  if (stopping_) return;
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [seq](const Waiting& w) { return w.seq == seq; });
  if (it == waiting_.end()) return;
  if (reply != nullptr && reply->type != REDIS_REPLY_ERROR) {
    waiting_bytes_ -= it->bytes;
    waiting_.erase(it);
    ++counters_.written;
    Count("xmpp.inbound.written");
    if (failing_) retry_backoff_.Reset();
    failing_ = false;
    return UpdateHold();
  }
  it->sent = false;
  ++counters_.write_fails;
  failing_ = true;
  // A lost connection: the RedisClient reconnects with its own backoff.
  if (reply == nullptr || evtimer_pending(retry_timer_, nullptr)) return;
  milliseconds delay = retry_backoff_.OnCrash(milliseconds(0));
  std::string error(ReplyString(reply));
  if (error_log_.Allow(error)) {
    spdlog::error(
        "xmpp {}: XADD {}: {}; {} received messages wait, sent "
        "again in {}",
        account_.name, key_, error, waiting_.size(), FormatDuration(delay));
  }
  timeval tv = ToTimeval(delay);
  evtimer_add(retry_timer_, &tv);
}

void XmppInbound::UpdateHold() {
  bool full =
      waiting_.size() >= kMaxWaiting || waiting_bytes_ >= kMaxWaitingBytes;
  bool half = waiting_.size() <= kMaxWaiting / 2 &&
              waiting_bytes_ <= kMaxWaitingBytes / 2;
  auto now = std::chrono::steady_clock::now();
  if (!holding_ && full) {
    holding_ = true;
    ++counters_.holds;
    held_since_ = now;
    // A burst that Redis is still taking is no news; a Redis that is gone
    // or refusing is.
    hold_logged_ = failing_ || !redis_->connected();
    if (hold_logged_) {
      std::string why = redis_->connected() ? "Redis refuses them"
                        : redis_->last_error().empty()
                            ? "no connection to Redis"
                            : "no connection to Redis: " + redis_->last_error();
      spdlog::warn(
          "xmpp {}: {} received messages wait for {} ({}); not "
          "reading more until they are written",
          account_.name, waiting_.size(), key_, why);
    }
    hold_(true);
  } else if (holding_ && half) {
    holding_ = false;
    if (hold_logged_) {
      spdlog::info(
          "xmpp {}: received messages written to {}; reading again "
          "after {}",
          account_.name, key_,
          FormatDuration(
              std::chrono::duration_cast<milliseconds>(now - held_since_)));
    }
    hold_(false);
  }
}

void XmppInbound::Count(const char* name) {
  if (stats_ != nullptr && stats_->enabled()) stats_->Count(name, tags_);
}

}  // namespace qd
