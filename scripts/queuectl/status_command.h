// StatusCommand: `queuectl status`: is the daemon of this config running,
// and which workers does it have. Read from its pid file and /proc only; it
// never talks to Redis. Exit 0 when running, 3 when not.
#pragma once

#include <sys/types.h>

#include <map>

#include "scripts/queuectl/command.h"

namespace qd::ctl {

class StatusCommand : public Command {
 public:
  explicit StatusCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  // Children of `parent` whose name is qd-worker-SLOT, by slot.
  static std::map<int, pid_t> Workers(pid_t parent);
};

}  // namespace qd::ctl
