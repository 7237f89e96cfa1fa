// JobCommands: the Redis command that enqueues one job to one site's queue,
// with the field layout of docs/architecture.md's wire contract. queuectl
// (JobWriter) and the HTTP API (ApiActions::Enqueue) both build theirs here,
// so a job looks the same in Redis whoever wrote it.
//
//   now:    XADD PREFIX:{SITE}:q:QUEUE * FIELDS
//   unique: FCALL qd_enqueue 1 PREFIX:{SITE}:q:QUEUE FIELDS unique_key K
//           [unique_for MS]                           (enqueue_library.h)
//   later:  ZADD PREFIX:{SITE}:delayed DUE_MS MEMBER  (DelayedJob, FIELDS)
// FIELDS are: payload P, the caller's extra fields in their order, jid J
// when J is not empty, enqueued_at NOW_MS.
//
// It only builds: the caller sends (queuectl on its blocking connection,
// the API on the master's loop). A returned command is views into this
// object and into the arguments: valid until the next call on this object
// and while the arguments live. Reusing one object for many jobs (bulk
// enqueue) allocates nothing per job beyond the views' vector growing once.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/queue/delayed_job.h"

namespace qd {

class JobCommands {
 public:
  using Fields = DelayedJob::Fields;
  using Command = std::vector<std::string_view>;

  JobCommands(std::string_view prefix, std::string_view site,
              std::string_view queue);

  // REQUIRES (for all three): `extra` holds no payload, enqueued_at,
  // unique_key or unique_for, and no jid when `jid` is not empty.
  const Command& Now(std::string_view payload, const Fields& extra,
                     std::string_view jid, int64_t now_ms);
  // `unique_for_ms` <= 0: the library's default.
  const Command& Unique(std::string_view payload, const Fields& extra,
                        std::string_view jid, int64_t now_ms,
                        std::string_view unique_key, int64_t unique_for_ms);
  // The member must carry a jid (in `extra` or `jid`): without one, two
  // identical jobs would be one sorted-set member and the second ZADD would
  // only move the first. REQUIRES: a jid in `extra` or `jid` not empty.
  const Command& Later(std::string_view payload, const Fields& extra,
                       std::string_view jid, int64_t now_ms, int64_t due_ms);

  // A new jid: 32 hex digits from `rng`.
  static std::string RandomJid(std::mt19937_64* rng);

 private:
  // Appends FIELDS to command_.
  void AddFields(std::string_view payload, const Fields& extra,
                 std::string_view jid);

  std::string queue_;
  std::string stream_key_;
  std::string delayed_key_;
  // What the views of command_ point at besides the keys and arguments.
  std::string now_;
  std::string number_;  // due (later) or unique_for (unique)
  std::string member_;
  Command command_;
};

}  // namespace qd
