#include "scripts/queuectl/stats_reader.h"

#include <algorithm>
#include <cstring>

#include "core/queue/queue_keys.h"
#include "core/queue/unserved_scan.h"

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
    Status q = ReadQueue(site, name, conn, &out->queues[name]);
    if (s.ok()) s = q;
  }
  if (!s.ok()) return s;
  s = ReadUnserved(site, conn, out);
  Status limits = ReadLimits(site, conn, out);
  return s.ok() ? limits : s;
}

Status StatsReader::ReadLimits(const SiteConfig& site, RedisConn* conn,
                               SiteStats* out) {
  if (site.limits.empty()) return Status::Ok();
  std::vector<std::string> command = LimitUsage::Command(site);
  conn->Append({command.begin(), command.end()});
  ReplyPtr reply;
  Status s = conn->Read(&reply);
  if (!s.ok()) return s;
  return LimitUsage::Parse(site.limits, reply.get(), &out->limits);
}

Status StatsReader::ReadUnserved(const SiteConfig& site, RedisConn* conn,
                                 SiteStats* out) {
  UnservedScan scan(site, UnservedScan::Clock::now());
  while (!scan.done()) {
    std::vector<std::string> command = scan.Command();
    conn->Append({command.begin(), command.end()});
    ReplyPtr reply;
    Status s = conn->Read(&reply);
    if (!s.ok()) return s;  // the connection is gone
    s = scan.Take(reply.get(), UnservedScan::Clock::now());
    if (!s.ok()) out->unserved_error = s.message();
  }
  out->unserved_more = scan.more();
  out->unserved_cut_short = scan.cut_short();
  for (const std::string& key : scan.keys()) {
    conn->Append({"XLEN", key});
  }
  Status first = Status::Ok();
  for (const std::string& key : scan.keys()) {
    int64_t length = 0;
    bool wrong_type = false;  // another program replaced it since the SCAN
    // Every reply is read, as in Read().
    Status s = Integer(conn, &length, &wrong_type);
    if (first.ok()) first = s;
    if (s.ok() && !wrong_type) {
      out->unserved.push_back({key, scan.QueueOf(key), length});
    }
  }
  return first;
}

Status StatsReader::ReadQueue(const SiteConfig& site, const std::string& name,
                              RedisConn* conn, QueueStats* out) {
  int64_t xlen = 0;
  bool stream_wrong = false, dead_wrong = false;
  Status s = Integer(conn, &xlen, &stream_wrong);
  ReplyPtr groups;
  Status g = conn->Read(&groups);
  Status d = Integer(conn, &out->dead, &dead_wrong);
  if (!s.ok()) return s;
  if (!g.ok()) return g;
  // A key of the wrong type spoils this queue's numbers only.
  if (stream_wrong || dead_wrong) {
    std::string key = stream_wrong
                          ? QueueKeys::Stream(site.prefix, site.name, name)
                          : QueueKeys::Dead(site.prefix, site.name, name);
    *out = QueueStats();
    out->error = key + " is not a stream";
    return Status::Ok();
  }
  // No stream yet or no group (the script says -1): nothing was delivered.
  out->FromReply(groups.get(), xlen);
  return d;
}

Status StatsReader::Integer(RedisConn* conn, int64_t* out, bool* wrong_type) {
  ReplyPtr r;
  Status s = conn->Read(&r);
  if (!s.ok()) return s;
  if (r->type == REDIS_REPLY_ERROR) {
    std::string error(r->str, r->len);
    if (wrong_type != nullptr && error.rfind("WRONGTYPE", 0) == 0) {
      *wrong_type = true;
      return Status::Ok();
    }
    return conn->Error(error);
  }
  *out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
  return Status::Ok();
}

}  // namespace qd::ctl
