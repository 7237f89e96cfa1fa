// DeadRetrier: `dead retry`: moves dead entries back to their queue stream.
//
// Each moved entry becomes XADD PREFIX:{SITE}:q:QUEUE * payload P jid J
// attempt 0 enqueued_at NOW plus its unknown fields (the daemon's dead-letter
// fields error, failed_at, attempts, origin_* are dropped). J is the entry's
// jid, else its origin_id (the id the daemon used as jid), else none.
//
// Atomic and never doubled: a batch of up to kBatch entries is read under
// WATCH of the dead stream and moved in one MULTI/EXEC (XADD + XDEL each).
// If the dead stream changed in between (another queuectl, or the daemon
// dead-lettering a job), EXEC does nothing and the batch is read again.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/redis/redis_conn.h"
#include "queuedaemon/status.h"
#include "scripts/queuectl/dead_entry.h"

namespace qd::ctl {

class DeadRetrier {
 public:
  static constexpr size_t kBatch = 100;

  // `conn` must outlive this object.
  DeadRetrier(RedisConn* conn, std::string dead_key, std::string stream_key);

  // Moves the entries with these ids; ids that are not in the dead stream
  // are added to `missing`.
  Status RetryIds(const std::vector<std::string>& ids,
                  std::vector<std::string>* missing);
  // Moves every entry that is in the dead stream now (not those that are
  // dead-lettered while it runs).
  Status RetryAll();
  uint64_t moved() const { return moved_; }

 private:
  using Fetch = std::function<Status(std::vector<DeadEntry>*)>;

  // WATCH, fetch, MULTI/EXEC; again while EXEC is aborted. `*count` is the
  // number of entries moved (0: fetch found none).
  Status Move(const Fetch& fetch, size_t* count);
  Status Transaction(const std::vector<DeadEntry>& entries, bool* done);
  Status FetchIds(const std::vector<std::string>& ids,
                  std::vector<DeadEntry>* out,
                  std::vector<std::string>* missing);
  Status FetchUpTo(const std::string& last_id, std::vector<DeadEntry>* out);
  void AppendXadd(const DeadEntry& entry, const std::string& now);

  RedisConn* conn_;
  std::string dead_key_;
  std::string stream_key_;
  uint64_t moved_ = 0;
};

}  // namespace qd::ctl
