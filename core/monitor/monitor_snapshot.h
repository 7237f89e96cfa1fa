// MonitorSnapshot: what the master knows about its daemon at one moment, as
// plain values. The Supervisor fills one per HTTP request (and per status
// publication); the renderers turn it into /metrics (Prometheus text),
// /status (JSON) and /healthz. Keeping the renderers on plain data lets
// them be tested without processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/listen/listener_stats.h"
#include "core/queue/limit_usage.h"

namespace qd {

struct WorkerSnapshot {
  int slot = 0;
  pid_t pid = 0;               // 0: no process in the slot now
  std::string state;           // starting|ready|stopping|backoff|parked|empty
  uint64_t rss = 0;            // bytes, as last reported
  int64_t started_ms = 0;      // epoch ms of this process's start, 0 = none
  int64_t jobs = 0;            // jobs finished by this process (any outcome)
  int64_t failed = 0;          // of those, retried or dead-lettered
  std::string job;             // "SITE/QUEUE JID", empty = none running
  int64_t job_started_ms = 0;  // epoch ms, 0 = none running
  int64_t restarts = 0;        // processes started in this slot - 1
};

struct QueueSnapshot {
  std::string name;
  // -1: not known (Redis did not answer the last sample).
  int64_t ready = -1;    // entries not yet delivered to any worker
  int64_t pending = -1;  // delivered, not acked
  int64_t dead = -1;     // dead-lettered
  // Epoch ms in the id of the oldest ready entry; 0 = none or not known.
  int64_t oldest_ready_ms = 0;
  // Not empty: a key of the queue holds another Redis type ("KEY is not a
  // stream"); its workers set it aside until the key is fixed.
  std::string error{};
};

// A stream under the site's queue keys (PREFIX:{SITE}:q:NAME) that no
// configured queue serves: no worker reads its jobs.
struct UnservedSnapshot {
  std::string key;  // as Redis has it: any bytes
  int64_t length = 0;
};

struct SiteSnapshot {
  std::string name;
  std::string redis;     // the server, for messages ("127.0.0.1:6379")
  int64_t delayed = -1;  // the site's delayed set (retries, later jobs)
  std::vector<QueueSnapshot> queues;  // by name
  int64_t sampled_ms = 0;             // epoch ms of the last good sample
  // The last finished look for unserved streams: epoch ms (0 = none yet),
  // what it found (by key, a bounded number) and whether it found more
  // than it lists.
  int64_t unserved_checked_ms = 0;
  std::vector<UnservedSnapshot> unserved{};
  bool unserved_more = false;
  // What each of the site's limits holds (docs/limits.md), from the last
  // good sample; empty: no limits, or not read.
  std::vector<LimitUsage> limits{};
};

// A periodic entry as the master's runner sees it (docs/periodic.md).
struct PeriodicSnapshot {
  std::string site;
  std::string name;
  std::string cron;
  std::string timezone;
  std::string queue;
  int64_t next_ms = 0;       // the next tick to enqueue; 0 = none
  int64_t last_tick_ms = 0;  // the last tick known enqueued; 0 = none seen
  int64_t enqueued = 0;      // jobs this daemon enqueued since start
  int64_t failures = 0;      // script calls that failed
  int64_t skipped = 0;       // times missed ticks were dropped (missed: skip)
  std::string last_error;    // "" once a call worked again
};

struct MonitorSnapshot {
  pid_t pid = 0;
  std::string host;
  std::string id;           // daemon.id
  std::string config_file;  // "" = built-in defaults
  std::string version;
  int64_t started_ms = 0;  // epoch ms
  int64_t now_ms = 0;      // epoch ms when the snapshot was taken
  int threads = 0;         // slots the pool should have
  uint64_t master_rss = 0;
  std::vector<WorkerSnapshot> workers;  // by slot
  std::vector<SiteSnapshot> sites;      // by name
  // Master counters since start: "workers.respawned", "workers.recycled",
  // "workers.crashed", "jobs.handled", "jobs.failed" (summed over workers).
  std::map<std::string, int64_t> counters;
  std::vector<ListenerStats> listeners;
  std::vector<PeriodicSnapshot> periodic;  // by site, then name
  bool redis_ok = false;    // the master's last PING was answered
  std::string redis_error;  // why not, when !redis_ok
  bool shutting_down = false;

  // Worker processes alive, and those of them that reported ready.
  int LiveWorkers() const {
    int n = 0;
    for (const auto& w : workers) n += w.pid > 0;
    return n;
  }
  int ReadyWorkers() const {
    int n = 0;
    for (const auto& w : workers) n += w.pid > 0 && w.state == "ready";
    return n;
  }
};

}  // namespace qd
