#include "core/worker/worker.h"

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "core/os/process.h"
#include "core/plugin/handler_set.h"
#include "core/queue/queue_manager.h"
#include "core/util/exit_codes.h"
#include "core/worker/master_link.h"
#include "core/worker/memory_guard.h"
#include "core/worker/worker_stats.h"
#include "core/xmpp/xmpp_confirm_poller.h"
#include "core/xmpp/xmpp_manager.h"

namespace qd {

Worker::Worker(const Config& config, const HandlerSet& handlers, int slot,
               int incarnation, Channel channel, SlotBoard* board)
    : config_(config),
      handlers_(handlers),
      board_(board),
      slot_(slot),
      incarnation_(incarnation),
      channel_(std::move(channel)) {}

Worker::~Worker() {
  // Before the managers go (with io_): the handlers reach them through it.
  handlers_.host().Detach();
  if (signal_event_ != nullptr) event_free(signal_event_);
  if (signal_fd_ >= 0) close(signal_fd_);
}

int Worker::Run() {
  TestAlloc hook = ReadTestHook();
  if (hook.when == "start") AllocateForTest(hook.mib);

  MemoryUsage m = MemoryUsage::TrimAndReadSelf();
  if (m.rss > config_.daemon.soft_limit) {
    spdlog::error(
        "RSS {} is over the soft limit {} before taking any work: not "
        "starting (raise daemon.memory_limit or daemon.soft_limit)",
        FormatSize(m.rss), FormatSize(config_.daemon.soft_limit));
    return kExitShutdown;
  }

  HandleSignals();
  OpenTestDescriptors();
  AddFrameworkManagers();

  channel_.Send({{"t", "ready"}, {"rss", m.rss}});
  stats_->Event("listening");
  spdlog::debug("ready (RSS {})", FormatSize(m.rss));
  if (hook.when == "later" || hook.when == "block") {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    AllocateForTest(hook.mib);
    while (hook.when == "block") pause();
  }

  if (io_.Run() != 0) {
    spdlog::error("event loop failed");
    return kExitFatal;
  }
  spdlog::info("exiting ({})", exit_code_ == kExitRecycle ? "recycle" : "done");
  return exit_code_;
}

void Worker::HandleSignals() {
  // SIGTERM drains. SIGINT (a terminal's Ctrl-C reaches the whole process
  // group) is the master's to act on, so a worker with a master ignores it.
  bool has_master = channel_.valid();
  signal(SIGINT, has_master ? SIG_IGN : SIG_DFL);
  signal(SIGHUP, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  if (!has_master) sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  signal_event_ = event_new(io_.base(), signal_fd_, EV_READ | EV_PERSIST,
                            &Worker::OnSignal, this);
  event_add(signal_event_, nullptr);
}

void Worker::AddFrameworkManagers() {
  // Added last (managers are destroyed in order), so that callbacks run by
  // the queues' teardown still find it.
  auto stats = std::make_unique<WorkerStats>(config_, slot_, board_);
  stats_ = stats.get();
  stats_->Event("init");
  io_.Add(std::make_unique<MasterLink>(
      &channel_, board_, config_.daemon.heartbeat_timeout,
      MasterLink::Hooks{
          [this](const std::string& why) { BeginStop(kExitOk, why); },
          [this](const std::string& site, bool paused) {
            SetPaused(site, paused);
          }}));
  auto guard = std::make_unique<MemoryGuard>(
      config_.daemon.soft_limit,
      MemoryGuard::Hooks{
          [this] { return io_.draining(); },
          [this](const std::string& why) { BeginStop(kExitRecycle, why); },
          [this](const std::string& state, const MemoryUsage& memory) {
            Report(state, memory);
          }});
  memory_guard_ = guard.get();
  io_.Add(std::move(guard));
  QueueManager::Hooks hooks;
  hooks.job_started = [this](const Job& job, std::chrono::milliseconds t) {
    channel_.Send({{"t", "job"},
                   {"site", job.site()},
                   {"queue", job.queue()},
                   {"jid", job.jid()},
                   {"timeout_ms", t.count()}});
  };
  hooks.job_finished = [this] { channel_.Send({{"t", "job_done"}}); };
  hooks.after_chunk = [this] { memory_guard_->AfterWork(); };
  auto queues = std::make_unique<QueueManager>(
      config_, handlers_, ConsumerName(), std::move(hooks));
  queues->set_stats(stats_);
  QueueManager* q = queues.get();
  queues_ = q;
  for (const auto& [site, paused] : paused_) {
    if (site == "*") q->SetPaused(site, paused);
  }
  for (const auto& [site, paused] : paused_) {
    if (site != "*") q->SetPaused(site, paused);
  }
  stats_->set_inflight([q] { return q->Inflight(); });
  // A handler whose gate may have opened calls HandlerConfig::fetch_again.
  handlers_.host().AttachQueues([q] { q->GatesChanged(); });
  io_.Add(std::move(queues));
  AddXmppManagers();
  io_.Add(std::move(stats));
}

void Worker::AddXmppManagers() {
  if (config_.xmpp.empty()) return;
  auto xmpp = std::make_unique<XmppManager>(config_, slot_, slots_);
  xmpp->set_stats(stats_->sink());
  // The handlers' XmppSender (HandlerConfig::xmpp) is this worker's links.
  handlers_.host().AttachXmpp(xmpp.get());
  io_.Add(std::move(xmpp));
  for (const auto& [name, site] : config_.sites) {
    auto queue = site.queues.find("xmpp");
    if (queue == site.queues.end() || queue->second.handler != "xmpp") {
      continue;
    }
    YAML::Node named = queue->second.handler_options["account"];
    auto account = config_.xmpp.find(named ? named.Scalar() : "");
    if (account == config_.xmpp.end() ||
        account->second.confirm_interval.count() == 0 ||
        XmppManager::SlotOf(account->first, slots_) != slot_) {
      continue;
    }
    RedisUrl url;
    Status s = config_.RedisOf(site).Resolve(&url);
    if (!s.ok()) continue;  // the queues said why
    io_.Add(std::make_unique<XmppConfirmPoller>(
        site, url, "xmpp", account->second.confirm_interval,
        config_.daemon.heartbeat_timeout));
  }
}

void Worker::SetPaused(const std::string& site, bool paused) {
  if (queues_ == nullptr) {  // before Run(): applied when the queues start
    if (site == "*") paused_.clear();
    paused_[site] = paused;
    return;
  }
  spdlog::info("{} fetching {}", paused ? "pausing" : "resuming",
               site == "*" ? std::string("every site") : "site " + site);
  if (queues_ != nullptr) queues_->SetPaused(site, paused);
}

void Worker::AddManager(std::unique_ptr<IoManager> manager) {
  io_.Add(std::move(manager));
}

std::string Worker::ConsumerName() const {
  return Process::HostName() + ":" + config_.daemon.id + ":" +
         std::to_string(slot_);
}

void Worker::BeginStop(int code, const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = code;
  spdlog::info("stopping: {}", why);
  if (stats_ != nullptr) {
    stats_->Event(code == kExitRecycle ? "recycle" : "shutdown");
  }
  Report(code == kExitRecycle ? "recycle" : "draining",
         MemoryUsage::TrimAndReadSelf());
  io_.Drain([this] { io_.Stop(); });
}

void Worker::Report(const std::string& state, const MemoryUsage& memory) {
  channel_.Send({{"t", "status"}, {"state", state}, {"rss", memory.rss}});
}

void Worker::OnSignal(int fd, short, void* arg) {
  signalfd_siginfo info = {};
  while (read(fd, &info, sizeof(info)) == sizeof(info)) {
  }
  static_cast<Worker*>(arg)->BeginStop(kExitOk, strsignal(info.ssi_signo));
}

Worker::TestAlloc Worker::ReadTestHook() const {
  TestAlloc hook;
  const char* env = std::getenv("QD_TEST_ALLOC");
  if (env == nullptr || incarnation_ != 1) return hook;
  int slot = -1;
  unsigned long mib = 0;
  char when[16] = {0};
  if (std::sscanf(env, "%d:%lu:%15s", &slot, &mib, when) == 3 &&
      slot == slot_) {
    hook.mib = mib;
    hook.when = when;
  }
  return hook;
}

// QD_TEST_FDS=N: hold N descriptors open for the worker's life, so that
// every socket the managers open afterwards is numbered above N (1,200 is
// past select()'s FD_SETSIZE, which some client libraries crash on).
void Worker::OpenTestDescriptors() {
  const char* env = std::getenv("QD_TEST_FDS");
  if (env == nullptr) return;
  int n = std::atoi(env);
  int opened = 0;
  for (; opened < n; ++opened) {
    if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) break;
  }
  spdlog::warn("test hook: holding {} extra descriptors", opened);
}

void Worker::AllocateForTest(size_t mib) {
  static std::vector<std::unique_ptr<char[]>> kept;
  for (size_t i = 0; i < mib; ++i) {
    kept.emplace_back(new char[1 << 20]);
    std::memset(kept.back().get(), 1, 1 << 20);
  }
  spdlog::warn("test hook: allocated {} MiB", mib);
}

}  // namespace qd
