#include "core/worker/memory_guard.h"

#include <spdlog/spdlog.h>

#include "core/util/units.h"

namespace qd {
namespace {
constexpr std::chrono::milliseconds kCheckEvery(1000);
}  // namespace

MemoryGuard::MemoryGuard(uint64_t soft_limit, Hooks hooks)
    : IoManager("memory-guard"),
      soft_limit_(soft_limit),
      hooks_(std::move(hooks)) {}

void MemoryGuard::Start() { WakeAfter(kCheckEvery); }

void MemoryGuard::OnTimer() {
  Check();
  WakeAfter(kCheckEvery);
}

void MemoryGuard::AfterWork() {
  auto now = std::chrono::steady_clock::now();  // vDSO: no syscall
  if (now < next_quick_) return;
  next_quick_ = now + kQuickEvery;
  MemoryUsage m;
  if (MemoryUsage::Read(0, &m) && m.rss > soft_limit_) {
    Check();  // trims first: only what is still in use counts
  }
}

bool MemoryGuard::Check() {
  MemoryUsage m = MemoryUsage::TrimAndReadSelf();
  bool over = m.rss > soft_limit_;
  if (over && !hooks_.draining()) {
    hooks_.recycle(fmt::format("RSS {} passed the soft limit {}",
                               FormatSize(m.rss), FormatSize(soft_limit_)));
  }
  hooks_.report(hooks_.draining() ? "draining" : "idle", m);
  return over;
}

}  // namespace qd
