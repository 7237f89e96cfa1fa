#include "core/worker/memory_guard.h"

#include <spdlog/spdlog.h>

#include "core/util/exit_codes.h"
#include "core/os/memory_usage.h"
#include "core/worker/worker.h"

namespace qd {
namespace {
constexpr std::chrono::milliseconds kCheckEvery(1000);
}  // namespace

MemoryGuard::MemoryGuard(Worker* worker)
    : IoManager("memory-guard"), worker_(worker) {}

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
  if (MemoryUsage::Read(0, &m) && m.rss > worker_->config().daemon.soft_limit) {
    Check();  // trims first: only what is still in use counts
  }
}

bool MemoryGuard::Check() {
  MemoryUsage m = MemoryUsage::TrimAndReadSelf();
  uint64_t soft = worker_->config().daemon.soft_limit;
  bool over = m.rss > soft;
  if (over && !worker_->io().draining()) {
    worker_->BeginStop(kExitRecycle,
                       fmt::format("RSS {} passed the soft limit {}",
                                   FormatSize(m.rss), FormatSize(soft)));
  }
  worker_->Report(worker_->io().draining() ? "draining" : "idle", m);
  return over;
}

}  // namespace qd
