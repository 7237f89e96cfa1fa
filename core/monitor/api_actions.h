// ApiActions: the /api/v1 actions (docs/api.md), each one Redis call on the
// site's client (drain and resume: one PUBLISH on the daemon's), answered
// through the ApiCall. They run the code queuectl and the daemon run for
// the same thing: the dead-letter script (DeadScript), FCALL qd_enqueue
// for a unique enqueue, the periodic script in its "now" mode, the control
// channel's signed message. Bounds: retry-all and purge handle at most
// DeadScript::kMaxPerCall entries per call and say whether more are left;
// an enqueue body is at most kMaxBody bytes. The caller has checked the
// token, the site and the queue. Stateless.
#pragma once

#include <cstdint>
#include <string>

#include "core/config/config.h"
#include "core/monitor/api_call.h"
#include "core/redis/redis_client.h"

namespace qd {

struct ApiActions {
  static constexpr size_t kMaxBody = 1 << 20;
  // A delay past this (10 years) is a mistake, not a plan.
  static constexpr int64_t kMaxDelayMs = 10LL * 365 * 24 * 3600 * 1000;

  static void RetryDead(const ApiCall& call, RedisClient* redis,
                        const SiteConfig& site, const std::string& queue,
                        const std::string& id);
  static void DeleteDead(const ApiCall& call, RedisClient* redis,
                         const SiteConfig& site, const std::string& queue,
                         const std::string& id);
  static void RetryAllDead(const ApiCall& call, RedisClient* redis,
                           const SiteConfig& site, const std::string& queue);
  static void PurgeDead(const ApiCall& call, RedisClient* redis,
                        const SiteConfig& site, const std::string& queue);
  static void DeleteJob(const ApiCall& call, RedisClient* redis,
                        const SiteConfig& site, const std::string& queue,
                        const std::string& id);
  // `body`: {"payload", "fields"?, "delay_ms"?, "unique_key"?,
  // "unique_for_ms"?}; a bad body is answered 400 here.
  static void Enqueue(const ApiCall& call, RedisClient* redis,
                      const SiteConfig& site, const std::string& queue,
                      const std::string& body);
  // `cmd` "drain" or "resume", published on `redis` (the daemon's) for
  // every daemon, signed with `secret` when set.
  static void Control(const ApiCall& call, RedisClient* redis,
                      const std::string& cmd, const std::string& site,
                      const std::string& secret);
  static void RunPeriodic(const ApiCall& call, RedisClient* redis,
                          const SiteConfig& site, const PeriodicConfig& entry);

  static int64_t NowMs();
};

}  // namespace qd
