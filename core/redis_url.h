// RedisUrl: where a Redis server is, parsed from the config's url forms
// "redis://HOST[:PORT][/DB]" (port 6379, db 0 by default; "[::1]" for IPv6)
// and "unix:///ABS/PATH.sock[?db=N]". "embedded" is resolved by the master to
// a unix url before anything parses it.
#pragma once

#include <string>
#include <string_view>

#include "queuedaemon/status.h"

namespace qd {

struct RedisUrl {
  bool is_unix = false;
  std::string host;  // or the socket path
  int port = 6379;
  int db = 0;

  static Status Parse(std::string_view url, RedisUrl* out);
  // For messages: "127.0.0.1:6379/0" or "/run/redis.sock".
  std::string Describe() const;
};

}  // namespace qd
