// HttpMonitor: the master's HTTP monitoring endpoints (docs/architecture.md,
// "Monitoring"; config `monitor.http`), served on the master's event_base
// by HttpServer (which says why it is not libevent's evhttp):
//
//   GET /metrics  200, Prometheus text format 0.0.4 (RenderPrometheus)
//   GET /healthz  200 "ok\n", or 503 with CheckHealth's reason and "\n"
//   GET /status   200, JSON (RenderStatus), indented by 2
//   GET /, /assets/...  the dashboard (ServeDashboard, answered first)
//   /api/v1/...   the HTTP API (core/monitor/api.h, docs/api.md), once
//                 EnableApi() was called (else 404)
//
// HEAD is answered like GET without the body; any other path is 404, any
// other method on these paths 405. Every request asks the owner for a
// fresh MonitorSnapshot: nothing is cached, nothing is kept between
// requests.
//
// Bounds (HttpLimits, defaults in docs/monitoring.md): at most 64
// connections, a request head up to kMaxHeadersSize bytes (larger: 400),
// bodies up to 1 KiB (413), 10 s for a whole request (408), 10 s without
// progress closes a connection, a listen backlog of kBacklog, and accepting
// pauses for 500 ms at a time while descriptors run out. The endpoint is on
// loopback unless monitor.http_public says otherwise.
//
// HttpMonitor owns the HttpServer and so its listening socket and
// connections. Single-threaded: Open(), the requests and the destructor
// run on the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/monitor/api.h"
#include "core/monitor/http_limits.h"
#include "core/monitor/monitor_snapshot.h"
#include "queuedaemon/status.h"

struct event_base;

namespace qd {

class HttpServer;
struct HttpRequest;
struct HttpResponse;

class HttpMonitor {
 public:
  using SnapshotFn = std::function<MonitorSnapshot()>;

  static constexpr size_t kMaxHeadersSize = HttpLimits().max_head_bytes;
  // The listen() backlog of Bind(), as nginx and Redis use on Linux (the
  // kernel caps it at net.core.somaxconn).
  static constexpr int kBacklog = 511;

  // Listens on `host_port` ("127.0.0.1:9187", "[::1]:9187",
  // "localhost:9187"; port 0 picks a free port, see port()). A name is
  // resolved now and the first of its addresses that binds is used.
  // `snapshot` is called once per request, on the loop's thread. On error
  // (bad address, bind or listen failure) *out is untouched and the message
  // reads "monitor.http 127.0.0.1:9187: cannot listen: Address already in
  // use". With `fd` >= 0 (from Bind(), taken over) nothing is bound: the
  // master binds before it drops its privileges. `limits` are the
  // defaults but in tests. REQUIRES: `base` outlives *out.
  [[nodiscard]] static Status Open(event_base* base,
                                   const std::string& host_port,
                                   SnapshotFn snapshot,
                                   std::unique_ptr<HttpMonitor>* out,
                                   int fd = -1,
                                   const HttpLimits& limits = HttpLimits());
  // The listening socket of `host_port` alone, for Open(); errors as
  // Open()'s.
  [[nodiscard]] static Status Bind(const std::string& host_port, int* fd);
  // Closes the listening socket and every open connection.
  ~HttpMonitor();
  HttpMonitor(const HttpMonitor&) = delete;
  HttpMonitor& operator=(const HttpMonitor&) = delete;

  // Serves /api/v1 from `sources` from now on.
  void EnableApi(Api::Sources sources);

  // The port bound (the chosen one when Open was given port 0).
  int port() const { return port_; }

 private:
  HttpMonitor(int port, SnapshotFn snapshot);

  void Handle(const HttpRequest& request, HttpResponse* response,
              HttpDeferral* deferral);

  int port_;
  SnapshotFn snapshot_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace qd
