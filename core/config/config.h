// Config: the daemon's whole configuration as plain values, and its loader.
//
// The key names are the public contract of docs/architecture.md ("Config
// shape"); the sample etc/queuedaemon.yaml comments every key and its default.
// Loading validates everything up front: an error names file:line:column and
// the key
// ("etc/qd.yaml:12:5: daemon.threads: expected a whole number >= 0, got
// 'many'"); unknown keys are errors with a did-you-mean when one is close.
// A Config is an immutable value once loaded: the master loads one before the
// fork and workers inherit it; SIGHUP loads a new one and only swaps it in
// when it is valid.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config/redis_url.h"
#include "core/config/xmpp_account.h"
#include "core/schedule/cron_expr.h"
#include "core/util/units.h"
#include "queuedaemon/status.h"

namespace date {
class time_zone;
}

namespace qd {

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error|critical|off
  std::string file = "stderr";  // "stderr", "syslog" or a path
};

struct DaemonConfig {
  std::string id = "generic";
  int threads = 0;                       // 0 = CPU count from the affinity mask
  uint64_t memory_limit = 256ull << 20;  // hard limit per worker, bytes
  std::string soft_limit_text = "90%";   // as written, for messages
  uint64_t soft_limit = memory_limit * 9 / 10;  // resolved by the loader
  Duration shutdown_timeout{25000};
  Duration kill_grace{5000};  // TERM -> KILL for a worker over a hard limit
  // A worker whose loop has not beaten for this long (a handler stuck in a
  // job without a timeout, a blocked loop) is killed and replaced; 0 = off.
  Duration heartbeat_timeout{60000};
  std::string run_dir = "run";  // pid file, embedded Redis socket and data
  std::string pidfile;          // default: <run_dir>/queuedaemon.<id>.pid
  // Who the daemon runs as once it has bound its sockets (Privileges): a
  // name or a numeric id; "" = stay as started. --user/--group beat them.
  std::string user;
  std::string group;  // "" = the user's primary group
  LogConfig log;
};

// A Redis server as the config names it (the top-level `redis:` and a
// site's own) and the credentials to AUTH with. The loader reads the
// password from password_file or password_env; it is never written
// anywhere (messages, logs, /status): only `password_from` names where it
// came from.
struct RedisEndpoint {
  // "embedded" (the master runs a private redis-server on a unix socket in
  // run_dir, AOF on), "redis://host:port/db" or "unix:///path.sock"; a
  // site's "" (none given) or "embedded" means the daemon's.
  std::string url;
  std::string username;  // ACL user; "" = the default user
  std::string password;  // "" = no AUTH
  // "redis.password_file /etc/qd/redis.pw", for messages; "" = no password.
  std::string password_from;
  // Redis Sentinel, in place of a url (which is "" then): the Sentinels to
  // ask ("host:port", "[v6]:port") for the master named `master`, and the
  // db to select on it. The credentials are the master's (and its
  // replicas'); the Sentinels are asked without AUTH.
  std::vector<std::string> sentinels;
  std::string master;
  int db = 0;
  // Redis Cluster, in place of a url (which is "" then): nodes to ask
  // CLUSTER SLOTS ("host:port"), with the endpoint's credentials; the node
  // used is the master of `cluster_key`'s slot (a site's is "{SITE}", set
  // by the loader for every site: every key of the site carries that tag;
  // the top level's is OwnKeys::kTag, the tag of the daemon's own keys).
  std::vector<std::string> cluster;
  std::string cluster_key;
  // A site's copy of the top-level Cluster, made by the loader when the
  // site gives no redis of its own: its keys are on their own slot, so the
  // site cannot share the top level's endpoint (whose key is {qd}).
  bool from_top_level = false;

  // A server of its own: a url other than "embedded", Sentinels or a
  // Cluster.
  bool Given() const {
    return !sentinels.empty() || !cluster.empty() ||
           (!url.empty() && url != "embedded");
  }
  // The parsed url with the credentials (or the Sentinels to ask).
  // REQUIRES: Sentinels, or url is a redis:// or unix:// url (the master
  // resolves "embedded" before the fork).
  Status Resolve(RedisUrl* out) const;
  bool SameAs(const RedisEndpoint& other) const {
    return url == other.url && username == other.username &&
           password == other.password && sentinels == other.sentinels &&
           master == other.master && db == other.db &&
           cluster == other.cluster &&
           (cluster.empty() || cluster_key == other.cluster_key);
  }
};

