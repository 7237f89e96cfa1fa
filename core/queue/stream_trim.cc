#include "core/queue/stream_trim.h"

#include <spdlog/spdlog.h>

#include "core/queue/queue_keys.h"
#include "core/queue/site_queue.h"
#include "core/queue/trim_script.h"
#include "core/redis/redis_client.h"
#include "core/util/subject_log_limiter.h"

namespace qd {

void TrimStream(RedisClient& writer, const std::string& site, SiteQueue& queue,
                SubjectLogLimiter& log) {
  if (!writer.connected() || !queue.wrong_type.empty()) return;
  bool sent = writer.Command(
      {"EVAL", kTrimScript, "1", queue.key, QueueKeys::kGroup},
      [site, key = queue.key, &log](redisReply* r) {
        // Lost: the entries stay until the next trim of the stream.
        if (r == nullptr || r->type != REDIS_REPLY_ERROR) return;
        if (!log.Allow(key)) return;
        spdlog::warn(
            "site {}: trimming acked entries of {} failed: {} (they stay "
            "until a later trim; logged at most once a minute)",
            site, key, ReplyString(r));
      });
  if (sent) queue.untrimmed = 0;
}

}  // namespace qd
