// ControlMessage: the commands queuectl sends to every daemon over Redis
// pub/sub, and the replies (docs/architecture.md leaves the channel to us;
// docs/control.md, "On the wire").
//
// A command is PUBLISHed on `qd:control` (in the daemon's Redis, redis.url)
// as JSON:
//   {"v":1,"cmd":"reload","site":"a","host":"web1","id":"generic",
//    "req":"<unique id>","reply_to":"qd:{qd}:control:reply:<req>","ts":<ms>}
// `cmd` is reload | restart | drain | resume | stop | ps; `site` (reload,
// drain, resume) limits it to one site; `host` and `id` select daemons
// ("" or absent = every one). Every daemon that is selected answers by
// RPUSHing a ControlReply (JSON) to `reply_to` (an OwnKeys key, on the
// node of the tag {qd} when the Redis is a Cluster) and setting a 60 s
// expiry on it, so the sender counts answers with BLPOP; daemons not selected
// say nothing. Signing (control.secret_file): the payload is
//   "v1:" HEX(HMAC-SHA256(secret, JSON)) " " JSON
// A daemon with a secret refuses an unsigned payload, a wrong signature,
// and a `ts` more than kMaxSkewMs away from its clock (stale or replayed),
// and logs why; every daemon refuses a `req` it has already seen.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/config/own_keys.h"
#include "queuedaemon/status.h"

namespace qd {

inline constexpr const char* kControlChannel = OwnKeys::kControlChannel;

struct ControlCommand {
  static constexpr int64_t kMaxSkewMs = 30000;

  std::string cmd;
  std::string site;
  std::string host;
  std::string id;
  std::string req;
  std::string reply_to;
  int64_t ts_ms = 0;

  // A new command with a random req, reply_to and the current time.
  static ControlCommand Make(std::string cmd);
  // The JSON text.
  std::string Encode() const;
  // Strict: unknown cmd, missing req/reply_to/ts, wrong types are errors.
  static Status Decode(std::string_view json, ControlCommand* out);
  // Whether the daemon `host`/`id` is selected.
  bool Selects(const std::string& host, const std::string& id) const;
  // The commands that may carry `site`.
  bool TakesSite() const;
};

struct ControlReply {
  std::string req;
  std::string host;
  std::string id;
  int64_t pid = 0;
  bool ok = false;
  std::string message;  // what was done, or why not
  nlohmann::json data;  // ps: the daemon's state; null otherwise

  std::string Encode() const;
  static Status Decode(std::string_view json, ControlReply* out);
};

// The payload to PUBLISH: the JSON itself, or signed when `secret` is set.
std::string SealControl(const std::string& json, const std::string& secret);
// Checks a received payload and extracts its JSON. With an empty `secret`
// signed and unsigned payloads are both accepted (the signature is not
// checked). Errors say why ("unsigned command refused", "bad signature").
Status OpenControl(std::string_view payload, const std::string& secret,
                   std::string* json);

}  // namespace qd