struct RedisConfig : RedisEndpoint {
  RedisConfig() { url = "embedded"; }
  std::string server_binary = "redis-server";  // for "embedded"
};

struct PluginsConfig {
  std::string dir = "plugins";
  std::vector<std::string> load;
};

// Monitoring (docs/architecture.md, "Monitoring"). statsd lines go to `udp`
// from every process; the master serves `http`. A non-loopback `http` needs
// `http_public: true` (it has no authentication).
struct MonitorConfig {
  std::string udp;            // "host:port" or empty = off
  std::string prefix = "qd";  // first part of every statsd name
  Duration interval{1000};    // statsd aggregation and flush period
  // How statsd tags are written: "dogstatsd" (`name:1|c|#site:a,queue:b`,
  // also Telegraf's statsd input) or "plain" (folded into the name:
  // `qd.site.a.queue.b.name:1|c`).
  std::string tags = "dogstatsd";
  std::string http;  // "host:port" or empty = off
  bool http_public = false;
  // The /api/v1 actions' bearer token (docs/api.md); "" = actions off.
  std::string admin_token_file;
  std::string admin_token;  // read from admin_token_file by the loader
};

// The control channel (docs/control.md): commands from queuectl through
// Redis pub/sub. Whoever can write to the daemon's Redis can send them
// unless a secret signs them.
struct ControlConfig {
  bool enabled = true;
  std::string secret_file;  // "" = commands are not signed
  std::string secret;       // read from secret_file by the loader
};

// Reads monitor.admin_token_file as ReadControlSecret reads its file (the
// same rules: SecretFile, first line, at least 16 bytes).
[[nodiscard]] Status ReadAdminToken(const std::string& path,
                                    std::string* token);

// Reads control.secret_file: its first line, trailing spaces dropped, at
// least 16 bytes; refused when the file is readable by its group or others
// (SecretFile). For the loader and queuectl --secret-file.
[[nodiscard]] Status ReadControlSecret(const std::string& path,
                                       std::string* secret);

// One queue of a site. Keys the framework knows are parsed here; any other
// key belongs to the handler (e.g. exec's `command`) and is kept in
// `handler_options` for the handler to validate.
struct QueueConfig {
  std::string name;
  std::string handler;
  int max_attempts = 10;
  Duration timeout{0};  // 0 = none
  Duration visibility_timeout{300000};
  Duration retry_base{1000};
  Duration retry_max{3600000};
  int weight = 1;
  // Bytes of an entry's fields and values together; a larger job is
  // dead-lettered unrun.
  uint64_t max_payload = 16 << 20;
  // When a unique job frees its lock (docs/unique-jobs.md): "done" (acked
  // or dead-lettered) or "start" (its handler is called).
  std::string unique_until = "done";
  // The site limit this queue's jobs start under (docs/limits.md); "" =
  // none.
  std::string limit;
  YAML::Node handler_options;  // a map, possibly empty
  int line = 0;  // 1-based position in the file, for later messages
  int column = 0;
};

// One periodic job of a site (docs/periodic.md): a cron expression read in
// a time zone, and the job it puts in one of the site's queues at each tick.
struct PeriodicConfig {
  enum class Missed {
    kSkip,     // ticks that passed while no daemon ran are not run
    kRunOnce,  // at start, one run for them (the latest), if any ran before
  };

  std::string name;
  CronExpr cron;
  std::string timezone = "UTC";  // the IANA name, as written
  // From FindTimeZone at load (it lives for the whole process); never null
  // in a loaded config.
  const date::time_zone* zone = nullptr;
  std::string queue;    // a queue of the site
  std::string payload;  // the job's payload ("" when not given)
  Missed missed = Missed::kSkip;
  int line = 0;  // 1-based position of its key in the file
};

// A limit of a site (docs/limits.md): the jobs of every queue that names it
// share one budget, across every daemon on the site's Redis (and one budget
// per value of a job's `limit_key` field). At least one bound is set.
struct LimitConfig {
  std::string name;
  int concurrency = 0;  // jobs running at once; 0 = no such bound
  int rate = 0;         // starts within any rate_window; 0 = no such bound
  Duration rate_window{0};
};

