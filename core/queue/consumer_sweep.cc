#include "core/queue/consumer_sweep.h"

#include <spdlog/spdlog.h>

#include "core/queue/queue_keys.h"
#include "core/queue/site_queue.h"
#include "core/redis/redis_client.h"

namespace qd {
namespace {

// XINFO CONSUMERS gives each consumer as a flat list of names and values
// (name, pending, idle; Redis 7.2 adds inactive).
constexpr const char* kSweepScript = R"lua(
local gone = {}
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return gone end
local limit = tonumber(ARGV[2])
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and f['idle'] > limit and f['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    gone[#gone + 1] = f['name']
  end
end
return gone
)lua";

}  // namespace

void SweepConsumers(RedisClient& writer, const std::string& site,
                    const SiteQueue& queue, const std::string& keep,
                    std::chrono::milliseconds idle_limit) {
  std::string idle = std::to_string(idle_limit.count());
  writer.Command(
      {"EVAL", kSweepScript, "1", queue.key, QueueKeys::kGroup, idle, keep},
      [site, name = queue.name, idle_limit](redisReply* r) {
        if (r == nullptr) return;  // lost: the next sweep
        if (r->type == REDIS_REPLY_ERROR) {
          spdlog::warn("site {}: consumer sweep of {}: {}", site, name,
                       ReplyString(r));
          return;
        }
        if (r->type != REDIS_REPLY_ARRAY) return;
        // Debug: on Redis 7.0 an empty read does not count as activity, so
        // the consumers of live workers on a quiet queue go too.
        for (size_t i = 0; i < r->elements; ++i) {
          spdlog::debug(
              "site {}: forgot consumer {} of queue {} (nothing pending, "
              "idle over {} ms)",
              site, ReplyString(r->element[i]), name, idle_limit.count());
        }
      });
}

}  // namespace qd
