#include "core/listen/fork_server_main.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/config/log.h"
#include "core/listen/request_runner.h"
#include "core/listen/request_worker.h"
#include "core/os/fork_child.h"
#include "core/os/process.h"

namespace qd {
namespace {

enum class Received {
  kRequest,  // *conn_id and *worker_fd set
  kBroken,   // answered with an error, so that answers stay in order
  kEof,      // the master closed or retired us
};

// One request from the master: blocking, as the process has nothing else
// to do.
Received Receive(int fd, std::string* conn_id, int* worker_fd) {
  char data[kMaxConnId + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  iovec iov = {data, sizeof(data)};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return Received::kEof;  // EOF, or the socket broke
  *worker_fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      std::memcpy(worker_fd, CMSG_DATA(c), sizeof(int));
    }
  }
  bool ok = *worker_fd >= 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0;
  if (!ok) {
    if (*worker_fd >= 0) close(*worker_fd);
    return Received::kBroken;
  }
  conn_id->assign(data, static_cast<size_t>(n));
  return Received::kRequest;
}

bool Answer(int fd, const ForkAnswer& answer) {
  ssize_t n;
  do {
    n = send(fd, &answer, sizeof(answer), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(answer));
}

// The worker's side of ForkSibling(): what ForkChild does for the master's
// own children, less what the fork server did once for all of them
// (descriptors, signals, the notify socket, a logger of its own). Every
// page the worker writes costs it a copy-on-write fault, so it renames its
// logger rather than building one.
[[noreturn]] void RunWorker(const ListenerConfig& config,
                            RequestHandler& handler, const std::string& conn_id,
                            int server_fd, int channel_fd) {
  close(server_fd);
  Process::SetName("qd-req-" + config.name);
  Log::Rename(config.name + " " + conn_id);
  RequestRunner runner(config, handler, conn_id);
  _exit(ServeChannel(runner, config, channel_fd));
}

// Binds here, once, what each worker would otherwise bind anew: a library
// built without -z now (libstdc++ here) binds its calls into libc at their
// first call, and that lookup reads the symbol tables of every library
// loaded, a page fault in each. What the workers call first is std::string
// moving bytes within itself (memmove); the daemon itself is linked with
// -z now. Found with LD_DEBUG=bindings on a worker.
void BindLazyCalls() {
  std::string s = "bind lazy calls";
  s.insert(0, "x");
  s.erase(0, 1);
  s.replace(0, 4, "b");
  volatile size_t keep = s.size();
  (void)keep;
}

}  // namespace

int ForkServerMain(const ListenerConfig& config, RequestHandler& handler,
                   int fd, pid_t master) {
  // Dies with the master; a master that died before this was set left us
  // to init already.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != master) return 0;
  BindLazyCalls();
  std::string conn_id;
  for (;;) {
    int worker_fd = -1;
    ForkAnswer answer;
    switch (Receive(fd, &conn_id, &worker_fd)) {
      case Received::kEof:
        return 0;
      case Received::kBroken:
        answer.error = EPROTO;
        break;
      case Received::kRequest: {
        pid_t pid = ForkSibling();
        if (pid == 0) RunWorker(config, handler, conn_id, fd, worker_fd);
        answer.pid = pid;
        answer.error = pid < 0 ? errno : 0;
        close(worker_fd);
        break;
      }
    }
    if (!Answer(fd, answer)) return 0;  // the master is gone
  }
}

}  // namespace qd
