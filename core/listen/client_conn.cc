#include "core/listen/client_conn.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <utility>

#include "core/listen/wire_header.h"
#include "core/listen/worker_proc.h"

namespace qd {

ClientConn::ClientConn(uint64_t serial, std::string id, std::string peer,
                       const ListenerConfig& config, Owner* owner)
    : serial_(serial),
      id_(std::move(id)),
      peer_(std::move(peer)),
      config_(config),
      owner_(owner),
      framer_(config.terminator, config.max_frame) {}

std::unique_ptr<ClientConn> ClientConn::Accept(event_base* base, int fd,
                                               uint64_t serial, std::string id,
                                               std::string peer,
                                               const ListenerConfig& config,
                                               Owner* owner) {
  std::unique_ptr<ClientConn> c(
      new ClientConn(serial, std::move(id), std::move(peer), config, owner));
  c->stream_ = SocketStream::New(base, fd);
  c->state_ = config.login == "required" ? State::kLogin : State::kReady;
  c->SetLogin(config.site, "", config.KeepaliveFor(config.site, ""));
  c->idle_timer_ = evtimer_new(base, &ClientConn::OnIdle, c.get());
  c->login_timer_ = evtimer_new(base, &ClientConn::OnLoginTimer, c.get());
  c->turn_timer_ = evtimer_new(base, &ClientConn::OnTurn, c.get());
  c->SetCallbacks(false);
  if (config.output_timeout.count() > 0) {
    // The write timeout runs only while output waits, and restarts with
    // every write that makes progress.
    timeval tv = ToTimeval(config.output_timeout);
    c->stream_->SetWriteTimeout(&tv);
  }
  c->stream_->EnableRead();
  return c;
}

ClientConn::~ClientConn() {
  stream_.reset();
  if (idle_timer_ != nullptr) event_free(idle_timer_);
  if (login_timer_ != nullptr) event_free(login_timer_);
  if (turn_timer_ != nullptr) event_free(turn_timer_);
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
  evbuffer* in = stream_->input();
  size_t taken = 0;
  std::string frame;
  while (state_ != State::kClosing && !queue_full()) {
    FrameReader::Result r = framer_.Next(in, &frame);
    if (r == FrameReader::Result::kNeedMore) break;
    if (r == FrameReader::Result::kTooLong) {
      *too_long = true;
      return taken;
    }
    queued_bytes_ += frame.size();
    queued_.push_back(std::move(frame));
    ++taken;
  }
  if (queue_full()) PauseRead();
  return taken;
}

std::string ClientConn::PopQueued() {
  std::string front = std::move(queued_.front());
  queued_.pop_front();
  queued_bytes_ -= front.size();
  return front;
}

void ClientConn::DropQueued() {
  queued_.clear();
  queued_bytes_ = 0;
}

bool ClientConn::queue_full() const {
  return queued_.size() >= kMaxQueued || queued_bytes_ >= kMaxQueuedBytes;
}

void ClientConn::PauseRead() { stream_->DisableRead(); }

bool ClientConn::ResumeRead() {
  // The stream's own flag is the truth about reading; a pause is lifted
  // once, and only when nothing still holds it.
  if (stream_->reading() || state_ == State::kClosing || waiting() ||
      queue_full() || output_full() || input_ended_ ||
      state_ == State::kLoginDelayed) {
    return false;
  }
  stream_->EnableRead();
  return true;
}

void ClientConn::ArmIdle(const timeval* tv) {
  if (tv != nullptr) evtimer_add(idle_timer_, tv);
}

void ClientConn::ArmLoginTimeout(Duration timeout) {
  timeval tv = ToTimeval(timeout);
  evtimer_add(login_timer_, &tv);
}

void ClientConn::LoggedIn() { evtimer_del(login_timer_); }

void ClientConn::Hold(Duration wait) {
  state_ = State::kLoginDelayed;
  PauseRead();
  timeval tv = ToTimeval(wait);
  evtimer_add(turn_timer_, &tv);
}

bool ClientConn::Reply(const std::string& body, const std::string& terminator) {
  bool was_full = output_full();
  evbuffer* out = stream_->output();
  evbuffer_add(out, body.data(), body.size());
  evbuffer_add(out, terminator.data(), terminator.size());
  stream_->ScheduleWrite();
  if (was_full || !output_full() || state_ == State::kClosing) return false;
  PauseRead();
  SetCallbacks(true);
  return true;
}

size_t ClientConn::output_size() const { return stream_->output_size(); }

bool ClientConn::output_full() const {
  return output_size() > config_.max_output;
}

bool ClientConn::CloseAfterFlush() {
  state_ = State::kClosing;
  PauseRead();
  if (output_size() == 0) return true;
  // From now on only the end of the output (or of the client) matters.
  stream_->SetCallbacks(nullptr, &ClientConn::OnWrite,
                        &ClientConn::OnStreamEvent, this);
  stream_->set_write_low_water(0);
  return false;
}

// Watching the output: the write callback runs once it is down to half of
// max_output. Otherwise there is no write callback (one per reply would be
// wasted).
void ClientConn::SetCallbacks(bool watch_output) {
  stream_->SetCallbacks(&ClientConn::OnRead,
                        watch_output ? &ClientConn::OnWrite : nullptr,
                        &ClientConn::OnStreamEvent, this);
  stream_->set_write_low_water(watch_output ? config_.max_output / 2 : 0);
}

void ClientConn::SetLogin(std::string site, std::string account,
                          Duration keepalive) {
  site_ = std::move(site);
  account_ = std::move(account);
  keepalive_ = keepalive;
  wire_identity_ = WireHeader::Identity(id_, site_, account_);
}

void ClientConn::OnRead(SocketStream*, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kInput);
}

void ClientConn::OnWrite(SocketStream*, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  if (c->state_ == State::kClosing) {
    c->owner_->OnConnEvent(c, Event::kFlushed);
    return;
  }
  c->SetCallbacks(false);
  c->owner_->OnConnEvent(c, Event::kDrained);
}

void ClientConn::OnStreamEvent(SocketStream*, short what, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  Event event = Event::kEof;
  if (what & SocketStream::kError) {
    event = Event::kError;
  } else if (what & SocketStream::kTimeout) {
    event = Event::kOutputTimeout;
  } else {
    c->input_ended_ = true;  // the stream has stopped reading
  }
  c->owner_->OnConnEvent(c, event);
}

void ClientConn::OnIdle(int, short, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kIdle);
}

void ClientConn::OnLoginTimer(int, short, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kLoginTimeout);
}

void ClientConn::OnTurn(int, short, void* arg) {
  auto* c = static_cast<ClientConn*>(arg);
  c->owner_->OnConnEvent(c, Event::kTurn);
}

}  // namespace qd
