// queuedaemon: the entry point. Parses the command line, loads the config,
// daemonizes unless --foreground, and hands over to the Supervisor (or, with
// --no-fork, runs one worker in this process for debugging handlers).
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "core/config/config.h"
#include "core/config/log.h"
#include "core/os/privileges.h"
#include "core/os/process.h"
#include "core/os/service_notifier.h"
#include "core/plugin/handler_registry.h"
#include "core/plugin/handler_set.h"
#include "core/plugin/plugin_loader.h"
#include "core/redis/embedded_redis.h"
#include "core/supervisor/supervisor.h"
#include "core/util/exit_codes.h"
#include "core/util/version.h"
#include "core/worker/worker.h"
#include "handlers/builtin_handlers.h"

namespace {

// Forks; the parent waits for the child to report that its workers started
// and exits 0 (or 1 if the child failed first). Returns, in the child, the
// descriptor to report on. Under systemd (Type=notify without --foreground)
// the parent first names the child the main process, and the child waits
// for that (EOF on `handed`) before it could notify anything.
int Daemonize() {
  int fds[2], handed[2];
  if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(handed, O_CLOEXEC) != 0) {
    std::perror("queuedaemon: pipe");
    std::exit(1);
  }
  pid_t launcher = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("queuedaemon: fork");
    std::exit(1);
  }
  if (pid > 0) {
    close(fds[1]);
    close(handed[0]);
    qd::ServiceNotifier::PassMainPid(pid);
    close(handed[1]);
    char c;
    if (read(fds[0], &c, 1) == 1) std::exit(0);
    std::fprintf(stderr, "queuedaemon: start-up failed; see the log\n");
    std::exit(1);
  }
  close(fds[0]);
  close(handed[1]);
  char c;
  while (read(handed[0], &c, 1) < 0 && errno == EINTR) {
  }
  close(handed[0]);
  qd::ServiceNotifier::AdoptWatchdog(launcher);
  setsid();
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);
  return fds[1];
}

// As the master does: the privileges go first (no socket to bind here),
// then plugins load.
int RunNoFork(const qd::Config& config, qd::HandlerRegistry& registry) {
  qd::Config cfg = config;
  qd::PluginLoader plugins;
  qd::HandlerSet handlers;
  qd::Privileges privileges;
  qd::Status built =
      qd::Privileges::Resolve(cfg.daemon.user, cfg.daemon.group, &privileges);
  if (built.ok()) {
    built = qd::Supervisor::DropPrivileges(cfg, privileges);
  }
  if (built.ok()) {
    built = qd::Supervisor::BuildHandlers(cfg, plugins, registry, &handlers);
  }
  if (!built.ok()) {
    spdlog::critical("{}", built.message());
    return qd::kExitStartup;
  }
  event_base* spare = event_base_new();  // EmbeddedRedis' restart timer
  int rc;
  {
    std::unique_ptr<qd::EmbeddedRedis> redis;
    if (cfg.redis.url == "embedded") {
      redis = std::make_unique<qd::EmbeddedRedis>(
          spare, cfg.redis.server_binary,
          qd::Process::Absolute(cfg.daemon.run_dir) + "/redis");
      qd::Status s = redis->Start();
      if (!s.ok()) {
        spdlog::critical("{}", s.message());
        return 1;
      }
      cfg.redis.url = redis->url();
    }
    (void)qd::Log::SetRole("worker 0");
    qd::Worker worker(cfg, handlers, 0, 1, qd::Channel());
    for (auto& m : registry.MakeIoManagers()) worker.AddManager(std::move(m));
    rc = worker.Run();
    if (redis) redis->Stop();
  }
  event_base_free(spare);
  return rc;
}

