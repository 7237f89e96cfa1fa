// ForkChild: fork() for every process the master starts from itself (queue
// workers, request workers), with the child cleaned up the same way: the
// logger let go of, every inherited descriptor but `keep` closed (a worker
// never holds a client's socket, the master's listening sockets or another
// worker's channel), signals at their defaults, the process named `comm`
// (ps, top) and logging as `role`, and systemd's notify variables unset
// (only the master notifies: ServiceNotifier).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace qd {

// The child's pid in the parent, 0 in the child, -1 (errno set) on failure.
pid_t ForkChild(const std::vector<int>& keep, const std::string& comm,
                const std::string& role);

}  // namespace qd
