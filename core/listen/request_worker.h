// Request workers: the processes a listener forks (docs/architecture.md,
// "Multiplex listeners").
//
// A multiplex worker (ServeChannel) serves one connection through the
// master: it reads requests from its channel (RequestWire), runs them and
// writes the replies back, until the master closes the channel (keepalive
// over, or the fence reclaimed it). A fork-personality worker (ServeClient)
// owns the client socket itself for the connection's life: it frames the
// input, logs in, answers, and ends when the client leaves, after
// idle_timeout, on a frame over max_frame, or on SIGTERM (after the request
// in progress).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/config/redis_url.h"
#include "core/listen/request_runner.h"

namespace qd {

// Both return the process's exit code. A fork-personality worker keeps its
// connection's session in Redis under `session_key` (for whoever looks) and
// deletes it at the end.
int ServeChannel(RequestRunner& runner, const ListenerConfig& config,
                 int channel_fd);
int ServeClient(RequestRunner& runner, const ListenerConfig& config,
                RequestHandler& handler, int client_fd,
                const std::string& session_key, const RedisUrl& redis);

// Called in the master; both return the worker's pid, or -1 after logging
// why (nothing is left open then). The child never returns.
// A multiplex worker for connection `conn_id`, serving its end of a new
// socketpair (ServeChannel); the master's end goes to *channel_fd.
pid_t ForkChannelWorker(const ListenerConfig& config, RequestHandler& handler,
                        const std::string& conn_id, int* channel_fd);
// A fork-personality worker owning `client_fd` (ServeClient), which the
// caller still closes in the master.
pid_t ForkClientWorker(const ListenerConfig& config, RequestHandler& handler,
                       const std::string& conn_id, int client_fd,
                       const RedisUrl& redis);

}  // namespace qd
