// queuectl: the operator's command-line tool. This first version answers
// `queuectl status`: is the daemon of this config running, and which workers
// does it have (read from its pid file and /proc). Later versions add queue
// and control commands.
#include <dirent.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "core/config.h"
#include "core/process.h"

namespace {

// Children of `parent` whose name is qd-worker-SLOT, by slot.
std::map<int, pid_t> Workers(pid_t parent) {
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

int Status(const qd::Config& config) {
  std::ifstream in(config.PidFile());
  pid_t pid = 0;
  in >> pid;
  if (pid <= 0 || !qd::Process::Alive(pid)) {
    std::printf("queuedaemon %s: not running (pid file %s)\n",
                config.daemon.id.c_str(), config.PidFile().c_str());
    return 3;
  }
  auto workers = Workers(pid);
  std::printf("queuedaemon %s: running, master pid %d, %zu workers\n",
              config.daemon.id.c_str(), pid, workers.size());
  for (const auto& [slot, wpid] : workers) {
    std::printf("  slot %d pid %d\n", slot, wpid);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"queuectl: operate queuedaemon"};
  std::string config_path, id;
  app.add_option("-c,--config", config_path, "the daemon's config file");
  app.add_option("-i,--id", id, "the daemon's id");
  app.set_version_flag("--version", "queuectl 0.1.0");
  app.require_subcommand(1);
  app.add_subcommand("status", "is the daemon running; its workers");
  CLI11_PARSE(app, argc, argv);

  qd::Config config = qd::Config::Defaults();
  if (!config_path.empty()) {
    qd::Status s = qd::Config::LoadFile(config_path, &config);
    if (!s.ok()) {
      std::fprintf(stderr, "queuectl: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (!id.empty()) config.daemon.id = id;
  return Status(config);
}
