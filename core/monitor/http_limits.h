// HttpLimits: the bounds HttpServer keeps on its clients, with the
// defaults the master's monitor uses (docs/monitoring.md, "Limits"). Tests
// shorten the times. Plain data.
#pragma once

#include <chrono>
#include <cstddef>

namespace qd {

struct HttpLimits {
  // Connections open at once. A new one past the cap closes the oldest
  // connection that has no request being answered (one still sending its
  // request, or idle between requests), else it is answered 503 and
  // closed at once.
  size_t max_connections = 64;
  // The request line and headers together, line ends included: larger is
  // answered 400 and closed.
  size_t max_head_bytes = 8192;
  // A request body (Content-Length only): larger is answered 413 and
  // closed. The server's handler may allow more on some paths
  // (HttpServer::BodyLimitFn: the API's actions take 1 MiB).
  size_t max_body_bytes = 1024;
  // From accept, or from the end of the previous reply on a kept-alive
  // connection, until the request is complete (head and body): else 408
  // and close, or a plain close when nothing was sent. Unlike the idle
  // timeout, a client that trickles bytes does not extend it.
  std::chrono::milliseconds request_deadline{10000};
  // Reading or writing that makes no progress for this long closes the
  // connection.
  std::chrono::milliseconds idle_timeout{10000};
  // After a reply that ends the connection, how long the client may take
  // to close its side while unread input is discarded, so that a client
  // still sending reads the reply rather than a reset.
  std::chrono::milliseconds linger{2000};
  // How long a deferred answer (HttpDeferral) may take: then the
  // deferral's own reply (a 504) is sent and a late answer is dropped.
  std::chrono::milliseconds answer_deadline{5000};
  // How long accepting stops when accept() fails for want of descriptors
  // (AcceptPause).
  std::chrono::milliseconds accept_pause{500};
};

}  // namespace qd
