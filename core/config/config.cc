// The config schema: which keys exist, their types and their checks, for
// the sections without a file of their own (daemon, plugins, monitor,
// control, sites), and the document that holds them all. Redis servers are
// read in config_redis.cc, listeners in config_listeners.cc and xmpp
// accounts in config_xmpp.cc; the mechanics of walking YAML with positions
// live in ConfigReader.
#include "core/config/config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/config/config_reader.h"
#include "core/config/config_sections.h"
#include "core/config/own_keys.h"
#include "core/util/secret_file.h"

namespace qd {
namespace {

using config_detail::CheckLimitRefs;
using config_detail::CheckName;
using config_detail::CheckQueueRefs;
using config_detail::CheckSiteRefs;
using config_detail::IsName;
using config_detail::Item;
using config_detail::kNameExtra;
using config_detail::LinkXmppQueues;
using config_detail::QueueRef;
using config_detail::ReadHostPort;
using config_detail::ReadLimits;
using config_detail::ReadListeners;
using config_detail::ReadPeriodic;
using config_detail::ReadPositiveDuration;
using config_detail::ReadRedisEndpoint;
using config_detail::ReadToken;
using config_detail::ReadXmppAccount;
using config_detail::SiteRef;

constexpr int kMaxThreads = 1024;
constexpr int kMaxSiteWeight = 1000;
constexpr int kMaxInt = std::numeric_limits<int>::max();

const std::vector<std::string> kLogLevels = {
    "trace", "debug", "info", "warn", "error", "critical", "off"};
const std::vector<std::string> kSiteModes = {"listen", "poll"};

void ReadLog(ConfigReader& r, const Item& item, LogConfig* log) {
  r.ReadMap(
      item,
      {
          {"level",
           [&](const Item& i) { r.ReadChoice(i, kLogLevels, &log->level); }},
          {"file", [&](const Item& i) { r.ReadString(i, &log->file); }},
      });
}

// Below this, workers would be killed or recycled at birth.
constexpr uint64_t kMinMemoryLimit = 16ull << 20;

// Resolves daemon.soft_limit against the final memory_limit; errors point
// at `item` (soft_limit when given, else memory_limit).
void ResolveSoftLimit(ConfigReader& r, const Item& item, DaemonConfig* d) {
  if (!r.ok()) return;
  Status s =
      ParseSoftLimit(d->soft_limit_text, d->memory_limit, &d->soft_limit);
  if (!s.ok()) {
    r.Fail(item, s.message());
  } else if (d->soft_limit > d->memory_limit) {
    r.Fail(item, "soft limit " + FormatSize(d->soft_limit) +
                     " is above memory_limit " + FormatSize(d->memory_limit));
  }
}

// The soft limit is resolved once the whole map is read, because it depends
// on memory_limit, which may come after it.
void ReadDaemon(ConfigReader& r, const Item& item, DaemonConfig* d) {
  Item soft_limit, memory_limit;
  r.ReadMap(
      item,
      {
          {"id", [&](const Item& i) { ReadToken(r, i, "_.-", &d->id); }},
          {"threads",
           [&](const Item& i) { r.ReadInt(i, 0, kMaxThreads, &d->threads); }},
          {"memory_limit",
           [&](const Item& i) {
             memory_limit = i;
             if (r.ReadSize(i, &d->memory_limit) &&
                 d->memory_limit < kMinMemoryLimit) {
               r.Fail(i, "expected at least " + FormatSize(kMinMemoryLimit) +
                             " (an idle worker alone needs a few MiB), got " +
                             FormatSize(d->memory_limit));
             }
           }},
          {"soft_limit",
           [&](const Item& i) {
             soft_limit = i;
             r.ReadScalar(i, "a percent or a size such as 90% or 200MiB",
                          &d->soft_limit_text);
           }},
          {"shutdown_timeout",
           [&](const Item& i) { r.ReadDuration(i, &d->shutdown_timeout); }},
          {"kill_grace",
           [&](const Item& i) { r.ReadDuration(i, &d->kill_grace); }},
          {"heartbeat_timeout",
           [&](const Item& i) { r.ReadDuration(i, &d->heartbeat_timeout); }},
          {"run_dir", [&](const Item& i) { r.ReadString(i, &d->run_dir); }},
          {"pidfile", [&](const Item& i) { r.ReadString(i, &d->pidfile); }},
          {"user", [&](const Item& i) { r.ReadString(i, &d->user); }},
          {"group", [&](const Item& i) { r.ReadString(i, &d->group); }},
          {"log", [&](const Item& i) { ReadLog(r, i, &d->log); }},
      });
  ResolveSoftLimit(r, soft_limit.path.empty() ? memory_limit : soft_limit, d);
}

void ReadPlugins(ConfigReader& r, const Item& item, PluginsConfig* plugins) {
  r.ReadMap(
      item,
      {
          {"dir", [&](const Item& i) { r.ReadString(i, &plugins->dir); }},
          {"load", [&](const Item& i) { r.ReadStringList(i, &plugins->load); }},
      });
}

void ReadControl(ConfigReader& r, const Item& item, ControlConfig* control) {
  r.ReadMap(
      item,
      {
          {"enabled", [&](const Item& i) { r.ReadBool(i, &control->enabled); }},
          {"secret_file",
           [&](const Item& i) {
             std::string path;
             if (!r.ReadString(i, &path)) return;
             Status s = ReadControlSecret(path, &control->secret);
             if (!s.ok()) {
               r.Fail(i, s.message());
               return;
             }
             control->secret_file = path;
           }},
      });
}

// The host part of a host:port IsHostPort accepted ("[::1]" -> "::1").
std::string HostOf(const std::string& host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  return host;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void ReadMonitor(ConfigReader& r, const Item& item, MonitorConfig* monitor) {
  std::optional<Item> http;
  r.ReadMap(
      item,
      {
          {"udp", [&](const Item& i) { ReadHostPort(r, i, &monitor->udp); }},
          {"prefix",
           [&](const Item& i) {
             std::string text;
             if (!r.ReadString(i, &text)) return;
             if (!IsName(text, "_.-")) {
               r.Fail(i, "expected letters, digits and _ . - only, got " +
                             ConfigReader::Describe(i.value));
               return;
             }
             monitor->prefix = text;
           }},
          {"interval",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &monitor->interval);
           }},
          {"tags",
           [&](const Item& i) {
             r.ReadChoice(i, {"dogstatsd", "plain"}, &monitor->tags);
           }},
          {"http",
           [&](const Item& i) {
             ReadHostPort(r, i, &monitor->http);
             http = i;
           }},
          {"http_public",
           [&](const Item& i) { r.ReadBool(i, &monitor->http_public); }},
          {"admin_token_file",
           [&](const Item& i) {
             std::string path;
             if (!r.ReadString(i, &path)) return;
             Status s = ReadAdminToken(path, &monitor->admin_token);
             if (!s.ok()) {
               r.Fail(i, s.message());
               return;
             }
             monitor->admin_token_file = path;
           }},
      });
  if (r.ok() && http && !monitor->http_public &&
      !IsLoopback(HostOf(monitor->http))) {
    r.Fail(*http, monitor->http +
                      " is not a loopback address and /metrics, /status have "
                      "no authentication; set monitor.http_public: true to "
                      "serve them beyond this host");
  }
}

// A `limit:` it names is added to *limit_refs, to be checked with the site.
void ReadQueue(ConfigReader& r, const Item& item, QueueConfig* q,
               std::vector<Item>* limit_refs) {
  q->name = item.key.Scalar();
  q->line = item.key.Mark().line + 1;
  q->column = item.key.Mark().column + 1;
  q->handler_options = YAML::Node(YAML::NodeType::Map);
  if (item.value.IsScalar()) {  // "noop: noop" is a natural first guess
    r.Fail(item, "expected a map such as { handler: " + item.value.Scalar() +
                     " }, got " + ConfigReader::Describe(item.value));
    return;
  }
  r.ReadMap(
      item,
      {
          {"handler", [&](const Item& i) { r.ReadString(i, &q->handler); }},
          {"max_attempts",
           [&](const Item& i) { r.ReadInt(i, 1, kMaxInt, &q->max_attempts); }},
          {"timeout", [&](const Item& i) { r.ReadDuration(i, &q->timeout); }},
          {"visibility_timeout",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &q->visibility_timeout);
           }},
          {"retry_base",
           [&](const Item& i) { r.ReadDuration(i, &q->retry_base); }},
          {"retry_max",
           [&](const Item& i) { r.ReadDuration(i, &q->retry_max); }},
          {"weight",
           [&](const Item& i) { r.ReadInt(i, 1, kMaxInt, &q->weight); }},
          {"max_payload",
           [&](const Item& i) { r.ReadSize(i, &q->max_payload); }},
          {"unique_until",
           [&](const Item& i) {
             r.ReadChoice(i, {"done", "start"}, &q->unique_until);
           }},
          {"limit",
           [&](const Item& i) {
             if (r.ReadString(i, &q->limit)) limit_refs->push_back(i);
           }},
      },
      [&](const Item& i) { q->handler_options[i.key.Scalar()] = i.value; });
  if (!r.ok()) return;
  if (q->handler.empty()) {
    r.FailAtKey(item, "missing required key 'handler'");
  } else if (q->retry_max < q->retry_base) {
    r.FailAtKey(item, "retry_max " + FormatDuration(q->retry_max) +
                          " is below retry_base " +
                          FormatDuration(q->retry_base));
  }
}

