#include "core/listen/listener.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/os/fork_child.h"
#include "core/listen/frame_reader.h"
#include "core/listen/request_runner.h"
#include "core/listen/request_wire.h"
#include "core/listen/request_worker.h"
#include "core/listen/session_record.h"
#include "core/util/units.h"

namespace qd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBacklog = 1024;

}  // namespace

struct Listener::Conn {
  enum class Login { kNone, kNeeded, kRunning, kDone };

  Conn(Listener* l, uint64_t n, std::string conn_id, const ListenerConfig& c)
      : owner(l),
        serial(n),
        id(std::move(conn_id)),
        framer(c.terminator, c.max_frame) {}

  Listener* owner;
  uint64_t serial;
  std::string id;
  FrameReader framer;
  bufferevent* bev = nullptr;
  event* idle_timer = nullptr;
  std::deque<std::string> queued;  // requests not yet sent to a worker
  Proc* worker = nullptr;          // bound worker, busy or idle
  bool running = false;            // a request is in `worker`
  Login login = Login::kNone;
  std::string site, account;
  Duration keepalive{0};
  SessionState state;  // the session, handed to each worker
  bool dirty = false;  // changed since it was last saved to Redis
  bool saved = false;  // a record of it is in Redis
  bool closing = false;
  bool paused = false;
  bool waiting = false;  // at the fence
  Clock::time_point waiting_since;
};

// Owns its channel and its timer: erasing it from procs_ frees both.
struct Listener::Proc {
  Proc() = default;
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (chan != nullptr) bufferevent_free(chan);
    if (keepalive_timer != nullptr) event_free(keepalive_timer);
  }
  Listener* owner = nullptr;
  pid_t pid = 0;
  bufferevent* chan = nullptr;  // null once closed
  Conn* conn = nullptr;
  bool busy = false;
  bool reaped = false;
  event* keepalive_timer = nullptr;
  std::list<Proc*>::iterator idle_pos;
  bool in_idle = false;
};

Listener::Listener(event_base* base, ListenerConfig config,
                   RequestHandler* handler, std::string conn_prefix,
                   RedisUrl redis, SessionStore sessions)
    : base_(base),
      config_(std::move(config)),
      handler_(handler),
      conn_prefix_(std::move(conn_prefix)),
      redis_(std::move(redis)),
      sessions_(std::move(sessions)) {
  fence_timer_ = evtimer_new(base_, &Listener::OnFenceTimer, this);
  save_timer_ = evtimer_new(base_, &Listener::OnSaveTimer, this);
  timeval tv = ToTimeval(config_.idle_timeout);
  if (config_.idle_timeout.count() > 0) {
    idle_tv_ = event_base_init_common_timeout(base_, &tv);
  }
}

Listener::~Listener() {
  if (listener_ != nullptr) evconnlistener_free(listener_);
  while (!conns_.empty()) Close(conns_.begin()->second.get());
  procs_.clear();
  event_free(fence_timer_);
  event_free(save_timer_);
}

