// LimitCall: the arguments every limit script takes (limit_scripts.h,
// "Common arguments") for one site and worker, and what the scripts'
// replies share: the KEY, REASON pairs of keys of the wrong type, logged
// once a minute per key. Used by LimitGate, LimitSweep and LimitUsage.
// Plain data; the logging is for the loop thread of its owner.
#pragma once

#include <hiredis/hiredis.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/util/subject_log_limiter.h"

namespace qd {

class LimitCall {
 public:
  // A rate grant not started within this is dropped by Redis.
  static constexpr int64_t kPendLeaseMs = 10000;

  // `holder`: the worker's consumer name (HOST:ID:SLOT), or any name for
  // a call that holds nothing (stats, sweep).
  LimitCall(const SiteConfig& site, const std::string& holder);

  // T GROUP PEND_LEASE HOLDER NL {...} NQ {...}.
  static std::vector<std::string> CommonArgs(const SiteConfig& site,
                                             const std::string& holder);
  // EVAL `script` 1 T..limits and the common arguments, to which the
  // caller adds the script's own. The views point into `script` and this.
  std::vector<std::string_view> Eval(const std::string& script) const;

  // KEY, REASON pairs of a reply: keys of the wrong type holding jobs
  // back. An error reply or one of another shape: `what` failed.
  void LogHeld(const redisReply* pairs);
  void LogError(const char* what, const redisReply* reply);

  const std::string& tag() const { return tag_; }  // PREFIX:{SITE}:

 private:
  std::string site_;
  std::string tag_;
  std::string index_key_;  // PREFIX:{SITE}:limits
  std::vector<std::string> common_;
  SubjectLogLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace qd