// --check-config: the file, its user and group, its plugins and its
// handlers.
int CheckConfig(const qd::CommandLine& cmd, const qd::Config& config,
                qd::HandlerRegistry& registry) {
  qd::PluginLoader plugins;
  qd::HandlerSet handlers;
  qd::Privileges privileges;
  qd::Status s = qd::Privileges::Resolve(config.daemon.user,
                                         config.daemon.group, &privileges);
  if (s.ok()) {
    s = qd::Supervisor::BuildHandlers(config, plugins, registry, &handlers);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "queuedaemon: %s\n", s.message().c_str());
    return qd::kExitStartup;
  }
  std::printf("%s: ok\n", cmd.config_path.empty() ? "built-in defaults"
                                                  : cmd.config_path.c_str());
  return 0;
}

// Foreground and --no-fork log to stderr (or syslog); a daemon detaches
// first (*ready_fd tells its launcher when it is up) and logs to its file,
// or to syslog instead of stderr. The decision is kept in the config, so a
// reload does not move the log.
bool StartLogging(const qd::CommandLine& cmd, qd::Config* config,
                  int* ready_fd) {
  qd::LogConfig& log = config->daemon.log;
  if (cmd.foreground || cmd.no_fork) {
    if (log.file != "syslog") log.file = "stderr";
  } else {
    if (log.file == "stderr") log.file = "syslog";
    *ready_fd = Daemonize();
  }
  qd::Status s = qd::Log::Setup(log, "master", cmd.log_level);
  if (!s.ok()) {
    std::fprintf(stderr, "queuedaemon: %s\n", s.message().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"queuedaemon: a multi-site queue daemon"};
  qd::CommandLine cmd;
  bool verbose = false, quiet = false, check_config = false;
  app.add_option("-c,--config", cmd.config_path,
                 "config file (default: the built-in defaults)");
  app.add_option("-t,--threads", cmd.threads,
                 "worker processes (0 = CPU count)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-i,--id", cmd.id, "daemon id: pid file and consumer names");
  app.add_option("--pidfile", cmd.pidfile, "pid file path");
  app.add_option("--user", cmd.user,
                 "run as this user (name or uid) once the sockets are bound "
                 "(default: daemon.user)");
  app.add_option("--group", cmd.group,
                 "run as this group (name or gid; default: daemon.group, "
                 "else the user's primary group)");
  bool all_sites = false;
  app.add_option("-s,--site", cmd.sites,
                 "serve only this site of the config (repeatable)");
  app.add_flag("-a,--all", all_sites,
               "serve every site of the config (the "
               "default)")
      ->excludes("--site");
  app.add_flag("-f,--foreground", cmd.foreground,
               "stay attached to the terminal, log to stderr");
  app.add_flag("-v,--verbose", verbose, "log at debug level");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  app.add_flag("--check-config", check_config,
               "validate the config and exit 0 (valid) or 1");
  app.add_flag("--no-fork", cmd.no_fork,
               "one process, no master (for debugging handlers)");
  app.set_version_flag("--version", std::string("queuedaemon ") + qd::kVersion);
  CLI11_PARSE(app, argc, argv);
  if (verbose) cmd.log_level = "debug";
  if (quiet) cmd.log_level = "warn";

  qd::Config config = qd::Config::Defaults();
  if (!cmd.config_path.empty()) {
    qd::Status s = qd::Config::LoadFile(cmd.config_path, &config);
    if (!s.ok()) {
      std::fprintf(stderr, "queuedaemon: %s\n", s.message().c_str());
      return 1;
    }
  }
  qd::Status applied = cmd.Apply(&config);
  if (!applied.ok()) {
    std::fprintf(stderr, "queuedaemon: %s\n", applied.message().c_str());
    return 1;
  }
  qd::HandlerRegistry registry;
  RegisterBuiltinHandlers(registry);
  if (check_config) return CheckConfig(cmd, config, registry);

  int ready_fd = -1;
  if (!StartLogging(cmd, &config, &ready_fd)) return 1;
  if (cmd.no_fork) return RunNoFork(config, registry);
  qd::Process::SetName("queuedaemon");
  qd::Supervisor supervisor(cmd, std::move(config), registry);
  return supervisor.Run(ready_fd);
}