// The queues a periodic entry names go to *queue_refs.
void ReadSite(ConfigReader& r, const Item& item, SiteConfig* site,
              std::vector<QueueRef>* queue_refs) {
  site->name = item.key.Scalar();
  std::vector<Item> limit_refs;
  r.ReadMap(
      item,
      {
          {"redis",
           [&](const Item& i) {
             ReadRedisEndpoint(r, i, &site->redis, nullptr);
           }},
          {"prefix",
           [&](const Item& i) { ReadToken(r, i, kNameExtra, &site->prefix); }},
          {"mode",
           [&](const Item& i) { r.ReadChoice(i, kSiteModes, &site->mode); }},
          {"poll_interval",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &site->poll_interval);
           }},
          {"consumer_idle_limit",
           [&](const Item& i) {
             r.ReadDuration(i, &site->consumer_idle_limit);
           }},
          {"weight",
           [&](const Item& i) {
             r.ReadInt(i, 1, kMaxSiteWeight, &site->weight);
           }},
          {"queues",
           [&](const Item& i) {
             r.ReadEntries(i, [&](const Item& queue) {
               CheckName(r, queue, "queue");
               ReadQueue(r, queue, &site->queues[queue.key.Scalar()],
                         &limit_refs);
             });
           }},
          {"periodic",
           [&](const Item& i) { ReadPeriodic(r, i, site, queue_refs); }},
          {"limits", [&](const Item& i) { ReadLimits(r, i, &site->limits); }},
      });
  if (r.ok()) CheckLimitRefs(r, limit_refs, site->limits);
  site->redis.cluster_key = "{" + site->name + "}";
}

