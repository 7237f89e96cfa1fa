#include "core/listen/socket_stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>
#include <new>

namespace qd {
namespace {

// One recv() takes at most this much; a socket with more stays readable
// and is read again next turn (as a bufferevent reads at most 4 KiB).
constexpr size_t kReadChunk = 16384;
// iovecs per sendmsg(): more chains than this are written in the next call.
constexpr int kMaxIov = 64;

}  // namespace

std::unique_ptr<SocketStream> SocketStream::New(event_base* base, int fd) {
  std::unique_ptr<SocketStream> s(new SocketStream());
  s->fd_ = fd;  // closed by the destructor from here on
  evutil_make_socket_nonblocking(fd);
  s->input_ = evbuffer_new();
  s->output_ = evbuffer_new();
  s->read_ev_ = event_new(base, fd, EV_READ | EV_PERSIST,
                          &SocketStream::OnReadable, s.get());
  s->write_ev_ = event_new(base, fd, EV_WRITE | EV_PERSIST,
                           &SocketStream::OnWritable, s.get());
  s->timeout_ev_ = evtimer_new(base, &SocketStream::OnTimeout, s.get());
  if (s->input_ == nullptr || s->output_ == nullptr || s->read_ev_ == nullptr ||
      s->write_ev_ == nullptr || s->timeout_ev_ == nullptr) {
    throw std::bad_alloc();  // as new would
  }
  return s;
}

SocketStream::~SocketStream() {
  // event_free() is safe from the event's own callback.
  if (read_ev_ != nullptr) event_free(read_ev_);
  if (write_ev_ != nullptr) event_free(write_ev_);
  if (timeout_ev_ != nullptr) event_free(timeout_ev_);
  if (input_ != nullptr) evbuffer_free(input_);
  if (output_ != nullptr) evbuffer_free(output_);
  delete write_timeout_;
  if (fd_ >= 0) evutil_closesocket(fd_);
}

void SocketStream::SetCallbacks(Callback read, Callback write,
                                EventCallback events, void* arg) {
  read_cb_ = read;
  write_cb_ = write;
  event_cb_ = events;
  arg_ = arg;
}

void SocketStream::SetWriteTimeout(const timeval* tv) {
  delete write_timeout_;
  write_timeout_ = tv != nullptr ? new timeval(*tv) : nullptr;
}

void SocketStream::EnableRead() {
  if (reading_) return;
  reading_ = true;
  event_add(read_ev_, nullptr);
}

void SocketStream::DisableRead() {
  if (!reading_) return;
  reading_ = false;
  event_del(read_ev_);
}

void SocketStream::Write(std::string_view bytes) {
  evbuffer_add(output_, bytes.data(), bytes.size());
  ScheduleWrite();
}

// The write waits for the end of the turn: write_ev_ made active now runs
// after every event already active in this turn (the sockets found ready
// with this one), so their replies go out together, each socket once.
void SocketStream::ScheduleWrite() {
  if (failed_ || watching_write_ || evbuffer_get_length(output_) == 0) return;
  event_active(write_ev_, EV_WRITE, 1);
}

size_t SocketStream::output_size() const {
  return evbuffer_get_length(output_);
}

void SocketStream::WriteNow() {
  bool progress = false;
  for (;;) {
    size_t left = evbuffer_get_length(output_);
    if (left == 0) break;
    evbuffer_iovec vec[kMaxIov];
    int n = evbuffer_peek(output_, -1, nullptr, vec, kMaxIov);
    if (n > kMaxIov) n = kMaxIov;
    iovec iov[kMaxIov];
    size_t offered = 0;
    for (int i = 0; i < n; ++i) {
      iov[i].iov_base = vec[i].iov_base;
      iov[i].iov_len = vec[i].iov_len;
      offered += vec[i].iov_len;
    }
    msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    // MSG_NOSIGNAL: a peer that left is an error to report, not SIGPIPE.
    ssize_t sent = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      error_ = errno;
      failed_ = true;
      due_event_ = kError;
      break;
    }
    evbuffer_drain(output_, static_cast<size_t>(sent));
    progress = true;
    if (static_cast<size_t>(sent) < offered) break;  // the socket is full
  }
  size_t left = evbuffer_get_length(output_);
  bool watch = !failed_ && left > 0;
  if (watch && !watching_write_) event_add(write_ev_, nullptr);
  if (!watch && watching_write_) event_del(write_ev_);
  watching_write_ = watch;
  if (write_timeout_ != nullptr) {
    if (!watch) {
      evtimer_del(timeout_ev_);
    } else if (progress || !evtimer_pending(timeout_ev_, nullptr)) {
      evtimer_add(timeout_ev_, write_timeout_);
    }
  }
  if (progress && !failed_ && write_cb_ != nullptr && left <= low_water_) {
    write_cb_due_ = true;
  }
}

void SocketStream::OnReadable(int, short, void* arg) {
  auto* s = static_cast<SocketStream*>(arg);
  char chunk[kReadChunk];  // no ioctl(FIONREAD) first, as evbuffer_read
  ssize_t n = recv(s->fd_, chunk, sizeof chunk, 0);
  if (n > 0) {
    evbuffer_add(s->input_, chunk, static_cast<size_t>(n));
    if (s->read_cb_ != nullptr) s->read_cb_(s, s->arg_);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return;
  }
  s->DisableRead();
  if (n < 0) s->error_ = errno;
  if (s->event_cb_ != nullptr) s->event_cb_(s, n == 0 ? kEof : kError, s->arg_);
}

// Both the end-of-turn write (made active by ScheduleWrite) and, while the
// socket is full, its becoming writable.
void SocketStream::OnWritable(int, short, void* arg) {
  auto* s = static_cast<SocketStream*>(arg);
  if (!s->failed_) s->WriteNow();
  s->Report();
}

// At most one callback, the last thing done: it may free the stream.
void SocketStream::Report() {
  if (due_event_ != 0) {
    short what = due_event_;
    due_event_ = 0;
    write_cb_due_ = false;
    if (event_cb_ != nullptr) event_cb_(this, what, arg_);
    return;
  }
  if (write_cb_due_) {
    write_cb_due_ = false;
    if (write_cb_ != nullptr) write_cb_(this, arg_);
  }
}

void SocketStream::OnTimeout(int, short, void* arg) {
  auto* s = static_cast<SocketStream*>(arg);
  s->failed_ = true;  // as a bufferevent: writing stops
  if (s->watching_write_) event_del(s->write_ev_);
  s->watching_write_ = false;
  if (s->event_cb_ != nullptr) s->event_cb_(s, kTimeout, s->arg_);
}

}  // namespace qd
