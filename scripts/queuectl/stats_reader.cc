#include "scripts/queuectl/stats_reader.h"

#include <algorithm>
#include <cstring>

#include "core/queue/queue_keys.h"

namespace qd::ctl {

Status StatsReader::Read(const SiteConfig& site, RedisConn* conn,
                         SiteStats* out) {
  out->site = site.name;
  out->server = conn->name();
  conn->Append({"ZCARD", QueueKeys::Delayed(site.prefix, site.name)});
  for (const auto& [name, queue] : site.queues) {
    for (const auto& command : QueueDepth::Commands(site, name)) {
      conn->Append({command.begin(), command.end()});
    }
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
  // No stream yet ("ERR no such key") or no group: nothing was delivered.
  out->FromGroups(groups.get(), xlen);
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

}  // namespace qd::ctl
