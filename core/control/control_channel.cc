#include "core/control/control_channel.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "core/util/units.h"

namespace qd {
namespace {
constexpr size_t kRecentReqs = 4096;
constexpr const char* kReplyTtlMs = "60000";
constexpr int kRefusalLogs = 20;
}  // namespace

ControlChannel::ControlChannel(event_base* base, const RedisUrl& url,
                               RedisClient* replies, std::string host,
                               Handler handler)
    : base_(base),
      url_(url),
      replies_(replies),
      host_(std::move(host)),
      handler_(std::move(handler)),
      started_ms_(EpochMs()) {}

void ControlChannel::Apply(const Config& config) {
  id_ = config.daemon.id;
  secret_ = config.control.secret;
  // Turned off by a reload (possibly from inside a control message): the
  // subscription stays and its messages are ignored.
  if (enabled_ && !config.control.enabled) {
    spdlog::info("control channel off (control.enabled: false)");
  }
  enabled_ = config.control.enabled;
  if (!enabled_ || subscriber_) return;
  subscriber_ = std::make_unique<RedisClient>(base_, url_, "control");
  subscriber_->Subscribe(kControlChannel,
                         [this](std::string_view p) { OnPayload(p); });
  subscriber_->Start();
}

void ControlChannel::OnPayload(std::string_view payload) {
  if (!enabled_) return;
  std::string json;
  Status s = OpenControl(payload, secret_, &json);
  ControlCommand cmd;
  if (s.ok()) s = ControlCommand::Decode(json, &cmd);
  if (!s.ok()) return Refuse(s.message());
  if (!cmd.Selects(host_, id_)) return;
  // The clock checks stop a captured signed command from being replayed.
  // An unsigned one can be forged afresh by anyone who may PUBLISH, so its
  // `ts` proves nothing; checking it would only make a host with a skewed
  // clock go unanswered.
  int64_t skew = std::llabs(EpochMs() - cmd.ts_ms);
  if (!secret_.empty() && skew > ControlCommand::kMaxSkewMs) {
    return Refuse("stale command " + cmd.cmd + " (" + cmd.req + "): sent " +
                  FormatDuration(Duration(skew)) +
                  " away from our clock (replayed, or the sender's clock "
                  "is off)");
  }
  if (!secret_.empty() && cmd.ts_ms < started_ms_) {
    return Refuse("command " + cmd.cmd + " (" + cmd.req +
                  ") was sent before this daemon started (replayed?)");
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
  // At most kRefusalLogs lines per 10 s: a flood cannot fill the log.
  int64_t now = EpochMs();
  if (now - last_refusal_log_ms_ >= 10000) {
    last_refusal_log_ms_ = now;
    refusals_logged_ = 0;
  }
  if (++refusals_logged_ > kRefusalLogs) return;
  spdlog::warn("control: refused: {}", why);
}

}  // namespace qd
