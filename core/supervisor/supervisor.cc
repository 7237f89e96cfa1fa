#include "core/supervisor/supervisor.h"

#include <event2/event.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "core/config/log.h"
#include "core/monitor/http_monitor.h"
#include "core/os/process.h"
#include "core/supervisor/master_monitor.h"
#include "core/util/exit_codes.h"
#include "core/util/units.h"
#include "core/worker/worker.h"

namespace qd {
namespace {
constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};

}  // namespace

Supervisor::Supervisor(CommandLine cmdline, Config config,
                       HandlerRegistry& registry)
    : cmdline_(std::move(cmdline)),
      config_(std::make_unique<Config>(std::move(config))),
      registry_(registry),
      base_(event_base_new()) {
  if (base_ == nullptr) throw std::runtime_error("event_base_new failed");
}

Supervisor::~Supervisor() {
  // First: stopping the connection runs its pending callbacks (null
  // replies), which reach the monitor and the control channel.
  if (redis_client_) redis_client_->Stop();
  notifier_.reset();
  control_.reset();
  monitor_.reset();
  periodic_.reset();
  pool_.reset();
  listeners_.reset();
  redis_client_.reset();
  redis_.reset();
  for (event* ev : signals_) {
    if (ev != nullptr) event_free(ev);
  }
  if (shutdown_timer_ != nullptr) event_free(shutdown_timer_);
  event_base_free(base_);
}

// The body of a forked worker process in `slot`.
int Supervisor::RunWorker(int slot, int incarnation, Channel channel) {
  Worker worker(*config_, *handlers_, slot, incarnation, std::move(channel),
                pool_->board(slot));
  worker.set_slots(cmdline_.Threads(*config_));
  // "*" first: per-site entries override it.
  auto all = paused_.find("*");
  if (all != paused_.end()) worker.SetPaused("*", all->second);
  for (const auto& [site, paused] : paused_) {
    if (site != "*") worker.SetPaused(site, paused);
  }
  for (auto& m : registry_.MakeIoManagers()) worker.AddManager(std::move(m));
  return worker.Run();
}

int Supervisor::Run(int ready_fd) {
  started_ = std::chrono::steady_clock::now();
  auto fail = [this](const Status& s) {
    spdlog::critical("{}", s.message());
    if (listeners_) listeners_->Shutdown();
    if (redis_) redis_->Stop();
    return kExitStartup;
  };
  const DaemonConfig& daemon = config_->daemon;
  Status s = Privileges::Resolve(daemon.user, daemon.group, &privileges_);
  if (s.ok()) s = TakeRunDir(*config_, privileges_);
  if (s.ok()) s = pidfile_.Acquire(config_->PidFile());
  if (!s.ok()) return fail(s);
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    signals_[i] = evsignal_new(base_, kSignals[i], &Supervisor::OnSignal, this);
    event_add(signals_[i], nullptr);
  }
  // The order matters. Everything that may need root comes first: the pid
  // file (above) and every listening socket (a port below 1024). Then the
  // master becomes daemon.user, before anything else runs: plugins load as
  // that user (their code never runs as root, and a reload, which loads
  // plugins and binds new listeners, can do what start-up did), the
  // embedded Redis starts as that user (its data in run_dir is the
  // user's, so a restart of it after the drop works), and every worker is
  // forked from an unprivileged master.
  std::map<std::string, int> listener_fds;
  int http_fd = -1;
  s = ListenerSet::Bind(*config_, &listener_fds);
  if (s.ok() && !config_->monitor.http.empty()) {
    s = HttpMonitor::Bind(config_->monitor.http, &http_fd);
  }
  if (s.ok()) s = DropPrivileges();
  handlers_ = std::make_unique<HandlerSet>();
  if (s.ok()) s = BuildHandlers(*config_, plugins_, registry_, handlers_.get());
  if (s.ok()) s = StartRedis();
  if (s.ok()) s = StartListeners(std::move(listener_fds));
  if (!s.ok()) return fail(s);

  pool_ = std::make_unique<WorkerPool>(
      base_, [this](int slot, int incarnation, Channel channel) {
        return RunWorker(slot, incarnation, std::move(channel));
      });
  pool_->SetConfig(config_.get());
  int n = cmdline_.Threads(*config_);
  pool_->OnAllReady([this, n] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    spdlog::info("all {} workers ready in {}", n, FormatDuration(ms));
    notifier_->Ready();
  });
  spdlog::info("queuedaemon {} pid {} starting {} workers (config {})",
               config_->daemon.id, getpid(), n,
               config_->file.empty() ? "built-in defaults" : config_->file);
  periodic_ = std::make_unique<PeriodicRunner>(
      base_,
      [this](const SiteConfig& site) { return monitor_->ClientFor(site); });
  monitor_ = std::make_unique<MasterMonitor>(
      base_, redis_client_.get(),
      MasterMonitor::Sources{pool_.get(), listeners_.get(),
                             [this] { return shutting_down_; }, periodic_.get(),
                             [this] { return PausedSites(); }});
  s = monitor_->Start(*config_, n, http_fd);
  if (!s.ok()) return fail(s);
  periodic_->Apply(*config_);
  notifier_ = std::make_unique<ServiceNotifier>(
      base_, ServiceNotifier::Sources{[this] { return monitor_->StatusLine(); },
                                      [this] { return monitor_->redis_ok(); }});
  notifier_->Start();
  RedisUrl url;
  (void)config_->redis.Resolve(&url);  // parsed once already
  control_ = std::make_unique<ControlChannel>(
      base_, url, redis_client_.get(), Process::HostName(),
      [this](const ControlCommand& cmd, ControlChannel::Respond respond) {
        OnControl(cmd, respond);
      });
  control_->Apply(*config_);
  pool_->Resize(n);
  if (ready_fd >= 0) {
    (void)!write(ready_fd, "1", 1);
    close(ready_fd);
  }
  event_base_dispatch(base_);
  monitor_->Forget();
  if (redis_) redis_->Stop();
  spdlog::info("exiting with code {}", exit_code_);
  return exit_code_;
}

