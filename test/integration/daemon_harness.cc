#include "daemon_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace qd::test {
namespace {

// Fields of /proc/PID/stat after the command name: state is [0].
std::vector<std::string> StatFields(pid_t pid, std::string* comm) {
  std::string line = ReadFileText("/proc/" + std::to_string(pid) + "/stat");
  auto open = line.find('('), close = line.rfind(')');
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos) return out;
  if (comm != nullptr) *comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 1));
  std::string f;
  while (rest >> f) out.push_back(f);
  return out;
}

}  // namespace

pid_t Spawn(const std::vector<std::string>& args,
            const std::vector<std::string>& env, const std::string& log,
            const std::string& in, bool truncate, long nofile) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (nofile > 0) {
      rlimit limit = {static_cast<rlim_t>(nofile), static_cast<rlim_t>(nofile)};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (!in.empty()) dup2(open(in.c_str(), O_RDONLY), 0);
    int fd = open(log.c_str(),
                  O_WRONLY | O_CREAT | (truncate ? O_TRUNC : O_APPEND), 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& e : env) putenv(strdup(e.c_str()));
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(strdup(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void StopPid(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  if (!WaitFor([&] { return waitpid(pid, nullptr, WNOHANG) != 0; },
               milliseconds(10000))) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

bool WaitFor(const std::function<bool()>& cond, milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return cond();
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/qdtest.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::string cmd = "rm -rf '" + path_ + "'";
  (void)!std::system(cmd.c_str());
}

void TempDir::Write(const std::string& name, const std::string& text) const {
  std::string tmp = File(name + ".tmp");
  std::ofstream(tmp) << text;
  std::rename(tmp.c_str(), File(name).c_str());
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::map<int, pid_t> ChildrenByPrefix(pid_t parent, const std::string& prefix) {
  std::map<int, pid_t> out;
  for (pid_t pid : ChildPids(parent, prefix)) {
    std::string comm;
    StatFields(pid, &comm);
    out[std::atoi(comm.c_str() + prefix.size())] = pid;
  }
  return out;
}

namespace {

// The children of `parent` whose state ("R", "S", "Z", ...) and name pass
// `keep`, in one scan of /proc.
std::vector<pid_t> ScanChildren(
    pid_t parent, const std::function<bool(const std::string& state,
                                           const std::string& comm)>& keep) {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::string comm;
    auto f = StatFields(pid, &comm);
    if (f.size() >= 2 && std::atoi(f[1].c_str()) == parent &&
        keep(f[0], comm)) {
      out.push_back(pid);
    }
  }
  closedir(dir);
  return out;
}

}  // namespace

std::vector<pid_t> Zombies(pid_t parent) {
  return ScanChildren(parent, [](const std::string& state, const std::string&) {
    return state == "Z";
  });
}

std::vector<pid_t> ChildPids(pid_t parent, const std::string& prefix) {
  std::vector<pid_t> out = ScanChildren(
      parent, [&](const std::string& state, const std::string& comm) {
        return state != "Z" && comm.rfind(prefix, 0) == 0;
      });
  // The scan is not atomic: a child seen early may be gone, and a newer one
  // seen later. Keeping only those still alive now makes the answer a set
  // that was alive at one moment (the end of the scan).
  std::vector<pid_t> alive;
  for (pid_t pid : out) {
    if (Alive(pid)) alive.push_back(pid);
  }
  return alive;
}

milliseconds CpuTime(pid_t pid) {
  auto f = StatFields(pid, nullptr);
  if (f.size() < 13) return milliseconds(0);
  long ticks = std::atol(f[11].c_str()) + std::atol(f[12].c_str());
  return milliseconds(ticks * 1000 / sysconf(_SC_CLK_TCK));
}

milliseconds ChildrenCpuTime(pid_t pid) {
  auto f = StatFields(pid, nullptr);
  if (f.size() < 15) return milliseconds(0);
  long ticks = std::atol(f[13].c_str()) + std::atol(f[14].c_str());
  return milliseconds(ticks * 1000 / sysconf(_SC_CLK_TCK));
}

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

bool Alive(pid_t pid) {
  auto f = StatFields(pid, nullptr);
  return !f.empty() && f[0] != "Z";
}

std::map<std::string, int> ReadRecord(const std::string& path) {
  std::map<std::string, int> out;
  std::ifstream in(path);
  std::string payload, rest;
  while (in >> payload && std::getline(in, rest)) ++out[payload];
  return out;
}

Daemon::Daemon(const std::string& config_yaml,
               std::vector<std::string> extra_args,
               std::vector<std::string> env, long nofile,
               const std::string& binary) {
  WriteConfig(config_yaml);
  // Traversable by all, so that a daemon started with --user reaches its
  // run_dir below it (files in it keep their own modes).
  chmod(dir_.path().c_str(), 0755);
  std::vector<std::string> args = {
      binary.empty() ? std::string(QD_BINARY_DIR) + "/queuedaemon" : binary,
      "-f", "-c", config_path()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, env, dir_.File("daemon.log"), "", false, nofile);
}

Daemon::~Daemon() {
  if (exit_code_ >= 0) return;
  auto workers = Workers();
  StopPid(pid_);
  for (const auto& [slot, pid] : workers) kill(pid, SIGKILL);
}

std::map<int, pid_t> Daemon::Workers() const {
  return ChildrenByPrefix(pid_, "qd-worker-");
}

size_t Daemon::Crash() {
  kill(pid_, SIGSTOP);
  auto workers = Workers();
  for (const auto& [slot, pid] : workers) kill(pid, SIGKILL);
  kill(pid_, SIGKILL);
  WaitExit();
  return workers.size();
}

bool Daemon::WaitForWorkers(size_t n, milliseconds deadline) {
  return WaitFor(
      [&] {
        auto w = Workers();
        return w.size() == n && (n == 0 || w.rbegin()->first == int(n) - 1);
      },
      deadline);
}

std::optional<std::pair<int, pid_t>> Daemon::KillWorker(uint32_t random) const {
  auto workers = Workers();
  if (workers.empty()) return std::nullopt;
  auto it = workers.begin();
  std::advance(it, random % workers.size());
  if (kill(it->second, SIGKILL) != 0) return std::nullopt;
  return *it;
}

std::string Daemon::Log() const {
  return ReadFileText(dir_.File("daemon.log"));
}

void Daemon::WriteConfig(const std::string& config_yaml) const {
  std::string text = config_yaml;
  for (size_t at; (at = text.find("RUN_DIR")) != std::string::npos;) {
    text.replace(at, 7, dir_.path());
  }
  dir_.Write("qd.yaml", text);
}

std::string Daemon::LogTail(size_t lines) const {
  std::string log = Log();
  size_t at = log.size();
  for (size_t n = 0; n <= lines && at != std::string::npos && at > 0; ++n) {
    at = log.rfind('\n', at - 1);
  }
  return at == std::string::npos ? log : log.substr(at + 1);
}

size_t Daemon::LogCount(const std::string& needle) const {
  std::string log = Log();
  size_t n = 0;
  for (size_t at = 0; (at = log.find(needle, at)) != std::string::npos; ++at) {
    ++n;
  }
  return n;
}

bool Daemon::WaitForLog(const std::string& needle, size_t count,
                        milliseconds deadline) {
  return WaitFor([&] { return LogCount(needle) >= count; }, deadline);
}

void Daemon::Signal(int sig) const { kill(pid_, sig); }

int Daemon::WaitExit(milliseconds deadline) {
  if (exit_code_ >= 0) return exit_code_;
  int status = 0;
  if (!WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
               deadline)) {
    return -1;
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

int CheckConfig(const TempDir& dir, const std::string& name,
                const std::string& yaml, std::string* output) {
  dir.Write(name, yaml);
  std::string out = dir.File(name + ".out");
  std::string cmd = std::string(QD_BINARY_DIR) +
                    "/queuedaemon --check-config -c " + dir.File(name) + " > " +
                    out + " 2>&1";
  int rc = std::system(cmd.c_str());
  *output = ReadFileText(out);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string TestConfig(int threads, const std::string& redis_url,
                       const std::string& daemon_extra,
                       const std::string& top_extra) {
  return "daemon:\n"
         "  threads: " +
         std::to_string(threads) +
         "\n"
         "  run_dir: RUN_DIR/run\n"
         "  shutdown_timeout: 5s\n" +
         daemon_extra + "redis: " + redis_url +
         "\n"
         "sites:\n"
         "  default:\n"
         "    queues:\n"
         "      noop: { handler: noop }\n" +
         top_extra;
}

LineClient LineClient::Tcp(int port, std::string terminator) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    fd = -1;
  }
  return LineClient(fd, std::move(terminator));
}

LineClient LineClient::Unix(const std::string& path, std::string terminator) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    fd = -1;
  }
  return LineClient(fd, std::move(terminator));
}

LineClient::LineClient(LineClient&& other) noexcept {
  *this = std::move(other);
}

LineClient& LineClient::operator=(LineClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    closed_ = other.closed_;
    terminator_ = std::move(other.terminator_);
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

LineClient::~LineClient() { Close(); }

void LineClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool LineClient::Send(const std::string& bytes) {
  size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    ssize_t n =
        send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool LineClient::Fill(milliseconds wait) {
  if (fd_ < 0 || closed_) return false;
  pollfd p = {fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char buf[16384];
  ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n > 0) {
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  if (n == 0 || (errno != EINTR && errno != EAGAIN)) closed_ = true;
  return false;
}

std::optional<std::string> LineClient::ReadLine(milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    size_t at = buffer_.find(terminator_);
    if (at != std::string::npos) {
      std::string line = buffer_.substr(0, at);
      buffer_.erase(0, at + terminator_.size());
      return line;
    }
    auto left = std::chrono::duration_cast<milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() < 0) left = milliseconds(0);
    // With nothing left to wait, keep taking what has already arrived.
    if (!Fill(left) && (left.count() == 0 || closed_ || fd_ < 0)) {
      return std::nullopt;
    }
  }
}

std::optional<std::string> LineClient::Request(const std::string& line,
                                               milliseconds deadline) {
  if (!SendLine(line)) return std::nullopt;
  return ReadLine(deadline);
}

bool LineClient::WaitClosed(milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!closed_ && fd_ >= 0) {
    auto left = std::chrono::duration_cast<milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      Fill(milliseconds(0));
      break;
    }
    Fill(left);
  }
  return closed_;
}

int HttpGet(int port, const std::string& path, std::string* body,
            milliseconds deadline) {
  LineClient c = LineClient::Tcp(port, "\r\n");
  if (!c.connected()) return -1;
  c.Send("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (!c.WaitClosed(deadline)) return -1;
  const std::string& r = c.pending();
  size_t head = r.find("\r\n\r\n");
  if (r.rfind("HTTP/1.", 0) != 0 || head == std::string::npos) return -1;
  *body = r.substr(head + 4);
  return std::atoi(r.c_str() + 9);
}

UdpReceiver::UdpReceiver() {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("UdpReceiver: bind failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

UdpReceiver::~UdpReceiver() { close(fd_); }

std::vector<std::string> UdpReceiver::Receive(milliseconds wait) {
  std::vector<std::string> out;
  auto end = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) {
      return out;
    }
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n >= 0) out.emplace_back(buf, static_cast<size_t>(n));
  }
}

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CtlResult RunQueuectl(const TempDir& dir, const std::vector<std::string>& args,
                      const std::string& input) {
  std::ofstream(dir.File("stdin"), std::ios::binary) << input;
  std::string cmd = "cd " + ShellQuote(dir.path()) + " && " +
                    ShellQuote(std::string(QD_BINARY_DIR) + "/queuectl");
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  cmd += " <stdin >stdout 2>stderr";
  auto start = std::chrono::steady_clock::now();
  int status = std::system(cmd.c_str());
  CtlResult r;
  r.took = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - start);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFileText(dir.File("stdout"));
  r.err = ReadFileText(dir.File("stderr"));
  return r;
}

std::string CtlConfig(const std::string& redis_url,
                      const std::string& other_redis) {
  return "daemon:\n  run_dir: run\n"
         "redis: " +
         redis_url +
         "\n"
         "sites:\n"
         "  default:\n"
         "    queues:\n"
         "      mail: { handler: noop }\n"
         "      noop: { handler: noop }\n"
         "  other:\n"
         "    prefix: xx\n" +
         (other_redis.empty() ? "" : "    redis: " + other_redis + "\n") +
         "    queues:\n"
         "      q1: { handler: noop }\n";
}

}  // namespace qd::test
