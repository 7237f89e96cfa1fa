// SocketStream: a non-blocking socket with an input and an output buffer,
// as the master uses one for each client connection and each worker channel
// of a multiplex listener (ClientConn, WorkerProc).
//
// Why not a libevent bufferevent, as the rest of the daemon uses: on the
// multiplex listener's path every request crosses four sockets in the
// master (client in, channel out, channel in, client out), and a
// bufferevent adds syscalls to each: an ioctl(FIONREAD) before every read,
// and for every write an epoll_ctl to watch EV_WRITE, a loop turn to be
// told the socket is writable, and an epoll_ctl to stop watching. Here a
// read is one recv(); output queued during a loop turn is written at the
// end of that turn (after every ready socket of the turn has been read), one
// sendmsg() per socket, and the socket is watched for EV_WRITE only while
// the kernel's buffer is full. Reading first and writing at the end of the
// turn is also what batches the wake-ups of the processes written to.
//
// The subset of a bufferevent that ClientConn and WorkerProc need, with the
// same meaning: a read callback after input arrived (while reading is
// enabled); a write callback after a write left the output at or below the
// low-water mark; an event callback for EOF (reading stops; writing may go
// on), an error, and the write timeout (which runs only while output waits
// for a full socket and restarts with every write that makes progress).
//
// Used from one loop. Every callback is the last thing the stream does in
// that event, so the owner may free the stream from any of its callbacks.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

struct event;
struct event_base;
struct evbuffer;
struct timeval;

namespace qd {

class SocketStream {
 public:
  enum Event : short {
    kEof = 1,      // the peer closed its sending side; reading stopped
    kError = 2,    // the socket failed; error() says why
    kTimeout = 4,  // the write timeout passed; writing stopped
  };
  using Callback = void (*)(SocketStream* stream, void* arg);
  using EventCallback = void (*)(SocketStream* stream, short what, void* arg);

  // Takes `fd` over (made non-blocking; closed with the stream). Reading is
  // off until EnableRead(). Throws std::bad_alloc when libevent cannot
  // allocate (the fd is closed then).
  static std::unique_ptr<SocketStream> New(event_base* base, int fd);
  ~SocketStream();
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  // `read` and `write` may be null. Replaces any set before.
  void SetCallbacks(Callback read, Callback write, EventCallback events,
                    void* arg);
  // The write callback runs after a write leaves at most `low` bytes.
  void set_write_low_water(size_t low) { low_water_ = low; }
  // `tv` null: no write timeout.
  void SetWriteTimeout(const timeval* tv);

  void EnableRead();
  void DisableRead();
  bool reading() const { return reading_; }

  evbuffer* input() const { return input_; }
  // Appends to the output; written at the end of this loop turn.
  void Write(std::string_view bytes);
  // What was appended to output() directly is written at the end of this
  // loop turn.
  evbuffer* output() const { return output_; }
  void ScheduleWrite();
  size_t output_size() const;

  // errno of the failure that kError reported (0 before one).
  int error() const { return error_; }

 private:
  SocketStream() = default;
  // Writes what the socket takes now; notes a failure or a due write
  // callback for Report().
  void WriteNow();
  void Report();
  static void OnReadable(int fd, short what, void* arg);
  static void OnWritable(int fd, short what, void* arg);
  static void OnTimeout(int fd, short what, void* arg);

  int fd_ = -1;
  evbuffer* input_ = nullptr;
  evbuffer* output_ = nullptr;
  event* read_ev_ = nullptr;
  event* write_ev_ = nullptr;  // EV_WRITE while the socket is full; made
                               // active by hand for the end-of-turn write
  event* timeout_ev_ = nullptr;
  timeval* write_timeout_ = nullptr;
  Callback read_cb_ = nullptr;
  Callback write_cb_ = nullptr;
  EventCallback event_cb_ = nullptr;
  void* arg_ = nullptr;
  size_t low_water_ = 0;
  bool reading_ = false;
  bool watching_write_ = false;  // write_ev_ added (socket full)
  bool write_cb_due_ = false;
  bool failed_ = false;  // writing stopped: an error or the timeout
  short due_event_ = 0;  // a write's kError not yet reported
  int error_ = 0;
};

}  // namespace qd