void Supervisor::OnSignal(int sig, short, void* arg) {
  auto* self = static_cast<Supervisor*>(arg);
  switch (sig) {
    case SIGCHLD:
      self->Reap();
      break;
    case SIGHUP:
      (void)self->Reload("SIGHUP", "");
      break;
    case SIGUSR1:
      spdlog::info("SIGUSR1: reopening log files");
      (void)Log::Reopen();
      spdlog::info("log file reopened");
      if (self->pool_) self->pool_->Broadcast({{"t", "reopen"}});
      break;
    case SIGINT:
      if (self->shutting_down_) {
        spdlog::warn("second interrupt: killing the workers");
        self->exit_code_ = 1;
        self->pool_->KillAll();
        self->listeners_->KillAll();
        break;
      }
      self->BeginShutdown("SIGINT");
      break;
    default:
      self->BeginShutdown("SIGTERM");
  }
}

void Supervisor::Reap() {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (redis_ && redis_->OnExit(pid, status)) continue;
    if (pool_ && pool_->OnExit(pid, status)) continue;
    if (listeners_) listeners_->OnExit(pid, status);
  }
  MaybeFinish();
}

Status Supervisor::Reload(const std::string& why, const std::string& site) {
  if (!shutting_down_) notifier_->Reloading();
  Status s = ReloadConfig(why, site);
  if (!s.ok())
    spdlog::error("{}: keeping the current config: {}", why, s.message());
  if (!shutting_down_) notifier_->Reloaded(s);
  return s;
}

Status Supervisor::ReloadConfig(const std::string& why,
                                const std::string& site) {
  if (shutting_down_) return Status::Error("shutting down");
  if (config_->file.empty()) {
    return Status::Error("running on built-in defaults, no file to re-read");
  }
  auto next = std::make_unique<Config>();
  Status s = Config::LoadFile(config_->file, next.get());
  if (s.ok()) s = cmdline_.Apply(next.get());
  if (!s.ok()) return s;
  if (!site.empty()) {
    // Only this site is re-read; everything else stays as it is.
    auto it = next->sites.find(site);
    if (it == next->sites.end()) {
      return Status::Error("site " + site + " is not in " + config_->file +
                           (cmdline_.sites.empty() ? "" : " or not --site"));
    }
    auto merged = std::make_unique<Config>(*config_);
    merged->sites[site] = it->second;
    next = std::move(merged);
  }
  auto handlers = std::make_unique<HandlerSet>();
  s = BuildHandlers(*next, plugins_, registry_, handlers.get());
  if (!s.ok()) return s;
  const DaemonConfig& was = config_->daemon;
  if (next->daemon.id != was.id || next->PidFile() != config_->PidFile() ||
      next->daemon.run_dir != was.run_dir || next->daemon.user != was.user ||
      next->daemon.group != was.group ||
      (next->redis.url == "embedded") != static_cast<bool>(redis_) ||
      (!redis_ && !next->redis.SameAs(config_->redis))) {
    spdlog::warn(
        "{}: daemon.id, pid file, run_dir, user, group and redis (url and "
        "credentials) change only on restart; keeping the current ones",
        why);
    next->daemon.id = was.id;
    next->daemon.pidfile = config_->PidFile();
    next->daemon.run_dir = was.run_dir;
    next->daemon.user = was.user;
    next->daemon.group = was.group;
    next->redis = config_->redis;
  }
  if (next->redis.url == "embedded") next->redis.url = WorkerRedisUrl();
  next->daemon.log.file = config_->daemon.log.file;  // decided at start
  (void)Log::Setup(next->daemon.log, "master", cmdline_.log_level);
  // Workers still running hold their own copies (fork): the old config and
  // handlers are not needed here any more.
  config_ = std::move(next);
  handlers_ = std::move(handlers);
  pool_->SetConfig(config_.get());
  listeners_->Apply(*config_, *handlers_);
  int n = cmdline_.Threads(*config_);
  monitor_->Apply(*config_, n);
  periodic_->Apply(*config_);
  control_->Apply(*config_);
  spdlog::info("{}: config {} reloaded{}: {} workers, rolling over", why,
               config_->file, site.empty() ? "" : " (site " + site + ")", n);
  pool_->Resize(n);
  pool_->RollOver();
  return Status::Ok();
}

