#include "ceilings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace qd::bench {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

double ForkCeiling(double seconds) {
  auto start = Clock::now();
  auto until = start + std::chrono::duration<double>(seconds);
  std::vector<std::pair<pid_t, int>> forkers;
  for (int i = 0; i < 2; ++i) {
    int p[2];
    if (pipe(p) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      long n = 0;
      while (n < 1000000 && Clock::now() < until) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (c < 0) break;
        waitpid(c, nullptr, 0);
        ++n;
      }
      (void)!write(p[1], &n, sizeof n);
      _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      break;
    }
    forkers.emplace_back(pid, p[0]);
  }
  long total = 0;
  for (auto [pid, fd] : forkers) {
    long n = 0;
    if (read(fd, &n, sizeof n) == sizeof n) total += n;
    close(fd);
    waitpid(pid, nullptr, 0);
  }
  return total / std::chrono::duration<double>(Clock::now() - start).count();
}

pid_t StartEchoServer(int* port) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(lfd, 128) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (lfd >= 0) close(lfd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  pid_t pid = fork();
  if (pid != 0) {
    close(lfd);
    return pid;
  }
  std::vector<pollfd> fds = {{lfd, POLLIN, 0}};
  std::vector<std::string> in(1);
  char buf[4096];
  for (;;) {  // until the bench kills it
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fds.push_back({fd, POLLIN, 0});
        in.emplace_back();
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0 || fds[i].fd < 0) continue;
      ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores it
        continue;
      }
      in[i].append(buf, n);
      std::string out;
      size_t eol;
      while ((eol = in[i].find('\n')) != std::string::npos) {
        out += in[i].substr(5, eol - 5) + "\n";  // after "ECHO "
        in[i].erase(0, eol + 1);
      }
      if (!out.empty()) (void)send(fds[i].fd, out.data(), out.size(), 0);
    }
  }
}

}  // namespace qd::bench
