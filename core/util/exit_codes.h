// Exit codes that carry meaning between a worker and its master, and the
// master's own. A worker's exit code tells the master what to do with its
// slot; anything not listed here (or a signal) is a crash and respawns with
// backoff.
#pragma once

namespace qd {

// The master (queuedaemon itself): a bad config or a failed start-up (an
// unknown user, a port in use, a refused Redis login, ...).
constexpr int kExitStartup = 1;

// Drained on request (master drain, master gone): nothing to do.
constexpr int kExitOk = 0;
// Passed the soft memory limit and drained: replace at once, no backoff.
constexpr int kExitRecycle = 90;
// Over the soft limit right after start: replacing it would only repeat
// that, so the master parks the slot and says so loudly.
constexpr int kExitShutdown = 91;
// Start-up failed in a way a respawn will not fix (bad plugin state, ...).
constexpr int kExitFatal = 92;

}  // namespace qd
