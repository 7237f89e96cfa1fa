#include "core/monitor/http_server.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace qd {
namespace {

constexpr auto kFullLogEvery = std::chrono::minutes(1);

}  // namespace

Status HttpServer::Open(event_base* base, int fd, std::string name,
                        const HttpLimits& limits, Handler handler,
                        std::unique_ptr<HttpServer>* out) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(base, std::move(name), limits, std::move(handler)));
  unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
  // Backlog 0: the socket is already listening; evconnlistener leaves it.
  server->listener_ = evconnlistener_new(base, &HttpServer::OnAccept,
                                         server.get(), flags, 0, fd);
  if (server->listener_ == nullptr || server->reaper_ == nullptr) {
    if (server->listener_ == nullptr) close(fd);
    return Status::Error(server->name_ + ": cannot serve HTTP (libevent)");
  }
  evconnlistener_set_error_cb(server->listener_, &HttpServer::OnAcceptError);
  evconnlistener* listener = server->listener_;
  server->pause_ = std::make_unique<AcceptPause>(
      base, server->name_, limits.accept_pause, [listener](bool accept) {
        if (accept) {
          evconnlistener_enable(listener);
        } else {
          evconnlistener_disable(listener);
        }
      });
  *out = std::move(server);
  return Status::Ok();
}

HttpServer::HttpServer(event_base* base, std::string name,
                       const HttpLimits& limits, Handler handler)
    : base_(base),
      name_(std::move(name)),
      limits_(limits),
      handler_(std::move(handler)),
      reaper_(event_new(base, -1, 0, &HttpServer::OnReap, this)) {}

HttpServer::~HttpServer() {
  pause_.reset();
  if (listener_ != nullptr) evconnlistener_free(listener_);
  if (reaper_ != nullptr) event_free(reaper_);
}

void HttpServer::OnAccept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  static_cast<HttpServer*>(arg)->Accept(fd);
}

void HttpServer::OnAcceptError(evconnlistener*, void* arg) {
  auto* self = static_cast<HttpServer*>(arg);
  int error = EVUTIL_SOCKET_ERROR();
  if (self->pause_->OnAcceptError(error)) return;
  spdlog::error("{}: accept: {}", self->name_, std::strerror(error));
}

void HttpServer::OnReap(int, short, void* arg) {
  static_cast<HttpServer*>(arg)->closed_.clear();
}

void HttpServer::Accept(int fd) {
  pause_->OnAccepted();
  if (open_.size() >= limits_.max_connections && !MakeRoom()) {
    return RefuseFull(fd);
  }
  HttpConnection::Owner* owner = this;
  auto connection = std::make_unique<HttpConnection>(base_, fd, limits_, owner);
  if (!connection->Start()) {
    spdlog::error("{}: cannot serve a connection (libevent)", name_);
    return;  // the destructor closes it
  }
  open_.push_back(std::move(connection));
}

bool HttpServer::MakeRoom() {
  LogFull();
  auto oldest = std::find_if(open_.begin(), open_.end(),
                             [](const auto& c) { return c->evictable(); });
  if (oldest == open_.end()) return false;
  ++evicted_;
  (*oldest)->Close();  // moves it to closed_
  return true;
}

void HttpServer::RefuseFull(int fd) {
  ++refused_;
  HttpResponse response = TextResponse(503);
  response.body = "too many connections\n";
  std::string text = ResponseHead(response, false, false) + response.body;
  // A new socket's send buffer takes this small reply whole; if it does
  // not, the client sees the close alone.
  ssize_t sent =
      send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)sent;
  close(fd);
}

void HttpServer::LogFull() {
  auto now = std::chrono::steady_clock::now();
  if (full_logged_ever_ && now - full_logged_ < kFullLogEvery) return;
  full_logged_ever_ = true;
  full_logged_ = now;
  spdlog::warn(
      "{}: {} connections open, the cap: a new one closes the oldest "
      "unanswered one, or is answered 503 ({} closed, {} refused so far)",
      name_, limits_.max_connections, evicted_, refused_);
}

void HttpServer::OnRequest(const HttpRequest& request, HttpResponse* response,
                           HttpDeferral* deferral) {
  // A throwing handler (bad_alloc, a bug) costs one request (a deferred
  // one is answered by its deadline).
  try {
    handler_(request, response, deferral);
  } catch (const std::exception& e) {
    spdlog::error("{}: {} {}: {}", name_, request.method, request.target,
                  e.what());
    *response = TextResponse(500);
    response->body = "internal error\n";
  }
}

size_t HttpServer::BodyLimit(const HttpRequest& request) {
  return body_limit_ ? body_limit_(request) : limits_.max_body_bytes;
}

HttpResponse HttpServer::Refusal(const HttpRequest& request, int status) {
  return refusal_ ? refusal_(request, status) : TextResponse(status);
}

void HttpServer::OnClosed(HttpConnection* connection) {
  auto it = std::find_if(
      open_.begin(), open_.end(),
      [connection](const auto& c) { return c.get() == connection; });
  if (it == open_.end()) return;
  closed_.push_back(std::move(*it));
  open_.erase(it);
  event_active(reaper_, 0, 0);
}

}  // namespace qd
