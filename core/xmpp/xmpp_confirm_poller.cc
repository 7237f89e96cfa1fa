#include "core/xmpp/xmpp_confirm_poller.h"

#include <spdlog/spdlog.h>

#include "core/queue/queue_keys.h"
#include "core/util/units.h"

namespace qd {
namespace {

// KEYS[1] confirm set, KEYS[2] stream; ARGV[1] now (ms), ARGV[2] limit.
constexpr const char* kMoveDue = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', 'payload', member, 'enqueued_at', ARGV[1])
end
return #due
)lua";

}  // namespace

XmppConfirmPoller::XmppConfirmPoller(const SiteConfig& site, RedisUrl url,
                                     std::string queue,
                                     std::chrono::milliseconds interval,
                                     std::chrono::milliseconds reply_timeout)
    : IoManager("xmpp-confirm " + site.name),
      site_(site),
      url_(std::move(url)),
      confirm_key_(QueueKeys::XmppConfirm(site.prefix, site.name)),
      stream_key_(QueueKeys::Stream(site.prefix, site.name, queue)),
      interval_(interval),
      reply_timeout_(reply_timeout) {}

XmppConfirmPoller::~XmppConfirmPoller() {
  if (redis_) redis_->Stop();
}

void XmppConfirmPoller::Start() {
  redis_ = std::make_unique<RedisClient>(base(), url_,
                                         "site " + site_.name + " confirm");
  redis_->set_reply_timeout(reply_timeout_);
  redis_->Start();
  // The first poll within a second, then the backoff up to the interval.
  StartPolling(interval_, std::min(interval_, std::chrono::milliseconds(1000)));
}

void XmppConfirmPoller::Drain() { StopPolling(); }

void XmppConfirmPoller::Poll() {
  std::string now = std::to_string(EpochMs());
  std::string limit = std::to_string(kBatch);
  in_flight_ = redis_->Command(
      {"EVAL", kMoveDue, "2", confirm_key_, stream_key_, now, limit},
      [this](redisReply* r) {
        in_flight_ = false;
        if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
          spdlog::error("site {}: confirmation poller: {}", site_.name,
                        ReplyString(r));
        }
        int64_t n =
            r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        if (n > 0) {
          spdlog::debug("site {}: {} due confirmations queued", site_.name, n);
        }
        PollDone(n > 0);
      });
  if (!in_flight_) PollDone(false);  // not connected: the backoff retries
}

}  // namespace qd
