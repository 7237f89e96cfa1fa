#include "core/worker/master_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/config/log.h"
#include "core/worker/slot_board.h"

namespace qd {

MasterLink::MasterLink(Channel* channel, SlotBoard* board,
                       Duration heartbeat_timeout, Hooks hooks)
    : IoManager("master-link"),
      channel_(channel),
      board_(board),
      heartbeat_timeout_(heartbeat_timeout),
      hooks_(std::move(hooks)) {}

namespace {
constexpr std::chrono::milliseconds kBeatEvery{1000};
}  // namespace

void MasterLink::Start() {
  if (channel_->valid()) WatchReadable(channel_->fd());
  Beat();
}

void MasterLink::OnTimer() { Beat(); }

void MasterLink::Beat() {
  if (board_ == nullptr || heartbeat_timeout_.count() == 0) return;
  board_->Beat(MonotonicMs());
  WakeAfter(
      std::min(kBeatEvery, std::max(heartbeat_timeout_ / 4, Duration(10))));
}

void MasterLink::OnReadable(int fd) {
  nlohmann::json msg;
  for (;;) {
    switch (channel_->Read(&msg)) {
      case Channel::ReadResult::kAgain:
        return;
      case Channel::ReadResult::kEof:
        Unwatch(fd);
        hooks_.drain("the master is gone");
        return;
      case Channel::ReadResult::kMessage:
        break;
    }
    std::string type = msg.value("t", "");
    if (type == "drain") {
      hooks_.drain("the master asked to drain");
    } else if (type == "pause" || type == "resume") {
      hooks_.set_paused(msg.value("site", "*"), type == "pause");
    } else if (type == "reopen") {
      Status s = Log::Reopen();
      if (!s.ok()) spdlog::error("{}", s.message());
    } else {
      spdlog::warn("unknown message from the master: {}", msg.dump());
    }
  }
}

}  // namespace qd
