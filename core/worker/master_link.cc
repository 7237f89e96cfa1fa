#include "core/worker/master_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/util/exit_codes.h"
#include "core/config/log.h"
#include "core/worker/slot_board.h"
#include "core/util/units.h"
#include "core/worker/worker.h"

namespace qd {

MasterLink::MasterLink(Worker* worker)
    : IoManager("master-link"), worker_(worker) {}

namespace {
constexpr std::chrono::milliseconds kBeatEvery{1000};
}  // namespace

void MasterLink::Start() {
  if (worker_->channel().valid()) WatchReadable(worker_->channel().fd());
  Beat();
}

void MasterLink::OnTimer() { Beat(); }

void MasterLink::Beat() {
  SlotBoard* board = worker_->board();
  auto timeout = worker_->config().daemon.heartbeat_timeout;
  if (board == nullptr || timeout.count() == 0) return;
  board->Beat(MonotonicMs());
  WakeAfter(std::min(kBeatEvery, std::max(timeout / 4, Duration(10))));
}

void MasterLink::OnReadable(int fd) {
  nlohmann::json msg;
  for (;;) {
    switch (worker_->channel().Read(&msg)) {
      case Channel::ReadResult::kAgain:
        return;
      case Channel::ReadResult::kEof:
        Unwatch(fd);
        worker_->BeginStop(kExitOk, "the master is gone");
        return;
      case Channel::ReadResult::kMessage:
        break;
    }
    std::string type = msg.value("t", "");
    if (type == "drain") {
      worker_->BeginStop(kExitOk, "the master asked to drain");
    } else if (type == "pause" || type == "resume") {
      worker_->SetPaused(msg.value("site", "*"), type == "pause");
    } else if (type == "reopen") {
      Status s = Log::Reopen();
      if (!s.ok()) spdlog::error("{}", s.message());
    } else {
      spdlog::warn("unknown message from the master: {}", msg.dump());
    }
  }
}

}  // namespace qd
