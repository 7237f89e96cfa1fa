// The `redis:` section and a site's own `redis:` (RedisEndpoint): a url, or
// a map with the url (or the Sentinels and the master's name) and the
// credentials. A password is read from a file
// that only its owner may read (SecretFile, the rule control.secret_file
// follows) or from an environment variable; never from the config text or
// the url, which end up in logs and messages.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_sections.h"
#include "core/util/host_port.h"
#include "core/util/secret_file.h"

namespace qd::config_detail {
namespace {

bool IsRedisUrl(const std::string& url) {
  auto has_rest = [&](std::string_view scheme) {
    return url.size() > scheme.size() &&
           url.compare(0, scheme.size(), scheme) == 0;
  };
  return url == "embedded" || has_rest("redis://") || has_rest("unix://");
}

// A url with "@" is refused without repeating it: it may hold a password.
void ReadRedisUrl(ConfigReader& r, const Item& item, std::string* out) {
  std::string url;
  if (!r.ReadString(item, &url)) return;
  if (url.find('@') != std::string::npos && url.rfind("unix://", 0) != 0) {
    r.Fail(item,
           "credentials in the url are refused (a url shows in logs and "
           "messages); give username and password_file or password_env "
           "instead");
    return;
  }
  if (!IsRedisUrl(url)) {
    r.Fail(item,
           "expected 'embedded', redis://host:port/db or unix:///path.sock, "
           "got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = url;
}

// The whole file but its trailing line end; one line, not empty.
void ReadPasswordFile(ConfigReader& r, const Item& item, RedisEndpoint* e) {
  std::string path;
  if (!r.ReadString(item, &path)) return;
  std::string text;
  Status s = SecretFile::Read(path, &text);
  if (!s.ok()) return r.Fail(item, s.message());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  if (text.empty())
    return r.Fail(item, path + ": empty; it holds the password");
  if (text.find('\n') != std::string::npos) {
    return r.Fail(item, path +
                            ": more than one line; the password is the whole "
                            "file (a trailing newline aside)");
  }
  e->password = text;
  e->password_from = item.path + " " + path;
}

// A password variable is taken out of the environment once read, so that
// what the daemon starts (exec jobs' commands, the embedded redis-server)
// does not inherit it; reloads read the value kept here.
const char* TakePasswordVariable(const std::string& name) {
  static std::map<std::string, std::string> taken;
  if (const char* value = std::getenv(name.c_str())) {
    taken[name] = value;
    unsetenv(name.c_str());
  }
  auto it = taken.find(name);
  return it == taken.end() ? nullptr : it->second.c_str();
}

void ReadPasswordEnv(ConfigReader& r, const Item& item, RedisEndpoint* e) {
  std::string name;
  if (!r.ReadString(item, &name)) return;
  const char* value = TakePasswordVariable(name);
  if (value == nullptr) {
    return r.Fail(item, name + " is not set in the environment");
  }
  if (*value == '\0') return r.Fail(item, name + " is empty");
  e->password = value;
  e->password_from = item.path + " " + name;
}

// `sentinel: [host:port, ...]` or `cluster: [...]`: at least one, each with
// its port. `noun` names the list ("Sentinels"), `what` an entry's port
// ("a Sentinel's port, usually 26379").
void ReadServers(ConfigReader& r, const Item& item, const std::string& noun,
                 const std::string& what, std::vector<std::string>* out) {
  std::vector<std::string> list;
  if (!r.ReadStringList(item, &list)) return;
  if (list.empty()) {
    return r.Fail(item,
                  "expected a list of " + noun + " (host:port), got none");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string host, port;
    if (!SplitHostPort(list[i], &host, &port) || host.empty() ||
        std::stoi(port) == 0) {
      return r.Fail(item, "entry " + std::to_string(i + 1) + " '" + list[i] +
                              "': expected host:port (" + what + ")");
    }
  }
  *out = std::move(list);
}

// The Servers of `list` (checked by ReadServers).
std::vector<RedisUrl::Server> ToServers(const std::vector<std::string>& list) {
  std::vector<RedisUrl::Server> servers;
  for (const std::string& text : list) {
    RedisUrl::Server server;
    std::string port;
    SplitHostPort(text, &server.host, &port);
    server.port = std::atoi(port.c_str());
    servers.push_back(std::move(server));
  }
  return servers;
}

// `cluster:` excludes url, sentinel, master and db (a Cluster has db 0
// only). The top level's too: the daemon's own keys carry one hash tag
// (core/config/own_keys.h), which the loader makes its cluster_key.
void CheckCluster(ConfigReader& r, const std::optional<Item>& other) {
  if (other) {
    r.Fail(*other, other->key.Scalar() +
                       " does not go with cluster (the cluster says where "
                       "the site's slot is; a Cluster has db 0 only)");
  }
}

}  // namespace

void ReadRedisEndpoint(ConfigReader& r, const Item& item, RedisEndpoint* e,
                       std::string* server_binary) {
  if (item.value.IsScalar()) return ReadRedisUrl(r, item, &e->url);
  if (item.value.IsSequence()) {
    return r.Fail(item, "expected a url or a map with 'url', got a list");
  }
  std::optional<Item> url, username, password, sentinel, master, db, cluster;
  auto once = [&](const Item& i) {
    if (password) {
      r.Fail(i, "give password_file or password_env, not both");
      return false;
    }
    password = i;
    return true;
  };
  std::vector<ConfigReader::Key> keys = {
      {"url",
       [&](const Item& i) {
         url = i;
         ReadRedisUrl(r, i, &e->url);
       }},
      {"username",
       [&](const Item& i) {
         username = i;
         r.ReadString(i, &e->username);
       }},
      {"password_file",
       [&](const Item& i) {
         if (once(i)) ReadPasswordFile(r, i, e);
       }},
      {"password_env",
       [&](const Item& i) {
         if (once(i)) ReadPasswordEnv(r, i, e);
       }},
      {"sentinel",
       [&](const Item& i) {
         sentinel = i;
         ReadServers(r, i, "Sentinels", "a Sentinel's port, usually 26379",
                     &e->sentinels);
       }},
      {"cluster",
       [&](const Item& i) {
         cluster = i;
         ReadServers(r, i, "Cluster nodes", "a Cluster node's port",
                     &e->cluster);
       }},
      {"master",
       [&](const Item& i) {
         master = i;
         r.ReadString(i, &e->master);
       }},
      {"db",
       [&](const Item& i) {
         db = i;
         r.ReadInt(i, 0, 1 << 20, &e->db);
       }},
      {"password",
       [&](const Item& i) {
         r.FailAtKey(i,
                     "a password in the config is refused; put it in a file "
                     "only the daemon's user can read (password_file) or in "
                     "an environment variable (password_env)");
       }},
  };
  if (server_binary != nullptr) {
    keys.push_back({"server_binary",
                    [&](const Item& i) { r.ReadString(i, server_binary); }});
  }
  if (!r.ReadMap(item, keys) || !r.ok()) return;
  if (cluster) {
    CheckCluster(r, url ? url : sentinel ? sentinel : master ? master : db);
    if (!r.ok()) return;
    e->url.clear();
  } else if (sentinel) {
    if (url) {
      return r.Fail(*url,
                    "give url or sentinel, not both (with sentinel, the "
                    "Sentinels say where the master is)");
    }
    if (!master) {
      return r.FailAtKey(item,
                         "sentinel needs master: the name the Sentinels "
                         "monitor it by (sentinel monitor NAME ...)");
    }
    e->url.clear();  // the top level's "embedded" default
  } else if (master || db) {
    return r.Fail(master ? *master : *db,
                  master ? "master is the name of a Sentinel-monitored master: "
                           "give sentinel: [host:port, ...] too"
                         : "db goes in the url (redis://host:port/DB); the "
                           "db key is for sentinel");
  }
  if (server_binary == nullptr && !url && !sentinel && !cluster) {
    return r.FailAtKey(item,
                       "url (or sentinel and master) is missing; or cluster");
  }
  if (username && !password) {
    return r.Fail(*username, "username needs password_file or password_env");
  }
  if (password && e->url == "embedded") {
    r.Fail(*password,
           "the embedded Redis takes no password (it listens only on a unix "
           "socket in run_dir); remove it, or set url to your own server");
  }
}

}  // namespace qd::config_detail

namespace qd {

Status RedisEndpoint::Resolve(RedisUrl* out) const {
  RedisUrl parsed;
  if (!cluster.empty()) {
    parsed.cluster = config_detail::ToServers(cluster);
    parsed.cluster_key = cluster_key;
  } else if (!sentinels.empty()) {
    parsed.sentinels = config_detail::ToServers(sentinels);
    parsed.master_name = master;
    parsed.db = db;
  } else if (Status s = RedisUrl::Parse(url, &parsed); !s.ok()) {
    return s;
  }
  parsed.username = username;
  parsed.password = password;
  *out = std::move(parsed);
  return Status::Ok();
}

}  // namespace qd
