// SlotBoard: what a worker is doing, in a page of memory it shares with the
// master.
//
// The master maps one board per slot (MAP_SHARED | MAP_ANONYMOUS) before it
// forks the slot's first worker; every worker of that slot inherits the
// mapping. The worker writes its job counters and its current job at every
// job start and end: plain stores into shared memory, no syscall, no
// message, so a handler that blocks the worker's loop for minutes still
// shows up in /status with its job and age (a channel report could not be
// sent from inside the handler). The master reads the board when it builds
// a MonitorSnapshot.
//
// One writer (the worker), one reader (the master): a sequence counter
// (odd while writing) lets the reader retry a torn read of the job name.
// The master resets the board before each new worker of the slot starts.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace qd {

class SlotBoard {
 public:
  struct View {
    int64_t jobs = 0;    // finished (any outcome) by the current process
    int64_t failed = 0;  // of those, retried or dead-lettered
    std::string job;     // "SITE/QUEUE ID", empty when none is running
    int64_t job_started_ms = 0;  // epoch ms, 0 when none is running
    int64_t beat_ms = 0;  // the worker loop's last beat (MonotonicMs), or 0
  };

  // Maps a new, zeroed board; nullptr when mmap fails (monitoring only:
  // callers go on without one).
  static SlotBoard* Create();
  static void Destroy(SlotBoard* board);

  // Worker side.
  void JobStarted(std::string_view site, std::string_view queue,
                  std::string_view id, int64_t now_ms);
  void JobFinished(bool failed);
  // The worker's loop is alive at `mono_ms` (MonotonicMs()).
  void Beat(int64_t mono_ms) {
    beat_ms_.store(mono_ms, std::memory_order_relaxed);
  }

  // Master side.
  View Read() const;
  void Reset();

 private:
  SlotBoard() = default;
  static constexpr size_t kJobChars = 200;

  std::atomic<uint64_t> seq_{0};
  std::atomic<int64_t> jobs_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> job_started_ms_{0};
  std::atomic<int64_t> beat_ms_{0};
  char job_[kJobChars] = {};
};

}  // namespace qd
