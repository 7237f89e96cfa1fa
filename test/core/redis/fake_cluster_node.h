// FakeClusterNode: a loopback TCP server that speaks enough RESP to stand
// for one Redis Cluster node in unit tests of the clients (RedisClient,
// RedisConn): it serves every slot (CLUSTER SLOTS names itself), says
// "master" to ROLE, takes any AUTH (and records it), and answers other
// commands with the test's `answer`, told whether ASKING came just before.
// An empty answer is no answer (a hung node). It runs on its own thread
// (poll on the listening socket and its clients, 20 ms at a time, so the
// destructor's stop is seen), so a synchronous client may call it from the
// test's thread. Every command it read is kept (`seen()`), ASKING included.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qd::test {

class FakeClusterNode {
 public:
  using Args = std::vector<std::string>;
  // The reply to `args` as RESP text ("+OK\r\n"), or "" for none.
  using Answer = std::function<std::string(const Args& args, bool asking)>;

  explicit FakeClusterNode(Answer answer) : answer_(std::move(answer)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(listen_, 16);
    socklen_t len = sizeof(a);
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeClusterNode() {
    stop_ = true;
    thread_.join();
    for (Client& c : clients_) close(c.fd);
    close(listen_);
  }
  FakeClusterNode(const FakeClusterNode&) = delete;
  FakeClusterNode& operator=(const FakeClusterNode&) = delete;

  int port() const { return port_; }
  std::vector<Args> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // Commands named `name` read so far.
  int Count(const std::string& name) const {
    int n = 0;
    for (const Args& a : seen()) n += !a.empty() && a[0] == name;
    return n;
  }
  int connections() const { return accepted_; }

  static std::string Bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }

 private:
  struct Client {
    int fd;
    std::string in;
    bool asking = false;
  };

  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_, POLLIN, 0}};
      for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          clients_.push_back({fd, "", false});
          ++accepted_;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Client& c = clients_[i - 1];
        char buf[4096];
        ssize_t n = read(c.fd, buf, sizeof(buf));
        if (n <= 0) {
          close(c.fd);
          c.fd = -1;
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        Args args;
        while (Parse(&c.in, &args)) Serve(&c, args);
      }
      clients_.erase(std::remove_if(clients_.begin(), clients_.end(),
                                    [](const Client& c) { return c.fd < 0; }),
                     clients_.end());
    }
  }

  void Serve(Client* c, const Args& args) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(args);
    }
    std::string out;
    bool asking = c->asking;
    c->asking = false;
    if (args[0] == "ASKING") {
      c->asking = true;
      out = "+OK\r\n";
    } else if (args[0] == "AUTH") {
      out = "+OK\r\n";
    } else if (args[0] == "ROLE") {
      out = "*3\r\n" + Bulk("master") + ":0\r\n*0\r\n";
    } else if (args[0] == "CLUSTER" && args.size() > 1 && args[1] == "SLOTS") {
      out = "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n" + Bulk("127.0.0.1") + ":" +
            std::to_string(port_) + "\r\n";
    } else {
      out = answer_(args, asking);
    }
    if (!out.empty()) (void)!write(c->fd, out.data(), out.size());
  }

  // One command ("*N\r\n$L\r\nARG\r\n..." ) off the front of `in`.
  static bool Parse(std::string* in, Args* args) {
    args->clear();
    size_t at = 0;
    auto line = [&](char type, long* n) {
      size_t end = in->find("\r\n", at);
      if (end == std::string::npos || (*in)[at] != type) return false;
      *n = std::stol(in->substr(at + 1, end - at - 1));
      at = end + 2;
      return true;
    };
    long count = 0;
    if (!line('*', &count)) return false;
    for (long i = 0; i < count; ++i) {
      long len = 0;
      if (!line('$', &len)) return false;
      if (in->size() < at + static_cast<size_t>(len) + 2) return false;
      args->push_back(in->substr(at, static_cast<size_t>(len)));
      at += static_cast<size_t>(len) + 2;
    }
    in->erase(0, at);
    return count > 0;
  }

  Answer answer_;
  int listen_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<Client> clients_;  // the thread's only
  mutable std::mutex mu_;
  std::vector<Args> seen_;
};

}  // namespace qd::test
