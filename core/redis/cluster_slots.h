// ClusterSlots: which node of a Redis Cluster serves a key, from the
// cluster's own answer to CLUSTER SLOTS; and the two helpers every client of
// a cluster needs, the key's slot (KeySlot) and the redirection a node
// answers for a key it does not serve (ParseRedirect).
//
// Why hand-written: hiredis 0.14 (Debian's libhiredis0.14) has no Cluster
// client, and Debian packages no C or C++ one (hiredis-cluster and
// redis-plus-plus are not in the archive; POCO's Redis knows no Cluster);
// one would also bring its own connection handling in place of
// RedisClient's login, Sentinel and back-off rules. What the daemon needs
// is small: each site's keys share one hash slot (the tag
// `{SITE}`), so a site needs the one node that serves that slot, asked again
// when the node answers MOVED, and the key slot function of the Cluster
// specification (CRC16/XMODEM mod 16384). The map is built from a reply a
// remote server sent, so the parse is bounded and checks every field
// (test/fuzz/cluster_slots_fuzz.cc).
//
// A ClusterSlots is a value: parsed once, then read. No threads of its own.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

constexpr int kClusterSlotCount = 16384;

// The Cluster specification's CRC16 (XMODEM: polynomial 0x1021, initial 0).
uint16_t ClusterCrc16(std::string_view data);

// The hash slot of `key`: CRC16 of the key, or of what is between the first
// '{' and the next '}' when that is not empty ("qd:{shop}:q:mail" hashes
// "shop"), mod 16384.
int KeySlot(std::string_view key);

// One node's address as the cluster gives it.
struct ClusterNode {
  std::string host;
  int port = 0;
  bool operator==(const ClusterNode& o) const {
    return host == o.host && port == o.port;
  }
  std::string Describe() const;  // "10.0.0.1:7000", "[::1]:7000"
};

// A MOVED or ASK error: the slot of the command's key is served by `node`
// (MOVED: from now on; ASK: for this one command, sent after ASKING, while
// the slot migrates).
struct ClusterRedirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  ClusterNode node;
};

// Parses "MOVED 3999 10.0.0.2:7000" or "ASK 3999 [::1]:7000" (an IPv6 host
// may come bare, "::1:7000": the port is after the last ':'). An empty host
// (":7000", a node that does not know its address) is `asked_host`, the host
// the command was sent to. False for anything else, with `out` untouched.
bool ParseRedirect(std::string_view error, const std::string& asked_host,
                   ClusterRedirect* out);

class ClusterSlots {
 public:
  // A reply holds at most one range per slot; a node's entry at most this
  // many replicas (a cluster with more is refused, not truncated).
  static constexpr size_t kMaxReplicas = 64;
  // Longer hosts are not a hostname nor an address.
  static constexpr size_t kMaxHost = 255;

  // Replaces the map with `reply` to CLUSTER SLOTS, asked of a node at
  // `asked_host` (the host of a node whose endpoint is NULL or "": the
  // cluster says "the host you asked"). Each range is [start, end, master,
  // replica...], a node [host, port, id?, metadata?...]. Refuses (and keeps
  // the map as it was) a reply that is not that shape, a slot out of
  // 0..16383, a start after its end, ranges that overlap, a port out of
  // 1..65535. A master whose endpoint is "?" (unknown to the cluster)
  // leaves its slots unserved; such a replica is left out.
  Status Parse(const redisReply* reply, const std::string& asked_host);

  // The master serving `slot`, or null (no range covers it, or the map is
  // empty). REQUIRES: 0 <= slot < kClusterSlotCount.
  const ClusterNode* MasterOf(int slot) const;
  // Every node named (masters, then replicas, each once): where to ask
  // again when the seeds are gone.
  std::vector<ClusterNode> Nodes() const;
  size_t ranges() const { return ranges_.size(); }
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    int start;
    int end;      // inclusive
    bool served;  // false: the master's endpoint is unknown ("?")
    ClusterNode master;
    std::vector<ClusterNode> replicas;
  };

  std::vector<Range> ranges_;  // sorted by start, disjoint
};

}  // namespace qd
