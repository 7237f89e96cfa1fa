// Request workers: the processes a listener forks (docs/architecture.md,
// "Multiplex listeners").
//
// A multiplex worker (ServeChannel; forked by the listener's fork server,
// core/listen/fork_server_main.h) serves one connection through the
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

// Called in the master. A multiplex worker's channel: the master's end in
// fds[0], the worker's (for the fork server) in fds[1]; false after logging
// why.
[[nodiscard]] bool OpenChannel(const ListenerConfig& config, int fds[2]);
// A fork-personality worker owning `client_fd` (ServeClient), which the
// caller still closes in the master. Returns its pid, or -1 after logging
// why. The child never returns.
pid_t ForkClientWorker(const ListenerConfig& config, RequestHandler& handler,
                       const std::string& conn_id, int client_fd,
                       const RedisUrl& redis);

}  // namespace qd
