#include "core/listen/listener.h"

#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "core/listen/login_throttle.h"
#include "core/listen/request_wire.h"
#include "core/listen/request_worker.h"
#include "core/listen/wire_header.h"
#include "core/util/units.h"

namespace qd {

using State = ClientConn::State;

Listener::Listener(event_base* base, ListenerConfig config,
                   RequestHandler* handler, std::string conn_prefix,
                   RedisUrl redis, SessionStore sessions, ExitBook* exits)
    : base_(base),
      config_(std::move(config)),
      handler_(handler),
      conn_prefix_(std::move(conn_prefix)),
      redis_(std::move(redis)),
      socket_(base, [this](int fd, const sockaddr* peer,
                           int peer_len) { Accept(fd, peer, peer_len); }),
      sessions_(base, config_, std::move(sessions)),
      fence_(base, config_, &stats_, this),
      exits_(exits),
      forker_(base, this),
      gate_(config_, &stats_) {
  timeval tv = ToTimeval(config_.idle_timeout);
  if (config_.idle_timeout.count() > 0) {
    idle_tv_ = event_base_init_common_timeout(base_, &tv);
  }
}

Listener::~Listener() {
  forker_.Stop();
  while (!conns_.empty()) Close(conns_.begin()->second.get());
}

Status Listener::Bind(const ListenerConfig& config, int* fd) {
  return ListenSocket::Bind(config, fd);
}

Status Listener::Open(int fd) {
  Status s = socket_.Open(config_, fd);
  if (!s.ok()) return s;
  if (multiplex()) forker_.Start(config_, *handler_);
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
  // The fork server holds the config and handler it was forked with.
  if (multiplex() && !shutting_down_) forker_.Start(config_, *handler_);
}

void Listener::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  socket_.Close();
  std::vector<ClientConn*> conns;
  for (auto& [serial, c] : conns_) conns.push_back(c.get());
  for (ClientConn* c : conns) {
    c->PauseRead();
    if (!c->running() && c->queued().empty()) CloseAfterFlush(c);
  }
  fence_.ReleaseIdle();
  // A fork-personality worker owns its client: it finishes the request in
  // progress and exits.
  fence_.Terminate(SIGTERM);
  CheckFinished();
}

void Listener::KillAll() {
  fence_.SignalAll(SIGKILL);
  forker_.SignalAll(SIGKILL);
}

bool Listener::OnExit(pid_t pid, int wait_status) {
  if (forker_.OnExit(pid, wait_status)) return true;  // CheckFinished ran
  if (!fence_.Reaped(pid, wait_status)) return false;
  fence_.AdmitWaiting();
  CheckFinished();
  return true;
}

bool Listener::finished() const {
  return shutting_down_ && conns_.empty() && fence_.alive() == 0 &&
         forker_.finished();
}

ListenerStats Listener::stats() const {
  ListenerStats s = stats_;
  s.name = config_.name;
  s.connections = static_cast<int>(conns_.size());
  s.workers = fence_.alive();
  s.busy = fence_.busy();
  s.idle = fence_.idle();
  s.waiting = fence_.waiting();
  s.accept_shortages = socket_.shortages();
  return s;
}

bool Listener::multiplex() const { return config_.personality != "fork"; }

void Listener::CheckFinished() {
  // Nothing left to fork for: the fork server goes (and finished() waits
  // for it to be reaped).
  if (shutting_down_ && conns_.empty() && fence_.alive() == 0) forker_.Stop();
  if (finished() && on_finished_) on_finished_();
}

// --- accepting ---

void Listener::Accept(int fd, const sockaddr* peer_addr, int peer_len) {
  bool fork_mode = config_.personality == "fork";
  int held = fork_mode ? fence_.alive() : static_cast<int>(conns_.size());
  if (shutting_down_ || held >= config_.max_connections) {
    gate_.RefuseFull(fd, *handler_);
    return;
  }
  std::string peer =
      LoginThrottle::PeerKey(peer_addr, static_cast<socklen_t>(peer_len));
  std::optional<Duration> wait = gate_.LoginTurn(fd, peer, *handler_);
  if (!wait) return;  // refused
  ++stats_.accepted;
  int one = 1;  // small replies go out at once (no Nagle delay); fails
                // harmlessly on a unix socket
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (fork_mode) return ForkForClient(fd);

  uint64_t serial = next_serial_++;
  std::unique_ptr<ClientConn> conn = ClientConn::Accept(
      base_, fd, serial, conn_prefix_ + std::to_string(serial), std::move(peer),
      config_, this);
  if (conn == nullptr) return;
  ClientConn* c = conn.get();
  conns_.emplace(serial, std::move(conn));
  c->ArmIdle(idle_tv_);
  if (c->state() != State::kLogin) return;
  c->ArmLoginTimeout(config_.login_timeout);
  if (wait->count() > 0) {
    ++stats_.login_delayed;
    c->Hold(*wait);
  }
}

