#include "core/monitor/http_monitor.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "core/monitor/monitor_render.h"
#include "core/util/host_port.h"

namespace qd {
namespace {

constexpr int kBacklog = 16;
constexpr const char* kTextType = "text/plain; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kJsonType = "application/json";

// A non-blocking listening socket on `ai`, or -1 with errno set.
int ListenOn(const addrinfo* ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
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

void Reply(evhttp_request* req, int code, const char* reason, const char* type,
           const std::string& body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", type);
  evhttp_add_header(headers, "Cache-Control", "no-store");
  // evhttp 2.1 would send a HEAD reply's body: leave it out, keep its length.
  if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
    evhttp_add_header(headers, "Content-Length",
                      std::to_string(body.size()).c_str());
  } else {
    evbuffer_add(evhttp_request_get_output_buffer(req), body.data(),
                 body.size());
  }
  evhttp_send_reply(req, code, reason, nullptr);
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
                         int fd) {
  std::string where = "monitor.http " + host_port;
  if (fd < 0) {
    Status bound = Bind(host_port, &fd);
    if (!bound.ok()) return bound;
  }
  evhttp* http = evhttp_new(base);
  if (http == nullptr || evhttp_accept_socket(http, fd) != 0) {
    if (http != nullptr) evhttp_free(http);
    close(fd);
    return Status::Error(where + ": cannot serve HTTP (libevent)");
  }
  evhttp_set_max_headers_size(http, kMaxHeadersSize);
  evhttp_set_max_body_size(http, kMaxBodySize);
  evhttp_set_timeout(http, kTimeoutSeconds);
  // Every method reaches Handle(), which answers 405 itself; evhttp's own
  // refusal of a disallowed method would be a 501.
  evhttp_set_allowed_methods(
      http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  out->reset(new HttpMonitor(http, LocalPort(fd), std::move(snapshot)));
  return Status::Ok();
}

HttpMonitor::HttpMonitor(evhttp* http, int port, SnapshotFn snapshot)
    : http_(http), port_(port), snapshot_(std::move(snapshot)) {
  evhttp_set_gencb(http_, &HttpMonitor::OnRequest, this);
}

HttpMonitor::~HttpMonitor() { evhttp_free(http_); }

void HttpMonitor::OnRequest(evhttp_request* req, void* arg) {
  // A throwing snapshot or renderer (bad_alloc, a bug) costs one request,
  // not the master.
  try {
    static_cast<HttpMonitor*>(arg)->Handle(req);
  } catch (const std::exception& e) {
    spdlog::error("monitor.http: {}: {}", evhttp_request_get_uri(req),
                  e.what());
    Reply(req, HTTP_INTERNAL, "Internal Server Error", kTextType,
          "internal error\n");
  }
}

void HttpMonitor::Handle(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  std::string_view route = path != nullptr ? path : "";
  if (route != "/metrics" && route != "/healthz" && route != "/status") {
    Reply(req, HTTP_NOTFOUND, "Not Found", kTextType, "not found\n");
    return;
  }
  evhttp_cmd_type method = evhttp_request_get_command(req);
  if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                      "GET, HEAD");
    Reply(req, HTTP_BADMETHOD, "Method Not Allowed", kTextType,
          "method not allowed\n");
    return;
  }
  MonitorSnapshot snapshot = snapshot_();
  if (route == "/metrics") {
    Reply(req, HTTP_OK, "OK", kMetricsType, RenderPrometheus(snapshot));
  } else if (route == "/healthz") {
    Health health = CheckHealth(snapshot);
    if (health.ok) {
      Reply(req, HTTP_OK, "OK", kTextType, "ok\n");
    } else {
      Reply(req, HTTP_SERVUNAVAIL, "Service Unavailable", kTextType,
            health.reason + "\n");
    }
  } else {
    Reply(req, HTTP_OK, "OK", kJsonType,
          RenderStatus(snapshot).dump(
              2, ' ', false, nlohmann::json::error_handler_t::replace) +
              "\n");
  }
}

}  // namespace qd