namespace {

// A socket bound to `addr` and listening, or -1 with errno set.
int ListenOn(int family, const sockaddr* addr, socklen_t len) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (family != AF_UNIX) {
    // What evconnlistener_new_bind set: accepted sockets inherit keepalive.
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (bind(fd, addr, len) != 0 || listen(fd, kBacklog) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Why a bind failed, with what to do about a privileged port once the
// daemon has dropped root (a reload cannot bind it any more).
std::string BindError(int error) {
  std::string why = std::strerror(error);
  if (error == EACCES && geteuid() != 0) {
    why +=
        " (the daemon runs as uid " + std::to_string(geteuid()) +
        ": a port below 1024 is bound only at start-up, as root; restart it)";
  }
  return why;
}

}  // namespace

Status Listener::Bind(const ListenerConfig& config, int* fd) {
  std::string where = "listener " + config.name + " on " + config.listen;
  if (config.listen.rfind("unix:", 0) == 0) {
    std::string path = config.listen.substr(5);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
      return Status::Error(where + ": path too long");
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      unlink(path.c_str());  // left by an earlier run
    }
    *fd = ListenOn(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    // Numeric addresses and names ("localhost:6001") alike.
    size_t colon = config.listen.rfind(':');
    std::string host = config.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    std::string port = config.listen.substr(colon + 1);
    evutil_addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    evutil_addrinfo* found = nullptr;
    int err = evutil_getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (err != 0) {
      return Status::Error(where + ": " + evutil_gai_strerror(err));
    }
    *fd = ListenOn(found->ai_family, found->ai_addr,
                   static_cast<socklen_t>(found->ai_addrlen));
    int saved = errno;
    evutil_freeaddrinfo(found);
    errno = saved;
  }
  if (*fd < 0) return Status::Error(where + ": " + BindError(errno));
  return Status::Ok();
}

Status Listener::Open(int fd) {
  if (fd < 0) {
    Status s = Bind(config_, &fd);
    if (!s.ok()) return s;
  }
  unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
  // Already listening (backlog 0: evconnlistener leaves it as it is).
  listener_ =
      evconnlistener_new(base_, &Listener::OnAccept, this, flags, 0, fd);
  if (listener_ == nullptr) {
    int saved = errno;
    close(fd);
    return Status::Error("listener " + config_.name + " on " + config_.listen +
                         ": " + std::strerror(saved));
  }
  evconnlistener_set_error_cb(listener_, &Listener::OnAcceptError);
  spdlog::info("listener {}: {} on {}, handler {}", config_.name,
               config_.personality, config_.listen, config_.handler);
  return Status::Ok();
}

void Listener::Update(ListenerConfig config, RequestHandler* handler) {
  config_ = std::move(config);
  handler_ = handler;
  if (config_.idle_timeout.count() > 0) {
    timeval tv = ToTimeval(config_.idle_timeout);
    idle_tv_ = event_base_init_common_timeout(base_, &tv);
  } else {
    idle_tv_ = nullptr;
  }
}

void Listener::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (listener_ != nullptr) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
    if (config_.listen.rfind("unix:", 0) == 0) {
      unlink(config_.listen.substr(5).c_str());
    }
  }
  std::vector<Conn*> conns;
  for (auto& [serial, c] : conns_) conns.push_back(c.get());
  for (Conn* c : conns) {
    PauseRead(c);
    if (!c->running && c->queued.empty()) CloseAfterFlush(c);
  }
  while (!idle_.empty()) Release(idle_.front());
  for (auto& [pid, p] : procs_) {
    // A fork-personality worker owns its client: it finishes the request in
    // progress and exits.
    if (p->chan == nullptr && !p->reaped) kill(pid, SIGTERM);
  }
  CheckFinished();
}

void Listener::KillAll() {
  for (auto& [pid, p] : procs_) {
    if (!p->reaped) kill(pid, SIGKILL);
  }
}

bool Listener::finished() const {
  return shutting_down_ && conns_.empty() && alive_ == 0;
}

ListenerStats Listener::stats() const {
  ListenerStats s = stats_;
  s.name = config_.name;
  s.connections = static_cast<int>(conns_.size());
  s.workers = alive_;
  s.busy = 0;
  for (const auto& [pid, p] : procs_) s.busy += p->busy ? 1 : 0;
  s.idle = static_cast<int>(idle_.size());
  s.waiting = 0;
  for (const auto& [serial, c] : conns_) s.waiting += c->waiting ? 1 : 0;
  return s;
}

// --- accepting ---

void Listener::OnAccept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  static_cast<Listener*>(arg)->Accept(fd);
}

void Listener::OnAcceptError(evconnlistener*, void* arg) {
  auto* self = static_cast<Listener*>(arg);
  int err = EVUTIL_SOCKET_ERROR();
  spdlog::error("listener {}: accept: {}", self->config_.name,
                evutil_socket_error_to_string(err));
}

