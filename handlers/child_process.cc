#include "child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace qd {
namespace {

constexpr size_t kChunk = 64 * 1024;
// A wait status no exited child has: "it is gone, how is unknown".
constexpr int kStatusLost = -1;
// Output read after the child exited: what its pipes held, not a
// grandchild that keeps writing.
constexpr size_t kMaxDrain = 1024 * 1024;
// Without a pidfd, how often to look whether the child exited.
constexpr std::chrono::milliseconds kTickWithOutput{100};
constexpr std::chrono::milliseconds kTickWithoutOutput{5};

void Close(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Moves `fd` to a number >= 3, so that no pipe end sits on 0-2 where the
// child's dup2 of another pipe would overwrite it.
int AboveStdio(int fd) {
  if (fd >= 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

// A close-on-exec pipe with both ends above stdio; errno on failure.
int MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) {
    fds[0] = fds[1] = -1;
    return errno;
  }
  fds[0] = AboveStdio(fds[0]);
  fds[1] = AboveStdio(fds[1]);
  if (fds[0] >= 0 && fds[1] >= 0) return 0;
  int error = errno;
  Close(&fds[0]);
  Close(&fds[1]);
  return error;
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int PollMs(std::chrono::steady_clock::duration wait) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX));
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv,
                           std::vector<std::string> env,
                           std::chrono::milliseconds kill_grace)
    : argv_(std::move(argv)), env_(std::move(env)), kill_grace_(kill_grace) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    Signal(SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  CloseAll();
}

ChildProcess::Outcome ChildProcess::Run(std::string_view input,
                                        std::chrono::milliseconds timeout,
                                        const OutputFn& output) {
  Outcome outcome;
  outcome.spawn_error = Spawn();
  if (outcome.spawn_error != 0) return outcome;
  if (input.empty()) Close(&in_);
  Clock::time_point deadline =
      timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  int status = 0;
  while (!Reaped(&status)) {
    Clock::time_point now = Clock::now();
    if (now >= deadline && !outcome.timed_out) {
      outcome.timed_out = true;
      Signal(SIGTERM);
      deadline = now + kill_grace_;
    } else if (now >= deadline) {
      Signal(SIGKILL);
      deadline = Clock::time_point::max();  // SIGKILL cannot be ignored
    }
    PumpOnce(&input, deadline - now, output, &outcome);
  }
  Drain(output);
  CloseAll();
  outcome.input_unread += input.size();
  if (status == kStatusLost) return outcome;
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

int ChildProcess::Spawn() {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int error = MakePipe(in);
  if (error == 0) error = MakePipe(out);
  if (error == 0) error = MakePipe(err);
  if (error != 0) {
    for (int* fd : {&in[0], &in[1], &out[0], &out[1], &err[0], &err[1]}) {
      Close(fd);
    }
    return error;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  // Descriptors a worker forgot to mark close-on-exec (its master socket,
  // Redis links) must not outlive the job in a stray grandchild.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
  std::vector<char*> argv = CStrings(argv_);
  std::vector<char*> env = CStrings(env_);
  error =
      posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), env.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (error != 0) {
    pid_ = -1;
    CloseAll();
    return error;
  }
  for (int fd : {in_, out_, err_}) SetNonBlocking(fd);
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  return 0;
}

void ChildProcess::PumpOnce(std::string_view* input, Clock::duration wait,
                            const OutputFn& output, Outcome* outcome) {
  pollfd fds[4];
  nfds_t n = 0;
  for (int fd : {in_, out_, err_, pidfd_}) {
    if (fd >= 0)
      fds[n++] = {fd, static_cast<short>(fd == in_ ? POLLOUT : POLLIN), 0};
  }
  if (pidfd_ < 0) {
    wait = std::min<Clock::duration>(
        wait, out_ >= 0 || err_ >= 0 ? kTickWithOutput : kTickWithoutOutput);
  }
  if (poll(fds, n, PollMs(wait)) <= 0) return;
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == in_) WriteInput(input, outcome);
    if (fds[i].fd == out_)
      ReadOutput(&out_, OutputLogger::Stream::kStdout, output);
    if (fds[i].fd == err_)
      ReadOutput(&err_, OutputLogger::Stream::kStderr, output);
  }
}

void ChildProcess::WriteInput(std::string_view* input, Outcome* outcome) {
  ssize_t n = write(in_, input->data(), std::min(input->size(), kChunk));
  if (n > 0) input->remove_prefix(static_cast<size_t>(n));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0) {
    // EPIPE: it closed its stdin (or exited) without reading everything.
    outcome->input_unread += input->size();
    *input = {};
  }
  if (input->empty()) Close(&in_);
}

void ChildProcess::ReadOutput(int* fd, OutputLogger::Stream stream,
                              const OutputFn& output) {
  char buf[kChunk];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n > 0) {
    output(stream, std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    Close(fd);
  }
}

void ChildProcess::Drain(const OutputFn& output) {
  char buf[kChunk];
  size_t drained = 0;
  for (auto [fd, stream] : {std::pair{out_, OutputLogger::Stream::kStdout},
                            std::pair{err_, OutputLogger::Stream::kStderr}}) {
    ssize_t n;
    while (fd >= 0 && drained < kMaxDrain &&
           (n = read(fd, buf, sizeof(buf))) > 0) {
      drained += static_cast<size_t>(n);
      output(stream, std::string_view(buf, static_cast<size_t>(n)));
    }
  }
}

bool ChildProcess::Reaped(int* status) {
  pid_t r = waitpid(pid_, status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return false;
  // r == pid_, or an error (ECHILD: someone else reaped it, e.g. SIGCHLD
  // set to SIG_IGN): either way, there is nothing left to wait for.
  if (r < 0) *status = kStatusLost;
  pid_ = -1;
  return true;
}

void ChildProcess::Signal(int sig) {
  if (pid_ <= 0) return;
  // The command's whole group: `sh -c` leaves its own children behind.
  if (kill(-pid_, sig) != 0) kill(pid_, sig);
}

void ChildProcess::CloseAll() {
  Close(&in_);
  Close(&out_);
  Close(&err_);
  Close(&pidfd_);
}

}  // namespace qd