void Listener::ForkForClient(int fd) {
  std::string id = conn_prefix_ + std::to_string(next_serial_++);
  pid_t pid = ForkClientWorker(config_, *handler_, id, fd, redis_);
  evutil_closesocket(fd);
  if (pid > 0) fence_.Add(std::make_unique<WorkerProc>(pid));
}

// --- a connection's events ---

void Listener::OnConnEvent(ClientConn* c, ClientConn::Event event) {
  switch (event) {
    case ClientConn::Event::kInput:
      TakeFrames(c);
      Dispatch(c);
      return;
    case ClientConn::Event::kError:
      spdlog::debug("listener {}: connection {}: {}", config_.name, c->id(),
                    std::strerror(c->socket_error()));
      Close(c);  // the client is gone
      return;
    case ClientConn::Event::kEof:
      OnEof(c);
      return;
    case ClientConn::Event::kFlushed:  // closing, and all is written
      Close(c);
      return;
    case ClientConn::Event::kIdle:
      OnIdle(c);
      return;
    case ClientConn::Event::kDrained:  // the client reads again
      ResumeRead(c);
      Dispatch(c);
      CloseIfAnswered(c);
      return;
    case ClientConn::Event::kOutputTimeout:
      gate_.OutputTimedOut(*c);
      Close(c);
      return;
    case ClientConn::Event::kLoginTimeout:
      gate_.LoginTimedOut(*c);
      Close(c);
      return;
    case ClientConn::Event::kTurn:  // its address's login turn
      c->set_state(State::kLogin);
      ResumeRead(c);
      Dispatch(c);
      return;
  }
}

// The client sent all it will: a half-close (`nc -N`, shutdown(SHUT_WR))
// or a full one. What it sent is answered, then it is closed; a client that
// is really gone makes a write fail (kError) and is closed then.
void Listener::OnEof(ClientConn* c) {
  if (c->state() == State::kClosing) return;  // kFlushed comes
  TakeFrames(c);
  Dispatch(c);
  CloseIfAnswered(c);
}

// After EOF: closes (after the flush) once every request it sent is
// answered. Frees `c` or not: the caller must not touch it after this.
void Listener::CloseIfAnswered(ClientConn* c) {
  if (!c->input_ended() || c->state() == State::kClosing || c->running() ||
      c->waiting() || !c->queued().empty()) {
    return;
  }
  CloseAfterFlush(c);  // a partial frame left in the input is dropped
}

void Listener::OnIdle(ClientConn* c) {
  if (c->running() || !c->queued().empty() || c->waiting() ||
      c->state() == State::kLoginDelayed) {
    c->ArmIdle(idle_tv_);
    return;
  }
  ++stats_.idle_closed;
  spdlog::info("listener {}: connection {} idle for {}: closing", config_.name,
               c->id(), FormatDuration(config_.idle_timeout));
  Close(c);
}

void Listener::TakeFrames(ClientConn* c) {
  bool too_long = false;
  size_t taken = c->TakeFrames(&too_long);
  stats_.requests += taken;
  if (taken > 0) c->ArmIdle(idle_tv_);
  if (!too_long) return;
  gate_.TooLong(*c);
  c->DropQueued();
  Reply(c, handler_->TooLongReply());
  CloseAfterFlush(c);
}

void Listener::ResumeRead(ClientConn* c) {
  if (shutting_down_) return;
  // What arrived while paused, or after EOF what is still buffered.
  if (c->ResumeRead() || c->input_ended()) TakeFrames(c);
}

// --- running requests ---

void Listener::Dispatch(ClientConn* c) {
  if ((c->state() != State::kLogin && c->state() != State::kReady) ||
      c->queued().empty() || c->output_full()) {
    return;
  }
  if (c->worker() == nullptr && !StartWorker(c)) return;
  SendNext(c);
}

