// XmppLinkCounters: what one XmppLink counted since it was made, for status
// and tests. The link bumps the connection's counts; its XmppKeepalive bumps
// the ping and whitespace counts in the same struct.
#pragma once

#include <cstdint>

namespace qd {

struct XmppLinkCounters {
  uint64_t connects = 0;  // TCP connect attempts
  uint64_t ready = 0;     // times the link became ready
  uint64_t failures = 0;  // attempts or ready links that failed
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;   // our pings answered (result or error)
  uint64_t server_pings = 0;     // the server's pings we answered
  uint64_t whitespace_sent = 0;  // keepalive spaces
};

}  // namespace qd
