#include "core/control_channel.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "core/units.h"

namespace qd {
namespace {
constexpr size_t kRecentReqs = 4096;
constexpr const char* kReplyTtlMs = "60000";
}  // namespace

ControlChannel::ControlChannel(event_base* base, const RedisUrl& url,
                               RedisClient* replies, std::string host,
                               Handler handler)
    : base_(base),
      url_(url),
      replies_(replies),
      host_(std::move(host)),
      handler_(std::move(handler)) {}

void ControlChannel::Apply(const Config& config) {
  id_ = config.daemon.id;
  secret_ = config.control.secret;
  if (!config.control.enabled) {
    if (subscriber_) spdlog::info("control channel off (control.enabled)");
    subscriber_.reset();
    return;
  }
  if (subscriber_) return;
  subscriber_ = std::make_unique<RedisClient>(base_, url_, "control");
  subscriber_->Subscribe(kControlChannel,
                         [this](std::string_view p) { OnPayload(p); });
  subscriber_->Start();
}

void ControlChannel::OnPayload(std::string_view payload) {
  std::string json;
  Status s = OpenControl(payload, secret_, &json);
  ControlCommand cmd;
  if (s.ok()) s = ControlCommand::Decode(json, &cmd);
  if (!s.ok()) return Refuse(s.message());
  if (!cmd.Selects(host_, id_)) return;
  int64_t skew = std::llabs(EpochMs() - cmd.ts_ms);
  if (skew > ControlCommand::kMaxSkewMs) {
    return Refuse("stale command " + cmd.cmd + " (" + cmd.req + "): sent " +
                  FormatDuration(Duration(skew)) + " away from our clock");
  }
  if (Seen(cmd.req)) {
    return Refuse("replayed command " + cmd.cmd + " (" + cmd.req + ")");
  }
  spdlog::info("control: {}{} (request {})", cmd.cmd,
               cmd.site.empty() ? "" : " site " + cmd.site, cmd.req);
  std::string reply_to = cmd.reply_to;
  std::string req = cmd.req;
  handler_(cmd, [this, reply_to, req](bool ok, std::string message,
                                      nlohmann::json data) {
    ControlReply r;
    r.req = req;
    r.host = host_;
    r.id = id_;
    r.pid = getpid();
    r.ok = ok;
    r.message = std::move(message);
    r.data = std::move(data);
    std::string text = r.Encode();
    if (!replies_->Command({"RPUSH", reply_to, text}, [](redisReply*) {}) ||
        !replies_->Command({"PEXPIRE", reply_to, kReplyTtlMs},
                           [](redisReply*) {})) {
      spdlog::warn("control: cannot answer {}: redis unavailable", req);
    }
  });
}

bool ControlChannel::Seen(const std::string& req) {
  if (!recent_set_.insert(req).second) return true;
  recent_.push_back(req);
  if (recent_.size() > kRecentReqs) {
    recent_set_.erase(recent_.front());
    recent_.pop_front();
  }
  return false;
}

void ControlChannel::Refuse(const std::string& why) {
  int64_t now = EpochMs();
  if (now - last_refusal_log_ms_ < 1000) return;
  last_refusal_log_ms_ = now;
  spdlog::warn("control: refused: {}", why);
}

}  // namespace qd
