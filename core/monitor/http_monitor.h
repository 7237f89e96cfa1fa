// HttpMonitor: the master's HTTP monitoring endpoints (docs/architecture.md,
// "Monitoring"; config `monitor.http`), served by libevent's evhttp on the
// master's event_base:
//
//   GET /metrics  200, Prometheus text format 0.0.4 (RenderPrometheus)
//   GET /healthz  200 "ok\n", or 503 with CheckHealth's reason and "\n"
//   GET /status   200, JSON (RenderStatus), indented by 2
//
// HEAD is answered like GET without the body; any other path is 404, any
// other method on these paths 405. Every request asks the owner for a
// fresh MonitorSnapshot: nothing is cached, nothing is kept between
// requests.
//
// Bounds: request headers up to kMaxHeadersSize bytes (larger is refused:
// 400 from evhttp 2.1), bodies up to kMaxBodySize, and a connection idle or
// stalled for kTimeoutSeconds is closed. evhttp 2.1 cannot cap the number
// of connections, only their size and time; the endpoint is on loopback
// unless monitor.http_public says otherwise.
//
// HttpMonitor owns the evhttp and its listening socket. Single-threaded:
// Open(), the requests and the destructor run on the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/monitor/monitor_snapshot.h"
#include "queuedaemon/status.h"

struct event_base;
struct evhttp;
struct evhttp_request;

namespace qd {

class HttpMonitor {
 public:
  using SnapshotFn = std::function<MonitorSnapshot()>;

  static constexpr int kMaxHeadersSize = 8192;
  static constexpr int kMaxBodySize = 1024;
  static constexpr int kTimeoutSeconds = 10;

  // Listens on `host_port` ("127.0.0.1:9187", "[::1]:9187",
  // "localhost:9187"; port 0 picks a free port, see port()). A name is
  // resolved now and the first of its addresses that binds is used.
  // `snapshot` is called once per request, on the loop's thread. On error
  // (bad address, bind or listen failure) *out is untouched and the message
  // reads "monitor.http 127.0.0.1:9187: cannot listen: Address already in
  // use". With `fd` >= 0 (from Bind(), taken over) nothing is bound: the
  // master binds before it drops its privileges. REQUIRES: `base` outlives
  // *out.
  [[nodiscard]] static Status Open(event_base* base,
                                   const std::string& host_port,
                                   SnapshotFn snapshot,
                                   std::unique_ptr<HttpMonitor>* out,
                                   int fd = -1);
  // The listening socket of `host_port` alone, for Open(); errors as
  // Open()'s.
  [[nodiscard]] static Status Bind(const std::string& host_port, int* fd);
  // Closes the listening socket and every open connection.
  ~HttpMonitor();
  HttpMonitor(const HttpMonitor&) = delete;
  HttpMonitor& operator=(const HttpMonitor&) = delete;

  // The port bound (the chosen one when Open was given port 0).
  int port() const { return port_; }

 private:
  HttpMonitor(evhttp* http, int port, SnapshotFn snapshot);

  static void OnRequest(evhttp_request* req, void* arg);
  void Handle(evhttp_request* req);

  evhttp* http_;
  int port_;
  SnapshotFn snapshot_;
};

}  // namespace qd
