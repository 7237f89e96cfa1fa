// Helpers for integration tests that run the real binaries: a temporary
// directory, a private redis-server on a free loopback port, and a
// queuedaemon started with a given config. Everything started is stopped by
// pid in the destructors. Waiting is always on a condition with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qd::test {

using std::chrono::milliseconds;

// Polls `cond` every 5 ms until it is true or `deadline` passed.
bool WaitFor(const std::function<bool()>& cond, milliseconds deadline);

// Starts `args` (PATH searched) with `env` added, stdout and stderr to `log`
// (appended unless `truncate`), stdin from `in` ("" = inherited), and with
// its descriptor limit (RLIMIT_NOFILE, soft and hard) set to `nofile` when
// that is > 0.
pid_t Spawn(const std::vector<std::string>& args,
            const std::vector<std::string>& env, const std::string& log,
            const std::string& in = "", bool truncate = false, long nofile = 0);
// SIGTERM to a child of this process, SIGKILL after 10 s; reaps it. Does
// nothing for pid <= 0 (never signals a process group).
void StopPid(pid_t pid);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// A port on 127.0.0.1 that was free a moment ago.
int FreePort();
// Children of `parent` by name prefix, e.g. "qd-worker-" -> slot -> pid.
std::map<int, pid_t> ChildrenByPrefix(pid_t parent, const std::string& prefix);
// Pids of the live children of `parent` whose name starts with `prefix`
// (for children whose names do not end in a slot number, e.g. "qd-req-").
// Every pid returned was alive at one moment, so the count never exceeds
// how many such children really lived at once.
std::vector<pid_t> ChildPids(pid_t parent, const std::string& prefix);
// Children of `parent` that exited and were not reaped.
std::vector<pid_t> Zombies(pid_t parent);
// utime + stime of a process.
milliseconds CpuTime(pid_t pid);
// cutime + cstime: what the process's reaped children used.
milliseconds ChildrenCpuTime(pid_t pid);
bool Alive(pid_t pid);   // exists and is not a zombie
long RssKiB(pid_t pid);  // VmRSS, 0 if the process is gone
// Sends a command to a Redis server over TCP or a unix socket; "" on error.
std::string RedisCommand(const std::string& host_or_socket, int port,
                         const std::string& command);

// Sends many commands in one pipeline over TCP; returns how many replies
// were not errors. The helpers below log in with `password` first when it
// is not empty ("AUTH password", the default user).
size_t RedisPipeline(int port,
                     const std::vector<std::vector<std::string>>& cmds,
                     const std::string& password = "");
// An integer reply (XLEN, ZCARD ...), -1 on error.
long long RedisInt(int port, const std::vector<std::string>& cmd,
                   const std::string& password = "");
// Every string, status and integer in the reply, depth first (XRANGE,
// ZRANGE ...); empty on error.
std::vector<std::string> RedisStrings(int port,
                                      const std::vector<std::string>& cmd,
                                      const std::string& password = "");

// A real redis-server on 127.0.0.1:<free port>. By default no persistence;
// `aof` turns on the append-only file with fsync on every write.
class RedisServer {
 public:
  explicit RedisServer(bool aof = false);
  // Without AOF, with `args` added to redis-server's command line (e.g.
  // {"--requirepass", PW}); `password` is what the harness's own readiness
  // check logs in with (the default user's).
  RedisServer(std::vector<std::string> args, std::string password);
  ~RedisServer();
  int port() const { return port_; }
  std::string url() const;
  pid_t pid() const { return pid_; }
  // kill -9 (Start() runs it again on the same port and data directory).
  void Kill();
  // False when it is running already or did not come up.
  bool Start();

 private:
  void Boot();  // on a free port, or throws

  TempDir dir_;
  bool aof_;
  std::vector<std::string> args_;
  std::string password_;
  int port_ = 0;
  pid_t pid_ = 0;
};

// The testkit plugin's record file: payload -> number of runs.
std::map<std::string, int> ReadRecord(const std::string& path);

// A queuedaemon process in the foreground, stderr to a log file.
class Daemon {
 public:
  // `config_yaml` is written to the daemon's own temp dir as qd.yaml; a
  // "RUN_DIR" in it is replaced by that directory. `nofile` > 0 starts it
  // with that descriptor limit (as `prlimit --nofile=N:N` would). `binary`
  // (a benchmark's baseline build) replaces the queuedaemon of this build.
  Daemon(const std::string& config_yaml,
         std::vector<std::string> extra_args = {},
         std::vector<std::string> env = {}, long nofile = 0,
         const std::string& binary = "");
  ~Daemon();

