// A Redis Sentinel setup for the integration tests: one master, one replica
// and three sentinels, all real processes on free loopback ports.
//
// SentinelSet owns the master and the replica (RedisServer, no persistence,
// diskless sync without delay) and three sentinel processes, each with its
// own temp dir holding its config file (Sentinel rewrites it: known
// sentinels, replicas, epochs) and its log. The sentinels monitor the master
// under name() with quorum 2, down-after 1 s and failover-timeout 5 s, so a
// killed master is replaced within a few seconds. Everything it starts is
// stopped by pid in the destructor (SIGTERM, SIGKILL after 10 s, reaped);
// nothing by name. Every wait has a deadline. Not thread-safe; use it from the
// test's thread.
//
// The constructor returns only once the set is ready, or throws
// std::runtime_error naming the condition, the port and the last reply:
//  - the replica reports master_link_status:up;
//  - every sentinel answers SENTINEL ckquorum with "OK 3 usable
//    Sentinels..." (the sentinels found each other through their hello
//    messages, sent every 2 s);
//  - every sentinel lists the replica in SENTINEL replicas, with no flag
//    but "slave" (it learns of it from the master's INFO, refreshed every
//    10 s; the sentinels start once the replica is linked, so the first
//    INFO already lists it).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {

class SentinelSet {
 public:
  // Starts the master, the replica and the sentinels, and waits until the
  // set is ready (20 s at most). Throws std::runtime_error if not.
  explicit SentinelSet(std::string name = "qdtest");
  ~SentinelSet();
  SentinelSet(const SentinelSet&) = delete;
  SentinelSet& operator=(const SentinelSet&) = delete;

  // The master the set started with (its port stays the same after
  // KillMaster()).
  int master_port() const { return master_.port(); }
  int replica_port() const { return replica_.port(); }
  std::vector<int> sentinel_ports() const;
  // The master name the sentinels monitor.
  const std::string& name() const { return name_; }
  // The sentinels as a YAML flow list: "[127.0.0.1:P1, 127.0.0.1:P2, ...]".
  std::string SentinelList() const;

  // The master's port by SENTINEL get-master-addr-by-name, from the first
  // sentinel that answers; 0 if none did.
  int MasterPortBySentinels() const;
  // kill -9 of the original master; the replica is then the only data
  // server. Does nothing the second time.
  void KillMaster();
  // Waits until every sentinel reports the replica as the master and the
  // replica's ROLE says "master"; false at the deadline.
  [[nodiscard]] bool WaitForFailover(milliseconds deadline);

 private:
  // One sentinel process; stopped by pid when destroyed, so that those
  // already started stop too when the constructor throws.
  struct Sentinel {
    ~Sentinel() { StopPid(pid); }
    TempDir dir;  // sentinel.conf, sentinel.log
    int port = 0;
    pid_t pid = 0;  // 0 until it answered PING
  };
  static constexpr size_t kSentinels = 3;

  // Writes the config and starts `s` on a free port (retrying on another
  // one if it did not come up), or throws.
  void Start(Sentinel* s);
  // Whether `s` sees all the sentinels and the replica; if not, *why says
  // which condition failed and the last reply.
  bool Ready(const Sentinel& s, std::string* why) const;
  // Waits until every sentinel is Ready(), or throws.
  void WaitSentinelsReady() const;
  // Waits until the replica's link to the master is up, or throws.
  void WaitReplicaLinked() const;

  // Declared in start order: destroyed in reverse, the sentinels first, so
  // that none reconfigures the servers while they stop.
  std::string name_;
  RedisServer master_;
  RedisServer replica_;
  std::array<Sentinel, kSentinels> sentinels_;
};

}  // namespace qd::test
