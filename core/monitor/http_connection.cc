#include "core/monitor/http_connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <utility>

namespace qd {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

timeval ToTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

}  // namespace

HttpConnection::HttpConnection(event_base* base, int fd,
                               const HttpLimits& limits, Owner* owner)
    : limits_(limits),
      owner_(owner),
      bev_(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)),
      deadline_(evtimer_new(base, &HttpConnection::OnDeadline, this)) {
  if (bev_ == nullptr) close(fd);
}

HttpConnection::~HttpConnection() {
  if (waiting_) *waiting_ = nullptr;
  if (deadline_ != nullptr) event_free(deadline_);
  if (bev_ != nullptr) bufferevent_free(bev_);
}

bool HttpConnection::Start() {
  if (bev_ == nullptr || deadline_ == nullptr) return false;
  bufferevent_setcb(bev_, &HttpConnection::OnRead, &HttpConnection::OnWrite,
                    &HttpConnection::OnEvent, this);
  timeval idle = ToTimeval(limits_.idle_timeout);
  bufferevent_set_timeouts(bev_, &idle, &idle);
  ArmDeadline(limits_.request_deadline);
  return bufferevent_enable(bev_, EV_READ) == 0;
}

void HttpConnection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (waiting_) *waiting_ = nullptr;
  waiting_.reset();
  if (deadline_ != nullptr) evtimer_del(deadline_);
  if (bev_ != nullptr) bufferevent_disable(bev_, EV_READ | EV_WRITE);
  owner_->OnClosed(this);
}

void HttpConnection::OnRead(bufferevent* bev, void* arg) {
  auto* self = static_cast<HttpConnection*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  switch (self->state_) {
    case State::kReadingHead:
      self->ReadHead(in);
      break;
    case State::kReadingBody:
      self->ReadBody(in);
      break;
    case State::kLingering:
      evbuffer_drain(in, evbuffer_get_length(in));
      break;
    case State::kAnswering:
      break;  // left in the buffer: the next request, after the reply
    case State::kWriting:
    case State::kClosed:
      break;  // reading is off
  }
}

void HttpConnection::OnWrite(bufferevent*, void* arg) {
  auto* self = static_cast<HttpConnection*>(arg);
  // The output also drains after "100 Continue", while the body is read.
  if (self->state_ == State::kWriting) self->Written();
}

void HttpConnection::OnEvent(bufferevent*, short, void* arg) {
  // End of input, an error, or no progress for the idle timeout: the
  // client is gone or stuck, and nothing it could still read is pending
  // (reading is off while a reply is written, so EOF is not seen then;
  // while an answer is awaited, EOF means the client gave up on it).
  static_cast<HttpConnection*>(arg)->Close();
}

void HttpConnection::OnDeadline(int, short, void* arg) {
  auto* self = static_cast<HttpConnection*>(arg);
  switch (self->state_) {
    case State::kReadingHead:
      // Idle between requests, or never a byte: nothing to answer.
      if (self->head_bytes_ == 0 &&
          evbuffer_get_length(bufferevent_get_input(self->bev_)) == 0) {
        self->Close();
      } else {
        self->Refuse(408);
      }
      break;
    case State::kReadingBody:
      self->Refuse(408);
      break;
    case State::kLingering:
      self->Close();
      break;
    case State::kAnswering: {
      HttpResponse late = std::move(self->on_deadline_);
      self->EndWait();
      self->Send(late, self->request_.keep_alive);
      break;
    }
    case State::kWriting:
    case State::kClosed:
      break;  // the timer is not armed in these states
  }
}

void HttpConnection::ReadHead(evbuffer* in) {
  for (;;) {
    size_t n = 0;
    char* line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
    if (line == nullptr) break;
    std::string text(line, n);
    std::free(line);
    head_bytes_ += n + 2;
    if (head_bytes_ > limits_.max_head_bytes) break;
    if (!text.empty()) {
      lines_.push_back(std::move(text));
    } else if (!lines_.empty()) {
      return FinishHead(in);
    }
    // An empty line before the request line is skipped (RFC 9112 2.2).
  }
  if (head_bytes_ + evbuffer_get_length(in) > limits_.max_head_bytes) {
    Refuse(400);  // as nginx answers a head too large
  }
}