void Listener::Accept(int fd) {
  bool fork_mode = config_.personality == "fork";
  int held = fork_mode ? alive_ : static_cast<int>(conns_.size());
  if (shutting_down_ || held >= config_.max_connections) {
    ++stats_.refused;
    std::string refusal = handler_->RefusedReply() + config_.ReplyTerminator();
    (void)!send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
    evutil_closesocket(fd);
    spdlog::warn(
        "listener {}: refused a connection: max_connections {} "
        "reached",
        config_.name, config_.max_connections);
    return;
  }
  ++stats_.accepted;
  int one = 1;  // small replies go out at once (no Nagle delay); fails
                // harmlessly on a unix socket
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (fork_mode) return ForkForClient(fd);

  uint64_t serial = next_serial_++;
  auto conn = std::make_unique<Conn>(
      this, serial, conn_prefix_ + std::to_string(serial), config_);
  Conn* c = conn.get();
  c->bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (c->bev == nullptr) {
    evutil_closesocket(fd);
    return;
  }
  c->login =
      config_.login == "required" ? Conn::Login::kNeeded : Conn::Login::kNone;
  c->site = config_.site;
  c->keepalive = config_.KeepaliveFor(c->site, "");
  c->idle_timer = evtimer_new(base_, &Listener::OnConnIdle, c);
  bufferevent_setcb(c->bev, &Listener::OnConnRead, nullptr,
                    &Listener::OnConnEvent, c);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  conns_.emplace(serial, std::move(conn));
  ArmIdle(c);
}

void Listener::ForkForClient(int fd) {
  uint64_t serial = next_serial_++;
  std::string id = conn_prefix_ + std::to_string(serial);
  pid_t pid =
      ForkChild({fd}, "qd-req-" + config_.name, config_.name + " " + id);
  if (pid == 0) {
    RequestRunner runner(config_, *handler_, id);
    _exit(ServeClient(runner, config_, *handler_, fd,
                      SessionRecord::Key(config_.prefix, id), redis_));
  }
  evutil_closesocket(fd);
  if (pid < 0) {
    spdlog::error("listener {}: cannot fork: {}", config_.name,
                  std::strerror(errno));
    return;
  }
  ++stats_.forks;
  auto p = std::make_unique<Proc>();
  p->owner = this;
  p->pid = pid;
  procs_.emplace(pid, std::move(p));
  ++alive_;
}

// --- client input ---

void Listener::OnConnRead(bufferevent*, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  Listener* self = c->owner;
  self->TakeFrames(c);
  self->Dispatch(c);
}

void Listener::TakeFrames(Conn* c) {
  evbuffer* in = bufferevent_get_input(c->bev);
  std::string frame;
  while (!c->closing && c->queued.size() < kMaxQueued) {
    FrameReader::Result r = c->framer.Next(in, &frame);
    if (r == FrameReader::Result::kNeedMore) break;
    if (r == FrameReader::Result::kTooLong) {
      ++stats_.too_long;
      spdlog::warn(
          "listener {}: connection {}: request over max_frame {}: "
          "closing",
          config_.name, c->id, FormatSize(config_.max_frame));
      c->queued.clear();
      Reply(c, handler_->TooLongReply());
      CloseAfterFlush(c);
      return;
    }
    ++stats_.requests;
    c->queued.push_back(std::move(frame));
    ArmIdle(c);
  }
  if (c->queued.size() >= kMaxQueued) PauseRead(c);
}

