// ControlChannel: the master's end of the control channel (docs/control.md;
// the wire format is ControlMessage's).
//
// Subscribes to qd:control on a connection of its own (pub/sub mode) in the
// daemon's Redis, re-subscribing after every reconnect. Each payload is
// opened (signature, when control.secret_file is set), decoded and checked:
// a `req` not seen before and, for signed commands, `ts` within
// ControlCommand::kMaxSkewMs of our clock and after our start, so a
// captured command cannot be replayed (an unsigned one could be forged, so
// its clock is not checked). A command that selects
// this daemon goes to the handler, whose answer is RPUSHed to the
// command's reply_to (expiring after 60 s) on the master's ordinary Redis
// connection. Refused payloads are logged (at most 20 lines per 10 s) and
// not answered: the sender sees "no answer". `control: { enabled: false }`
// unsubscribes. Single-threaded: the master's loop.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/config/config.h"
#include "core/control/control_message.h"
#include "core/redis/redis_client.h"

struct event_base;

namespace qd {

class ControlChannel {
 public:
  // The handler's answer: ok, what was done (or why not), data (ps).
  using Respond =
      std::function<void(bool ok, std::string message, nlohmann::json data)>;
  using Handler = std::function<void(const ControlCommand& cmd, Respond)>;

  // `replies` is the master's connection for the answers.
  ControlChannel(event_base* base, const RedisUrl& url, RedisClient* replies,
                 std::string host, Handler handler);

  // Follows the config: enabled, secret, daemon.id.
  void Apply(const Config& config);

 private:
  void OnPayload(std::string_view payload);
  bool Seen(const std::string& req);
  void Refuse(const std::string& why);

  event_base* base_;
  RedisUrl url_;
  RedisClient* replies_;
  std::string host_;
  std::string id_;
  std::string secret_;
  Handler handler_;
  std::unique_ptr<RedisClient> subscriber_;  // null while disabled
  std::deque<std::string> recent_;           // req ids, oldest first
  std::set<std::string> recent_set_;
  int64_t last_refusal_log_ms_ = 0;
  int refusals_logged_ = 0;
  int64_t started_ms_;  // commands sent before we started are refused
  bool enabled_ = false;
};

}  // namespace qd
