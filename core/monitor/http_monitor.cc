#include "core/monitor/http_monitor.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "core/monitor/api_call.h"
#include "core/monitor/dashboard_assets.h"
#include "core/monitor/http_server.h"
#include "core/monitor/monitor_render.h"
#include "core/monitor/prometheus_render.h"
#include "core/util/host_port.h"

namespace qd {
namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kJsonType = "application/json";

// A non-blocking listening socket on `ai`, or -1 with errno set.
int ListenOn(const addrinfo* ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
      listen(fd, HttpMonitor::kBacklog) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Listens on the first address of host:port that binds; when none does,
// the error is the first address's.
Status BindListen(const std::string& host, const std::string& port, int* fd) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int err = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (err != 0) {
    return Status::Error(std::string("cannot resolve: ") + gai_strerror(err));
  }
  std::string first_error;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    *fd = ListenOn(ai);
    if (*fd >= 0) break;
    if (first_error.empty()) first_error = std::strerror(errno);
  }
  freeaddrinfo(found);
  if (*fd < 0) return Status::Error("cannot listen: " + first_error);
  return Status::Ok();
}

int LocalPort(int fd) {
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

Status HttpMonitor::Bind(const std::string& host_port, int* fd) {
  std::string where = "monitor.http " + host_port;
  std::string host, port;
  if (!SplitHostPort(host_port, &host, &port)) {
    return Status::Error(
        where + ": expected host:port such as 127.0.0.1:9187 or [::1]:9187");
  }
  Status bound = BindListen(host, port, fd);
  if (!bound.ok()) return Status::Error(where + ": " + bound.message());
  return Status::Ok();
}

Status HttpMonitor::Open(event_base* base, const std::string& host_port,
                         SnapshotFn snapshot, std::unique_ptr<HttpMonitor>* out,
                         int fd, const HttpLimits& limits) {
  if (fd < 0) {
    Status bound = Bind(host_port, &fd);
    if (!bound.ok()) return bound;
  }
  std::unique_ptr<HttpMonitor> monitor(
      new HttpMonitor(LocalPort(fd), std::move(snapshot)));
  HttpMonitor* self = monitor.get();
  Status s = HttpServer::Open(
      base, fd, "monitor.http " + host_port, limits,
      [self](const HttpRequest& request, HttpResponse* response,
             HttpDeferral* deferral) {
        self->Handle(request, response, deferral);
      },
      &monitor->server_);
  if (!s.ok()) return s;
  size_t body = limits.max_body_bytes;
  monitor->server_->set_body_limit([self, body](const HttpRequest& request) {
    return self->api_ ? Api::BodyLimit(request, body) : body;
  });
  monitor->server_->set_refusal([](const HttpRequest& request, int status) {
    if (!Api::Owns(request.path)) return TextResponse(status);
    return ApiError(status, status == 413 ? "the body is larger than 1 MiB"
                                          : ReasonPhrase(status));
  });
  *out = std::move(monitor);
  return Status::Ok();
}

HttpMonitor::HttpMonitor(int port, SnapshotFn snapshot)
    : port_(port), snapshot_(std::move(snapshot)) {}

HttpMonitor::~HttpMonitor() = default;

void HttpMonitor::EnableApi(Api::Sources sources) {
  api_ = std::make_unique<Api>(std::move(sources));
}

void HttpMonitor::Handle(const HttpRequest& request, HttpResponse* response,
                         HttpDeferral* deferral) {
  if (ServeDashboard(request, response)) return;
  const std::string& route = request.path;
  if (api_ && Api::Owns(route))
    return api_->Handle(request, response, deferral);
  if (route != "/metrics" && route != "/healthz" && route != "/status") {
    *response = TextResponse(404);
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    *response = TextResponse(405);
    response->headers.emplace_back("Allow", "GET, HEAD");
    return;
  }
  MonitorSnapshot snapshot = snapshot_();
  response->headers.emplace_back("Cache-Control", "no-store");
  if (route == "/metrics") {
    response->content_type = kMetricsType;
    response->body = RenderPrometheus(snapshot);
  } else if (route == "/healthz") {
    Health health = CheckHealth(snapshot);
    response->status = health.ok ? 200 : 503;
    response->body = health.ok ? "ok\n" : health.reason + "\n";
  } else {
    response->content_type = kJsonType;
    response->body =
        RenderStatus(snapshot).dump(2, ' ', false,
                                    nlohmann::json::error_handler_t::replace) +
        "\n";
  }
}

}  // namespace qd
