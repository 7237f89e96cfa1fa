// CommandLine: what queuedaemon's command line says. It beats the config
// file, at start-up and on every reload (Apply() runs on each freshly
// loaded config).
#pragma once

#include <string>
#include <vector>

#include "core/config/config.h"
#include "queuedaemon/status.h"

namespace qd {

struct CommandLine {
  std::string config_path;         // "" = embedded defaults
  int threads = -1;                // -1 = from the config
  std::string id;                  // "" = from the config
  std::string pidfile;             // "" = from the config
  std::string log_level;           // "" = from the config (-v debug, -q warn)
  std::string user;                // --user: "" = daemon.user
  std::string group;               // --group: "" = daemon.group
  std::vector<std::string> sites;  // --site: serve only these; empty = all
  bool foreground = false;
  bool no_fork = false;

  // Applies the overrides to a freshly loaded config; a --site that the
  // config does not have is an error (naming the sites it has).
  Status Apply(Config* config) const;
  // The worker count: --threads, else daemon.threads, 0 meaning CPU count.
  int Threads(const Config& config) const;
};

}  // namespace qd
