// DeadRetrier: `dead retry`: moves dead entries back to their queue stream
// with the daemon's dead-letter script (core/queue/dead_script.h, the text
// the HTTP API's dead actions run too): each entry's XADD and XDEL happen
// in one script call, so a job is never lost nor doubled, whoever else
// moves or dead-letters jobs meanwhile. Ids go kBatch per call; --all
// moves DeadScript::kMaxPerCall entries per call up to the entry that was
// the newest when it began (not those dead-lettered while it runs).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/queue/dead_script.h"
#include "core/redis/redis_conn.h"
#include "queuedaemon/status.h"

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
  // Moves every entry that is in the dead stream now.
  Status RetryAll();
  uint64_t moved() const { return moved_; }

 private:
  Status Run(const std::vector<std::string>& command, DeadScript::Reply* out);

  RedisConn* conn_;
  std::string dead_key_;
  std::string stream_key_;
  uint64_t moved_ = 0;
};

}  // namespace qd::ctl
