// DeadEntry: one entry of a dead stream (PREFIX:{SITE}:dead:QUEUE), copied
// out of a reply.
//
// Besides the job's own fields (payload, jid, attempt, enqueued_at and any
// unknown ones) the daemon adds error, failed_at (ms), attempts,
// origin_queue and origin_id when it dead-letters a job.
#pragma once

#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qd {

struct DeadEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of field `name`, or "" when absent.
  std::string_view Field(std::string_view name) const;
  // True for the fields the daemon adds when it dead-letters a job.
  static bool IsDeadField(std::string_view name);

  // Appends the entries of an XRANGE reply to `out`.
  static void FromRange(const redisReply& reply, std::vector<DeadEntry>* out);
  // {"id": ..., "fields": {...}}; a value that is not UTF-8 is written as
  // NAME_b64 in standard base64, like DelayedJob's payload_b64.
  nlohmann::ordered_json ToJson() const;
};

}  // namespace qd