  pid_t pid() const { return pid_; }
  const TempDir& dir() const { return dir_; }
  std::string config_path() const { return dir_.File("qd.yaml"); }
  // Writes qd.yaml anew (RUN_DIR replaced), e.g. before a SIGHUP.
  void WriteConfig(const std::string& config_yaml) const;
  std::map<int, pid_t> Workers() const;
  // SIGKILLs the worker `random % count` of those alive; its slot and pid,
  // or nothing when none was alive (or the kill failed).
  std::optional<std::pair<int, pid_t>> KillWorker(uint32_t random) const;
  // The host dies: the master is stopped (so it respawns nothing), its
  // workers and then it are SIGKILLed, and it is reaped. Returns how many
  // workers were killed.
  size_t Crash();
  // Waits until exactly `n` workers (slots 0..n-1) are alive.
  bool WaitForWorkers(size_t n, milliseconds deadline = milliseconds(5000));
  std::string Log() const;
  std::string LogTail(size_t lines) const;  // the last `lines` lines
  size_t LogCount(const std::string& needle) const;
  bool WaitForLog(const std::string& needle, size_t count = 1,
                  milliseconds deadline = milliseconds(5000));
  void Signal(int sig) const;
  // Waits for the master to exit; returns its exit code, -1 on timeout,
  // 128+N for signal N.
  int WaitExit(milliseconds deadline = milliseconds(10000));

 private:
  TempDir dir_;
  pid_t pid_ = 0;
  int exit_code_ = -1;
};

// Writes `yaml` to dir/name and runs `queuedaemon --check-config` on it;
// returns its exit code, *output gets what it printed.
int CheckConfig(const TempDir& dir, const std::string& name,
                const std::string& yaml, std::string* output);

// A config for tests: `threads` workers, the given Redis, extra YAML for
// the daemon section (indented by the caller) and extra top-level YAML.
std::string TestConfig(int threads, const std::string& redis_url,
                       const std::string& daemon_extra = "",
                       const std::string& top_extra = "");

// A client of a listener that frames with a terminator, over TCP on
// 127.0.0.1 or a unix socket. Blocking socket; reads wait with poll() up to
// a deadline, so a test never hangs on a silent server. Not thread-safe.
class LineClient {
 public:
  // Connects at once; connected() says whether it worked.
  static LineClient Tcp(int port, std::string terminator = "\n");
  static LineClient Unix(const std::string& path,
                         std::string terminator = "\n");
  LineClient() = default;  // not connected
  LineClient(LineClient&& other) noexcept;
  LineClient& operator=(LineClient&& other) noexcept;
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;
  ~LineClient();

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The peer closed (or reset) the connection; lines read before that can
  // still be taken with ReadLine().
  bool closed() const { return closed_; }
  // Writes `bytes` as they are; false if not all could be written.
  bool Send(const std::string& bytes);
  // Writes `line` and the terminator.
  bool SendLine(const std::string& line) { return Send(line + terminator_); }
  // The next reply without its terminator; nullopt if none came within
  // `deadline` or the connection closed first. A zero deadline takes only
  // what has already arrived.
  std::optional<std::string> ReadLine(milliseconds deadline);
  // SendLine() then ReadLine().
  std::optional<std::string> Request(const std::string& line,
                                     milliseconds deadline);
  // Reads until the peer closes; false if it is still open at `deadline`.
  bool WaitClosed(milliseconds deadline);
  // Bytes received and not yet returned as lines.
  const std::string& pending() const { return buffer_; }
  void Close();

 private:
  LineClient(int fd, std::string terminator)
      : fd_(fd), terminator_(std::move(terminator)) {}
  // One poll() of at most `wait` then one recv(); false if nothing came.
  bool Fill(milliseconds wait);

  int fd_ = -1;
  bool closed_ = false;
  std::string terminator_;
  std::string buffer_;
};

// A config for the queuectl tests: sites default (queues mail, noop) and
// other (prefix xx, queue q1), all on `redis_url` unless `other_redis`
// gives `other` its own.
std::string CtlConfig(const std::string& redis_url,
                      const std::string& other_redis = "");

// `arg` quoted for sh ('...').
std::string ShellQuote(const std::string& arg);
// The whole file, "" if it cannot be read.
std::string ReadFileText(const std::string& path);

// What a run of queuectl printed and returned.
struct CtlResult {
  int code = -1;  // exit code, -1 if it did not exit normally
  std::string out;
  std::string err;
  milliseconds took{0};
};
// Runs build/bin/queuectl ARGS in `dir` (where ARGS may name qd.yaml),
// `input` on stdin, stdout and stderr captured.
CtlResult RunQueuectl(const TempDir& dir, const std::vector<std::string>& args,
                      const std::string& input = "");

// GET http://127.0.0.1:PORT/PATH over HTTP/1.0; returns the status code
// (-1: no answer within `deadline`), *body the body.
int HttpGet(int port, const std::string& path, std::string* body,
            milliseconds deadline = milliseconds(5000));

// A UDP socket on 127.0.0.1:<free port> that collects datagrams (a statsd
// receiver for the tests).
class UdpReceiver {
 public:
  UdpReceiver();
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;
  int port() const { return port_; }
  // Datagrams that arrive within `wait` (at least one poll).
  std::vector<std::string> Receive(milliseconds wait);

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace qd::test
