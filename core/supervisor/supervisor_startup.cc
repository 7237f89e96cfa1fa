// The Supervisor's start-up steps, the helpers of Run() in the order it
// takes them (supervisor.cc holds Run() itself, and what the master does
// once its loop runs): the privilege drop once every socket is bound, the
// plugins and handlers, the Redis servers and their logins, the
// listeners.
#include <errno.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/os/process.h"
#include "core/queue/enqueue_library_loader.h"
#include "core/queue/queue_keys.h"
#include "core/redis/redis_conn.h"
#include "core/supervisor/supervisor.h"

namespace qd {

Status Supervisor::DropPrivileges() {
  return DropPrivileges(*config_, privileges_);
}

// run_dir must be the user's after the drop (the pid file in it is removed
// at exit, the embedded Redis keeps its socket and data there). It is given
// to the user only when this start creates it: an existing directory (a
// shared /run or /tmp, another service's) is never taken over.
Status Supervisor::TakeRunDir(const Config& config,
                              const Privileges& privileges) {
  if (privileges.empty() || geteuid() != 0) return Status::Ok();
  const std::string& run_dir = config.daemon.run_dir;
  if (mkdir(run_dir.c_str(), 0755) == 0) return privileges.Chown(run_dir);
  struct stat st;
  if (errno != EEXIST || lstat(run_dir.c_str(), &st) != 0) {
    return Status::Error("run_dir " + run_dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != privileges.uid()) {
    return Status::Error(
        "run_dir " + run_dir + " exists and belongs to uid " +
        std::to_string(st.st_uid) + ", not to " + privileges.Describe() +
        ": the daemon gives run_dir to its user only when it creates it; "
        "chown it or name a new directory");
  }
  return Status::Ok();
}

Status Supervisor::DropPrivileges(const Config& config,
                                  const Privileges& privileges) {
  if (privileges.empty()) return Status::Ok();
  Status s = TakeRunDir(config, privileges);
  if (!s.ok()) return s;
  // Reopened after the drop (SIGUSR1): the file must be the user's (its
  // directory too, for a rotation that renames it: docs/operations.md,
  // "Privileges").
  const std::string& log = config.daemon.log.file;
  if (geteuid() == 0 && log != "stderr" && log != "syslog") {
    s = privileges.Chown(log);
    if (!s.ok()) return s;
  }
  s = privileges.Drop();
  if (!s.ok()) return s;
  spdlog::info("running as {}", privileges.Describe());
  return Status::Ok();
}

Status Supervisor::StartRedis() {
  if (config_->redis.url == "embedded") {
    redis_ = std::make_unique<EmbeddedRedis>(
        base_, config_->redis.server_binary,
        Process::Absolute(config_->daemon.run_dir) + "/redis");
    Status s = redis_->Start();
    if (!s.ok()) return s;
  }
  config_->redis.url = WorkerRedisUrl();
  Status s = CheckRedisLogins();
  if (s.ok()) LoadEnqueueLibrary();
  return s;
}

// Blocking, at start-up only, like the login check: the top-level server
// and each site's (a site may have its own). Each worker checks again after
// every connect to a site's server (SiteConsumer), which also covers a
// server down now.
void Supervisor::LoadEnqueueLibrary() const {
  std::set<std::string> done;
  std::vector<const RedisEndpoint*> endpoints = {&config_->redis};
  for (const auto& [name, site] : config_->sites) {
    endpoints.push_back(&config_->RedisOf(site));
  }
  for (const RedisEndpoint* endpoint : endpoints) {
    RedisUrl url;
    if (!endpoint->Resolve(&url).ok()) continue;  // CheckRedisLogins said
    if (!done.insert(url.Key()).second) continue;
    std::unique_ptr<RedisConn> conn;
    Status s = RedisConn::Open(url, &conn, {2, 0});
    if (!s.ok()) {
      spdlog::debug("{}: function library left to the workers", s.message());
      continue;
    }
    auto outcome = EnqueueLibraryLoader::Ensure(conn.get());
    std::string what = EnqueueLibraryLoader::Describe(outcome);
    if (outcome.result == EnqueueLibraryLoader::Result::kPresent) {
      spdlog::debug("{}: {}", conn->name(), what);
    } else if (outcome.result == EnqueueLibraryLoader::Result::kLoaded) {
      spdlog::info("{}: {}", conn->name(), what);
    } else {
      spdlog::warn("{}: {}", conn->name(), what);
    }
  }
}

// Blocking, at start-up only (the loop is not running yet): a login the
// server refuses would fail again on every reconnect, so it stops the
// start instead. A server that is down is the clients' to retry.
Status Supervisor::CheckRedisLogins() const {
  std::set<std::string> checked;
  std::vector<const RedisEndpoint*> endpoints = {&config_->redis};
  // Per server, a key of each site on it: a Redis Cluster node that does
  // not hold a site's slot stops the start (CheckSlot).
  std::map<std::string, std::pair<RedisUrl, std::vector<std::string>>> slots;
  for (const auto& [name, site] : config_->sites) {
    endpoints.push_back(&config_->RedisOf(site));
    RedisUrl url;
    if (!config_->RedisOf(site).Resolve(&url).ok()) continue;  // said below
    auto& server = slots[url.Key() + " " + url.password];
    server.first = url;
    server.second.push_back(QueueKeys::Delayed(site.prefix, name));
  }
  for (const RedisEndpoint* endpoint : endpoints) {
    RedisUrl url;
    Status s = endpoint->Resolve(&url);
    if (!s.ok()) return s;
    if (!checked.insert(url.Key() + " " + url.password).second) continue;
    s = RedisConn::CheckLogin(url, {2, 0});
    if (s.ok()) continue;
    std::string hint = endpoint->password_from.empty()
                           ? " (no password configured: set password_file or "
                             "password_env in redis:)"
                           : " (password from " + endpoint->password_from + ")";
    return Status::Error(s.message() + hint);
  }
  for (const auto& [key, server] : slots) {
    Status s = RedisConn::CheckSlot(server.first, {2, 0}, server.second);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status Supervisor::StartListeners(std::map<std::string, int> fds) {
  RedisUrl url;
  Status s = config_->redis.Resolve(&url);
  if (!s.ok()) return s;
  redis_client_ = std::make_unique<RedisClient>(base_, url, "master");
  // A hung server is dropped and reconnected, as in the workers (the value
  // of the start; a reload does not change it).
  redis_client_->set_reply_timeout(config_->daemon.heartbeat_timeout);
  redis_client_->Start();
  int files = Process::RaiseFileLimit();
  if (!config_->listeners.empty()) spdlog::debug("open file limit {}", files);
  std::string prefix =
      config_->daemon.id + ":" + std::to_string(getpid()) + ":";
  listeners_ = std::make_unique<ListenerSet>(
      base_, prefix, url,
      SessionStore{
          [this](const std::string& key, const std::string& record,
                 Duration ttl) {
            std::string px = std::to_string(ttl.count());
            (void)redis_client_->Command({"SET", key, record, "PX", px},
                                         [](redisReply*) {});
          },
          [this](const std::string& key) {
            (void)redis_client_->Command({"DEL", key}, [](redisReply*) {});
          }},
      [this] { MaybeFinish(); });
  return listeners_->Open(*config_, *handlers_, std::move(fds));
}

std::string Supervisor::WorkerRedisUrl() const {
  return redis_ ? redis_->url() : config_->redis.url;
}

Status Supervisor::BuildHandlers(const Config& config, PluginLoader& plugins,
                                 HandlerRegistry& registry, HandlerSet* out) {
  Status s = plugins.Load(config.plugins.dir, config.plugins.load, registry);
  if (!s.ok()) return s;
  HandlerSet handlers;
  s = registry.Build(config, &handlers);
  if (s.ok()) *out = std::move(handlers);
  return s;
}

}  // namespace qd
