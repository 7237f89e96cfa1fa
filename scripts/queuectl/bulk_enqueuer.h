// BulkEnqueuer: `enqueue --bulk`: one job per input line, pipelined over one
// connection.
//
// Lines are cut at "\n" (the "\n" is not part of the payload; a "\r" before
// it is); empty lines are skipped. Jobs go out in batches of kBatch
// commands written at once, and the replies of a batch are read only after
// the next batch was sent, so redis-server works on one batch while this
// process reads the previous replies and formats the next lines. Error
// replies (e.g. WRONGTYPE) do not stop the run: they are counted and the
// first one is reported at the end. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/redis/redis_conn.h"
#include "core/redis/resp_buffer.h"
#include "queuedaemon/status.h"
#include "scripts/queuectl/job_writer.h"

namespace qd::ctl {

class BulkEnqueuer {
 public:
  static constexpr size_t kBatch = 1000;

  // Both must outlive this object.
  BulkEnqueuer(RedisConn* conn, JobWriter* writer)
      : conn_(conn), writer_(writer) {}

  // Reads `in` to its end. Ok when every job was acknowledged.
  Status Run(FILE* in);
  // Jobs the server acknowledged.
  uint64_t enqueued() const { return enqueued_; }

 private:
  // Sends the batch being built, then reads the replies of the one before.
  Status Send();
  Status Collect(size_t replies);

  RedisConn* conn_;
  JobWriter* writer_;
  RespBuffer batch_;
  size_t in_flight_ = 0;  // commands sent whose replies are not read yet
  uint64_t enqueued_ = 0;
  uint64_t failed_ = 0;
  std::string first_error_;
};

}  // namespace qd::ctl
