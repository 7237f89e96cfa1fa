// The fork server's process: a small single-threaded process a multiplex
// listener forks from the master (ForkServer::Start), which forks that
// listener's request workers so that the master forks none
// (docs/architecture.md, "Multiplex listeners").
//
// Why: a fork costs the forking process a copy of its page tables and, on
// its next writes, a copy-on-write fault per page it shares with the child.
// The master holds every connection and is the busiest process; the fork
// server holds nothing but its socket and sleeps between requests, so the
// forks (and the children's faults, on pages nobody writes) cost the master
// nothing.
//
// Its workers are the master's children (ForkSibling: CLONE_PARENT): the
// master reaps them as before and learns each pid from the answer to its
// request. The fork server itself has no children to reap.
//
// The wire, a SOCK_SEQPACKET socketpair (one message is one request or one
// answer, so no framing):
//   master -> fork server: the connection's id (1..kMaxConnId bytes), with
//     the worker's end of its channel attached (SCM_RIGHTS, exactly one);
//   fork server -> master: a ForkAnswer per request, in the order of the
//     requests.
// The fork server ends on EOF (the master closed or retired it), on a
// broken request, or with the master (PR_SET_PDEATHSIG, and a check that
// the master is still its parent once that is set).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "core/config/config.h"
#include "queuedaemon/request_handler.h"

namespace qd {

struct ForkAnswer {
  int32_t pid = -1;   // the worker's, or -1
  int32_t error = 0;  // errno of the failed fork (or of a broken request)
};

inline constexpr size_t kMaxConnId = 512;

// The fork server's body: serves requests on `fd` for the listener
// `config` with `handler` until EOF; returns the exit code. `master` is
// the pid of the parent it must die with. REQUIRES: a freshly forked
// child (ForkChild) holding `fd` and nothing else.
int ForkServerMain(const ListenerConfig& config, RequestHandler& handler,
                   int fd, pid_t master);

}  // namespace qd