// A top-level Cluster connects to the node of the daemon's own keys' slot
// (core/config/own_keys.h). A site without a redis of its own takes a copy
// of it with the site's key, {SITE}: its keys have their own slot, often on
// another master.
void InheritTopLevelCluster(Config* c) {
  if (c->redis.cluster.empty()) return;
  c->redis.cluster_key = OwnKeys::kTag;
  for (auto& [name, site] : c->sites) {
    if (site.redis.Given()) continue;
    site.redis = static_cast<const RedisEndpoint&>(c->redis);
    site.redis.cluster_key = "{" + name + "}";
    site.redis.from_top_level = true;
  }
}

void ReadDocument(ConfigReader& r, const YAML::Node& root, Config* c) {
  Item document{YAML::Node(), root, ""};
  if (root.IsNull()) {
    r.FailAt(YAML::Mark(), "",
             "empty config: expected a map of sections "
             "(daemon, redis, plugins, monitor, sites, ...)");
    return;
  }
  if (!root.IsMap()) {
    r.Fail(document, "expected a map of sections at the top level, got " +
                         ConfigReader::Describe(root));
    return;
  }
  std::vector<SiteRef> site_refs;
  std::vector<QueueRef> queue_refs;
  r.ReadMap(
      document,
      {
          {"daemon", [&](const Item& i) { ReadDaemon(r, i, &c->daemon); }},
          {"redis",
           [&](const Item& i) {
             ReadRedisEndpoint(r, i, &c->redis, &c->redis.server_binary);
           }},
          {"plugins", [&](const Item& i) { ReadPlugins(r, i, &c->plugins); }},
          {"monitor", [&](const Item& i) { ReadMonitor(r, i, &c->monitor); }},
          {"control", [&](const Item& i) { ReadControl(r, i, &c->control); }},
          {"sites",
           [&](const Item& i) {
             r.ReadEntries(i, [&](const Item& site) {
               CheckName(r, site, "site");
               ReadSite(r, site, &c->sites[site.key.Scalar()], &queue_refs);
             });
           }},
          {"listeners",
           [&](const Item& i) {
             ReadListeners(r, i, &c->listeners, &site_refs);
           }},
          {"xmpp",
           [&](const Item& i) {
             r.ReadEntries(i, [&](const Item& account) {
               XmppAccount& a = c->xmpp[account.key.Scalar()];
               a.name = account.key.Scalar();
               a.line = account.key.Mark().line + 1;
               ReadXmppAccount(r, account, &a, &site_refs);
             });
           }},
      });
  if (r.ok()) InheritTopLevelCluster(c);
  if (r.ok()) CheckSiteRefs(r, site_refs, c->sites);
  if (r.ok()) LinkXmppQueues(r, c);
  if (r.ok()) CheckQueueRefs(r, queue_refs, c->sites);
}

