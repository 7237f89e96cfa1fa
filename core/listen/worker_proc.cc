#include "core/listen/worker_proc.h"

#include <event2/event.h>

namespace qd {

WorkerProc::WorkerProc(pid_t pid) : pid_(pid), state_(State::kServing) {}

WorkerProc::WorkerProc(event_base* base, pid_t pid, int channel_fd,
                       ClientConn* conn, Owner* owner)
    : pid_(pid), owner_(owner), state_(State::kBound), conn_(conn) {
  chan_ = SocketStream::New(base, channel_fd);
  chan_->SetCallbacks(&WorkerProc::OnRead, nullptr, &WorkerProc::OnEvent, this);
  chan_->EnableRead();
  keepalive_timer_ = evtimer_new(base, &WorkerProc::OnKeepalive, this);
}

WorkerProc::~WorkerProc() {
  chan_.reset();
  if (keepalive_timer_ != nullptr) event_free(keepalive_timer_);
}

void WorkerProc::Send(std::string_view header, std::string_view body) {
  RequestWire::EncodeText(header, body, chan_->output());
  chan_->ScheduleWrite();
  state_ = State::kBusy;
}

void WorkerProc::CloseChannel() {
  if (keepalive_timer_ != nullptr) evtimer_del(keepalive_timer_);
  if (chan_ != nullptr) {
    chan_.reset();  // EOF: the worker exits
    state_ = State::kReleased;
  }
}

void WorkerProc::OnRead(SocketStream* stream, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  WireMessage message;
  std::string error;
  // The owner may release p (closing chan_) but never frees it: the
  // ForkFence frees a done worker after the loop turn.
  while (p->chan_ != nullptr) {
    RequestWire::Result r =
        RequestWire::Decode(stream->input(), &message, &error);
    if (r == RequestWire::Result::kNeedMore) return;
    if (r == RequestWire::Result::kError) {
      p->owner_->OnWorkerGone(p, error);
      return;
    }
    p->owner_->OnWorkerReply(p, message);
  }
}

void WorkerProc::OnEvent(SocketStream*, short, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  p->owner_->OnWorkerGone(p, "");
}

void WorkerProc::OnKeepalive(int, short, void* arg) {
  auto* p = static_cast<WorkerProc*>(arg);
  p->owner_->OnKeepaliveEnd(p);
}

}  // namespace qd