void HttpConnection::FinishHead(evbuffer* in) {
  request_ = HttpRequest();
  int status = ParseRequestHead(lines_, &request_);
  lines_.clear();
  if (status != 0) return Refuse(status);
  if (request_.content_length > owner_->BodyLimit(request_)) {
    evtimer_del(deadline_);
    return Send(owner_->Refusal(request_, 413), false);
  }
  if (request_.content_length == 0) return Dispatch();
  state_ = State::kReadingBody;
  if (request_.expect_continue) {
    bufferevent_write(bev_, kContinue.data(), kContinue.size());
  }
  ReadBody(in);
}

void HttpConnection::ReadBody(evbuffer* in) {
  if (evbuffer_get_length(in) < request_.content_length) return;
  request_.body.resize(request_.content_length);
  evbuffer_remove(in, request_.body.data(), request_.content_length);
  Dispatch();
}

void HttpConnection::Dispatch() {
  evtimer_del(deadline_);
  HttpResponse response;
  HttpDeferral deferral(this);
  owner_->OnRequest(request_, &response, &deferral);
  // A deferred request is in kAnswering, or already answered when the
  // handler completed it inside its call.
  if (!deferral.deferred()) Send(response, request_.keep_alive);
}

HttpCompletion HttpConnection::BeginWait(HttpResponse on_deadline) {
  state_ = State::kAnswering;
  on_deadline_ = std::move(on_deadline);
  waiting_ = std::make_shared<HttpConnection*>(this);
  // Reading stays on so that a client that leaves is seen (and its
  // connection freed); the watermark stops it once about one more request
  // is buffered.
  bufferevent_setwatermark(bev_, EV_READ, 0,
                           limits_.max_head_bytes + limits_.max_body_bytes);
  bufferevent_enable(bev_, EV_READ);
  ArmDeadline(limits_.answer_deadline);
  return HttpCompletion(waiting_);
}

void HttpConnection::Answer(const HttpResponse& response) {
  if (state_ != State::kAnswering) return;
  EndWait();
  Send(response, request_.keep_alive);
}

void HttpConnection::EndWait() {
  if (waiting_) *waiting_ = nullptr;
  waiting_.reset();
  on_deadline_ = HttpResponse();
  evtimer_del(deadline_);
  bufferevent_setwatermark(bev_, EV_READ, 0, 0);
}

void HttpConnection::Send(const HttpResponse& response, bool keep_alive) {
  keep_alive_ = keep_alive;
  bool announce = keep_alive && request_.minor_version == 0;
  std::string head = ResponseHead(response, keep_alive, announce);
  bufferevent_write(bev_, head.data(), head.size());
  if (request_.method != "HEAD") {
    bufferevent_write(bev_, response.body.data(), response.body.size());
  }
  state_ = State::kWriting;
  bufferevent_disable(bev_, EV_READ);
}

void HttpConnection::Refuse(int status) {
  evtimer_del(deadline_);
  lines_.clear();
  Send(TextResponse(status), false);
}

void HttpConnection::Written() {
  if (!keep_alive_) return Linger();
  state_ = State::kReadingHead;
  head_bytes_ = 0;
  request_ = HttpRequest();
  ArmDeadline(limits_.request_deadline);
  bufferevent_enable(bev_, EV_READ);
  evbuffer* in = bufferevent_get_input(bev_);
  if (evbuffer_get_length(in) > 0) ReadHead(in);  // pipelined
}

void HttpConnection::Linger() {
  state_ = State::kLingering;
  shutdown(bufferevent_getfd(bev_), SHUT_WR);
  evbuffer* in = bufferevent_get_input(bev_);
  evbuffer_drain(in, evbuffer_get_length(in));
  ArmDeadline(limits_.linger);
  bufferevent_enable(bev_, EV_READ);
}

void HttpConnection::ArmDeadline(std::chrono::milliseconds after) {
  timeval tv = ToTimeval(after);
  evtimer_add(deadline_, &tv);
}

}  // namespace qd
