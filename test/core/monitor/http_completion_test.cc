#include "core/monitor/http_completion.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/monitor/http_monitor.h"
#include "core/monitor/http_server.h"

namespace qd {
namespace {

using Clock = std::chrono::steady_clock;

// What the handler does with a request, by path.
//   /now        answers at once
//   /later/MS   defers and completes after MS ms (a timer on the loop)
//   /never      defers and never completes
struct Pending {
  HttpCompletion done;
  std::string body;
};

void OnLater(evutil_socket_t, short, void* arg) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
  HttpResponse r;
  r.body = p->body;
  p->done.Complete(r);
  p->done.Complete(r);  // a second answer does nothing
}

class HttpCompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_EQ(pipe2(stop_, O_CLOEXEC | O_NONBLOCK), 0);
    stop_event_ = event_new(
        base_, stop_[0], EV_READ,
        [](evutil_socket_t, short, void* b) {
          event_base_loopbreak(static_cast<event_base*>(b));
        },
        base_);
    event_add(stop_event_, nullptr);
    int fd = -1;
    ASSERT_TRUE(HttpMonitor::Bind("127.0.0.1:0", &fd).ok());
    sockaddr_in addr = {};
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    HttpLimits limits;
    limits.answer_deadline = std::chrono::milliseconds(300);
    Status s = HttpServer::Open(
        base_, fd, "test", limits,
        [this](const HttpRequest& req, HttpResponse* resp, HttpDeferral* d) {
          Handle(req, resp, d);
        },
        &server_);
    ASSERT_TRUE(s.ok()) << s.message();
    loop_ = std::thread([this] { event_base_dispatch(base_); });
  }

  void TearDown() override {
    EXPECT_EQ(write(stop_[1], "x", 1), 1);
    loop_.join();
    server_.reset();
    // A completion kept past its server does nothing.
    kept_.Complete(HttpResponse());
    EXPECT_FALSE(kept_.waiting());
    event_free(stop_event_);
    event_base_free(base_);
    close(stop_[0]);
    close(stop_[1]);
  }

  void Handle(const HttpRequest& req, HttpResponse* resp, HttpDeferral* d) {
    if (req.path == "/now") {
      resp->body = "now";
      return;
    }
    HttpResponse late;
    late.status = 504;
    late.body = "late";
    if (req.path == "/never") {
      kept_ = d->Defer(late);
      return;
    }
    int ms = std::stoi(req.path.substr(7));
    auto* p = new Pending{d->Defer(late), "later " + std::to_string(ms)};
    timeval tv = {0, ms * 1000};
    event_base_once(base_, -1, EV_TIMEOUT, &OnLater, p, &tv);
  }

  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }

  // Everything the server sends on `fd` until it closes or 3 s pass.
  static std::string ReadAll(int fd) {
    std::string text;
    auto deadline = Clock::now() + std::chrono::seconds(3);
    char buf[4096];
    while (Clock::now() < deadline) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    return text;
  }

  static void Send(int fd, const std::string& text) {
    ASSERT_EQ(send(fd, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }

  event_base* base_ = nullptr;
  int stop_[2] = {-1, -1};
  event* stop_event_ = nullptr;
  int port_ = 0;
  std::unique_ptr<HttpServer> server_;
  std::thread loop_;
  HttpCompletion kept_;  // of /never, touched on the loop only until TearDown
};

TEST_F(HttpCompletionTest, AnswersLater) {
  int fd = Connect();
  Send(fd, "GET /later/50 HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string got = ReadAll(fd);
  close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("\r\n\r\nlater 50"), std::string::npos) << got;
}

TEST_F(HttpCompletionTest, DeadlinePassedSendsTheDeferralsReply) {
  int fd = Connect();
  auto start = Clock::now();
  Send(fd, "GET /never HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string got = ReadAll(fd);
  close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 504 Gateway Timeout\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("\r\n\r\nlate"), std::string::npos) << got;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpCompletionTest, PipelinedRepliesKeepTheirOrder) {
  int fd = Connect();
  // The first is answered last on the loop, yet its reply comes first.
  Send(fd,
       "GET /later/150 HTTP/1.1\r\n\r\n"
       "GET /now HTTP/1.1\r\n\r\n"
       "GET /later/10 HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string got = ReadAll(fd);
  close(fd);
  size_t a = got.find("later 150");
  size_t b = got.find("\r\n\r\nnow");
  size_t c = got.find("later 10");
  ASSERT_NE(a, std::string::npos) << got;
  ASSERT_NE(b, std::string::npos) << got;
  ASSERT_NE(c, std::string::npos) << got;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_F(HttpCompletionTest, ClientLeavingMakesTheCompletionANoOp) {
  int fd = Connect();
  Send(fd, "GET /later/200 HTTP/1.1\r\n\r\n");
  // Gone before the answer: the connection closes and is freed, the timer's
  // Complete() finds nothing to answer (ASan would see a use after free).
  std::this_thread::yield();
  close(fd);
  int other = Connect();
  Send(other, "GET /later/250 HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string got = ReadAll(other);  // past the first one's timer
  close(other);
  EXPECT_NE(got.find("later 250"), std::string::npos) << got;
}

}  // namespace
}  // namespace qd
