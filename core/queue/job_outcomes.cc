#include "core/queue/job_outcomes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "core/queue/delayed_job.h"
#include "core/queue/outcome_script.h"
#include "core/queue/queue_keys.h"
#include "core/queue/stream_trim.h"
#include "core/queue/unique_release_script.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

int AttemptOf(const HeldJob& job) {
  return std::atoi(std::string(job.Field("attempt")).c_str());
}

void SetField(HeldJob::Fields* fields, const std::string& name,
              std::string value) {
  for (auto& f : *fields) {
    if (f.first == name) {
      f.second = std::move(value);
      return;
    }
  }
  fields->emplace_back(name, std::move(value));
}

// MULTI + commands + EXEC as one pipelined burst; `done` gets EXEC's reply.
// One command goes alone: it needs no transaction, and alone it follows a
// Redis Cluster's ASK while the site's slot migrates (a transaction cannot).
void Transaction(RedisClient& c,
                 const std::vector<std::vector<std::string_view>>& commands,
                 RedisClient::Callback done) {
  if (commands.size() == 1) {
    c.Command(commands[0], std::move(done));
    return;
  }
  c.Command({"MULTI"}, nullptr);
  for (const auto& cmd : commands) c.Command(cmd, nullptr);
  c.Command({"EXEC"}, std::move(done));
}

// EVAL of kUniqueReleaseScript for `releases` (`count` is their number
// as text); views into both.
std::vector<std::string_view> ReleaseCommand(
    const std::vector<std::pair<std::string, std::string>>& releases,
    const std::string& count) {
  std::vector<std::string_view> eval = {"EVAL", kUniqueReleaseScript, count};
  for (const auto& release : releases) eval.push_back(release.first);
  for (const auto& release : releases) eval.push_back(release.second);
  return eval;
}

}  // namespace

JobOutcomes::JobOutcomes(RedisClient& writer, const SiteConfig& site,
                         std::vector<SiteQueue>& queues)
    : writer_(writer),
      site_(site),
      queues_(queues),
      delayed_key_(QueueKeys::Delayed(site.prefix, site.name)) {}

void JobOutcomes::Retry(const HeldJob& job, const std::string& reason,
                        milliseconds delay) {
  SiteQueue& q = queues_[job.queue];
  int attempt = AttemptOf(job);
  if (attempt + 1 >= q.config->max_attempts) {
    Dead(job, reason);
    return;
  }
  HeldJob::Fields fields = job.fields;
  SetField(&fields, "attempt", std::to_string(attempt + 1));
  if (job.Field("jid").empty()) SetField(&fields, "jid", job.id);
  SetField(&fields, "error", reason);
  if (delay < milliseconds(0)) delay = RetryDelay(*q.config, attempt);
  std::string member = DelayedJob::Encode(q.name, fields);
  std::string due = std::to_string(EpochMs() + delay.count());
  if (!writer_.connected()) return;  // stays pending: claimed or replayed
  Move(q, delayed_key_, "zadd", {job.id}, {due, member}, nullptr);
}

void JobOutcomes::Dead(const HeldJob& job, const std::string& reason) {
  SiteQueue& q = queues_[job.queue];
  spdlog::warn("site {} queue {}: job {} dead: {}", site_.name, q.name, job.id,
               reason);
  HeldJob::Fields fields = job.fields;
  SetField(&fields, "error", reason);
  SetField(&fields, "failed_at", std::to_string(EpochMs()));
  SetField(&fields, "attempts",
           std::to_string(std::max(AttemptOf(job) + 1, job.deliveries - 1)));
  SetField(&fields, "origin_queue", q.name);
  SetField(&fields, "origin_id", job.id);
  std::string count = std::to_string(fields.size() * 2);
  std::vector<std::string_view> item = {count};
  for (const auto& [k, v] : fields) {
    item.push_back(k);
    item.push_back(v);
  }
  if (!writer_.connected()) return;  // stays pending: claimed or replayed
  // A unique job's lock goes in the call that moves it: freed only if the
  // dead letter was written (else the job stays pending, and so does its
  // lock).
  UniqueLock lock;
  bool unique = UniqueLock::Of(q, job, &lock);
  Move(q, q.dead_key, "xadd", {job.id}, item, nullptr,
       unique ? &lock : nullptr);
}

