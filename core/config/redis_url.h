// RedisUrl: where a Redis server is and how to log in to it, parsed from
// the config's url forms "redis://HOST[:PORT][/DB]" (port 6379, db 0 by
// default; "[::1]" for IPv6) and "unix:///ABS/PATH.sock[?db=N]". "embedded"
// is resolved by the master to a unix url before anything parses it.
//
// Or a master behind Redis Sentinel (the config's `sentinel:` and
// `master:`): `sentinels` lists where to ask, and host and port are empty
// until a lookup (core/redis/redis_sentinel.h) gives a copy of this url with
// the master's address and no sentinels; the copy keeps `master_name`.
//
// The credentials never come from the url text: a "redis://user:pw@host"
// is refused (a url ends up in logs, messages and ps), and the config's
// password_file or password_env fills them in (RedisEndpoint::Resolve).
// Describe() and every message built here leave them out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

struct RedisUrl {
  bool is_unix = false;
  std::string host;  // or the socket path
  int port = 6379;
  int db = 0;
  // AUTH before anything else when `password` is set; an empty `username`
  // is the default user ("AUTH password").
  std::string username;
  std::string password;
  // Redis Sentinel: where to ask for the master named `master_name`.
  struct Server {
    std::string host;
    int port = 26379;
  };
  std::vector<Server> sentinels;
  std::string master_name;
  // Redis Cluster: nodes to ask CLUSTER SLOTS for the master of
  // `cluster_key`'s slot (core/redis/cluster_lookup.h), the way Sentinels
  // are asked; the copy a lookup gives has the node's host and port, no
  // seeds, and keeps `cluster_key`.
  std::vector<Server> cluster;
  std::string cluster_key;

  static Status Parse(std::string_view url, RedisUrl* out);
  // For messages: "127.0.0.1:6379/0", "/run/redis.sock", "master mymaster
  // via sentinel/0" (to be looked up) or "10.0.0.5:6379/0 (master
  // mymaster)" (found); "{shop} via cluster 10.0.0.1:7000" (to be looked
  // up) or "10.0.0.2:7000/0 (cluster {shop})" (found). Never the
  // credentials.
  std::string Describe() const;
  bool via_sentinel() const { return !sentinels.empty(); }
  bool via_cluster() const { return !cluster.empty(); }
  // Identifies a connection for sharing: the server (or the sentinels and
  // the master's name, or the cluster's seeds and the key), db and user.
  std::string Key() const;

  bool has_auth() const { return !password.empty(); }
  // "AUTH [username] password", as the arguments of one command.
  // REQUIRES: has_auth().
  std::vector<std::string_view> AuthArgs() const;
  // "AUTH" or "AUTH as USER", for messages.
  std::string AuthName() const;
  // `text` with every occurrence of the password masked: for messages
  // built from what a server replied.
  std::string Redact(std::string text) const;
};

}  // namespace qd
