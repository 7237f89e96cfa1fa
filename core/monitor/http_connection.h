// HttpConnection: one accepted HTTP/1.1 client of HttpServer. It owns the
// socket (through its bufferevent) and a deadline timer, reads requests one
// at a time, hands each complete one to its Owner and writes the reply.
//
// It keeps HttpLimits: the head and body sizes, the whole-request deadline
// (a timer armed at accept and after each reply, cancelled when the request
// is complete, so that trickled bytes do not extend it) and the idle
// timeout (the bufferevent's read and write timeouts). Keep-alive follows
// the request (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
// "Connection: keep-alive"); pipelined requests are answered in order.
//
// A request may be answered later (HttpDeferral, http_completion.h): the
// connection then waits in kAnswering for its HttpCompletion, at most
// HttpLimits::answer_deadline.
//
// Closing never frees: Close() tells the Owner, which frees the connection
// after the loop turn, so a connection may close itself from its own
// callbacks. Single-threaded, on the loop's thread.
#pragma once

#include <string>
#include <vector>

#include "core/monitor/http_completion.h"
#include "core/monitor/http_limits.h"
#include "core/monitor/http_request.h"
#include "core/monitor/http_response.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer;

namespace qd {

class HttpConnection {
 public:
  // What the server does for its connections.
  class Owner {
   public:
    // Fills `response` for the complete `request`, or defers the answer
    // through `deferral`.
    virtual void OnRequest(const HttpRequest& request, HttpResponse* response,
                           HttpDeferral* deferral) = 0;
    // The largest body `request` (its head read) may have; larger: 413.
    virtual size_t BodyLimit(const HttpRequest& request) = 0;
    // The reply that refuses `request` (its head read) with `status`.
    virtual HttpResponse Refusal(const HttpRequest& request, int status) = 0;
    // `connection` has closed its socket's events and must be freed after
    // the loop turn, never from inside this call.
    virtual void OnClosed(HttpConnection* connection) = 0;

   protected:
    ~Owner() = default;
  };

  enum class State {
    // From Start() or the end of a kept-alive reply: the head is read line
    // by line under the head limit and the request deadline. Out to
    // kReadingBody or kWriting when the head is complete, to kWriting (an
    // error reply) when it is refused or the deadline passes.
    kReadingHead,
    // The head announced a body: out to kWriting once Content-Length bytes
    // arrived or the deadline passed (408).
    kReadingBody,
    // The Owner deferred the answer: out to kWriting on the completion's
    // Complete() or at the answer deadline (the deferral's reply, a 504);
    // to kClosed when the client closes. Input is left unparsed (pipelined
    // requests wait; the read watermark bounds them).
    kAnswering,
    // A reply is queued; reading is off (pipelined input waits in the
    // kernel). Out when the output has drained: to kReadingHead when kept
    // alive, else to kLingering.
    kWriting,
    // The reply ended the connection: the write side is shut and input is
    // discarded until the client closes or `linger` passes, so that a
    // client still sending sees the reply, not a reset.
    kLingering,
    // Closed: events off, waiting in the Owner's list to be freed.
    kClosed,
  };

  // Takes over the connected, non-blocking `fd` (closed here on failure).
  // REQUIRES: `base` and `owner` outlive this object.
  HttpConnection(event_base* base, int fd, const HttpLimits& limits,
                 Owner* owner);
  // Closes the socket.
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Starts reading. False when libevent could not set the connection up:
  // then close it (Close() or the destructor).
  [[nodiscard]] bool Start();
  // Closes at once, silently, and tells the Owner. Idempotent.
  void Close();

  State state() const { return state_; }
  // Whether no request is being answered: the server may close this one
  // to make room for a new connection.
  bool evictable() const {
    return state_ != State::kWriting && state_ != State::kAnswering &&
           state_ != State::kClosed;
  }

 private:
  friend class HttpCompletion;
  friend class HttpDeferral;

  static void OnRead(bufferevent* bev, void* arg);
  static void OnWrite(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);
  static void OnDeadline(int fd, short what, void* arg);

  void ReadHead(evbuffer* in);
  void FinishHead(evbuffer* in);
  void ReadBody(evbuffer* in);
  void Dispatch();
  // To kAnswering; the completion answers through Answer().
  HttpCompletion BeginWait(HttpResponse on_deadline);
  void Answer(const HttpResponse& response);
  // Leaves kAnswering: the completion goes stale, the timer stops.
  void EndWait();
  // Queues `response` and moves to kWriting.
  void Send(const HttpResponse& response, bool keep_alive);
  // Answers with an error status and ends the connection.
  void Refuse(int status);
  void Written();
  void Linger();
  void ArmDeadline(std::chrono::milliseconds after);

  HttpLimits limits_;
  Owner* owner_;
  bufferevent* bev_;
  event* deadline_;
  State state_ = State::kReadingHead;
  std::vector<std::string> lines_;  // of the head being read
  size_t head_bytes_ = 0;           // read for the head, line ends included
  HttpRequest request_;             // from its head until its reply
  bool keep_alive_ = false;         // of the reply being written
  // kAnswering: what the completion points to, and the deadline's reply.
  HttpCompletion::Target waiting_;
  HttpResponse on_deadline_;
};

}  // namespace qd
