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
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/process.h"
#include "core/redis_conn.h"
#include "core/supervisor.h"

namespace qd {

Status Supervisor::DropPrivileges() {
  return DropPrivileges(*config_, privileges_, pidfile_.path());
}

Status Supervisor::DropPrivileges(const Config& config,
                                  const Privileges& privileges,
                                  const std::string& pidfile) {
  if (privileges.empty()) return Status::Ok();
  if (geteuid() == 0) {
    // run_dir stays usable after the drop: the pid file can be removed at
    // exit and the embedded Redis keeps its socket and data there.
    const std::string& run_dir = config.daemon.run_dir;
    if (mkdir(run_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::Error("run_dir " + run_dir + ": " + std::strerror(errno));
    }
    std::vector<std::pair<std::string, bool>> paths = {{run_dir, false}};
    if (config.redis.url == "embedded") {
      paths.push_back({run_dir + "/redis", true});
    }
    if (!pidfile.empty()) paths.push_back({pidfile, false});
    // Reopened after the drop (SIGUSR1, log rotation).
    const std::string& log = config.daemon.log.file;
    if (log != "stderr" && log != "syslog") paths.push_back({log, false});
    std::string given;
    for (const auto& [path, recursive] : paths) {
      Status s = privileges.Chown(path, recursive);
      if (!s.ok()) return s;
      given += (given.empty() ? "" : ", ") + path + (recursive ? "/*" : "");
    }
    spdlog::info("gave {} to {}", given, privileges.Describe());
  }
  Status s = privileges.Drop();
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
  return CheckRedisLogins();
}

// Blocking, at start-up only (the loop is not running yet): a login the
// server refuses would fail again on every reconnect, so it stops the
// start instead. A server that is down is the clients' to retry.
Status Supervisor::CheckRedisLogins() const {
  std::set<std::string> checked;
  std::vector<const RedisEndpoint*> endpoints = {&config_->redis};
  for (const auto& [name, site] : config_->sites) {
    endpoints.push_back(&config_->RedisOf(site));
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
  return Status::Ok();
}

Status Supervisor::StartListeners(std::map<std::string, int> fds) {
  RedisUrl url;
  Status s = config_->redis.Resolve(&url);
  if (!s.ok()) return s;
  redis_client_ = std::make_unique<RedisClient>(base_, url, "master");
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
