// Process: the small set of process-level operations the master and its
// workers need (CPU count, cleaning up after fork, process names), kept in
// one place so that the rest of the code reads as policy.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace qd {

class Process {
 public:
  // CPUs this process may run on (the affinity mask), at least 1.
  static int CpuCount();

  // In a freshly forked child: closes every descriptor >= 3 except `keep`,
  // so a worker never holds the master's sockets, pid file lock or other
  // children's channels.
  static void CloseInheritedFds(const std::vector<int>& keep);

  // Raises the soft limit on open descriptors to the hard one (a listener
  // holds one per client) and returns the limit now in force, -1 on error.
  static int RaiseFileLimit();

  // In a freshly forked child: every signal back to its default action,
  // nothing blocked (the master's libevent handlers must not fire here).
  static void ResetSignals();

  // Sets the name shown by ps/top and /proc/PID/comm (at most 15 bytes).
  static void SetName(const std::string& name);

  // True if `pid` exists (a zombie counts).
  static bool Alive(pid_t pid);

  // This machine's host name ("localhost" if it has none).
  static std::string HostName();

  // The absolute form of `path` (relative to the working directory).
  static std::string Absolute(const std::string& path);
};

}  // namespace qd
