// CtlContext: what every queuectl command shares: the loaded config with the
// command-line overrides applied, the Redis server of each site, and one
// open connection per server (opened on first use, reused by every site
// that lives there).
//
// Where a site's Redis is: its own `redis:` if it has one, else the
// daemon's `redis`, which `--redis URL` replaces (without the config's
// credentials, which are not sent to another server). "embedded" means the
// daemon's private server on <daemon.run_dir>/redis/redis.sock, with
// run_dir made absolute against the current directory, as the daemon does.
// Connections log in with the config's username and password_file or
// password_env, as the daemon's do.
// Errors from Load(), Site() and Queue() are usage/config errors (exit 2);
// errors from Connect() are run-time errors (exit 1). Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/config/config.h"
#include "core/config/redis_url.h"
#include "core/redis/redis_conn.h"
#include "queuedaemon/status.h"

namespace qd::ctl {

class CtlContext {
 public:
  // The global options, as given on the command line ("" = not given).
  struct Options {
    std::string config_path;  // -c: default the built-in defaults
    std::string redis_url;    // --redis: replaces the config's redis
    std::string id;           // -i: replaces daemon.id
  };

  // Loads the config and resolves every site's Redis url.
  Status Load(const Options& options);
  const Config& config() const { return config_; }

  // The site called `name`, or an error naming it and the configured ones.
  Status Site(std::string_view name, const SiteConfig** out) const;
  // Ok if `site` configures `queue`; else an error naming both.
  Status Queue(const SiteConfig& site, std::string_view queue) const;

  // Where the site's Redis is. REQUIRES: Load() succeeded; `site` is in it.
  const RedisUrl& ServerOf(const SiteConfig& site) const;
  // The connection to the site's Redis; owned by this context.
  Status Connect(const SiteConfig& site, RedisConn** out);
  // The connection to the daemon's own Redis (redis.url or --redis), where
  // daemons publish their hashes and listen for control commands.
  Status ConnectDaemon(RedisConn** out);
  // The daemon id given with -i ("" when not given: every daemon).
  const std::string& selected_id() const { return selected_id_; }

 private:
  std::string Describe() const;
  Status Resolve(const RedisEndpoint& endpoint, RedisUrl* out) const;

  Status Open(const RedisUrl& url, RedisConn** out);

  Config config_;
  std::string selected_id_;
  std::map<std::string, RedisUrl> servers_;                  // by site name
  std::map<std::string, std::unique_ptr<RedisConn>> conns_;  // by Key()
};

}  // namespace qd::ctl
