// Helpers of the queue tests (queue_test.cc, worker_liveness_test.cc): the
// testkit site config, enqueueing with plain Redis, waiting for stream
// lengths and for the testkit record.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {

inline std::string TestPluginDir() {
  return std::string(QD_BINARY_DIR) + "/../test-plugins";
}

// Sites `a` (and `b` when two_sites) with one queue `jobs` each, run by
// testkit, recording into RUN_DIR/record.txt; `daemon_extra` adds lines
// (indented by two spaces) to the daemon section.
inline std::string QueueConfig(const std::string& redis_url, int threads,
                               const std::string& queue_extra = "",
                               bool two_sites = false,
                               const std::string& daemon_extra = "") {
  std::string queue =
      "      jobs: { handler: testkit, record: RUN_DIR/record.txt, "
      "max_attempts: 3, retry_base: 50ms, retry_max: 200ms" +
      queue_extra + " }\n";
  std::string text = "daemon:\n  threads: " + std::to_string(threads) +
                     "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
                     "  kill_grace: 500ms\n" +
                     daemon_extra + "redis: " + redis_url +
                     "\n"
                     "plugins: { dir: " +
                     TestPluginDir() +
                     ", load: [testkit] }\n"
                     "sites:\n  a:\n    queues:\n" +
                     queue;
  if (two_sites) text += "  b:\n    queues:\n" + queue;
  return text;
}

inline void Enqueue(int port, const std::string& site,
                    const std::vector<std::string>& payloads) {
  std::vector<std::vector<std::string>> cmds;
  for (const auto& p : payloads) {
    cmds.push_back({"XADD", "qd:{" + site + "}:q:jobs", "*", "payload", p});
  }
  ASSERT_EQ(RedisPipeline(port, cmds), cmds.size());
}

inline std::vector<std::string> Numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Waits until stream `key` holds exactly `n` entries.
inline bool WaitForLen(const RedisServer& redis, const std::string& key,
                       long long n, milliseconds deadline) {
  return WaitFor(
      [&] {
        return RedisInt(redis.port(), {"XLEN", key}) == n;
      },
      deadline);
}

// Entries of stream `key` not delivered to group "workers" yet (its lag;
// XLEN also counts acked entries until their trim); -1 if unknown.
inline long long Undelivered(const RedisServer& redis, const std::string& key) {
  std::vector<std::string> groups =
      RedisStrings(redis.port(), {"XINFO", "GROUPS", key});
  for (size_t i = 0; i + 1 < groups.size(); ++i) {
    if (groups[i] == "lag") return std::atoll(groups[i + 1].c_str());
  }
  return -1;
}

// Entries of stream `key` delivered to group "workers" and not acked
// (XPENDING); -1 if unknown.
inline long long Pending(int port, const std::string& key = "qd:{a}:q:jobs") {
  std::vector<std::string> summary =
      RedisStrings(port, {"XPENDING", key, "workers"});
  return summary.empty() ? -1 : std::stoll(summary[0]);
}

class QueueTest : public ::testing::Test {
 protected:
  std::string Record(const Daemon& d) { return d.dir().File("record.txt"); }
  // Waits until every payload ran at least once; returns the record.
  std::map<std::string, int> WaitForAll(const Daemon& d,
                                        const std::vector<std::string>& want,
                                        milliseconds deadline) {
    std::map<std::string, int> rec;
    WaitFor(
        [&] {
          rec = ReadRecord(Record(d));
          for (const auto& p : want) {
            if (rec.count(p) == 0) return false;
          }
          return true;
        },
        deadline);
    return rec;
  }
};

}  // namespace qd::test
