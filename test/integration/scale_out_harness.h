// Helpers of the scale-out tests (scale_out_test.cc, redis_topology_test.cc):
// the testkit config with a daemon id and site options, site a's consumers
// and pending count, and the testkit records of several daemons together.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {

// The testkit config of QueueConfig with the daemon's `id` and site a's
// `site_extra` (e.g. consumer_idle_limit) added.
inline std::string ScaleConfig(const std::string& redis, int threads,
                               const std::string& id,
                               const std::string& queue_extra = "",
                               const std::string& site_extra = "") {
  std::string text =
      QueueConfig(redis, threads, queue_extra, false, "  id: " + id + "\n");
  std::string site = "  a:\n    queues:\n";
  text.replace(text.find(site), site.size(),
               "  a:\n" + site_extra + "    queues:\n");
  return text;
}

// The consumers of site a's queue group, by name.
inline std::set<std::string> Consumers(int port) {
  std::vector<std::string> all =
      RedisStrings(port, {"XINFO", "CONSUMERS", "qd:{a}:q:jobs", "workers"});
  std::set<std::string> names;
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    if (all[i] == "name") names.insert(all[i + 1]);
  }
  return names;
}

inline bool HasConsumerOf(const std::set<std::string>& consumers,
                          const std::string& id) {
  for (const auto& name : consumers) {
    if (name.find(":" + id + ":") != std::string::npos) return true;
  }
  return false;
}

// How many records of `rec` match `want` (each payload once).
inline size_t Covered(const std::map<std::string, int>& rec,
                      const std::vector<std::string>& want) {
  size_t n = 0;
  for (const auto& p : want) n += rec.count(p);
  return n;
}

// How many runs of `want`'s payloads in `rec` were beyond the first.
inline int Duplicates(const std::map<std::string, int>& rec,
                      const std::vector<std::string>& want) {
  int n = 0;
  for (const auto& p : want) {
    auto it = rec.find(p);
    if (it != rec.end() && it->second > 1) n += it->second - 1;
  }
  return n;
}

// Waits (up to `deadline`) until the record at `path` covers `want`;
// *rec gets the last one read. The failure says how far it got.
inline ::testing::AssertionResult WaitForCovered(
    const std::string& path, const std::vector<std::string>& want,
    milliseconds deadline, std::map<std::string, int>* rec) {
  if (WaitFor(
          [&] {
            *rec = ReadRecord(path);
            return Covered(*rec, want) == want.size();
          },
          deadline)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "done " << Covered(*rec, want) << " of " << want.size();
}

inline std::map<std::string, int> Union(const std::map<std::string, int>& a,
                                        const std::map<std::string, int>& b) {
  std::map<std::string, int> all = a;
  for (const auto& [p, n] : b) all[p] += n;
  return all;
}

}  // namespace qd::test
