// MasterLink: the worker's end of the channel to its master, as an
// IoManager. Reads the master's commands (drain, reopen) and turns EOF (the
// master died) into a drain. Status reports go out through Worker::Report.
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
  Worker* worker_;
};

}  // namespace qd