void Supervisor::OnControl(const ControlCommand& cmd,
                           const ControlChannel::Respond& respond) {
  const std::string& c = cmd.cmd;
  if (c == "ps") return respond(true, "", monitor_->Ps(PausedSites()));
  if (shutting_down_) return respond(false, "shutting down", nullptr);
  if (!cmd.site.empty() && config_->sites.count(cmd.site) == 0 &&
      c != "reload") {
    return respond(false, "site " + cmd.site + " is not served here", nullptr);
  }
  if (c == "reload") {
    Status s = Reload(
        "control: reload" + (cmd.site.empty() ? "" : " site " + cmd.site),
        cmd.site);
    return respond(
        s.ok(),
        s.ok() ? "config " + config_->file + " reloaded" +
                     (cmd.site.empty() ? "" : " (site " + cmd.site + ")") +
                     ", rolling the workers over"
               : s.message(),
        nullptr);
  }
  if (c == "restart") {
    spdlog::info("control: restart: rolling {} workers over", pool_->live());
    pool_->RollOver();
    return respond(true,
                   "rolling " + std::to_string(pool_->live()) +
                       " workers over, one slot at a time",
                   nullptr);
  }
  if (c == "drain" || c == "resume") {
    bool pause = c == "drain";
    std::string site = cmd.site.empty() ? "*" : cmd.site;
    if (site == "*") paused_.clear();
    paused_[site] = pause;
    int missed =
        pool_->Broadcast({{"t", pause ? "pause" : "resume"}, {"site", site}});
    if (missed > 0) {
      return respond(false,
                     std::to_string(missed) +
                         " busy workers could not be told (their channel is "
                         "full); send it again",
                     nullptr);
    }
    return respond(true,
                   std::string(pause ? "stopped" : "restarted") + " fetching " +
                       (site == "*" ? "for every site" : "for site " + site),
                   nullptr);
  }
  if (c == "stop") {
    respond(true,
            "stopping: draining " + std::to_string(pool_->live()) + " workers",
            nullptr);
    return BeginShutdown("control: stop");
  }
  respond(false, "unknown command " + c, nullptr);
}

std::vector<std::string> Supervisor::PausedSites() const {
  // A per-site entry beats "*".
  std::vector<std::string> paused;
  auto all = paused_.find("*");
  for (const auto& [name, site] : config_->sites) {
    auto one = paused_.find(name);
    bool off = one != paused_.end() ? one->second
                                    : all != paused_.end() && all->second;
    if (off) paused.push_back(name);
  }
  return paused;
}

void Supervisor::BeginShutdown(const std::string& why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  auto timeout = config_->daemon.shutdown_timeout;
  spdlog::info("{}: draining {} workers (up to {})", why, pool_->live(),
               FormatDuration(timeout));
  pool_->DrainAll();
  listeners_->Shutdown();
  monitor_->Event("shutdown");
  notifier_->Stopping();
  shutdown_timer_ = evtimer_new(base_, &Supervisor::OnShutdownTimeout, this);
  timeval tv = ToTimeval(timeout);
  evtimer_add(shutdown_timer_, &tv);
  MaybeFinish();
}

void Supervisor::OnShutdownTimeout(int, short, void* arg) {
  auto* self = static_cast<Supervisor*>(arg);
  spdlog::error("{} workers still running after shutdown_timeout: KILL",
                self->pool_->live());
  self->exit_code_ = 1;
  self->pool_->KillAll();
  self->listeners_->KillAll();
}

void Supervisor::MaybeFinish() {
  if (shutting_down_ && pool_->live() == 0 && listeners_->finished()) {
    event_base_loopbreak(base_);
  }
}

}  // namespace qd
