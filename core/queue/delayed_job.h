// DelayedJob: the member format of PREFIX:{SITE}:delayed (public contract).
//
// A member is a JSON object: "queue" names the target queue, every other key
// becomes a field of the stream entry when the job is due, e.g.
//   ZADD qd:{default}:delayed 1700000030000 '{"queue":"mail","payload":"hi"}'
// Values are strings. A value that is not valid UTF-8 (JSON cannot carry
// raw bytes) is written under NAME_b64 (standard base64) and decoded back
// to field NAME by the promoter: "payload_b64" for the payload. The daemon
// adds a "jid" to what it writes, so that two identical jobs are two
// members.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/base64.h"
#include "queuedaemon/status.h"

namespace qd {

struct DelayedJob {
  using Fields = std::vector<std::pair<std::string, std::string>>;

  std::string queue;
  Fields fields;  // in stream order; "payload" first by convention

  // REQUIRES: fields has no "queue" key.
  static std::string Encode(std::string_view queue, const Fields& fields);
  static Status Decode(std::string_view member, DelayedJob* out);
};

bool IsValidUtf8(std::string_view text);

}  // namespace qd