void Listener::OnConnEvent(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if (what & BEV_EVENT_ERROR) {
    spdlog::debug("listener {}: connection {}: {}", c->owner->config_.name,
                  c->id, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  }
  c->owner->Close(c);  // EOF or error: the client is gone
}

void Listener::OnConnWrite(bufferevent*, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  c->owner->Close(c);  // only set once closing: the output is flushed
}

void Listener::OnConnIdle(int, short, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  Listener* self = c->owner;
  if (c->running || !c->queued.empty() || c->waiting) {
    self->ArmIdle(c);
    return;
  }
  ++self->stats_.idle_closed;
  spdlog::info("listener {}: connection {} idle for {}: closing",
               self->config_.name, c->id,
               FormatDuration(self->config_.idle_timeout));
  self->Close(c);
}

void Listener::ArmIdle(Conn* c) {
  if (idle_tv_ != nullptr) evtimer_add(c->idle_timer, idle_tv_);
}

void Listener::PauseRead(Conn* c) {
  if (c->paused) return;
  c->paused = true;
  bufferevent_disable(c->bev, EV_READ);
}

void Listener::ResumeRead(Conn* c) {
  if (!c->paused || c->closing || c->waiting || shutting_down_ ||
      c->queued.size() >= kMaxQueued) {
    return;
  }
  c->paused = false;
  bufferevent_enable(c->bev, EV_READ);
  TakeFrames(c);  // what arrived while paused
}

// --- running requests ---

void Listener::Dispatch(Conn* c) {
  if (c->closing || c->running || c->queued.empty() ||
      c->login == Conn::Login::kRunning) {
    return;
  }
  if (c->worker == nullptr && !StartWorker(c)) return;
  SendNext(c);
}

bool Listener::StartWorker(Conn* c) {
  if (c->waiting) return false;  // its turn comes from AdmitWaiting
  // Those already waiting go first (AdmitWaiting lets them through).
  if (alive_ >= config_.max_concurrent || (!fence_.empty() && !admitting_)) {
    Wait(c);
    return false;
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    spdlog::error("listener {}: socketpair: {}", config_.name,
                  std::strerror(errno));
    Wait(c);
    return false;
  }
  pid_t pid =
      ForkChild({fds[1]}, "qd-req-" + config_.name, config_.name + " " + c->id);
  if (pid == 0) {
    RequestRunner runner(config_, *handler_, c->id);
    _exit(ServeChannel(runner, config_, fds[1]));
  }
  close(fds[1]);
  if (pid < 0) {
    spdlog::error("listener {}: cannot fork: {}", config_.name,
                  std::strerror(errno));
    close(fds[0]);
    Wait(c);
    return false;
  }
  ++stats_.forks;
  auto proc = std::make_unique<Proc>();
  Proc* p = proc.get();
  p->owner = this;
  p->pid = pid;
  p->conn = c;
  evutil_make_socket_nonblocking(fds[0]);
  p->chan = bufferevent_socket_new(base_, fds[0], BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(p->chan, &Listener::OnProcRead, nullptr,
                    &Listener::OnProcEvent, p);
  bufferevent_enable(p->chan, EV_READ | EV_WRITE);
  p->keepalive_timer = evtimer_new(base_, &Listener::OnKeepaliveEnd, p);
  procs_.emplace(pid, std::move(proc));
  ++alive_;
  c->worker = p;
  return true;
}

void Listener::SendNext(Conn* c) {
  Proc* p = c->worker;
  if (p->in_idle) {
    idle_.erase(p->idle_pos);
    p->in_idle = false;
    evtimer_del(p->keepalive_timer);
  }
  bool login = c->login == Conn::Login::kNeeded;
  if (login) c->login = Conn::Login::kRunning;
  nlohmann::json header = {{"t", "request"},
                           {"kind", login ? "login" : "request"},
                           {"conn", c->id},
                           {"site", c->site},
                           {"account", c->account}};
  if (!c->state.empty()) header["state"] = c->state;
  RequestWire::Encode(header, c->queued.front(),
                      bufferevent_get_output(p->chan));
  c->queued.pop_front();
  c->running = true;
  p->busy = true;
  ResumeRead(c);
}

void Listener::OnProcRead(bufferevent* bev, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  Listener* self = p->owner;
  WireMessage message;
  std::string error;
  while (p->chan != nullptr) {
    RequestWire::Result r =
        RequestWire::Decode(bufferevent_get_input(bev), &message, &error);
    if (r == RequestWire::Result::kNeedMore) return;
    if (r == RequestWire::Result::kError) {
      spdlog::error("listener {}: worker {}: {}", self->config_.name, p->pid,
                    error);
      kill(p->pid, SIGKILL);
      self->ProcGone(p);
      return;
    }
    self->OnReply(p, message);
  }
}

void Listener::OnReply(Proc* p, WireMessage& message) {
  Conn* c = p->conn;
  if (!p->busy) {
    spdlog::error("listener {}: worker {} replied to nothing", config_.name,
                  p->pid);
    return;
  }
  p->busy = false;
  if (c == nullptr) {  // the client left during the request
    Release(p);
    return;
  }
  c->running = false;
  if (message.State(&c->state)) MarkDirty(c);
  Reply(c, message.body);
  if (c->login == Conn::Login::kRunning) {
    WireLogin login;
    if (!message.Login(&login) || !login.ok) {
      spdlog::info("listener {}: connection {}: login refused", config_.name,
                   c->id);
      c->queued.clear();
      CloseAfterFlush(c);
      return;
    }
    c->login = Conn::Login::kDone;
    c->site = std::move(login.site);
    c->account = std::move(login.account);
    c->keepalive = config_.KeepaliveFor(c->site, c->account);
    spdlog::debug("listener {}: connection {}: {} logged in for site {}",
                  config_.name, c->id, c->account, c->site);
  }
  if (shutting_down_ && c->queued.empty()) {
    CloseAfterFlush(c);
    return;
  }
  if (c->keepalive.count() == 0) {
    Release(p);  // one request per worker, even for pipelined requests
  } else if (c->queued.empty()) {
    if (HasWaiting() && alive_ >= config_.max_concurrent) {
      ++stats_.reclaimed;  // others wait for the fence: make room now
      Release(p);
    } else {
      MakeIdle(p);
    }
  }
  ArmIdle(c);
  ResumeRead(c);
  Dispatch(c);
}

void Listener::MakeIdle(Proc* p) {
  idle_.push_back(p);
  p->idle_pos = std::prev(idle_.end());
  p->in_idle = true;
  timeval tv = ToTimeval(p->conn->keepalive);
  evtimer_add(p->keepalive_timer, &tv);
}

void Listener::OnKeepaliveEnd(int, short, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  p->owner->Release(p);
}

void Listener::Release(Proc* p) {
  if (p->in_idle) {
    idle_.erase(p->idle_pos);
    p->in_idle = false;
  }
  if (p->keepalive_timer != nullptr) evtimer_del(p->keepalive_timer);
  if (p->conn != nullptr) {
    p->conn->worker = nullptr;
    p->conn = nullptr;
  }
  if (p->chan != nullptr) {
    bufferevent_free(p->chan);  // EOF: the worker exits
    p->chan = nullptr;
  }
  if (p->reaped) procs_.erase(p->pid);
}

void Listener::OnProcEvent(bufferevent*, short, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  p->owner->ProcGone(p);
}

// The worker's channel broke: it died (or misbehaved and was killed).
void Listener::ProcGone(Proc* p) {
  Conn* c = p->conn;
  bool was_busy = p->busy;
  p->busy = false;
  if (c != nullptr && was_busy) {
    ++stats_.error_replies;
    c->running = false;
    spdlog::warn(
        "listener {}: connection {}: worker {} died during a "
        "request",
        config_.name, c->id, p->pid);
    Reply(c, handler_->ErrorReply());
    if (c->login == Conn::Login::kRunning) {
      c->queued.clear();
      CloseAfterFlush(c);
    }
  }
  Release(p);  // may delete p
  if (c != nullptr && !c->closing) Dispatch(c);
}

bool Listener::OnExit(pid_t pid, int wait_status) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return false;
  Proc* p = it->second.get();
  if (WIFSIGNALED(wait_status)) {
    spdlog::warn("listener {}: worker {} killed by signal {}", config_.name,
                 pid, WTERMSIG(wait_status));
  }
  p->reaped = true;
  --alive_;
  if (p->chan == nullptr) procs_.erase(it);
  AdmitWaiting();
  CheckFinished();
  return true;
}

// --- the fence ---

void Listener::Wait(Conn* c) {
  if (!c->waiting) {
    c->waiting = true;
    c->waiting_since = Clock::now();
    fence_.push_back(c->serial);
    PauseRead(c);
    if (!evtimer_pending(fence_timer_, nullptr)) {
      timeval tv = ToTimeval(config_.fence_timeout);
      evtimer_add(fence_timer_, &tv);
    }
  }
  // Make room: an idle worker of some connection gives way.
  if (alive_ >= config_.max_concurrent && !idle_.empty()) {
    ++stats_.reclaimed;
    Release(idle_.front());
  }
}

void Listener::AdmitWaiting() {
  // Bounded: a connection whose fork fails goes back to the end.
  for (size_t n = fence_.size();
       n > 0 && !fence_.empty() && alive_ < config_.max_concurrent; --n) {
    auto it = conns_.find(fence_.front());
    fence_.pop_front();
    if (it == conns_.end() || !it->second->waiting) continue;
    Conn* c = it->second.get();
    c->waiting = false;
    admitting_ = true;
    Dispatch(c);
    admitting_ = false;
    ResumeRead(c);
  }
}

bool Listener::HasWaiting() const {
  for (uint64_t serial : fence_) {
    auto it = conns_.find(serial);
    if (it != conns_.end() && it->second->waiting) return true;
  }
  return false;
}

void Listener::OnFenceTimer(int, short, void* arg) {
  static_cast<Listener*>(arg)->FenceTimeouts();
}

void Listener::FenceTimeouts() {
  Clock::time_point now = Clock::now();
  std::deque<uint64_t> again;
  while (!fence_.empty()) {
    auto it = conns_.find(fence_.front());
    if (it == conns_.end() || !it->second->waiting) {
      fence_.pop_front();
      continue;
    }
    Conn* c = it->second.get();
    Duration waited =
        std::chrono::duration_cast<Duration>(now - c->waiting_since);
    if (waited < config_.fence_timeout) {
      timeval tv = ToTimeval(config_.fence_timeout - waited);
      evtimer_add(fence_timer_, &tv);
      break;
    }
    fence_.pop_front();
    c->waiting = false;
    ++stats_.busy_replies;
    spdlog::warn("listener {}: connection {}: no worker within {}: busy",
                 config_.name, c->id, FormatDuration(config_.fence_timeout));
    if (!c->queued.empty()) c->queued.pop_front();
    Reply(c, handler_->BusyReply());
    if (!c->queued.empty()) again.push_back(c->serial);
  }
  for (uint64_t serial : again) {
    auto it = conns_.find(serial);
    if (it != conns_.end()) Wait(it->second.get());
  }
}

// --- replies and closing ---

void Listener::Reply(Conn* c, const std::string& body) {
  evbuffer* out = bufferevent_get_output(c->bev);
  evbuffer_add(out, body.data(), body.size());
  const std::string& term = config_.ReplyTerminator();
  evbuffer_add(out, term.data(), term.size());
}

void Listener::CloseAfterFlush(Conn* c) {
  c->closing = true;
  PauseRead(c);
  if (c->worker != nullptr && !c->running) Release(c->worker);
  if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
    Close(c);
    return;
  }
  bufferevent_setcb(c->bev, nullptr, &Listener::OnConnWrite,
                    &Listener::OnConnEvent, c);
}

