#include "core/worker/slot_board.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace qd {

static_assert(std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free");

SlotBoard* SlotBoard::Create() {
  void* page = mmap(nullptr, sizeof(SlotBoard), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return nullptr;
  return new (page) SlotBoard();
}

void SlotBoard::Destroy(SlotBoard* board) {
  if (board == nullptr) return;
  board->~SlotBoard();
  munmap(board, sizeof(SlotBoard));
}

void SlotBoard::JobStarted(std::string_view site, std::string_view queue,
                           std::string_view id, int64_t now_ms) {
  uint64_t seq = seq_.load(std::memory_order_relaxed);
  seq_.store(seq + 1, std::memory_order_relaxed);  // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  size_t n = 0;
  auto put = [&](std::string_view part) {
    size_t k = std::min(part.size(), kJobChars - 1 - n);
    std::memcpy(job_ + n, part.data(), k);
    n += k;
  };
  put(site);
  put("/");
  put(queue);
  put(" ");
  put(id);
  job_[n] = '\0';
  job_started_ms_.store(now_ms, std::memory_order_relaxed);
  seq_.store(seq + 2, std::memory_order_release);
}

void SlotBoard::JobFinished(bool failed) {
  job_started_ms_.store(0, std::memory_order_relaxed);
  jobs_.fetch_add(1, std::memory_order_relaxed);
  if (failed) failed_.fetch_add(1, std::memory_order_relaxed);
}

SlotBoard::View SlotBoard::Read() const {
  View v;
  v.jobs = jobs_.load(std::memory_order_relaxed);
  v.failed = failed_.load(std::memory_order_relaxed);
  v.beat_ms = beat_ms_.load(std::memory_order_relaxed);
  for (int tries = 0; tries < 100; ++tries) {
    uint64_t before = seq_.load(std::memory_order_acquire);
    if (before % 2 != 0) continue;
    char copy[kJobChars];
    std::memcpy(copy, job_, kJobChars);
    int64_t started = job_started_ms_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) != before) continue;
    copy[kJobChars - 1] = '\0';
    v.job_started_ms = started;
    if (started != 0) v.job = copy;
    break;
  }
  return v;
}

void SlotBoard::Reset() {
  seq_.store(0, std::memory_order_relaxed);
  jobs_.store(0, std::memory_order_relaxed);
  failed_.store(0, std::memory_order_relaxed);
  job_started_ms_.store(0, std::memory_order_relaxed);
  beat_ms_.store(0, std::memory_order_relaxed);
  job_[0] = '\0';
}

}  // namespace qd
