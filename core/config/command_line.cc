#include "core/config/command_line.h"

#include <set>

#include "core/os/process.h"

namespace qd {

Status CommandLine::Apply(Config* config) const {
  if (!id.empty()) config->daemon.id = id;
  if (!pidfile.empty()) config->daemon.pidfile = pidfile;
  if (!user.empty()) config->daemon.user = user;
  if (!group.empty()) config->daemon.group = group;
  if (sites.empty()) return Status::Ok();
  std::set<std::string> wanted(sites.begin(), sites.end());
  for (const auto& name : wanted) {
    if (config->sites.count(name) == 0) {
      std::string have;
      for (const auto& [n, s] : config->sites)
        have += (have.empty() ? "" : ", ") + n;
      return Status::Error(
          "--site " + name + ": no such site in " +
          (config->file.empty() ? "the built-in config" : config->file) +
          " (sites: " + have + ")");
    }
  }
  for (auto it = config->sites.begin(); it != config->sites.end();) {
    it = wanted.count(it->first) ? std::next(it) : config->sites.erase(it);
  }
  return Status::Ok();
}

int CommandLine::Threads(const Config& config) const {
  int n = threads >= 0 ? threads : config.daemon.threads;
  return n > 0 ? n : Process::CpuCount();
}

}  // namespace qd
