#include "scripts/queuectl/stats_reader.h"

#include <algorithm>
#include <cstring>

#include "core/queue_keys.h"

namespace qd::ctl {

Status StatsReader::Read(const SiteConfig& site, RedisConn* conn,
                         SiteStats* out) {
  out->site = site.name;
  out->server = conn->name();
  conn->Append({"ZCARD", QueueKeys::Delayed(site.prefix, site.name)});
  for (const auto& [name, queue] : site.queues) {
    std::string stream = QueueKeys::Stream(site.prefix, site.name, name);
    conn->Append({"XLEN", stream});
    conn->Append({"XINFO", "GROUPS", stream});
    conn->Append({"XLEN", QueueKeys::Dead(site.prefix, site.name, name)});
  }
  Status s = Integer(conn, &out->delayed);
  for (const auto& [name, queue] : site.queues) {
    // Every reply is read even after an error, so the connection stays in
    // step for the next site that shares it.
    Status q = ReadQueue(conn, &out->queues[name]);
    if (s.ok()) s = q;
  }
  return s;
}

Status StatsReader::ReadQueue(RedisConn* conn, QueueStats* out) {
  int64_t xlen = 0;
  Status s = Integer(conn, &xlen);
  ReplyPtr groups;
  Status g = conn->Read(&groups);
  Status d = Integer(conn, &out->dead);
  if (!s.ok()) return s;
  if (!g.ok()) return g;
  if (groups->type == REDIS_REPLY_ARRAY && FromGroups(*groups, xlen, out)) {
    return d;
  }
  // No stream yet ("ERR no such key") or no group: nothing was delivered.
  out->ready = xlen;
  out->pending = 0;
  return d;
}

Status StatsReader::Integer(RedisConn* conn, int64_t* out) {
  ReplyPtr r;
  Status s = conn->Read(&r);
  if (!s.ok()) return s;
  if (r->type == REDIS_REPLY_ERROR) {
    return conn->Error(std::string(r->str, r->len));
  }
  *out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
  return Status::Ok();
}

bool StatsReader::FromGroups(const redisReply& groups, int64_t xlen,
                             QueueStats* out) {
  for (size_t i = 0; i < groups.elements; ++i) {
    const redisReply& group = *groups.element[i];
    const redisReply* name = Field(group, "name");
    if (name == nullptr || name->type != REDIS_REPLY_STRING ||
        std::string(name->str, name->len) != QueueKeys::kGroup) {
      continue;
    }
    const redisReply* pending = Field(group, "pending");
    const redisReply* lag = Field(group, "lag");
    out->pending = pending != nullptr && pending->type == REDIS_REPLY_INTEGER
                       ? pending->integer
                       : 0;
    out->ready = lag != nullptr && lag->type == REDIS_REPLY_INTEGER
                     ? lag->integer
                     : std::max<int64_t>(0, xlen - out->pending);
    return true;
  }
  return false;
}

const redisReply* StatsReader::Field(const redisReply& map, const char* name) {
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

}  // namespace qd::ctl
