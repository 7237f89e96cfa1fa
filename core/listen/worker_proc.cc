#include "core/listen/worker_proc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

namespace qd {

WorkerProc::WorkerProc(pid_t pid) : pid_(pid), state_(State::kServing) {}

WorkerProc::WorkerProc(event_base* base, pid_t pid, int channel_fd,
                       ClientConn* conn, Owner* owner)
    : pid_(pid), owner_(owner), state_(State::kBound), conn_(conn) {
  evutil_make_socket_nonblocking(channel_fd);
  chan_ = bufferevent_socket_new(base, channel_fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(chan_, &WorkerProc::OnRead, nullptr, &WorkerProc::OnEvent,
                    this);
  bufferevent_enable(chan_, EV_READ | EV_WRITE);
  keepalive_timer_ = evtimer_new(base, &WorkerProc::OnKeepalive, this);
}

WorkerProc::~WorkerProc() {
  if (chan_ != nullptr) bufferevent_free(chan_);
  if (keepalive_timer_ != nullptr) event_free(keepalive_timer_);
}

void WorkerProc::Send(const nlohmann::json& header, const std::string& body) {
  RequestWire::Encode(header, body, bufferevent_get_output(chan_));
  state_ = State::kBusy;
}

void WorkerProc::CloseChannel() {
  if (keepalive_timer_ != nullptr) evtimer_del(keepalive_timer_);
  if (chan_ != nullptr) {
    bufferevent_free(chan_);  // EOF: the worker exits
    chan_ = nullptr;
    state_ = State::kReleased;
  }
}

void WorkerProc::OnRead(bufferevent* bev, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  WireMessage message;
  std::string error;
  // The owner may release p (closing chan_) but never frees it: the
  // ForkFence frees a done worker after the loop turn.
  while (p->chan_ != nullptr) {
    RequestWire::Result r =
        RequestWire::Decode(bufferevent_get_input(bev), &message, &error);
    if (r == RequestWire::Result::kNeedMore) return;
    if (r == RequestWire::Result::kError) {
      p->owner_->OnWorkerGone(p, error);
      return;
    }
    p->owner_->OnWorkerReply(p, message);
  }
}

void WorkerProc::OnEvent(bufferevent*, short, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  p->owner_->OnWorkerGone(p, "");
}

void WorkerProc::OnKeepalive(int, short, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  p->owner_->OnKeepaliveEnd(p);
}

}  // namespace qd
