#include "core/queue/job_context_impl.h"

#include <chrono>

#include "core/config/log.h"
#include "core/queue/delayed_job.h"
#include "core/queue/queue_keys.h"
#include "core/queue/site_consumer.h"
#include "core/util/units.h"

namespace qd {
JobContextImpl::JobContextImpl(SiteConsumer& site, const std::string& queue,
                               std::chrono::milliseconds timeout,
                               std::map<std::string, int64_t>& counters)
    : site_(site), queue_(queue), timeout_(timeout), counters_(counters) {}

spdlog::logger& JobContextImpl::log() {
  return Log::ForQueue(site_.name(), queue_);
}

void JobContextImpl::Count(std::string_view name, int64_t delta) {
  counters_[std::string(name)] += delta;
}

void JobContextImpl::Enqueue(std::string_view queue, std::string_view payload,
                             std::chrono::milliseconds delay) {
  const SiteConfig& site = site_.config();
  std::string now = std::to_string(EpochMs());
  if (delay.count() > 0) {
    std::string member = DelayedJob::Encode(
        queue, {{"payload", std::string(payload)}, {"enqueued_at", now}});
    enqueued_.push_back({"ZADD", QueueKeys::Delayed(site.prefix, site.name),
                         std::to_string(EpochMs() + delay.count()), member});
  } else {
    enqueued_.push_back({"XADD",
                         QueueKeys::Stream(site.prefix, site.name, queue), "*",
                         "payload", std::string(payload), "enqueued_at", now});
  }
}

}  // namespace qd
