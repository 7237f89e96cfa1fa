// ApiReads: the /api/v1 reads that page through Redis: a queue's ready
// jobs, its dead jobs, a site's delayed jobs (docs/api.md). Each is one or
// two pipelined calls on the site's client, answered through the ApiCall;
// pages are at most ApiQuery::kMaxCount entries, and a page reads one
// entry more than it shows to know whether another follows ("next" is the
// last id shown, the exclusive start of the next page). Field values that
// are not UTF-8 are shown as NAME_b64 (DeadEntry::ToJson). Stateless:
// callbacks hold copies of what they need.
#pragma once

#include <cstdint>
#include <string>

#include "core/config/config.h"
#include "core/monitor/api_call.h"
#include "core/redis/redis_client.h"

namespace qd {

struct ApiReads {
  // Ready jobs, oldest first: entries after the group's last delivered
  // one (the whole stream when the group does not exist yet), or after
  // `cursor`. {"jobs": [{id, fields}], "next": null | id}.
  static void Jobs(const ApiCall& call, RedisClient* redis,
                   const SiteConfig& site, const std::string& queue,
                   const std::string& cursor, int count);
  // Dead jobs, newest first, before `cursor`. {"total", "jobs": [{id,
  // fields, error, failed_at, attempts}], "next"}.
  static void Dead(const ApiCall& call, RedisClient* redis,
                   const SiteConfig& site, const std::string& queue,
                   const std::string& cursor, int count);
  // Delayed jobs, soonest first, from `offset`. {"total", "jobs": [{due,
  // queue, member}]}.
  static void Delayed(const ApiCall& call, RedisClient* redis,
                      const SiteConfig& site, int64_t offset, int count);
};

}  // namespace qd
