// Supervisor: the master process.
//
// Owns the master's event_base, the config in force, the pid file, the
// embedded Redis (when configured) and the WorkerPool. Signals are libevent
// events whose callbacks are ordinary functions:
//   TERM/INT  drain: workers stop taking work and exit within
//             daemon.shutdown_timeout; then the embedded Redis stops and Run()
//             returns 0 (past the timeout: KILL, return 1). A second INT
//             kills at once.
//   HUP       re-read the config file; if valid, resize the pool and roll the
//             workers over one at a time; if not, log why (file:line:col) and
//             keep the old config.
//   USR1      reopen the log file, here and in every worker.
//   CHLD      reap: workers go to the pool, request workers to the
//             listeners, the Redis server to EmbeddedRedis.
// Start-up binds every socket (listeners, monitor.http) and writes the pid
// file, then drops to daemon.user/daemon.group (Privileges) before loading
// plugins, starting the embedded Redis or forking workers (see Run()).
// Listeners (ListenerSet) are opened before the first worker starts, follow
// reloads, and stop accepting on TERM/INT: the shutdown waits for their
// connections' requests in progress too. MasterMonitor publishes the
// daemon's state (Redis hashes, statsd, HTTP /metrics /healthz /status).
// PeriodicRunner enqueues the periodic jobs (here, not in a worker: the
// master outlives every worker) and follows reloads.
// Under a systemd unit of Type=notify, ServiceNotifier tells the service
// manager: READY once every worker is ready, RELOADING and READY around a
// reload, STOPPING when the drain begins, a STATUS line, watchdog pings.
// Single-threaded; every callback runs on the master's loop.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/command_line.h"
#include "core/config/config.h"
#include "core/control/control_channel.h"
#include "core/listen/listener_set.h"
#include "core/os/pid_file.h"
#include "core/os/privileges.h"
#include "core/os/service_notifier.h"
#include "core/plugin/handler_registry.h"
#include "core/plugin/handler_set.h"
#include "core/plugin/plugin_loader.h"
#include "core/queue/periodic_runner.h"
#include "core/redis/embedded_redis.h"
#include "core/redis/redis_client.h"
#include "core/supervisor/master_monitor.h"
#include "core/supervisor/worker_pool.h"

struct event;
struct event_base;

namespace qd {

class Supervisor {
 public:
  // `registry` holds the built-in handlers; the config's plugins are loaded
  // into it by Run() (and by reloads that name new ones).
  Supervisor(CommandLine cmdline, Config config, HandlerRegistry& registry);
  ~Supervisor();

  // Takes the pid file, starts Redis and the workers, runs until shut down.
  // `ready_fd` (>= 0 when daemonized) gets one byte once the workers are
  // started, so the launching process can exit 0. Returns the exit code.
  int Run(int ready_fd = -1);

  // Loads the plugins `config` names (those not loaded yet) into `registry`
  // and builds the config's handlers; *out is set only on success. Also
  // what --check-config and --no-fork use.
  static Status BuildHandlers(const Config& config, PluginLoader& plugins,
                              HandlerRegistry& registry, HandlerSet* out);

  // Becomes `privileges` (daemon.user, daemon.group) for good; as root it
  // first makes sure of run_dir (TakeRunDir) and gives the log file to that
  // user, so the daemon can still use them. Also what --no-fork uses.
  static Status DropPrivileges(const Config& config,
                               const Privileges& privileges);
  // As root with a user to become: creates daemon.run_dir and gives it to
  // that user, or accepts an existing one only if it is that user's.
  static Status TakeRunDir(const Config& config, const Privileges& privileges);

 private:
  static void OnSignal(int sig, short what, void* arg);
  static void OnShutdownTimeout(int fd, short what, void* arg);
  void Reap();
  // Re-reads the config file (only `site` of it when not empty), rolls the
  // workers over; logs and returns why not (keeping the current config).
  Status Reload(const std::string& why, const std::string& site);
  Status ReloadConfig(const std::string& why, const std::string& site);
  void OnControl(const ControlCommand& cmd,
                 const ControlChannel::Respond& respond);
  // The sites that are not fetching now (queuectl drain).
  std::vector<std::string> PausedSites() const;
  void BeginShutdown(const std::string& why);
  void MaybeFinish();
  std::string WorkerRedisUrl() const;
  Status DropPrivileges();
  // The embedded Redis (when configured), then every server's login, then
  // the function library on each.
  Status StartRedis();
  Status CheckRedisLogins() const;
  // FCALL qd_enqueue on every server the config names (logged, never fatal).
  void LoadEnqueueLibrary() const;
  // `fds`: the listeners' sockets, bound before the privileges were dropped.
  Status StartListeners(std::map<std::string, int> fds);
  int RunWorker(int slot, int incarnation, Channel channel);

  CommandLine cmdline_;
  std::unique_ptr<Config> config_;
  HandlerRegistry& registry_;
  PluginLoader plugins_;
  std::unique_ptr<HandlerSet> handlers_;
  event_base* base_;
  PidFile pidfile_;
  Privileges privileges_;  // whom the master becomes after binding
  std::unique_ptr<EmbeddedRedis> redis_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<ListenerSet> listeners_;
  // The master's own Redis connection: deletes closed connections'
  // sessions, carries the monitor's PINGs, samples and hashes.
  std::unique_ptr<RedisClient> redis_client_;
  std::unique_ptr<MasterMonitor> monitor_;
  // Enqueues the sites' periodic jobs, through the monitor's clients.
  std::unique_ptr<PeriodicRunner> periodic_;
  std::unique_ptr<ControlChannel> control_;
  std::unique_ptr<ServiceNotifier> notifier_;  // systemd (no-op without)
  // Sites whose fetching `queuectl drain` paused ("*" = all; a later
  // per-site entry overrides it); new workers start with it.
  std::map<std::string, bool> paused_;
  event* signals_[5] = {};
  event* shutdown_timer_ = nullptr;
  bool shutting_down_ = false;
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace qd
