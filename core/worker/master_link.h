// MasterLink: the worker's end of the channel to its master, as an
// IoManager. Reads the master's commands (drain, reopen) and turns EOF (the
// master died) into a drain. Status reports go out through Worker::Report.
// It also beats: every kBeatEvery (at most a quarter of heartbeat_timeout)
// it stores the time in the slot's board, where the master looks for it
// (WorkerPool); a loop blocked past heartbeat_timeout stops the beats.
#pragma once

#include "queuedaemon/io_manager.h"

namespace qd {

class Worker;

class MasterLink : public IoManager {
 public:
  explicit MasterLink(Worker* worker);
  void Start() override;

 private:
  void OnReadable(int fd) override;
  void OnTimer() override;
  void Beat();

  Worker* worker_;
};

}  // namespace qd
