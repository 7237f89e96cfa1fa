// The config schema: which keys exist, their types and their checks. The
// mechanics of walking YAML with positions live in ConfigReader.
#include "core/config.h"

#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/config_reader.h"
#include "core/control_message.h"
#include "queuedaemon/suggest.h"

namespace qd {
namespace {

using Item = ConfigReader::Item;

constexpr int kMaxThreads = 1024;
constexpr int kMaxInt = std::numeric_limits<int>::max();

const std::vector<std::string> kLogLevels = {
    "trace", "debug", "info", "warn", "error", "critical", "off"};
const std::vector<std::string> kSiteModes = {"listen", "poll"};

// True when `text` is non-empty and made of letters, digits and `extra`.
bool IsName(std::string_view text, std::string_view extra) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Site and queue names end up inside Redis keys ("qd:{SITE}:q:QUEUE"), so
// braces, which delimit the cluster hash tag, are out.
constexpr char kNameExtra[] = "_.:-";

void CheckName(ConfigReader& r, const Item& item, const char* what) {
  std::string name = item.key.Scalar();
  if (!IsName(name, kNameExtra)) {
    r.FailAtKey(item, std::string("a ") + what +
                          " name may only hold letters, digits and _ . : -");
  }
}

// A string of letters, digits and `extra` (daemon.id, a site's prefix).
void ReadToken(ConfigReader& r, const Item& item, std::string_view extra,
               std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (!IsName(text, extra)) {
    std::string allowed;
    for (char c : extra) allowed += std::string(" ") + c;
    r.Fail(item, "expected letters, digits and" + allowed + " only, got " +
                     ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

bool IsRedisUrl(const std::string& url) {
  auto has_rest = [&](std::string_view scheme) {
    return url.size() > scheme.size() &&
           url.compare(0, scheme.size(), scheme) == 0;
  };
  return url == "embedded" || has_rest("redis://") || has_rest("unix://");
}

void ReadRedisUrl(ConfigReader& r, const Item& item, std::string* out) {
  std::string url;
  if (!r.ReadString(item, &url)) return;
  if (!IsRedisUrl(url)) {
    r.Fail(item,
           "expected 'embedded', redis://host:port/db or unix:///path.sock, "
           "got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = url;
}

bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

// "host:port" with a non-empty host ("[::1]" for IPv6) and port 1..65535.
bool IsHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return IsName(host.substr(1, host.size() - 2), ":.") &&
           IsPort(text.substr(colon + 1));
  }
  return IsName(host, "_.-") && IsPort(text.substr(colon + 1));
}

void ReadHostPort(ConfigReader& r, const Item& item, std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (!IsHostPort(text)) {
    r.Fail(item,
           "expected host:port such as 127.0.0.1:9187 or [::1]:9187, got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

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
          {"run_dir", [&](const Item& i) { r.ReadString(i, &d->run_dir); }},
          {"pidfile", [&](const Item& i) { r.ReadString(i, &d->pidfile); }},
          {"log", [&](const Item& i) { ReadLog(r, i, &d->log); }},
      });
  ResolveSoftLimit(r, soft_limit.path.empty() ? memory_limit : soft_limit, d);
}

void ReadRedis(ConfigReader& r, const Item& item, RedisConfig* redis) {
  if (item.value.IsScalar()) {
    ReadRedisUrl(r, item, &redis->url);
    return;
  }
  if (item.value.IsSequence()) {
    r.Fail(item, "expected a url or a map with 'url', got a list");
    return;
  }
  r.ReadMap(
      item,
      {
          {"url", [&](const Item& i) { ReadRedisUrl(r, i, &redis->url); }},
          {"server_binary",
           [&](const Item& i) { r.ReadString(i, &redis->server_binary); }},
      });
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

void ReadPositiveDuration(ConfigReader& r, const Item& item, Duration* out) {
  Duration d;
  if (!r.ReadDuration(item, &d)) return;
  if (d.count() == 0) {
    r.Fail(item, "expected a duration > 0, got " +
                     ConfigReader::Describe(item.value));
    return;
  }
  *out = d;
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
      });
  if (r.ok() && http && !monitor->http_public &&
      !IsLoopback(HostOf(monitor->http))) {
    r.Fail(*http, monitor->http +
                      " is not a loopback address and /metrics, /status have "
                      "no authentication; set monitor.http_public: true to "
                      "serve them beyond this host");
  }
}

void ReadQueue(ConfigReader& r, const Item& item, QueueConfig* q) {
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

void ReadSite(ConfigReader& r, const Item& item, SiteConfig* site) {
  site->name = item.key.Scalar();
  r.ReadMap(
      item,
      {
          {"redis", [&](const Item& i) { ReadRedisUrl(r, i, &site->redis); }},
          {"prefix",
           [&](const Item& i) { ReadToken(r, i, kNameExtra, &site->prefix); }},
          {"mode",
           [&](const Item& i) { r.ReadChoice(i, kSiteModes, &site->mode); }},
          {"poll_interval",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &site->poll_interval);
           }},
          {"queues",
           [&](const Item& i) {
             r.ReadEntries(i, [&](const Item& queue) {
               CheckName(r, queue, "queue");
               ReadQueue(r, queue, &site->queues[queue.key.Scalar()]);
             });
           }},
      });
}

constexpr int kMaxConcurrent = 65536;
constexpr int kMaxConnections = 1000000;
constexpr uint64_t kMaxFrame = 64ull << 20;
constexpr size_t kMaxTerminator = 8;
// The path and its NUL must fit sockaddr_un.sun_path (108 bytes on Linux).
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr std::string_view kUnixScheme = "unix:";

const std::vector<std::string> kPersonalities = {"multiplex", "fork"};
const std::vector<std::string> kLoginModes = {"required", "none"};

// A site a listener names, checked once the whole document is read: sites
// may come after listeners in the file.
struct SiteRef {
  Item item;
  bool at_key;  // `sites: { NAME: ... }` names it by key, `site: NAME` by value
};

// "host:port" or "unix:PATH" (PATH absolute or relative to the working
// directory).
void ReadListen(ConfigReader& r, const Item& item, std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (text.compare(0, kUnixScheme.size(), kUnixScheme) == 0) {
    size_t length = text.size() - kUnixScheme.size();
    if (length == 0 || text.find('\0') != std::string::npos) {
      r.Fail(item, "expected a socket path after 'unix:', got " +
                       ConfigReader::Describe(item.value));
      return;
    }
    if (length > kMaxUnixPath) {
      r.Fail(item, "the socket path is " + std::to_string(length) +
                       " bytes long, at most " + std::to_string(kMaxUnixPath) +
                       " fit in a unix socket address");
      return;
    }
  } else if (!IsHostPort(text)) {
    r.Fail(item,
           "expected host:port such as 127.0.0.1:6001 or [::1]:6001, or "
           "unix:PATH, got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

// 1..8 bytes. A backslash escape that YAML left alone (`\r` unquoted or in
// single quotes is two bytes, '\' and 'r') is refused: it is never meant.
void ReadTerminator(ConfigReader& r, const Item& item, std::string* out) {
  const std::string expected =
      "1 to 8 bytes such as \"\\r\" or \"\\r\\n\" (in double quotes)";
  std::string text;
  if (!r.ReadScalar(item, expected, &text)) return;
  if (text.empty() || text.size() > kMaxTerminator) {
    r.Fail(item, "expected " + expected + ", got " +
                     std::to_string(text.size()) + " bytes");
    return;
  }
  for (const char* escape : {"\\r", "\\n", "\\t", "\\0"}) {
    if (text.find(escape) != std::string::npos) {
      r.Fail(item, std::string("'") + escape +
                       "' here is a backslash and a letter; write escapes "
                       "in double quotes, such as \"\\r\\n\"");
      return;
    }
  }
  *out = text;
}

void ReadMaxFrame(ConfigReader& r, const Item& item, uint64_t* out) {
  uint64_t size = 0;
  if (!r.ReadSize(item, &size)) return;
  if (size > kMaxFrame) {
    r.Fail(item, "expected at most " + FormatSize(kMaxFrame) + ", got " +
                     FormatSize(size));
    return;
  }
  *out = size;
}

// `site:` may be empty: connections that are not logged in then have none.
void ReadListenerSite(ConfigReader& r, const Item& item, std::string* out,
                      std::vector<SiteRef>* refs) {
  if (item.value.IsNull()) return;
  if (!r.ReadScalar(item, "a site name", out)) return;
  if (!out->empty()) refs->push_back({item, false});
}

// `sites:` SITE -> { worker_keepalive: DURATION }.
void ReadSiteKeepalives(ConfigReader& r, const Item& item, ListenerConfig* l,
                        std::vector<SiteRef>* refs) {
  r.ReadEntries(item, [&](const Item& site) {
    refs->push_back({site, true});
    r.ReadMap(site, {{"worker_keepalive", [&](const Item& i) {
                        r.ReadDuration(i,
                                       &l->site_keepalive[site.key.Scalar()]);
                      }}});
  });
}

// `accounts:` ACCOUNT -> map. The handler sees each account without its
// worker_keepalive, which is the framework's; the maps it gets are new ones
// whose values are the parsed nodes, so their positions survive.
void ReadAccounts(ConfigReader& r, const Item& item, ListenerConfig* l) {
  YAML::Node accounts(YAML::NodeType::Map);
  r.ReadEntries(item, [&](const Item& account) {
    if (!account.value.IsMap()) {
      r.Fail(account,
             "expected a map, got " + ConfigReader::Describe(account.value));
      return;
    }
    const std::string name = account.key.Scalar();
    YAML::Node options(YAML::NodeType::Map);
    r.ReadMap(account,
              {{"worker_keepalive",
                [&](const Item& i) {
                  r.ReadDuration(i, &l->account_keepalive[name]);
                }}},
              [&](const Item& i) { options[i.key.Scalar()] = i.value; });
    accounts[name] = options;
  });
  l->handler_options["accounts"] = accounts;
}

void ReadListener(ConfigReader& r, const Item& item, ListenerConfig* l,
                  std::vector<SiteRef>* refs) {
  l->name = item.key.Scalar();
  l->line = item.key.Mark().line + 1;
  l->handler_options = YAML::Node(YAML::NodeType::Map);
  auto duration = [&](Duration* out) {
    return [&r, out](const Item& i) { r.ReadDuration(i, out); };
  };
  auto positive = [&](Duration* out) {
    return [&r, out](const Item& i) { ReadPositiveDuration(r, i, out); };
  };
  r.ReadMap(
      item,
      {
          {"listen", [&](const Item& i) { ReadListen(r, i, &l->listen); }},
          {"personality",
           [&](const Item& i) {
             r.ReadChoice(i, kPersonalities, &l->personality);
           }},
          {"handler", [&](const Item& i) { r.ReadString(i, &l->handler); }},
          {"terminator",
           [&](const Item& i) { ReadTerminator(r, i, &l->terminator); }},
          {"reply_terminator",
           [&](const Item& i) { ReadTerminator(r, i, &l->reply_terminator); }},
          {"max_frame",
           [&](const Item& i) { ReadMaxFrame(r, i, &l->max_frame); }},
          {"max_concurrent",
           [&](const Item& i) {
             r.ReadInt(i, 1, kMaxConcurrent, &l->max_concurrent);
           }},
          {"max_connections",
           [&](const Item& i) {
             r.ReadInt(i, 1, kMaxConnections, &l->max_connections);
           }},
          {"worker_keepalive", duration(&l->worker_keepalive)},
          {"fence_timeout", positive(&l->fence_timeout)},
          {"idle_timeout", duration(&l->idle_timeout)},
          {"session_ttl", positive(&l->session_ttl)},
          {"login",
           [&](const Item& i) { r.ReadChoice(i, kLoginModes, &l->login); }},
          {"site",
           [&](const Item& i) { ReadListenerSite(r, i, &l->site, refs); }},
          {"prefix",
           [&](const Item& i) { ReadToken(r, i, kNameExtra, &l->prefix); }},
          {"sites", [&](const Item& i) { ReadSiteKeepalives(r, i, l, refs); }},
          {"accounts", [&](const Item& i) { ReadAccounts(r, i, l); }},
      },
      [&](const Item& i) { l->handler_options[i.key.Scalar()] = i.value; });
  if (!r.ok()) return;
  if (l->listen.empty()) {
    r.FailAtKey(item, "missing required key 'listen'");
  } else if (l->handler.empty()) {
    r.FailAtKey(item, "missing required key 'handler'");
  }
}

// Two listeners on one address would fail at bind time; say so now, at the
// second one.
void ReadListeners(ConfigReader& r, const Item& item,
                   std::map<std::string, ListenerConfig>* listeners,
                   std::vector<SiteRef>* refs) {
  std::map<std::string, const ListenerConfig*> by_listen;
  r.ReadEntries(item, [&](const Item& entry) {
    CheckName(r, entry, "listener");
    ListenerConfig* l = &(*listeners)[entry.key.Scalar()];
    ReadListener(r, entry, l, refs);
    if (!r.ok()) return;
    auto [first, inserted] = by_listen.emplace(l->listen, l);
    if (!inserted) {
      r.FailAtKey(entry, "listen " + l->listen +
                             " is already used by listener '" +
                             first->second->name + "' (line " +
                             std::to_string(first->second->line) + ")");
    }
  });
}

// Every site a listener names must be configured; the error says which are.
// One xmpp account. jid and a password (inline or from password_file) are
// required; the password never appears in a message.
void ReadXmppAccount(ConfigReader& r, const Item& item, XmppAccount* a,
                     std::vector<SiteRef>* refs) {
  std::optional<Item> jid, password;
  bool ok = r.ReadMap(
      item,
      {
          {"jid",
           [&](const Item& i) {
             std::string text;
             if (!r.ReadString(i, &text)) return;
             Status s = ParseJid(text, &a->jid);
             if (!s.ok()) return r.Fail(i, s.message());
             if (a->jid.local.empty()) {
               return r.Fail(i, "expected user@domain, got '" + text + "'");
             }
             jid = i;
           }},
          {"password",
           [&](const Item& i) {
             if (password)
               return r.Fail(i, "give password or password_file, not both");
             if (!i.value.IsScalar() || i.value.Scalar().empty()) {
               return r.Fail(i, "expected a non-empty string");
             }
             a->password = i.value.Scalar();
             password = i;
           }},
          {"password_file",
           [&](const Item& i) {
             if (password)
               return r.Fail(i, "give password or password_file, not both");
             std::string path;
             if (!r.ReadString(i, &path)) return;
             std::FILE* f = std::fopen(path.c_str(), "rb");
             if (f == nullptr) {
               return r.Fail(i,
                             path + ": cannot read: " + std::strerror(errno));
             }
             char buf[1024];
             size_t n = std::fread(buf, 1, sizeof(buf), f);
             std::fclose(f);
             std::string text(buf, n);
             text = text.substr(0, text.find('\n'));
             if (!text.empty() && text.back() == '\r') text.pop_back();
             if (text.empty())
               return r.Fail(i, path + ": the first line is empty");
             a->password = text;
             password = i;
           }},
          {"host", [&](const Item& i) { r.ReadString(i, &a->host); }},
          {"port", [&](const Item& i) { r.ReadInt(i, 1, 65535, &a->port); }},
          {"tls",
           [&](const Item& i) {
             r.ReadChoice(i, {"required", "starttls-if-offered", "off"},
                          &a->tls);
           }},
          {"ca_file",
           [&](const Item& i) {
             if (!r.ReadString(i, &a->ca_file)) return;
             if (access(a->ca_file.c_str(), R_OK) != 0) {
               r.Fail(i, a->ca_file + ": cannot read: " + std::strerror(errno));
             }
           }},
          {"allow_plain_without_tls",
           [&](const Item& i) { r.ReadBool(i, &a->allow_plain_without_tls); }},
          {"ping_interval",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->ping_interval);
           }},
          {"ping_timeout",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->ping_timeout);
           }},
          {"whitespace_interval",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->whitespace_interval);
           }},
          {"site",
           [&](const Item& i) {
             if (!r.ReadString(i, &a->site)) return;
             refs->push_back({i, false});
           }},
          {"connect_timeout",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->connect_timeout);
           }},
          {"reconnect_min",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->reconnect_min);
           }},
          {"reconnect_max",
           [&](const Item& i) {
             ReadPositiveDuration(r, i, &a->reconnect_max);
           }},
          {"confirm_interval",
           [&](const Item& i) { r.ReadDuration(i, &a->confirm_interval); }},
      });
  if (!ok || !r.ok()) return;
  if (!jid) return r.FailAtKey(item, "jid is missing (user@domain)");
  if (!password) {
    return r.FailAtKey(item, "password or password_file is missing");
  }
  if (a->reconnect_max < a->reconnect_min) {
    r.FailAtKey(item, "reconnect_max " + FormatDuration(a->reconnect_max) +
                          " is below reconnect_min " +
                          FormatDuration(a->reconnect_min));
  }
}