// One EVAL of kOutcomeScript; `done` (may be null) runs with any reply,
// null when the connection was lost before it came.
void JobOutcomes::Move(SiteQueue& q, const std::string& target,
                       std::string_view op,
                       const std::vector<std::string_view>& ids,
                       const std::vector<std::string_view>& items,
                       std::function<void()> done, const UniqueLock* lock) {
  std::string n = std::to_string(ids.size());
  std::vector<std::string_view> args = {
      "EVAL", kOutcomeScript, lock != nullptr ? "3" : "2", q.key, target};
  if (lock != nullptr) args.push_back(lock->key);
  args.insert(args.end(), {QueueKeys::kGroup, op, n});
  args.insert(args.end(), ids.begin(), ids.end());
  args.insert(args.end(), items.begin(), items.end());
  if (lock != nullptr) args.push_back(lock->jid);
  q.untrimmed += static_cast<int64_t>(ids.size());  // acked if it moves
  writer_.Command(
      args, [this, site = site_.name, queue = q.name, target,
             total = ids.size(), done = std::move(done)](redisReply* r) {
        if (done) done();
        if (r == nullptr) return;  // lost: the entries stay pending
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
            r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[2]->type == REDIS_REPLY_STRING) {
          std::string key(r->element[1]->str, r->element[1]->len);
          long long moved = r->element[0]->type == REDIS_REPLY_INTEGER
                                ? r->element[0]->integer
                                : 0;
          if (held_log_.Allow(key)) {
            spdlog::error(
                "site {} queue {}: {} of {} jobs stay pending, to be claimed "
                "again: key {} {} (logged at most once a minute)",
                site, queue, static_cast<long long>(total) - moved, total, key,
                std::string_view(r->element[2]->str, r->element[2]->len));
          }
          return;
        }
        if (r->type == REDIS_REPLY_ERROR) {
          if (held_log_.Allow(target)) {
            spdlog::error(
                "site {} queue {}: moving {} jobs to {} failed, they stay "
                "pending: {} (logged at most once a minute)",
                site, queue, total, target, std::string_view(r->str, r->len));
          }
          return;
        }
        held_log_.Forget(target);
      });
}

milliseconds JobOutcomes::RetryDelay(const QueueConfig& q, int attempt) const {
  static thread_local std::mt19937 rng(std::random_device{}());
  double base = static_cast<double>(q.retry_base.count());
  double cap = static_cast<double>(q.retry_max.count());
  double exp = std::min(cap, base * std::pow(2.0, std::min(attempt, 40)));
  // Jitter: between half and all of the exponential step.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return milliseconds(static_cast<int64_t>(exp * jitter(rng)));
}

void JobOutcomes::FlushAcks() {
  if (!writer_.connected()) return;
  for (size_t index = 0; index < queues_.size(); ++index) {
    SiteQueue& q = queues_[index];
    if (q.acks.empty()) continue;
    auto ids = std::make_shared<std::vector<std::string>>(std::move(q.acks));
    q.acks.clear();
    auto releases = std::make_shared<Releases>(std::move(q.releases));
    q.releases.clear();
    std::vector<std::string_view> xack = {"XACK", q.key, QueueKeys::kGroup};
    for (const auto& id : *ids) xack.push_back(id);
    // XACK alone: the entries go with the stream's next trim (stream_trim.h).
    std::vector<std::vector<std::string_view>> commands = {xack};
    std::string locks = std::to_string(releases->size());
    if (!releases->empty())
      commands.push_back(ReleaseCommand(*releases, locks));
    ++acks_in_flight_;
    Transaction(writer_, commands, [this, ids, releases, index](redisReply* r) {
      --acks_in_flight_;
      if (r == nullptr) {  // lost before EXEC answered: send again later
        SiteQueue& q = queues_[index];
        q.acks.insert(q.acks.end(), ids->begin(), ids->end());
        q.releases.insert(q.releases.end(), releases->begin(), releases->end());
      }
    });
    q.untrimmed += static_cast<int64_t>(ids->size());
    if (q.untrimmed >= kTrimAfter)
      TrimStream(writer_, site_.name, q, trim_log_);
  }
}

void JobOutcomes::Requeue() {
  size_t held = 0;
  for (const auto& q : queues_) held += q.ready.size();
  if (held > 0 && !writer_.connected()) {
    spdlog::warn(
        "site {}: redis unavailable: {} fetched jobs stay pending for this "
        "slot's replay",
        site_.name, held);
  }
  for (auto& q : queues_) {
    if (q.ready.empty() || !writer_.connected()) {
      q.ready.clear();
      continue;
    }
    std::vector<std::string> counts;
    counts.reserve(q.ready.size());
    std::vector<std::string_view> ids;
    std::vector<std::string_view> items;
    UniqueLock lock;
    for (const auto& job : q.ready) {
      ids.push_back(job.id);
      // The copy gets a new entry id: a unique job without a jid keeps the
      // old one as its jid, which its lock holds (UniqueLock).
      bool keep_jid = UniqueLock::Of(q, job, &lock) && lock.jid == job.id;
      counts.push_back(std::to_string(job.fields.size() * 2 + keep_jid * 2));
      items.push_back(counts.back());
      for (const auto& [k, v] : job.fields) {
        items.push_back(k);
        items.push_back(v);
      }
      if (keep_jid) {
        items.push_back("jid");
        items.push_back(job.id);
      }
    }
    ++requeues_in_flight_;
    Move(q, q.key, "xadd", ids, items, [this] { --requeues_in_flight_; });
    spdlog::info("site {} queue {}: gave back {} fetched jobs", site_.name,
                 q.name, q.ready.size());
    q.ready.clear();
  }
}

bool JobOutcomes::Busy() const {
  if (requeues_in_flight_ > 0 || acks_in_flight_ > 0) return true;
  if (!writer_.connected()) return false;
  for (const auto& q : queues_) {
    if (!q.acks.empty()) return true;
  }
  return false;
}

}  // namespace qd