// Asks the fork server for a worker and binds it at once: the request goes
// into its channel before the worker (or its pid) exists.
bool Listener::StartWorker(ClientConn* c) {
  int fds[2];  // the master's end, the worker's
  bool may = fence_.MayFork() && OpenChannel(config_, fds);
  if (!may) {  // the fence is full or closed, or no descriptor: wait
    Wait(c);
    return false;
  }
  // make_unique cannot see that a Listener is a WorkerProc::Owner.
  WorkerProc::Owner* owner = this;
  auto proc = std::make_unique<WorkerProc>(base_, -1, fds[0], c, owner);
  if (!forker_.Fork(c->id(), fds[1], proc.get())) {
    Wait(c);  // its socket is full: it is behind; answers admit waiters
    return false;
  }
  c->set_worker(fence_.Add(std::move(proc)));
  return true;
}

void Listener::SendNext(ClientConn* c) {
  WorkerProc* p = c->worker();
  fence_.Unidle(p);
  bool login = c->state() == State::kLogin;
  c->set_state(login ? State::kLoggingIn : State::kRunning);
  p->Send(WireHeader::Request(login, c->wire_identity(), c->session()),
          c->PopQueued());
  ResumeRead(c);
}

void Listener::OnWorkerReply(WorkerProc* p, WireMessage& message) {
  if (!p->busy()) {
    spdlog::error("listener {}: worker {} replied to nothing", config_.name,
                  p->pid());
    return;
  }
  p->Replied();
  ClientConn* c = p->conn();
  if (c == nullptr) {  // the client left during the request
    fence_.Release(p);
    return;
  }
  bool login = c->state() == State::kLoggingIn;
  if (c->state() != State::kClosing) c->set_state(State::kReady);
  if (message.State(c->mutable_session())) sessions_.Changed(c);
  Reply(c, message.body);
  if (c->output_size() > config_.max_output_hard) {
    gate_.OutputOverHard(*c);
    Close(c);
    return;
  }
  if (login && !EndLogin(c, message)) return;
  if (shutting_down_ && c->queued().empty()) {
    CloseAfterFlush(c);
    return;
  }
  KeepOrRelease(p, c);
  c->ArmIdle(idle_tv_);
  ResumeRead(c);
  Dispatch(c);
  CloseIfAnswered(c);
}

// A login's reply: true when it let the client in; a refused one closes
// the connection.
bool Listener::EndLogin(ClientConn* c, const WireMessage& message) {
  WireLogin login;
  if (!message.Login(&login) || !login.ok) {
    gate_.LoginFailed(*c);
    c->DropQueued();
    CloseAfterFlush(c);
    return false;
  }
  c->LoggedIn();
  Duration keepalive = config_.KeepaliveFor(login.site, login.account);
  c->SetLogin(std::move(login.site), std::move(login.account), keepalive);
  spdlog::debug("listener {}: connection {}: {} logged in for site {}",
                config_.name, c->id(), c->account(), c->site());
  return true;
}

// After a reply: the worker stays bound for the connection's next request,
// waits idle for it (keepalive), or goes.
void Listener::KeepOrRelease(WorkerProc* p, ClientConn* c) {
  if (c->keepalive().count() == 0) {
    fence_.Release(p);  // one request per worker, even for pipelined ones
  } else if (c->queued().empty() || c->output_full()) {
    // Idle, so that the fence may reclaim it from a client that does not
    // read its replies.
    if (fence_.has_waiting() && fence_.full()) {
      ++stats_.reclaimed;  // others wait for the fence: make room now
      fence_.Release(p);
    } else {
      fence_.MakeIdle(p, c->keepalive());
    }
  }
}

