#include "core/listen/client_conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <utility>

#include "core/listen/worker_proc.h"

namespace qd {

ClientConn::ClientConn(uint64_t serial, std::string id,
                       const ListenerConfig& config, Owner* owner)
    : serial_(serial),
      id_(std::move(id)),
      owner_(owner),
      framer_(config.terminator, config.max_frame) {}

std::unique_ptr<ClientConn> ClientConn::Accept(event_base* base, int fd,
                                               uint64_t serial, std::string id,
                                               const ListenerConfig& config,
                                               Owner* owner) {
  std::unique_ptr<ClientConn> c(
      new ClientConn(serial, std::move(id), config, owner));
  c->bev_ = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (c->bev_ == nullptr) {
    evutil_closesocket(fd);
    return nullptr;
  }
  c->state_ = config.login == "required" ? State::kLogin : State::kReady;
  c->SetLogin(config.site, "", config.KeepaliveFor(config.site, ""));
  c->idle_timer_ = evtimer_new(base, &ClientConn::OnIdle, c.get());
  bufferevent_setcb(c->bev_, &ClientConn::OnRead, nullptr,
                    &ClientConn::OnBevEvent, c.get());
  bufferevent_enable(c->bev_, EV_READ | EV_WRITE);
  return c;
}

ClientConn::~ClientConn() {
  if (bev_ != nullptr) bufferevent_free(bev_);
  if (idle_timer_ != nullptr) event_free(idle_timer_);
}

bool ClientConn::waiting() const {
  return state_ == State::kWaiting || state_ == State::kLoginWaiting;
}

void ClientConn::StopWaiting() {
  state_ = state_ == State::kLoginWaiting ? State::kLogin : State::kReady;
}

bool ClientConn::running() const {
  switch (state_) {
    case State::kLoggingIn:
    case State::kRunning:
      return true;
    case State::kClosing:
      return worker_ != nullptr && worker_->busy();
    default:
      return false;
  }
}

size_t ClientConn::TakeFrames(bool* too_long) {
  *too_long = false;
  evbuffer* in = bufferevent_get_input(bev_);
  size_t taken = 0;
  std::string frame;
  while (state_ != State::kClosing && queued_.size() < kMaxQueued) {
    FrameReader::Result r = framer_.Next(in, &frame);
    if (r == FrameReader::Result::kNeedMore) break;
    if (r == FrameReader::Result::kTooLong) {
      *too_long = true;
      return taken;
    }
    queued_.push_back(std::move(frame));
    ++taken;
  }
  if (queued_.size() >= kMaxQueued) PauseRead();
  return taken;
}

std::string ClientConn::PopQueued() {
  std::string front = std::move(queued_.front());
  queued_.pop_front();
  return front;
}

void ClientConn::PauseRead() { bufferevent_disable(bev_, EV_READ); }

bool ClientConn::ResumeRead() {
  // The bufferevent's own flag is the truth about reading; a pause is
  // lifted once, and only when nothing still holds it.
  if ((bufferevent_get_enabled(bev_) & EV_READ) != 0 ||
      state_ == State::kClosing || waiting() || queued_.size() >= kMaxQueued) {
    return false;
  }
  bufferevent_enable(bev_, EV_READ);
  return true;
}

void ClientConn::ArmIdle(const timeval* tv) {
  if (tv != nullptr) evtimer_add(idle_timer_, tv);
}

void ClientConn::Reply(const std::string& body, const std::string& terminator) {
  evbuffer* out = bufferevent_get_output(bev_);
  evbuffer_add(out, body.data(), body.size());
  evbuffer_add(out, terminator.data(), terminator.size());
}

bool ClientConn::CloseAfterFlush() {
  state_ = State::kClosing;
  PauseRead();
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) return true;
  // From now on only the end of the output (or of the client) matters.
  bufferevent_setcb(bev_, nullptr, &ClientConn::OnWrite,
                    &ClientConn::OnBevEvent, this);
  return false;
}

void ClientConn::SetLogin(std::string site, std::string account,
                          Duration keepalive) {
  site_ = std::move(site);
  account_ = std::move(account);
  keepalive_ = keepalive;
}

void ClientConn::OnRead(bufferevent*, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kInput);
}

void ClientConn::OnWrite(bufferevent*, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kFlushed);  // only set once closing
}

void ClientConn::OnBevEvent(bufferevent*, short what, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(
      c, (what & BEV_EVENT_ERROR) ? Event::kError : Event::kEof);
}

void ClientConn::OnIdle(int, short, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kIdle);
}

}  // namespace qd
