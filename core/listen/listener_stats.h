// ListenerStats: one listener's state and counters since start, as the
// master's monitor snapshot reports them (docs/architecture.md, "Multiplex
// listeners"). Plain data: a Listener fills it in stats(), its ForkFence
// and its connections count into it. Used from the master's loop only.
#pragma once

#include <cstdint>
#include <string>

namespace qd {

struct ListenerStats {
  std::string name;
  int connections = 0;
  int workers = 0;  // alive: forked and not reaped (the fence counts)
  int busy = 0;     // workers running a request
  int idle = 0;     // kept-alive workers waiting for their connection
  int waiting = 0;  // connections waiting at the fence
  uint64_t accepted = 0;
  uint64_t refused = 0;  // over max_connections
  uint64_t requests = 0;
  uint64_t forks = 0;
  uint64_t reclaimed = 0;         // idle workers closed to make room
  uint64_t busy_replies = 0;      // fence_timeout passed
  uint64_t error_replies = 0;     // a worker died during a request
  uint64_t too_long = 0;          // frames over max_frame
  uint64_t idle_closed = 0;       // idle_timeout passed
  uint64_t output_paused = 0;     // reading stopped: replies over max_output
  uint64_t output_closed = 0;     // over max_output_hard, or output_timeout
  uint64_t login_failed = 0;      // logins refused by the handler
  uint64_t login_delayed = 0;     // connections held for their address's turn
  uint64_t login_throttled = 0;   // refused: their turn was too far away
  uint64_t login_timeouts = 0;    // not logged in within login_timeout
  uint64_t accept_shortages = 0;  // accepts failed: out of descriptors
};

}  // namespace qd
