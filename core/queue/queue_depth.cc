#include "core/queue/queue_depth.h"

#include <algorithm>
#include <cstring>

#include "core/config/config.h"
#include "core/queue/queue_keys.h"

namespace qd {

std::vector<std::vector<std::string>> QueueDepth::Commands(
    const SiteConfig& site, const std::string& name) {
  std::string stream = QueueKeys::Stream(site.prefix, site.name, name);
  return {{"XLEN", stream},
          {"XINFO", "GROUPS", stream},
          {"XLEN", QueueKeys::Dead(site.prefix, site.name, name)}};
}

void QueueDepth::FromGroups(const redisReply* groups, int64_t xlen) {
  ready = xlen;
  pending = 0;
  if (groups == nullptr || groups->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < groups->elements; ++i) {
    const redisReply& group = *groups->element[i];
    const redisReply* name = Field(group, "name");
    if (name == nullptr || name->type != REDIS_REPLY_STRING ||
        std::string(name->str, name->len) != QueueKeys::kGroup) {
      continue;
    }
    const redisReply* p = Field(group, "pending");
    const redisReply* lag = Field(group, "lag");
    pending = p != nullptr && p->type == REDIS_REPLY_INTEGER ? p->integer : 0;
    ready = lag != nullptr && lag->type == REDIS_REPLY_INTEGER
                ? lag->integer
                : std::max<int64_t>(0, xlen - pending);
    return;
  }
}

const redisReply* QueueDepth::Field(const redisReply& map, const char* name) {
  if (map.type != REDIS_REPLY_ARRAY) return nullptr;
  for (size_t i = 0; i + 1 < map.elements; i += 2) {
    const redisReply* key = map.element[i];
    if (key->type == REDIS_REPLY_STRING && key->len == std::strlen(name) &&
        std::memcmp(key->str, name, key->len) == 0) {
      return map.element[i + 1];
    }
  }
  return nullptr;
}

}  // namespace qd
