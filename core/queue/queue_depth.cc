#include "core/queue/queue_depth.h"

#include "core/config/config.h"
#include "core/queue/queue_keys.h"

namespace qd {
namespace {

// EVAL_RO <script> 1 STREAM GROUP LIMIT -> {ready, pending, exact, oldest},
// or -1 when STREAM is missing, holds another type or has no GROUP. oldest
// is the ms part of the first undelivered entry's id (0: none). The count
// reads pages of kPage entries, so a stream of large entries never has more
// than that many in the script's memory at once.
constexpr const char* kDepthScript = R"lua(
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups['err'] then return -1 end
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then
    local pending = f['pending']
    local most = math.max(0, redis.call('XLEN', KEYS[1]) - pending)
    local from = '(' .. f['last-delivered-id']
    local first = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 1)[1]
    local oldest = first and tonumber(string.match(first[1], '^%d+')) or 0
    if type(f['lag']) == 'number' then
      return {math.min(f['lag'], most), pending, 1, oldest}
    end
    local limit = tonumber(ARGV[2])
    local n = 0
    while n < limit do
      local want = math.min(64, limit - n)
      local page = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', want)
      n = n + #page
      if #page < want then return {n, pending, 1, oldest} end
      from = '(' .. page[#page][1]
    end
    return {n, pending, 0, oldest}
  end
end
return -1
)lua";

int64_t IntegerAt(const redisReply* r, size_t i) {
  const redisReply* e = r->element[i];
  return e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
}

}  // namespace

std::vector<std::vector<std::string>> QueueDepth::Commands(
    const SiteConfig& site, const std::string& name) {
  std::string stream = QueueKeys::Stream(site.prefix, site.name, name);
  return {{"XLEN", stream},
          {"EVAL_RO", kDepthScript, "1", stream, QueueKeys::kGroup,
           std::to_string(kCountLimit)},
          {"XLEN", QueueKeys::Dead(site.prefix, site.name, name)}};
}

void QueueDepth::FromReply(const redisReply* depth, int64_t xlen) {
  ready = xlen;
  ready_exact = true;
  pending = 0;
  oldest_ready_ms = 0;
  if (depth == nullptr || depth->type != REDIS_REPLY_ARRAY ||
      depth->elements < 3) {
    return;
  }
  ready = IntegerAt(depth, 0);
  pending = IntegerAt(depth, 1);
  ready_exact = IntegerAt(depth, 2) != 0;
  if (depth->elements > 3 && ready > 0) oldest_ready_ms = IntegerAt(depth, 3);
}

}  // namespace qd