void Listener::Close(Conn* c) {
  if (Proc* p = c->worker) {
    if (p->busy) {
      p->conn = nullptr;  // its reply is dropped, then it is let go
    } else {
      Release(p);
    }
  }
  // Saves go out on the store's connection in order: the DEL comes after.
  if (c->saved && sessions_.forget) {
    sessions_.forget(SessionRecord::Key(config_.prefix, c->id));
  }
  bufferevent_free(c->bev);
  event_free(c->idle_timer);
  conns_.erase(c->serial);  // deletes c
  AdmitWaiting();
  CheckFinished();
}

// --- sessions ----------------------------------------------------------------

// A connection's session lives here, handed to each of its workers with the
// request; the Redis copy (for whoever looks, with session_ttl) is written
// behind the replies, at most every kSaveDelay per connection.
void Listener::MarkDirty(Conn* c) {
  if (!c->dirty) {
    c->dirty = true;
    dirty_.push_back(c->serial);
  }
  if (!evtimer_pending(save_timer_, nullptr)) {
    timeval tv = ToTimeval(kSaveDelay);
    evtimer_add(save_timer_, &tv);
  }
}

void Listener::OnSaveTimer(int, short, void* arg) {
  static_cast<Listener*>(arg)->SaveSessions();
}

void Listener::SaveSessions() {
  std::vector<uint64_t> dirty;
  dirty.swap(dirty_);
  for (uint64_t serial : dirty) {
    auto it = conns_.find(serial);
    if (it == conns_.end() || !it->second->dirty) continue;
    Conn* c = it->second.get();
    c->dirty = false;
    if (!sessions_.save) continue;
    SessionRecord record;
    record.listener = config_.name;
    record.ok = !c->account.empty();
    record.site = c->site;
    record.account = c->account;
    record.state = c->state;
    record.updated_ms = EpochMs();
    sessions_.save(SessionRecord::Key(config_.prefix, c->id), record.Encode(),
                   config_.session_ttl);
    c->saved = true;
  }
}

void Listener::CheckFinished() {
  if (finished() && on_finished_) on_finished_();
}

}  // namespace qd
