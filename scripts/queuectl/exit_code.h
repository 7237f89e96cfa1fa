// Exit codes of queuectl, the contract scripts rely on.
//
//   0  done
//   1  a Redis or other run-time failure (the message names the server)
//   2  a usage or config error: bad option, unknown site or queue
//   3  `status` only: the daemon is not running (Nagios "unknown")
//   4  `enqueue --unique-key` only: a job with that key is held in the
//      queue; nothing was enqueued
#pragma once

namespace qd::ctl {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotRunning = 3;
constexpr int kExitDuplicate = 4;

}  // namespace qd::ctl
