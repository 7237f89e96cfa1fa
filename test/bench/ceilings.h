// Ceilings for multiplex_bench: what this machine gives with nothing of
// ours in the way, measured in the same run as our figures.
#pragma once

#include <sys/types.h>

namespace qd::bench {

// The machine's bound for a fork per request: fork + _exit + waitpid in a
// loop for `seconds` by two single-threaded forkers in parallel (2 cores),
// each a child of this process (small), reporting its count through a pipe.
double ForkCeiling(double seconds);

// The bound of the keepalive figure: the same clients against a process that
// answers "ECHO <n>" itself (one poll loop, no master, worker or Redis).
// Returns its pid (listening on *port), or -1.
pid_t StartEchoServer(int* port);

}  // namespace qd::bench
