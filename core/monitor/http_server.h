// HttpServer: a small HTTP/1.1 server on the loop's bufferevents, for the
// master's monitoring port: it accepts on a listening socket, keeps
// HttpLimits on its clients and hands each complete request to one
// Handler, which fills in the reply.
//
// Why not evhttp: libevent 2.1's evhttp cannot cap its connections, nor
// bound a whole request's time (its timeout is an idle timeout, which each
// trickled byte resets), nor hand an accepted socket over to it from our
// own listener; the few hundred lines here give the three bounds and the
// accept pause (AcceptPause) in plain sight. What it speaks: request line
// and headers up to max_head_bytes, Content-Length bodies up to
// max_body_bytes (no chunked requests: 501), keep-alive or close,
// pipelining, HEAD (the Handler's body is left out, its length kept),
// "Expect: 100-continue"; replies always carry Content-Length. A streamed
// reply (server-sent events) would be one more HttpConnection state in
// which the Handler keeps a handle to write to; it is not built.
//
// Past max_connections, a new connection closes the oldest connection that
// is not being answered (HttpConnection::evictable: still sending its
// request, idle between requests or lingering), so that slow or idle
// clients cannot lock out a health check; when every connection is being
// answered, the new one is answered 503 and closed. Both are counted and
// logged at most once a minute.
//
// HttpServer owns the listener, its connections and their sockets.
// Single-threaded: everything runs on the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/monitor/http_connection.h"
#include "core/monitor/http_limits.h"
#include "core/os/accept_pause.h"
#include "queuedaemon/status.h"

struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;

namespace qd {

class HttpServer : private HttpConnection::Owner {
 public:
  // Fills `response` for `request`, on the loop's thread, or defers the
  // answer through `deferral` (http_completion.h). An exception costs that
  // request a 500, not the process.
  using Handler =
      std::function<void(const HttpRequest& request, HttpResponse* response,
                         HttpDeferral* deferral)>;
  // The largest body a request may carry, from its head; unset: the
  // limits' max_body_bytes for every request.
  using BodyLimitFn = std::function<size_t(const HttpRequest& request)>;
  // The reply refusing a request whose head was read (413); unset:
  // TextResponse(status).
  using RefusalFn =
      std::function<HttpResponse(const HttpRequest& request, int status)>;

  // Serves on `fd`, a non-blocking socket already listening (taken over,
  // closed on error). `name` heads the log lines ("monitor.http"). On error
  // *out is untouched. REQUIRES: `base` outlives *out.
  [[nodiscard]] static Status Open(event_base* base, int fd, std::string name,
                                   const HttpLimits& limits, Handler handler,
                                   std::unique_ptr<HttpServer>* out);
  // Closes the listening socket and every connection.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void set_body_limit(BodyLimitFn fn) { body_limit_ = std::move(fn); }
  void set_refusal(RefusalFn fn) { refusal_ = std::move(fn); }

  size_t open_connections() const { return open_.size(); }
  // Connections closed to make room for a new one.
  uint64_t evicted() const { return evicted_; }
  // New connections answered 503 because none could be closed.
  uint64_t refused() const { return refused_; }
  const AcceptPause& accept_pause() const { return *pause_; }

 private:
  HttpServer(event_base* base, std::string name, const HttpLimits& limits,
             Handler handler);

  static void OnAccept(evconnlistener* listener, int fd, sockaddr* addr,
                       int len, void* arg);
  static void OnAcceptError(evconnlistener* listener, void* arg);
  static void OnReap(int fd, short what, void* arg);

  void Accept(int fd);
  // Closes the oldest evictable connection; false when there is none.
  bool MakeRoom();
  void RefuseFull(int fd);
  void LogFull();

  void OnRequest(const HttpRequest& request, HttpResponse* response,
                 HttpDeferral* deferral) override;
  size_t BodyLimit(const HttpRequest& request) override;
  HttpResponse Refusal(const HttpRequest& request, int status) override;
  void OnClosed(HttpConnection* connection) override;

  event_base* base_;
  std::string name_;
  HttpLimits limits_;
  Handler handler_;
  BodyLimitFn body_limit_;
  RefusalFn refusal_;
  evconnlistener* listener_ = nullptr;
  std::unique_ptr<AcceptPause> pause_;
  event* reaper_ = nullptr;  // made active to free closed_ after the turn
  std::list<std::unique_ptr<HttpConnection>> open_;      // oldest first
  std::vector<std::unique_ptr<HttpConnection>> closed_;  // freed by reaper_
  uint64_t evicted_ = 0;
  uint64_t refused_ = 0;
  std::chrono::steady_clock::time_point full_logged_{};
  bool full_logged_ever_ = false;
};

}  // namespace qd
