#include "core/supervisor/master_monitor.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/config/own_keys.h"
#include "core/listen/listener_set.h"
#include "core/monitor/api_views.h"
#include "core/monitor/http_monitor.h"
#include "core/os/memory_usage.h"
#include "core/os/process.h"
#include "core/queue/limit_usage.h"
#include "core/queue/periodic_runner.h"
#include "core/queue/queue_depth.h"
#include "core/queue/queue_keys.h"
#include "core/queue/wrong_type_watch.h"
#include "core/redis/redis_conn.h"
#include "core/supervisor/status_line.h"
#include "core/supervisor/worker_pool.h"
#include "core/util/units.h"
#include "core/util/version.h"

namespace qd {
namespace {

constexpr std::chrono::seconds kTick(1);
constexpr std::chrono::seconds kPingDeadline(3);
constexpr const char* kHashTtlMs = "10000";

void Ignore(redisReply*) {}

// HSET key f1 v1 f2 v2 ... then PEXPIRE key, on `redis`.
void WriteHash(RedisClient* redis, const std::string& key,
               const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string_view> args = {"HSET", key};
  for (const auto& [name, value] : fields) {
    args.push_back(name);
    args.push_back(value);
  }
  (void)redis->Command(args, Ignore);
  (void)redis->Command({"PEXPIRE", key, kHashTtlMs}, Ignore);
}

int64_t Integer(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

}  // namespace

MasterMonitor::MasterMonitor(event_base* base, RedisClient* redis,
                             Sources sources)
    : base_(base),
      redis_(redis),
      sources_(std::move(sources)),
      host_(Process::HostName()),
      started_ms_(EpochMs()),
      unserved_([this](const SiteConfig& site) { return ClientFor(site); }) {}

MasterMonitor::~MasterMonitor() {
  if (tick_timer_ != nullptr) event_free(tick_timer_);
  if (flush_timer_ != nullptr) event_free(flush_timer_);
  http_.reset();
  site_clients_.clear();
}

Status MasterMonitor::Start(const Config& config, int threads, int http_fd) {
  config_ = &config;
  threads_ = threads;
  if (!redis_->connected()) redis_->Start();
  if (!config.monitor.http.empty()) {
    Status s = OpenHttp(config.monitor.http, http_fd);
    if (!s.ok()) return s;
  }
  Status s = OpenStatsd();
  if (!s.ok()) spdlog::error("statsd off: {}", s.message());
  tick_timer_ = event_new(base_, -1, EV_PERSIST, &MasterMonitor::OnTick, this);
  timeval tick = ToTimeval(kTick);
  evtimer_add(tick_timer_, &tick);
  Event("init");
  unserved_.Restart(config);
  Tick();
  return Status::Ok();
}

void MasterMonitor::Apply(const Config& config, int threads) {
  config_ = &config;
  threads_ = threads;
  for (auto it = sites_.begin(); it != sites_.end();) {
    it = config.sites.count(it->first) ? std::next(it) : sites_.erase(it);
  }
  if (config.monitor.http != http_address_) {
    if (config.monitor.http.empty()) {
      http_.reset();
      http_address_.clear();
      spdlog::info("monitor.http: closed");
    } else {
      Status s = OpenHttp(config.monitor.http);
      if (!s.ok()) {
        spdlog::error("{}; keeping {}", s.message(),
                      http_address_.empty() ? "it closed" : http_address_);
      }
    }
  }
  Status s = OpenStatsd();
  if (!s.ok()) spdlog::error("statsd off: {}", s.message());
  unserved_.Restart(config);
}

Status MasterMonitor::OpenHttp(const std::string& address, int fd) {
  std::unique_ptr<HttpMonitor> http;
  Status s = HttpMonitor::Open(
      base_, address, [this] { return Snapshot(); }, &http, fd);
  if (!s.ok()) return s;
  http->EnableApi(Api::Sources{
      [this] { return Snapshot(); }, &series_, [this] { return config_; },
      [this](const SiteConfig& site) { return ClientFor(site); }, redis_,
      sources_.paused});
  http_ = std::move(http);
  http_address_ = address;
  spdlog::info("monitor: HTTP on {} (/metrics /healthz /status /api/v1)",
               address);
  return Status::Ok();
}

Status MasterMonitor::OpenStatsd() {
  if (flush_timer_ != nullptr) {
    event_free(flush_timer_);
    flush_timer_ = nullptr;
  }
  std::unique_ptr<StatsdSink> sink;
  MonitorConfig monitor = config_->monitor;
  Status s = StatsdSink::Open(
      monitor, {{"host", host_}, {"id", config_->daemon.id}}, &sink);
  if (!s.ok()) {
    monitor.udp.clear();
    (void)StatsdSink::Open(monitor, {}, &sink);
  }
  statsd_ = std::move(sink);
  if (statsd_->enabled()) {
    flush_timer_ =
        event_new(base_, -1, EV_PERSIST, &MasterMonitor::OnFlush, this);
    timeval every = ToTimeval(config_->monitor.interval);
    evtimer_add(flush_timer_, &every);
  }
  return s;
}

void MasterMonitor::Event(const std::string& state) {
  if (!statsd_ || !statsd_->enabled()) return;
  statsd_->Event(state, {});
  statsd_->Flush();
}

void MasterMonitor::OnTick(int, short, void* arg) {
  static_cast<MasterMonitor*>(arg)->Tick();
}

void MasterMonitor::OnFlush(int, short, void* arg) {
  static_cast<MasterMonitor*>(arg)->FlushStatsd();
}

void MasterMonitor::Tick() {
  MonitorSnapshot s = Snapshot();
  int64_t jobs = s.counters["jobs.handled"];
  if (last_jobs_ >= 0 && s.now_ms > last_jobs_ms_) {
    jobs_per_s_ = static_cast<double>(jobs - last_jobs_) * 1000.0 /
                  static_cast<double>(s.now_ms - last_jobs_ms_);
  }
  last_jobs_ = jobs;
  last_jobs_ms_ = s.now_ms;
  series_.Add(s.now_ms, ApiViews::Processed(s), ApiViews::Failed(s),
              ApiViews::ReadyTotal(s));
  Ping();
  SampleSites();
  unserved_.Tick();
  PublishHashes(s);
}

void MasterMonitor::Ping() {
  auto now = std::chrono::steady_clock::now();
  if (!redis_->connected()) {
    redis_ok_ = false;
    redis_error_ =
        redis_->last_error().empty() ? "not connected" : redis_->last_error();
    ping_in_flight_ = false;
    return;
  }
  if (ping_in_flight_) {
    if (now - ping_sent_ > kPingDeadline) {
      redis_ok_ = false;
      redis_error_ = "no answer to PING for " +
                     FormatDuration(std::chrono::duration_cast<Duration>(
                         now - ping_sent_));
    }
    return;
  }
  ping_in_flight_ = redis_->Command({"PING"}, [this](redisReply* r) {
    ping_in_flight_ = false;
    redis_ok_ = r != nullptr && r->type != REDIS_REPLY_ERROR;
    if (redis_ok_) {
      redis_error_.clear();
    } else {
      redis_error_ =
          r == nullptr ? "connection lost" : std::string(ReplyString(r));
    }
  });
  if (ping_in_flight_) ping_sent_ = now;
}

RedisClient* MasterMonitor::ClientFor(const SiteConfig& site) {
  const RedisEndpoint& endpoint = config_->RedisOf(site);
  if (&endpoint == &config_->redis || endpoint.SameAs(config_->redis)) {
    return redis_;
  }
  RedisUrl url;
  Status s = endpoint.Resolve(&url);
  if (!s.ok()) return nullptr;  // the loader checked it; not expected
  // A changed password (a reload) makes a new client; the old one stays
  // idle, as one of a site that left.
  auto it = site_clients_.find(url.Key() + " " + url.password);
  if (it == site_clients_.end()) {
    auto client =
        std::make_unique<RedisClient>(base_, url, "monitor " + url.Describe());
    client->set_reply_timeout(config_->daemon.heartbeat_timeout);
    client->Start();
    it =
        site_clients_.emplace(url.Key() + " " + url.password, std::move(client))
            .first;
  }
  return it->second.get();
}

// One pipelined round per site: ZCARD delayed, then QueueDepth's commands
// per queue. Replies are parsed as they come (hiredis frees each after its
// callback) into a sample that replaces the site's when the round ends.
void MasterMonitor::SampleSites() {
  for (const auto& [name, site] : config_->sites) {
    if (sampling_[name]) continue;  // the previous round is still out
    RedisClient* redis = ClientFor(site);
    auto sample = std::make_shared<SiteSnapshot>();
    sample->name = name;
    sample->redis = redis != nullptr ? redis->url().Describe() : site.redis.url;
    if (redis == nullptr || !redis->connected()) {
      sites_[name] = *sample;  // unknown: -1 everywhere
      for (const auto& q : site.queues) {
        sites_[name].queues.push_back(QueueSnapshot{q.first});
      }
      continue;
    }
    auto left = std::make_shared<int>(0);
    auto failed = std::make_shared<bool>(false);
    auto done = [this, name, sample, left, failed](bool ok) {
      *failed = *failed || !ok;
      if (--*left > 0) return;
      sampling_[name] = false;
      if (*failed) {
        sample->delayed = -1;
        for (auto& q : sample->queues) q = QueueSnapshot{q.name};
      } else {
        sample->sampled_ms = EpochMs();
      }
      if (config_->sites.count(name)) sites_[name] = *sample;
    };
    sampling_[name] = true;
    *left = 1;
    (void)redis->Command({"ZCARD", QueueKeys::Delayed(site.prefix, site.name)},
                         [sample, done](redisReply* r) {
                           sample->delayed = Integer(r);
                           done(sample->delayed >= 0);
                         });
    for (const auto& [queue, qc] : site.queues) {
      size_t index = sample->queues.size();
      sample->queues.push_back(QueueSnapshot{queue});
      auto xlen = std::make_shared<int64_t>(-1);
      auto commands = QueueDepth::Commands(site, queue);
      *left += 3;
      // A key of the wrong type spoils only its own queue's numbers.
      auto wrong = [sample, index](redisReply* r, const std::string& key) {
        if (!WrongTypeWatch::IsWrongType(r)) return false;
        sample->queues[index].error = key + " is not a stream";
        return true;
      };
      (void)redis->Command(
          {commands[0].begin(), commands[0].end()},
          [xlen, done, wrong, key = commands[0][1]](redisReply* r) {
            *xlen = Integer(r);
            done(*xlen >= 0 || wrong(r, key));
          });
      (void)redis->Command({commands[1].begin(), commands[1].end()},
                           [sample, index, xlen, done](redisReply* r) {
                             if (!sample->queues[index].error.empty()) {
                               return done(true);
                             }
                             if (r == nullptr || *xlen < 0) return done(false);
                             QueueDepth depth;
                             depth.FromReply(r, *xlen);
                             sample->queues[index].ready = depth.ready;
                             sample->queues[index].pending = depth.pending;
                             sample->queues[index].oldest_ready_ms =
                                 depth.oldest_ready_ms;
                             done(true);
                           });
      (void)redis->Command(
          {commands[2].begin(), commands[2].end()},
          [sample, index, done, wrong, key = commands[2][1]](redisReply* r) {
            sample->queues[index].dead = Integer(r);
            done(sample->queues[index].dead >= 0 || wrong(r, key));
          });
    }
    SampleLimits(site, redis, sample, left, done);
  }
}

// What the site's limits hold, in the same round; a failure (logged at
// debug level) leaves them out without spoiling the queues' numbers.
void MasterMonitor::SampleLimits(const SiteConfig& site, RedisClient* redis,
                                 std::shared_ptr<SiteSnapshot> sample,
                                 std::shared_ptr<int> left,
                                 const std::function<void(bool)>& done) {
  if (site.limits.empty()) return;
  std::vector<std::string> command = LimitUsage::Command(site);
  ++*left;
  (void)redis->Command(
      {command.begin(), command.end()},
      [sample, done, limits = site.limits, name = site.name](redisReply* r) {
        Status s = LimitUsage::Parse(limits, r, &sample->limits);
        if (!s.ok()) {
          sample->limits.clear();
          spdlog::debug("site {}: {}", name, s.message());
        }
        done(true);
      });
}

void MasterMonitor::PublishHashes(const MonitorSnapshot& s) {
  if (!redis_->connected()) return;
  std::string sites;
  for (const auto& [name, site] : config_->sites) {
    sites += (sites.empty() ? "" : ",") + name;
  }
  nlohmann::json slots = nlohmann::json::array();
  for (const auto& w : s.workers)
    slots.push_back(ApiViews::Worker(w, s.now_ms));
  WriteHash(redis_, OwnKeys::Daemon(host_, s.id),
            {{"pid", std::to_string(s.pid)},
             {"host", s.host},
             {"id", s.id},
             {"started_ms", std::to_string(s.started_ms)},
             {"updated_ms", std::to_string(s.now_ms)},
             {"threads", std::to_string(s.threads)},
             {"workers", std::to_string(s.LiveWorkers())},
             {"ready", std::to_string(s.ReadyWorkers())},
             {"sites", sites},
             {"rss", std::to_string(s.master_rss)},
             {"version", s.version},
             {"slots", slots.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace)}});
  for (const ListenerStats& l : s.listeners) {
    WriteHash(redis_, OwnKeys::Listener(host_, s.id, l.name),
              {{"connections", std::to_string(l.connections)},
               {"workers", std::to_string(l.workers)},
               {"busy", std::to_string(l.busy)},
               {"idle", std::to_string(l.idle)},
               {"waiting", std::to_string(l.waiting)},
               {"accepted", std::to_string(l.accepted)},
               {"refused", std::to_string(l.refused)},
               {"requests", std::to_string(l.requests)},
               {"forks", std::to_string(l.forks)},
               {"reclaimed", std::to_string(l.reclaimed)},
               {"busy_replies", std::to_string(l.busy_replies)},
               {"error_replies", std::to_string(l.error_replies)},
               {"too_long", std::to_string(l.too_long)},
               {"idle_closed", std::to_string(l.idle_closed)},
               {"output_paused", std::to_string(l.output_paused)},
               {"output_closed", std::to_string(l.output_closed)},
               {"login_failed", std::to_string(l.login_failed)},
               {"login_delayed", std::to_string(l.login_delayed)},
               {"login_throttled", std::to_string(l.login_throttled)},
               {"login_timeouts", std::to_string(l.login_timeouts)},
               {"accept_shortages", std::to_string(l.accept_shortages)},
               {"updated_ms", std::to_string(s.now_ms)}});
  }
}

void MasterMonitor::FlushStatsd() {
  if (!statsd_ || !statsd_->enabled()) return;
  for (const auto& [name, site] : sites_) {
    if (site.delayed >= 0) {
      statsd_->Gauge("queue.delayed", {{"site", name}},
                     static_cast<double>(site.delayed));
    }
    for (const auto& q : site.queues) {
      StatsdSink::Tags tags = {{"site", name}, {"queue", q.name}};
      if (q.ready >= 0) statsd_->Gauge("queue.ready", tags, q.ready);
      if (q.pending >= 0) statsd_->Gauge("queue.pending", tags, q.pending);
      if (q.dead >= 0) statsd_->Gauge("queue.dead", tags, q.dead);
    }
  }
  const auto& c = sources_.pool->counters();
  statsd_->Count("workers.respawned", {}, c.respawned - sent_respawned_);
  statsd_->Count("workers.recycled", {}, c.recycled - sent_recycled_);
  statsd_->Count("workers.crashed", {}, c.crashed - sent_crashed_);
  sent_respawned_ = c.respawned;
  sent_recycled_ = c.recycled;
  sent_crashed_ = c.crashed;
  MemoryUsage m;
  if (MemoryUsage::Read(getpid(), &m)) {
    statsd_->Gauge("master.rss", {}, static_cast<double>(m.rss));
  }
  statsd_->Flush();
}

MonitorSnapshot MasterMonitor::Snapshot() const {
  MonitorSnapshot s;
  s.pid = getpid();
  s.host = host_;
  s.id = config_->daemon.id;
  s.config_file = config_->file;
  s.version = kVersion;
  s.started_ms = started_ms_;
  s.now_ms = EpochMs();
  s.threads = threads_;
  MemoryUsage m;
  if (MemoryUsage::Read(getpid(), &m)) s.master_rss = m.rss;
  if (sources_.pool != nullptr) {
    s.workers = sources_.pool->Snapshot();
    const auto& c = sources_.pool->counters();
    s.counters["workers.respawned"] = c.respawned;
    s.counters["workers.recycled"] = c.recycled;
    s.counters["workers.crashed"] = c.crashed;
    s.counters["jobs.handled"] = c.jobs - c.failed;
    s.counters["jobs.failed"] = c.failed;
  }
  // Finished by every worker since start: the exited ones' and the live.
  // jobs.handled counts the ones that succeeded, as the statsd counter.
  for (const auto& w : s.workers) {
    s.counters["jobs.handled"] += w.jobs - w.failed;
    s.counters["jobs.failed"] += w.failed;
  }
  for (const auto& [name, site] : sites_) s.sites.push_back(site);
  unserved_.Fill(&s.sites);
  if (sources_.listeners != nullptr) s.listeners = sources_.listeners->Stats();
  if (sources_.periodic != nullptr) {
    for (const auto& p : sources_.periodic->Status()) {
      s.periodic.push_back({p.site, p.name, p.cron, p.timezone, p.queue,
                            p.next_ms, p.last_tick_ms, p.enqueued, p.failures,
                            p.skipped, p.last_error});
    }
  }
  s.redis_ok = redis_ok_;
  s.redis_error = redis_error_;
  s.shutting_down = sources_.shutting_down && sources_.shutting_down();
  return s;
}

void MasterMonitor::Forget() {
  std::unique_ptr<RedisConn> conn;
  if (!RedisConn::Open(redis_->url(), &conn).ok()) return;
  const std::string& id = config_->daemon.id;
  std::vector<std::string_view> del = {"DEL"};
  std::string daemon = OwnKeys::Daemon(host_, id);
  del.push_back(daemon);
  std::vector<std::string> listeners;
  for (const auto& [name, l] : config_->listeners) {
    listeners.push_back(OwnKeys::Listener(host_, id, name));
  }
  for (const auto& key : listeners) del.push_back(key);
  (void)conn->Call(del);
}

nlohmann::json MasterMonitor::Ps(const std::vector<std::string>& paused) const {
  MonitorSnapshot s = Snapshot();
  uint64_t rss = s.master_rss;
  for (const auto& w : s.workers) rss += w.rss;
  nlohmann::json sites = nlohmann::json::array();
  for (const auto& [name, site] : config_->sites) sites.push_back(name);
  return {{"host", s.host},
          {"id", s.id},
          {"pid", s.pid},
          {"uptime_s", (s.now_ms - s.started_ms) / 1000},
          {"sites", sites},
          {"workers", s.LiveWorkers()},
          {"ready", s.ReadyWorkers()},
          {"threads", s.threads},
          {"rss", rss},
          {"jobs_per_s", jobs_per_s_},
          {"paused", paused},
          {"shutting_down", s.shutting_down}};
}

std::string MasterMonitor::StatusLine() const {
  return qd::StatusLine(Snapshot(), jobs_per_s_);
}

int MasterMonitor::http_port() const { return http_ ? http_->port() : 0; }

}  // namespace qd
