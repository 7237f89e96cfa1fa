#include "scripts/queuectl/status_command.h"

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/os/process.h"
#include "scripts/queuectl/exit_code.h"

namespace qd::ctl {

StatusCommand::StatusCommand(CLI::App* parent) {
  app_ = parent->add_subcommand("status", "is the daemon running; its workers");
}

int StatusCommand::Run(CtlContext* ctx) {
  const Config& config = ctx->config();
  std::ifstream in(config.PidFile());
  pid_t pid = 0;
  in >> pid;
  if (pid <= 0 || !Process::Alive(pid)) {
    std::printf("queuedaemon %s: not running (pid file %s)\n",
                config.daemon.id.c_str(), config.PidFile().c_str());
    return kExitNotRunning;
  }
  auto workers = Workers(pid);
  std::printf("queuedaemon %s: running, master pid %d, %zu workers\n",
              config.daemon.id.c_str(), pid, workers.size());
  for (const auto& [slot, wpid] : workers) {
    std::printf("  slot %d pid %d\n", slot, wpid);
  }
  return kExitOk;
}

std::map<int, pid_t> StatusCommand::Workers(pid_t parent) {
  std::map<int, pid_t> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    auto open = line.find('(');
    if (close == std::string::npos || open == std::string::npos) continue;
    std::string comm = line.substr(open + 1, close - open - 1);
    char state;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) {
      continue;
    }
    if (ppid == parent && comm.rfind("qd-worker-", 0) == 0) {
      out[std::atoi(comm.c_str() + 10)] = pid;
    }
  }
  closedir(dir);
  return out;
}

}  // namespace qd::ctl
