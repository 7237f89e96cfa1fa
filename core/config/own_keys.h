// OwnKeys: the names of the daemon's own Redis keys (a site's keys are
// QueueKeys'), in one place; every writer and reader (the master, the
// monitor's API, queuectl) takes them from here. docs/architecture.md,
// "Queues in Redis":
//
//   qd:{qd}:daemon:HOST:ID         hash: a live daemon (MasterMonitor)
//   qd:{qd}:listener:HOST:ID:NAME  hash: one listener's counters
//   qd:{qd}:control:reply:REQ      list: the answers to one control command
//   PREFIX:{qd}:session:CONN       string: a listener connection's session
//                                  (PREFIX is the listener's `prefix`)
//
// Every one carries the hash tag {qd} (kTag), so that on a Redis Cluster
// they share one slot and so one node: the top-level redis connects to
// that node (kTag is its RedisUrl::cluster_key, set by the config loader),
// and a SCAN for the daemons there sees them all. A site named "qd" shares
// the slot, not a key: a site's keys are PREFIX:{SITE}:q:..., :delayed,
// :dead:..., none of the names below. The control channel qd:control is
// not a key: on a Cluster a PUBLISH reaches the subscribers of every node.
#pragma once

#include <string>
#include <string_view>

namespace qd {

struct OwnKeys {
  // The hash tag of every key here; the top-level Cluster's cluster_key.
  static constexpr const char* kTag = "{qd}";
  // The pub/sub channel of control commands (a channel, not a key).
  static constexpr const char* kControlChannel = "qd:control";
  // + HOST:ID; kDaemonPattern matches them all (for SCAN ... MATCH).
  static constexpr const char* kDaemonPrefix = "qd:{qd}:daemon:";
  static constexpr const char* kDaemonPattern = "qd:{qd}:daemon:*";
  // + REQ; a command whose reply_to does not start so is refused.
  static constexpr const char* kControlReplyPrefix = "qd:{qd}:control:reply:";

  static std::string Daemon(std::string_view host, std::string_view id) {
    std::string k(kDaemonPrefix);
    k += host;
    k += ':';
    k += id;
    return k;
  }
  static std::string Listener(std::string_view host, std::string_view id,
                              std::string_view name) {
    std::string k("qd:{qd}:listener:");
    k += host;
    k += ':';
    k += id;
    k += ':';
    k += name;
    return k;
  }
  static std::string ControlReply(std::string_view req) {
    return kControlReplyPrefix + std::string(req);
  }
  // `prefix` is the listener's (ListenerConfig::prefix).
  static std::string Session(std::string_view prefix, std::string_view conn) {
    std::string k(prefix);
    k += ":{qd}:session:";
    k += conn;
    return k;
  }
};

}  // namespace qd
