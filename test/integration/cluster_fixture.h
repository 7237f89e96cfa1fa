// A real Redis Cluster for the integration tests (redis_topology_test.cc,
// cluster_top_level_test.cc): redis-server nodes on free loopback ports,
// made a cluster by redis-cli. The nodes stop with their RedisServer
// objects (by pid).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {

// Three masters (with `replicas` each) made a cluster by redis-cli
// --cluster create, waited on until every node says cluster_state:ok. A
// node that misses 1 s of pings is failed over.
inline void StartCluster(std::vector<std::unique_ptr<RedisServer>>* nodes_out,
                         int replicas = 0) {
  auto& nodes = *nodes_out;
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < 3 * (1 + replicas); ++i) {
    // The bus port is given: port + 10000 (the default) may not be free.
    nodes.push_back(std::make_unique<RedisServer>(
        std::vector<std::string>{"--cluster-enabled", "yes",
                                 "--cluster-config-file", "nodes.conf",
                                 "--cluster-node-timeout", "1000",
                                 "--cluster-port", std::to_string(FreePort())},
        ""));
    create.push_back("127.0.0.1:" + std::to_string(nodes.back()->port()));
  }
  create.insert(create.end(), {"--cluster-replicas", std::to_string(replicas),
                               "--cluster-yes"});
  TempDir dir;
  pid_t pid = Spawn(create, {}, dir.File("create.log"));
  int status = -1;
  ASSERT_TRUE(WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                      milliseconds(30000)));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << ReadFileText(dir.File("create.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& n : nodes) {
          auto info = RedisStrings(n->port(), {"CLUSTER", "INFO"});
          if (info.empty() ||
              info[0].find("cluster_state:ok") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      milliseconds(30000)));
}

}  // namespace qd::test