// The worker's channel broke: it died (or misbehaved and is killed).
void Listener::OnWorkerGone(WorkerProc* p, const std::string& error) {
  if (!error.empty()) {
    spdlog::error("listener {}: worker {}: {}", config_.name, p->pid(), error);
    // A reaped pid may be reused; an unknown one is -1.
    if (!p->reaped() && p->pid() > 0) kill(p->pid(), SIGKILL);
  }
  ClientConn* c = p->conn();
  bool close = false;
  if (c != nullptr && p->busy()) {
    ++stats_.error_replies;
    close = c->state() == State::kLoggingIn;
    if (c->state() != State::kClosing) c->set_state(State::kReady);
    spdlog::warn(
        "listener {}: connection {}: worker {} died during a "
        "request",
        config_.name, c->id(), p->pid());
    Reply(c, handler_->ErrorReply());
  }
  fence_.Release(p);  // p stays valid until the loop turn ends
  if (c == nullptr) return;
  if (close) {  // a login whose worker died
    c->DropQueued();
    CloseAfterFlush(c);
  } else if (c->state() != State::kClosing) {
    Dispatch(c);
    CloseIfAnswered(c);
  }
}

void Listener::OnKeepaliveEnd(WorkerProc* p) { fence_.Release(p); }

// --- the fork server ---

void Listener::OnForked(WorkerProc* p, pid_t pid, int error,
                        ForkServerKeeper::Clock::time_point asked) {
  if (pid < 0) {
    // Its channel's EOF follows (the fork server closed the worker's end):
    // a request sent gets the error reply there.
    spdlog::error("listener {}: cannot fork: {}", config_.name,
                  std::strerror(error));
    fence_.ForkFailed(p);
  } else {
    fence_.Forked(p, pid);
    int wait_status = 0;
    if (exits_ != nullptr && exits_->Take(pid, asked, &wait_status)) {
      OnExit(pid, wait_status);  // it was reaped before we knew it
      return;
    }
  }
  fence_.AdmitWaiting();
  CheckFinished();
}

void Listener::OnForkLost(WorkerProc* p) {
  fence_.ForkFailed(p);
  CheckFinished();
}

void Listener::OnForkingChanged(bool ready) {
  fence_.set_open(ready);
  if (ready) fence_.AdmitWaiting();
}

void Listener::OnForkServerEnded() { CheckFinished(); }

// --- the fence ---

void Listener::Wait(ClientConn* c) {
  if (!c->waiting()) {
    c->set_state(c->state() == State::kLogin ? State::kLoginWaiting
                                             : State::kWaiting);
    c->PauseRead();
    fence_.Enqueue(c->serial());
  }
  fence_.Reclaim();  // an idle worker of some connection gives way
}

void Listener::Admit(uint64_t serial) {
  auto it = conns_.find(serial);
  if (it == conns_.end()) return;
  ClientConn* c = it->second.get();
  c->StopWaiting();
  Dispatch(c);
  ResumeRead(c);
  CloseIfAnswered(c);
}

void Listener::TimedOut(const std::vector<uint64_t>& serials) {
  std::vector<ClientConn*> again;
  for (uint64_t serial : serials) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) continue;
    ClientConn* c = it->second.get();
    c->StopWaiting();
    ++stats_.busy_replies;
    spdlog::warn("listener {}: connection {}: no worker within {}: busy",
                 config_.name, c->id(), FormatDuration(config_.fence_timeout));
    if (!c->queued().empty()) c->PopQueued();
    Reply(c, handler_->BusyReply());
    if (!c->queued().empty()) {
      again.push_back(c);
    } else {
      ResumeRead(c);  // Wait() paused it; nothing else would resume it
      if (c->queued().empty()) {
        CloseIfAnswered(c);
      } else {
        again.push_back(c);  // more was buffered after EOF
      }
    }
  }
  for (ClientConn* c : again) Wait(c);
}

// --- replies and closing ---

void Listener::Reply(ClientConn* c, const std::string& body) {
  if (c->Reply(body, config_.ReplyTerminator())) ++stats_.output_paused;
}

void Listener::CloseAfterFlush(ClientConn* c) {
  if (c->waiting()) fence_.Leave(c->serial());
  bool flushed = c->CloseAfterFlush();
  WorkerProc* p = c->worker();
  if (p != nullptr && !p->busy()) fence_.Release(p);
  if (flushed) Close(c);
}

void Listener::Close(ClientConn* c) {
  if (WorkerProc* p = c->worker()) {
    if (p->busy()) {
      p->set_conn(nullptr);  // its reply is dropped, then it is let go
    } else {
      fence_.Release(p);
    }
  }
  if (c->waiting()) fence_.Leave(c->serial());
  sessions_.Closed(*c);
  conns_.erase(c->serial());  // frees c
  fence_.AdmitWaiting();
  CheckFinished();
}

}  // namespace qd
