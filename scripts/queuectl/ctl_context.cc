#include "scripts/queuectl/ctl_context.h"

#include "core/os/process.h"

namespace qd::ctl {
namespace {

template <typename Map>
std::string Names(const Map& map) {
  std::string out;
  for (const auto& entry : map) {
    if (!out.empty()) out += ", ";
    out += entry.first;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Status CtlContext::Load(const Options& options) {
  config_ = Config::Defaults();
  if (!options.config_path.empty()) {
    Status s = Config::LoadFile(options.config_path, &config_);
    if (!s.ok()) return s;
  }
  if (!options.id.empty()) config_.daemon.id = options.id;
  selected_id_ = options.id;
  if (!options.redis_url.empty()) {
    // Another server: the config's credentials are not sent to it.
    static_cast<RedisEndpoint&>(config_.redis) = RedisEndpoint();
    config_.redis.url = options.redis_url;
    // A site's copy of the top-level Cluster goes with it.
    for (auto& [name, site] : config_.sites) {
      if (site.redis.from_top_level) site.redis = RedisEndpoint();
    }
  }
  for (const auto& [name, site] : config_.sites) {
    Status s = Resolve(config_.RedisOf(site), &servers_[name]);
    if (!s.ok()) return Status::Error("site " + name + ": " + s.message());
  }
  return Status::Ok();
}

Status CtlContext::Site(std::string_view name, const SiteConfig** out) const {
  auto it = config_.sites.find(std::string(name));
  if (it == config_.sites.end()) {
    return Status::Error("unknown site '" + std::string(name) + "' in " +
                         Describe() + " (sites: " + Names(config_.sites) + ")");
  }
  *out = &it->second;
  return Status::Ok();
}

Status CtlContext::Queue(const SiteConfig& site, std::string_view queue) const {
  if (site.queues.count(std::string(queue)) != 0) return Status::Ok();
  return Status::Error("unknown queue '" + std::string(queue) + "' of site " +
                       site.name + " in " + Describe() +
                       " (queues: " + Names(site.queues) + ")");
}

const RedisUrl& CtlContext::ServerOf(const SiteConfig& site) const {
  return servers_.at(site.name);
}

Status CtlContext::Connect(const SiteConfig& site, RedisConn** out) {
  return Open(ServerOf(site), out);
}

Status CtlContext::ConnectDaemon(RedisConn** out) {
  RedisUrl url;
  Status s = Resolve(config_.redis, &url);
  if (!s.ok()) return s;
  return Open(url, out);
}

Status CtlContext::Open(const RedisUrl& url, RedisConn** out) {
  std::unique_ptr<RedisConn>& conn = conns_[url.Key()];
  if (conn == nullptr) {
    Status s = RedisConn::Open(url, &conn);
    if (!s.ok()) return s;
  }
  *out = conn.get();
  return Status::Ok();
}

std::string CtlContext::Describe() const {
  return config_.file.empty() ? "the built-in config" : config_.file;
}

Status CtlContext::Resolve(const RedisEndpoint& endpoint, RedisUrl* out) const {
  if (endpoint.url == "embedded") {
    return RedisUrl::Parse("unix://" +
                               Process::Absolute(config_.daemon.run_dir) +
                               "/redis/redis.sock",
                           out);
  }
  return endpoint.Resolve(out);
}

}  // namespace qd::ctl
