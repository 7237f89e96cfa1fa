#include "core/queue/queue_manager.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/config/log.h"
#include "core/plugin/handler_set.h"
#include "core/queue/job_context_impl.h"

namespace qd {
namespace {
constexpr int kChunkJobs = 64;
constexpr std::chrono::milliseconds kChunkTime(5);
}  // namespace

QueueManager::QueueManager(const Config& config, const HandlerSet& handlers,
                           std::string consumer, Hooks hooks)
    : IoManager("queues"),
      config_(config),
      handlers_(handlers),
      consumer_(std::move(consumer)),
      hooks_(std::move(hooks)) {}

QueueManager::~QueueManager() {
  leases_.reset();  // its thread reads the sites
  sites_.clear();
  if (run_event_ != nullptr) event_free(run_event_);
}

void QueueManager::Start() {
  run_event_ = evtimer_new(base(), &QueueManager::OnRun, this);
  for (const auto& [name, site] : config_.sites) {
    if (site.queues.empty()) continue;
    RedisUrl url;
    Status s = config_.RedisOf(site).Resolve(&url);
    if (!s.ok()) {
      spdlog::error("site {}: {}", name, s.message());
      continue;
    }
    sites_.push_back(std::make_unique<SiteConsumer>(
        base(), site, url, consumer_, handlers_, [this] { Wake(); }));
    site_turns_.Add(site.weight);
  }
  if (!sites_.empty()) leases_ = std::make_unique<LeaseKeeper>();
  for (auto& site : sites_) {
    site->set_stats(stats_);
    site->set_reply_timeout(config_.daemon.heartbeat_timeout);
    auto one = paused_.find(site->name());
    auto all = paused_.find("*");
    bool paused = one != paused_.end() ? one->second
                                       : all != paused_.end() && all->second;
    site->SetPaused(paused);
  }
  for (auto& site : sites_) site->Start();
}

void QueueManager::Drain() {
  draining_ = true;
  for (auto& site : sites_) site->Drain();
}

void QueueManager::SetPaused(const std::string& site, bool paused) {
  if (site == "*") paused_.clear();
  paused_[site] = paused;
  for (auto& s : sites_) {
    if (site == "*" || s->name() == site) s->SetPaused(paused);
  }
}

int64_t QueueManager::Inflight() const {
  int64_t n = (running_ ? 1 : 0) + static_cast<int64_t>(deferred_.size());
  for (const auto& site : sites_) n += site->ready_count();
  return n;
}

bool QueueManager::Busy() const {
  if (running_ || !deferred_.empty()) return true;
  for (const auto& site : sites_) {
    if (site->Busy()) return true;
  }
  return false;
}

// A zero-delay timer, not event_active(): an event activated from a
// callback runs in the same dispatch pass, so chunk after chunk would run
// without the loop ever polling its sockets (acks unsent, replies unread).
// A timer is due only after the next poll.
void QueueManager::Wake() {
  if (running_ || draining_ || evtimer_pending(run_event_, nullptr)) return;
  timeval now = {0, 0};
  evtimer_add(run_event_, &now);
}

void QueueManager::OnRun(int, short, void* arg) {
  static_cast<QueueManager*>(arg)->RunChunk();
}

void QueueManager::RunChunk() {
  running_ = true;
  if (stats_ != nullptr) stats_->SetBusy(true);
  auto deadline = std::chrono::steady_clock::now() + kChunkTime;
  HeldJob job;
  for (int n = 0; n < kChunkJobs && !draining_; ++n) {
    // One job per turn, the turns shared among the sites with jobs ready
    // by their weight.
    int turn =
        site_turns_.Next([&](size_t i) { return sites_[i]->HasReady(); });
    if (turn < 0) break;
    SiteConsumer& site = *sites_[turn];
    if (!site.TakeNext(&job)) break;
    RunOne(site, job);
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  running_ = false;
  for (auto& site : sites_) site->AfterChunk();
  if (stats_ != nullptr) {
    bool more = false;
    for (auto& site : sites_) more = more || site->HasReady();
    stats_->SetBusy(more);
  }
  if (hooks_.after_chunk) hooks_.after_chunk();
  for (auto& site : sites_) {
    if (site->HasReady()) {
      Wake();
      break;
    }
  }
}

void QueueManager::RunOne(SiteConsumer& site, HeldJob& held) {
  SiteConsumer::Queue& q = site.queues()[held.queue];
  std::vector<Job::Field> fields;
  fields.reserve(held.fields.size());
  for (const auto& [k, v] : held.fields) fields.emplace_back(k, v);
  Job job(site.name(), q.name, held.id, std::move(fields));
  auto timeout = q.config->timeout;
  JobContextImpl ctx(site, q.name, timeout, counters_);
  Log::SetCurrentJob(job.jid());
  if (timeout.count() > 0 && hooks_.job_started)
    hooks_.job_started(job, timeout);
  JobResult result = JobResult::Fail("no handler for this queue");
  if (stats_ != nullptr) {
    stats_->JobStarted(q.tags, site.name(), q.name, held.id,
                       job.enqueued_at_ms());
  }
  running_token_ = 0;
  early_result_.reset();
  ctx.set_defer([this] {
    running_token_ = ++next_token_;
    return [this, token = running_token_](JobResult r) {
      Complete(token, std::move(r));
    };
  });
  site.Starting(held);
  leases_->Begin(&site, held.queue);
  if (q.handler != nullptr) {
    try {
      result = q.handler->handle(job, ctx);
    } catch (const std::exception& e) {
      result = JobResult::Retry(e.what());
    } catch (...) {
      result = JobResult::Retry("handler threw a non-standard exception");
    }
  }
  leases_->End();
  if (timeout.count() > 0 && hooks_.job_finished) hooks_.job_finished();
  Log::SetCurrentJob({});
  uint64_t token = running_token_;
  running_token_ = 0;
  if (token != 0 && !early_result_) {
    deferred_.emplace(token, Deferred{&site, std::move(held), job.attempt(),
                                      ctx.TakeEnqueued()});
    return;
  }
  if (early_result_) result = std::move(*early_result_);
  early_result_.reset();
  Finish(site, held, job.attempt(), result, ctx.TakeEnqueued());
}

void QueueManager::Finish(SiteConsumer& site, const HeldJob& held, int attempt,
                          const JobResult& result,
                          std::vector<std::vector<std::string>> enqueued) {
  SiteConsumer::Queue& q = site.queues()[held.queue];
  if (stats_ != nullptr) {
    using Outcome = JobObserver::Outcome;
    Outcome outcome = Outcome::kOk;
    if (result.kind() == JobResult::Kind::kFail ||
        (result.kind() == JobResult::Kind::kRetry &&
         attempt + 1 >= q.config->max_attempts)) {
      outcome = Outcome::kDead;
    } else if (result.kind() == JobResult::Kind::kRetry) {
      outcome = Outcome::kRetry;
    }
    stats_->JobFinished(q.tags, outcome);
  }
  switch (result.kind()) {
    case JobResult::Kind::kOk:
      for (const auto& cmd : enqueued) site.Send(cmd);
      site.Ack(held);
      ++counters_["jobs.handled"];
      break;
    case JobResult::Kind::kRetry:
      site.Retry(held, result.reason(), result.delay());
      ++counters_["jobs.retried"];
      break;
    case JobResult::Kind::kFail:
      site.Dead(held, result.reason());
      ++counters_["jobs.failed"];
      break;
  }
}

// A deferred job's outcome, from the loop (outside any run chunk): applied
// and flushed at once. Only the first call of a completion counts (the
// JobContext contract): later ones find no entry and no running deferral.
void QueueManager::Complete(uint64_t token, JobResult result) {
  auto it = deferred_.find(token);
  if (it == deferred_.end()) {
    if (token == running_token_ && !early_result_) {
      early_result_ = std::move(result);
    }
    return;
  }
  Deferred d = std::move(it->second);
  deferred_.erase(it);
  Finish(*d.site, d.held, d.attempt, result, std::move(d.enqueued));
  d.site->AfterChunk();
}

void QueueManager::GatesChanged() {
  for (auto& site : sites_) site->AfterChunk();
}

}  // namespace qd
