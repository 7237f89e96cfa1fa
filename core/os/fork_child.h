// ForkChild: fork() for every process the master starts from itself (queue
// workers, request workers), with the child cleaned up the same way: the
// logger let go of, every inherited descriptor but `keep` closed (a worker
// never holds a client's socket, the master's listening sockets or another
// worker's channel), signals at their defaults, the process named `comm`
// (ps, top) and logging as `role`, and systemd's notify variables unset
// (only the master notifies: ServiceNotifier).
//
// ForkSibling: fork() for a fork server (docs/architecture.md, "Multiplex
// listeners"), whose children are its parent's (the master's): the master
// reaps them as if it had forked them itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace qd {

// The child's pid in the parent, 0 in the child, -1 (errno set) on failure.
pid_t ForkChild(const std::vector<int>& keep, const std::string& comm,
                const std::string& role);

// clone(CLONE_PARENT): a child whose parent is the caller's parent, so that
// the caller's parent gets its SIGCHLD and reaps it. The pid in the caller,
// 0 in the child, -1 (errno set) on failure. Nothing is cleaned up in the
// child. REQUIRES: the caller is single-threaded (as after fork(), the
// child has one thread; glibc's fork() handlers do not run) and is not the
// init process of its pid namespace.
pid_t ForkSibling();

}  // namespace qd
