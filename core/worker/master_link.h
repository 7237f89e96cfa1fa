// MasterLink: the worker's end of the channel to its master, as an
// IoManager. Reads the master's commands (drain, pause/resume, reopen) and
// turns EOF (the master died) into a drain. Status reports go out through
// Worker::Report. It also beats: every kBeatEvery (at most a quarter of
// heartbeat_timeout) it stores the time in the slot's board, where the
// master looks for it (WorkerPool); a loop blocked past heartbeat_timeout
// stops the beats.
//
// The link knows nothing of the Worker: it reads a borrowed channel and acts
// through Hooks.
#pragma once

#include <functional>
#include <string>

#include "core/os/channel.h"
#include "core/util/units.h"
#include "queuedaemon/io_manager.h"

namespace qd {

class SlotBoard;

class MasterLink : public IoManager {
 public:
  // What the master's commands do to the worker. REQUIRES: both set.
  struct Hooks {
    // Stop taking work, finish what is held, exit 0 (a drain, or EOF).
    std::function<void(const std::string& why)> drain;
    // Stop or restart fetching `site`'s jobs ("*" = every site).
    std::function<void(const std::string& site, bool paused)> set_paused;
  };

  // `channel` (may be invalid: no master) and `board` (may be null: no
  // beats) belong to the worker. `heartbeat_timeout` 0 = no beats.
  // REQUIRES: `channel` and `board` outlive the link.
  MasterLink(Channel* channel, SlotBoard* board, Duration heartbeat_timeout,
             Hooks hooks);
  void Start() override;

 private:
  void OnReadable(int fd) override;
  void OnTimer() override;
  void Beat();

  Channel* channel_;
  SlotBoard* board_;
  const Duration heartbeat_timeout_;
  Hooks hooks_;
};

}  // namespace qd