void CheckSiteRefs(ConfigReader& r, const std::vector<SiteRef>& refs,
                   const std::map<std::string, SiteConfig>& sites) {
  std::vector<std::string> names;
  for (const auto& [name, site] : sites) names.push_back(name);
  for (const SiteRef& ref : refs) {
    const std::string& site =
        ref.at_key ? ref.item.key.Scalar() : ref.item.value.Scalar();
    if (sites.count(site) != 0) continue;
    std::string what = "unknown site '" + site + "'";
    std::string suggestion = Suggest(site, names);
    if (!suggestion.empty()) {
      what += " (did you mean '" + suggestion + "'?)";
    } else if (names.empty()) {
      what += " (no sites are configured)";
    } else {
      std::string known;
      for (const auto& name : names) {
        known += (known.empty() ? "" : ", ") + name;
      }
      what += " (configured sites: " + known + ")";
    }
    if (ref.at_key) {
      r.FailAtKey(ref.item, what);
    } else {
      r.Fail(ref.item, what);
    }
  }
}

// Ties every queue whose handler is `xmpp` to the account that sends its
// jobs (its `account` option, or the site's only account), and gives a site
// with exactly one account and no `xmpp` queue of its own an implicit one.
void LinkXmppQueues(ConfigReader& r, Config* c) {
  std::map<std::string, std::vector<std::string>> by_site;
  for (const auto& [name, account] : c->xmpp) {
    if (!account.site.empty()) by_site[account.site].push_back(name);
  }
  for (auto& [site_name, site] : c->sites) {
    const auto& accounts = by_site[site_name];
    if (accounts.size() == 1 && site.queues.count("xmpp") == 0) {
      QueueConfig& q = site.queues["xmpp"];
      q.name = "xmpp";
      q.handler = "xmpp";
      q.handler_options = YAML::Node(YAML::NodeType::Map);
      q.line = c->xmpp[accounts[0]].line;
    }
    for (auto& [queue_name, q] : site.queues) {
      if (q.handler != "xmpp") continue;
      YAML::Mark at;
      at.line = q.line - 1;
      at.column = std::max(q.column - 1, 0);
      std::string path = "sites." + site_name + ".queues." + queue_name;
      YAML::Node named = q.handler_options["account"];
      if (named) {
        at = named.Mark();
        std::string account = named.IsScalar() ? named.Scalar() : "";
        auto it = c->xmpp.find(account);
        if (it == c->xmpp.end() || it->second.site != site_name) {
          r.FailAt(at, path + ".account",
                   "no xmpp account '" + account + "' with site: " + site_name);
        }
        continue;
      }
      if (accounts.size() != 1) {
        r.FailAt(
            at, path,
            accounts.empty()
                ? "handler xmpp needs an xmpp account with site: " + site_name
                : "site " + site_name +
                      " has several xmpp accounts: name one with "
                      "`account: NAME`");
        continue;
      }
      q.handler_options["account"] = accounts[0];
    }
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
  r.ReadMap(
      document,
      {
          {"daemon", [&](const Item& i) { ReadDaemon(r, i, &c->daemon); }},
          {"redis", [&](const Item& i) { ReadRedis(r, i, &c->redis); }},
          {"plugins", [&](const Item& i) { ReadPlugins(r, i, &c->plugins); }},
          {"monitor", [&](const Item& i) { ReadMonitor(r, i, &c->monitor); }},
          {"control", [&](const Item& i) { ReadControl(r, i, &c->control); }},
          {"sites",
           [&](const Item& i) {
             r.ReadEntries(i, [&](const Item& site) {
               CheckName(r, site, "site");
               ReadSite(r, site, &c->sites[site.key.Scalar()]);
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
  if (r.ok()) CheckSiteRefs(r, site_refs, c->sites);
  if (r.ok()) LinkXmppQueues(r, c);
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
  ConfigReader r(name);
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

}  // namespace qd
