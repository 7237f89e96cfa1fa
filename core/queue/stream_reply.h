// StreamReply: turns Redis' stream replies into HeldJobs.
//
// Every shape is checked on the way (an element missing or of the wrong
// type skips that part, never crashes), so the consumer code reads as
// policy and the decoding can be tested, and fuzzed, on its own.
// Pure functions on hiredis replies.
#pragma once

#include <hiredis/hiredis.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/queue/site_queue.h"

namespace qd {

class StreamReply {
 public:
  using QueueIndex = std::unordered_map<std::string, int>;  // key -> queue

  // XREADGROUP: [[key, entries], ...]; streams not in `queues` are skipped.
  static void ParseRead(const redisReply* reply, const QueueIndex& queues,
                        std::vector<HeldJob>* out);
  // An entry list [[id, [field, value, ...]], ...] (XREADGROUP, XAUTOCLAIM)
  // of queue `queue`. An entry deleted while pending comes with no fields.
  static void ParseEntries(int queue, const redisReply* entries,
                           std::vector<HeldJob>* out);
  // XPENDING's extended form: the first row's id and delivery count
  // (clamped to 0..INT_MAX); false when there is no row.
  static bool FirstPending(const redisReply* reply, std::string* id,
                           int* deliveries);
};

}  // namespace qd
