// HttpCompletion and HttpDeferral: how an HttpServer handler answers a
// request later, on the loop, instead of inside its call (the /api/v1
// endpoints wait for Redis; the master's loop must never block).
//
// The handler calls HttpDeferral::Defer() and keeps the HttpCompletion it
// returns; the connection then waits, reading nothing more (pipelined
// requests stay queued, so replies keep their order), until Complete() or
// its answer deadline (HttpLimits::answer_deadline), when it sends the
// response given to Defer() (a 504). Whatever happens first wins: a
// Complete() after the deadline, after the client closed, or after the
// server was destroyed does nothing, and a completion may outlive its
// connection (it holds no pointer the connection does not clear).
// Single-threaded: the loop's thread only.
#pragma once

#include <memory>

#include "core/monitor/http_response.h"

namespace qd {

class HttpConnection;

class HttpCompletion {
 public:
  // An empty completion: Complete() does nothing.
  HttpCompletion() = default;

  // Sends `response` when the request is still waiting for it.
  void Complete(const HttpResponse& response) const;
  // Whether the request is still waiting (the connection is open and
  // neither Complete() nor the deadline answered it yet).
  bool waiting() const { return target_ && *target_ != nullptr; }

 private:
  friend class HttpConnection;
  // Cleared by the connection when the request is answered or it closes.
  using Target = std::shared_ptr<HttpConnection*>;
  explicit HttpCompletion(Target target) : target_(std::move(target)) {}

  Target target_;
};

// Handed to the handler with each request.
class HttpDeferral {
 public:
  // The reply will come through the returned completion; the response the
  // handler filled in is dropped. `on_deadline` is sent if no Complete()
  // came within the answer deadline. At most once per request.
  HttpCompletion Defer(HttpResponse on_deadline);
  bool deferred() const { return deferred_; }

 private:
  friend class HttpConnection;
  explicit HttpDeferral(HttpConnection* connection) : connection_(connection) {}

  HttpConnection* connection_;
  bool deferred_ = false;
};

}  // namespace qd