// A Config before any file is read: no sites, defaults everywhere else.
Config Empty() {
  Config c;
  Status s = ParseSoftLimit(c.daemon.soft_limit_text, c.daemon.memory_limit,
                            &c.daemon.soft_limit);
  (void)s;  // the built-in values always parse
  return c;
}

}  // namespace

Status Config::LoadFile(const std::string& path, Config* out) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::Error(path + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return Status::Error(path + ": cannot read: " + std::strerror(error));
  }
  return LoadString(text, path, out);
}

Status Config::LoadString(const std::string& text, const std::string& name,
                          Config* out) {
  ConfigReader r(name, text);
  Config c = Empty();
  c.file = name;
  try {
    ReadDocument(r, YAML::Load(text), &c);
  } catch (const YAML::ParserException& e) {
    r.FailAt(e.mark, "", "YAML syntax: " + e.msg);
  } catch (const YAML::Exception& e) {
    r.FailAt(e.mark, "", e.msg);
  } catch (const std::exception& e) {
    r.FailAt(YAML::Mark::null_mark(), "",
             std::string("cannot load: ") + e.what());
  }
  if (!r.ok()) return r.status();
  *out = std::move(c);
  return Status::Ok();
}

Config Config::Defaults() {
  Config c = Empty();
  SiteConfig& site = c.sites["default"];
  site.name = "default";
  QueueConfig& noop = site.queues["noop"];
  noop.name = "noop";
  noop.handler = "noop";
  noop.handler_options = YAML::Node(YAML::NodeType::Map);
  return c;
}

Duration ListenerConfig::KeepaliveFor(const std::string& site,
                                      const std::string& account) const {
  if (!account.empty()) {
    auto it = account_keepalive.find(account);
    if (it != account_keepalive.end()) return it->second;
  }
  if (!site.empty()) {
    auto it = site_keepalive.find(site);
    if (it != site_keepalive.end()) return it->second;
  }
  return worker_keepalive;
}

std::string Config::PidFile() const {
  if (!daemon.pidfile.empty()) return daemon.pidfile;
  return daemon.run_dir + "/queuedaemon." + daemon.id + ".pid";
}

namespace {

// The first line of the secret file `path` of config key `key`, trailing
// spaces dropped, at least 16 bytes (SecretFile's checks).
Status ReadSecretLine(const char* key, const char* noun,
                      const std::string& path, std::string* out) {
  constexpr size_t kMinSecret = 16;
  std::string line;
  Status s = SecretFile::ReadFirstLine(path, &line);
  if (!s.ok()) return Status::Error(std::string(key) + " " + s.message());
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.size() < kMinSecret) {
    return Status::Error(std::string(key) + " " + path + ": the " + noun +
                         " must be at least 16 bytes");
  }
  *out = line;
  return Status::Ok();
}

}  // namespace

Status ReadAdminToken(const std::string& path, std::string* token) {
  return ReadSecretLine("monitor.admin_token_file", "token", path, token);
}

Status ReadControlSecret(const std::string& path, std::string* secret) {
  return ReadSecretLine("control.secret_file", "secret", path, secret);
}

}  // namespace qd