struct SiteConfig {
  std::string name;
  RedisEndpoint redis;  // url "" (or "embedded") = the daemon's redis
  std::string prefix = "qd";
  std::string mode = "listen";  // listen | poll
  Duration poll_interval{1000};
  // The site's share of a worker's turns against the other sites with jobs
  // ready (as a queue's `weight` within its site), 1..1000.
  int weight = 1;
  // A consumer of a queue's group (another host's worker, a slot of a
  // daemon that is gone) with nothing pending and idle past this is
  // deleted (XGROUP DELCONSUMER); 0 = never. On a queue quiet that long a
  // live worker's goes too (Redis 7.0 counts only deliveries as
  // activity), and comes back with its next job (ConsumerSweep).
  Duration consumer_idle_limit{3600000};
  std::map<std::string, QueueConfig> queues;
  std::map<std::string, PeriodicConfig> periodic;  // by entry name
  std::map<std::string, LimitConfig> limits;       // by name
};

// One listener (docs/architecture.md, "Multiplex listeners"). Keys the
// framework knows are parsed here; any other key, and `accounts` without the
// per-account worker_keepalive, is kept in `handler_options` for the
// RequestHandler.
struct ListenerConfig {
  std::string name;
  std::string listen;  // "host:port" ("[::1]:6001") or "unix:/path"
  std::string personality = "multiplex";  // multiplex | fork
  std::string handler;
  std::string terminator = "\r";    // 1..8 bytes ending every request
  std::string reply_terminator;     // appended to replies; "" = terminator
  uint64_t max_frame = 64 << 10;    // a longer request closes the connection
  int max_concurrent = 256;         // the fork fence: workers in flight
  Duration worker_keepalive{5000};  // 0 = a worker answers one request
  Duration fence_timeout{30000};    // waiting for the fence -> BusyReply
  Duration idle_timeout{600000};    // no complete request for this long
                                    // (and none running): closed; 0 = never
  int max_connections = 10000;
  // A connection's unsent replies: over max_output its requests are
  // neither read nor run until the client has read half of them; over
  // max_output_hard (a large reply on top) it is closed, and so it is when
  // its replies make no progress for output_timeout (0 = never).
  uint64_t max_output = 1 << 20;
  uint64_t max_output_hard = 16 << 20;
  Duration output_timeout{30000};
  std::string login = "none";  // required | none
  // With login required: a connection not logged in within login_timeout
  // is closed; after a failed login from an address, connections from it
  // log in at most one per login_delay (0 = no delay).
  Duration login_timeout{10000};
  Duration login_delay{1000};
  std::string site;           // the site of connections not logged in
  std::string prefix = "qd";  // session keys: PREFIX:{qd}:session:CONN
  Duration session_ttl{86400000};
  // Overrides of worker_keepalive; an account's beats its site's, which
  // beats the listener's.
  std::map<std::string, Duration> site_keepalive;
  std::map<std::string, Duration> account_keepalive;
  YAML::Node handler_options;  // a map, possibly empty
  int line = 0;                // 1-based position in the file

  // The keepalive for a connection of `site` logged in as `account` (either
  // may be empty).
  Duration KeepaliveFor(const std::string& site,
                        const std::string& account) const;
  const std::string& ReplyTerminator() const {
    return reply_terminator.empty() ? terminator : reply_terminator;
  }
};

struct Config {
  std::string file;  // the path it was loaded from ("" = embedded defaults)
  DaemonConfig daemon;
  RedisConfig redis;
  PluginsConfig plugins;
  MonitorConfig monitor;
  ControlConfig control;
  std::map<std::string, SiteConfig> sites;
  std::map<std::string, ListenerConfig> listeners;
  std::map<std::string, XmppAccount> xmpp;  // by name

  // Loads and validates `path`. On error `*out` is untouched.
  static Status LoadFile(const std::string& path, Config* out);
  // Same, from text; `name` is used in messages in place of a file name.
  static Status LoadString(const std::string& text, const std::string& name,
                           Config* out);
  // The built-in defaults (what `queuedaemon` runs with when no file exists):
  // embedded Redis, one site "default" with a "noop" queue.
  static Config Defaults();

  // The Redis of `site`: its own, or (none or "embedded") the daemon's,
  // whose "embedded" the master resolves to a unix url before the fork. A
  // top-level Cluster is the site's own already (from_top_level), with the
  // site's key.
  const RedisEndpoint& RedisOf(const SiteConfig& site) const {
    return site.redis.Given() ? site.redis : redis;
  }
  // The pid file path with defaults applied.
  std::string PidFile() const;
};

}  // namespace qd
