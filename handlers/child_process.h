// ChildProcess: runs one command to its end, for the exec handler.
//
// The command is started with posix_spawn (a worker may have helper threads,
// so no fork followed by malloc), in its own process group, with default
// signal dispositions and an empty signal mask (a worker ignores SIGPIPE and
// blocks SIGTERM; the command must not inherit that), and with no
// descriptor of ours but its stdin, stdout and stderr pipes. Run() feeds its
// stdin and reads its output in one poll() loop, so a command that writes a
// lot before reading cannot deadlock against us; it ends when the command
// exits (a pidfd tells when; without one, a short tick). On timeout the
// whole process group gets SIGTERM, then SIGKILL after the kill grace. The
// child is always reaped, also when Run() is left by an exception (the
// destructor kills and reaps it). One object per run, one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "output_logger.h"

namespace qd {

class ChildProcess {
 public:
  struct Outcome {
    int spawn_error = 0;     // errno when it could not start; 0 = it ran
    bool timed_out = false;  // we killed it after the timeout
    // How it ended: exit_code >= 0 when it exited, signal > 0 when a signal
    // ended it; neither when it was reaped by someone else (SIGCHLD
    // ignored) and its status is unknown.
    int exit_code = -1;
    int signal = 0;
    size_t input_unread = 0;  // stdin bytes it closed without reading
  };
  using OutputFn =
      std::function<void(OutputLogger::Stream stream, std::string_view chunk)>;

  static constexpr std::chrono::milliseconds kDefaultKillGrace{2000};

  // `argv[0]` is run as posix_spawnp does (PATH search when it has no
  // slash); `env` is its whole environment ("NAME=value" each).
  // REQUIRES: !argv.empty().
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
               std::chrono::milliseconds kill_grace = kDefaultKillGrace);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts the command, writes `input` to its stdin (then closes it), passes
  // its output to `output` as it arrives, and returns once it has exited
  // and been reaped. `timeout` > 0 bounds the run (then SIGTERM, and SIGKILL
  // after the kill grace). Call once.
  Outcome Run(std::string_view input, std::chrono::milliseconds timeout,
              const OutputFn& output);

 private:
  using Clock = std::chrono::steady_clock;

  int Spawn();
  // One poll() round of at most `wait`: writes input, reads output.
  void PumpOnce(std::string_view* input, Clock::duration wait,
                const OutputFn& output, Outcome* outcome);
  void WriteInput(std::string_view* input, Outcome* outcome);
  void ReadOutput(int* fd, OutputLogger::Stream stream, const OutputFn& output);
  // What is left in the pipes once the child has exited.
  void Drain(const OutputFn& output);
  bool Reaped(int* status);
  void Signal(int sig);
  void CloseAll();

  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  std::chrono::milliseconds kill_grace_;
  pid_t pid_ = -1;                     // until reaped
  int pidfd_ = -1;                     // -1 when the kernel has no pidfd_open
  int in_ = -1, out_ = -1, err_ = -1;  // our ends of its stdin/out/err
};

}  // namespace qd
