// JobWriter: queuectl's enqueue of one payload after another to one site
// and queue, at once or after a delay: the commands come from JobCommands
// (core/queue/job_commands.h, which the HTTP API uses too), written into
// the caller's RespBuffer.
//
//   now:    XADD PREFIX:{SITE}:q:QUEUE * payload P [jid J] enqueued_at MS
//   later:  ZADD PREFIX:{SITE}:delayed NOW+DELAY <DelayedJob member>
//   unique: FCALL qd_enqueue 1 PREFIX:{SITE}:q:QUEUE payload P [jid J]
//           enqueued_at MS unique_key K [unique_for MS] (enqueue_library.h)
// A delayed member always carries a jid (generated when none is given):
// without one, two identical jobs would be one sorted-set member and the
// second ZADD would only move the first. Not thread-safe (owns a PRNG).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "core/queue/job_commands.h"
#include "core/redis/resp_buffer.h"
#include "core/util/units.h"

namespace qd::ctl {

class JobWriter {
 public:
  // `delay` <= 0 enqueues to the stream at once.
  JobWriter(std::string_view prefix, std::string_view site,
            std::string_view queue, Duration delay);

  bool delayed() const { return delay_.count() > 0; }
  // Appends the command for one job to `out`; returns its jid ("" for a
  // plain enqueue given none: the daemon then uses the stream entry id).
  std::string Add(std::string_view payload, std::string_view jid,
                  int64_t now_ms, RespBuffer* out);

  // Appends the FCALL that enqueues one unique job at once; `unique_for`
  // <= 0: the library's default.
  void AddUnique(std::string_view payload, std::string_view jid,
                 int64_t now_ms, std::string_view unique_key,
                 Duration unique_for, RespBuffer* out);

  static int64_t NowMs();

 private:
  JobCommands commands_;
  Duration delay_;
  std::mt19937_64 rng_;
};

}  // namespace qd::ctl
