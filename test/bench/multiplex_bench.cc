// multiplex_bench: the multiplex listener figures of queuedaemon (issue 4).
//
//   build/bin/multiplex_bench [--clients C] [--requests R]
//   [--keepalive-requests K]
//                             [--idle N] [--fork-idle M]
//
// Against one private redis-server and the example plugin's `example-line`
// handler ("ECHO <text>" -> "<text>", terminator "\n"):
//  1. worker_keepalive 0s (a worker forked per request): C clients (default
//     32) each sending ECHO one at a time, R requests in all (default 5000):
//     req/s, p50/p99 latency.
//  2. worker_keepalive 5s, the same clients, K requests (default 50000).
//  3. A fresh multiplex daemon: master VmRSS before and with N idle
//     connections open (default 10000; capped by this process's hard
//     RLIMIT_NOFILE minus 100).
//  0. Ceilings: fork + exit + wait of this small process, two in parallel;
//     the same clients against a trivial echo server (no master, worker or
//     Redis between them).
//  4. personality: fork with min(N, M) idle connections (default M = 1000):
//     the sum of VmRSS of the master and its qd-req-* children (shared pages
//     are counted once per process, as `ps` would), and that extrapolated to
//     N connections.
// Clients are non-blocking sockets driven by poll() in one thread; every
// loop is bounded in count and in time. Prints a table and one JSON line
// ("BENCH {...}").
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.h"

namespace {
using qd::test::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr auto kLoadLimit = std::chrono::seconds(120);
constexpr auto kIdleLimit = std::chrono::seconds(120);
constexpr double kForkGoal = 5000;
constexpr double kKeepaliveGoal = 50000;
constexpr double kMasterGoalMiB = 64;

std::string PluginDir() { return std::string(QD_BINARY_DIR) + "/../plugins"; }

// The daemon with one listener `line` on `port`; `extra` holds more keys of
// the listener, indented by four spaces. nullptr if it did not listen.
std::unique_ptr<qd::test::Daemon> StartDaemon(
    const qd::test::RedisServer& redis, int port, const std::string& extra) {
  std::string config =
      "daemon:\n"
      "  threads: 1\n"
      "  run_dir: RUN_DIR/run\n"
      "  shutdown_timeout: 5s\n"
      "  log: { level: info }\n"
      "redis: " +
      redis.url() +
      "\n"
      "plugins: { dir: " +
      PluginDir() +
      ", load: [example] }\n"
      "sites:\n"
      "  default:\n"
      "    queues:\n"
      "      noop: { handler: noop }\n"
      "listeners:\n"
      "  line:\n"
      "    listen: 127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "    handler: example-line\n"
      "    terminator: \"\\n\"\n"
      "    max_concurrent: 256\n"
      "    max_connections: 20000\n"
      "    idle_timeout: 0s\n" +
      extra;
  auto d = std::make_unique<qd::test::Daemon>(config);
  bool up = qd::test::WaitFor(
      [&] {
        std::string log = d->Log();
        size_t at = log.find("listener line: ");
        return at != std::string::npos &&
               log.find(", handler example-line", at) != std::string::npos;
      },
      milliseconds(10000));
  if (!up) {
    std::fprintf(stderr, "daemon did not listen:\n%s\n", d->Log().c_str());
    return nullptr;
  }
  return d;
}

// Stops the daemon and kills by pid any request worker that outlived it.
void StopDaemon(std::unique_ptr<qd::test::Daemon>& d) {
  if (d == nullptr) return;
  std::vector<pid_t> workers = qd::test::ChildPids(d->pid(), "qd-req-");
  d.reset();
  qd::test::WaitFor(
      [&] {
        return std::none_of(workers.begin(), workers.end(), qd::test::Alive);
      },
      milliseconds(5000));
  for (pid_t pid : workers) {
    if (qd::test::Alive(pid)) kill(pid, SIGKILL);
  }
}

// A blocking connect to 127.0.0.1:port, then non-blocking; -1 on error.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

void CloseAll(std::vector<int>& fds) {
  for (int fd : fds) close(fd);
  fds.clear();
}

// Open file descriptors of a process (its sockets among them).
size_t FdCount(pid_t pid) {
  std::error_code ec;
  size_t n = 0;
  for (std::filesystem::directory_iterator
           it("/proc/" + std::to_string(pid) + "/fd", ec),
       end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return n;
}

struct LoadResult {
  bool ok = false;
  long done = 0;
  long errors = 0;
  double rate = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double master_us = 0;   // CPU per request: the master
  double workers_us = 0;  // and its request workers, reaped or alive
};

// Runs Load() against daemon `d` and adds the CPU per request it cost the
// master and its request workers (all reaped by the end, so counted in the
// master's cutime/cstime).
LoadResult MeasuredLoad(const qd::test::Daemon& d, int port, int clients,
                        long total);

// `clients` connections each sending "ECHO <n>" one at a time until `total`
// replies came in all; every reply must be "<n>".
LoadResult Load(int port, int clients, long total) {
  LoadResult out;
  struct Client {
    int fd = -1;
    long expect = -1;  // the number in flight, -1 if none
    Clock::time_point sent;
    std::string in;
  };
  std::vector<Client> cs(clients);
  for (auto& c : cs) {
    c.fd = Connect(port);
    if (c.fd < 0) {
      std::fprintf(stderr, "load: connect failed: %s\n", std::strerror(errno));
      for (auto& x : cs)
        if (x.fd >= 0) close(x.fd);
      return out;
    }
  }
  std::vector<double> lat;
  lat.reserve(total);
  long next = 0;
  auto send_next = [&](Client& c) {
    if (next >= total) {
      c.expect = -1;
      return true;
    }
    c.expect = next++;
    std::string req = "ECHO " + std::to_string(c.expect) + "\n";
    c.sent = Clock::now();
    ssize_t n = send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(req.size());
  };
  auto start = Clock::now();
  bool failed = false;
  for (auto& c : cs) failed |= !send_next(c);
  std::vector<pollfd> pfds(cs.size());
  char buf[4096];
  while (!failed && out.done < total && Clock::now() - start < kLoadLimit) {
    for (size_t i = 0; i < cs.size(); ++i) pfds[i] = {cs[i].fd, POLLIN, 0};
    int r = poll(pfds.data(), pfds.size(), 100);
    if (r < 0 && errno != EINTR) break;
    for (size_t i = 0; i < cs.size() && !failed; ++i) {
      if (pfds[i].revents == 0) continue;
      Client& c = cs[i];
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        std::fprintf(stderr, "load: connection closed\n");
        failed = true;
        break;
      }
      c.in.append(buf, n);
      size_t eol;
      while ((eol = c.in.find('\n')) != std::string::npos) {
        std::string line = c.in.substr(0, eol);
        c.in.erase(0, eol + 1);
        if (c.expect < 0) {
          ++out.errors;
          continue;
        }
        lat.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - c.sent)
                .count());
        ++out.done;
        if (line != std::to_string(c.expect)) {
          if (out.errors++ < 3)
            std::fprintf(stderr, "load: reply \"%s\" for %ld\n", line.c_str(),
                         c.expect);
        }
        if (!send_next(c)) {
          failed = true;
          break;
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& c : cs) close(c.fd);
  out.ok = !failed && out.done == total && out.errors == 0;
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    out.rate = out.done / secs;
    out.p50_ms = lat[lat.size() / 2];
    out.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
  }
  return out;
}

// The machine's bound for a fork per request: fork + _exit + waitpid in a
// loop for `seconds` by two single-threaded forkers in parallel (2 cores),
// each a child of this process (small), reporting its count through a pipe.
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

// The bound of the keepalive figure: the same clients against a process that
// answers "ECHO <n>" itself (one poll loop, no master, worker or Redis).
// Returns its pid (listening on *port), or -1.
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

LoadResult MeasuredLoad(const qd::test::Daemon& d, int port, int clients,
                        long total) {
  using qd::test::CpuTime;
  milliseconds master0 = CpuTime(d.pid());
  milliseconds reaped0 = qd::test::ChildrenCpuTime(d.pid());
  LoadResult r = Load(port, clients, total);
  milliseconds master = CpuTime(d.pid()) - master0;
  // The clients have closed: every worker exits and is reaped, and its CPU
  // joins the master's cutime/cstime.
  qd::test::WaitFor(
      [&] { return qd::test::ChildPids(d.pid(), "qd-req-").empty(); },
      milliseconds(10000));
  milliseconds workers = qd::test::ChildrenCpuTime(d.pid()) - reaped0;
  if (r.done > 0) {
    r.master_us = master.count() * 1000.0 / r.done;
    r.workers_us = workers.count() * 1000.0 / r.done;
  }
  return r;
}

// Opens `n` idle connections, pacing so that the master's accept queue never
// overflows (its fd count must follow). Returns how many are open.
size_t OpenIdle(int port, pid_t master, size_t n, std::vector<int>* fds,
                bool count_children) {
  size_t base = FdCount(master);
  auto start = Clock::now();
  auto held = [&] {
    return count_children ? qd::test::ChildPids(master, "qd-req-").size()
                          : FdCount(master) - std::min(base, FdCount(master));
  };
  const size_t kStep = count_children ? 64 : 256;
  while (fds->size() < n && Clock::now() - start < kIdleLimit) {
    int fd = Connect(port);
    if (fd < 0) {
      std::fprintf(stderr, "idle: connect %zu failed: %s\n", fds->size(),
                   std::strerror(errno));
      break;
    }
    fds->push_back(fd);
    if (fds->size() % kStep == 0) {
      size_t want = fds->size() - kStep;
      qd::test::WaitFor([&] { return held() >= want; }, milliseconds(10000));
    }
  }
  size_t want = fds->size();
  qd::test::WaitFor([&] { return held() >= want; }, milliseconds(30000));
  return std::min(want, held());
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void Row(const char* figure, const std::string& value,
         const std::string& goal) {
  std::printf("%-44s | %18s | %16s\n", figure, value.c_str(), goal.c_str());
}

long Flag(int argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = static_cast<int>(Flag(argc, argv, "--clients", 32));
  long requests = Flag(argc, argv, "--requests", 5000);
  long ka_requests = Flag(argc, argv, "--keepalive-requests", 50000);
  long idle = Flag(argc, argv, "--idle", 10000);
  long fork_idle_max = Flag(argc, argv, "--fork-idle", 1000);
  if (clients <= 0 || requests <= 0 || ka_requests <= 0 || idle <= 0 ||
      fork_idle_max <= 0) {
    std::fprintf(stderr,
                 "usage: %s [--clients C] [--requests R] "
                 "[--keepalive-requests K] [--idle N] [--fork-idle M]\n",
                 argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  // Our sockets: raise the soft limit to the hard one, cap N below it.
  rlimit lim = {};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  long requested_idle = idle;
  if (lim.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(idle + 100) > lim.rlim_cur) {
    idle = std::max(0L, static_cast<long>(lim.rlim_cur) - 100);
    std::printf("idle connections capped at %ld (RLIMIT_NOFILE %lu)\n", idle,
                static_cast<unsigned long>(lim.rlim_cur));
  }
  long fork_idle = std::min(idle, fork_idle_max);

  std::fprintf(stderr, "multiplex_bench: 0/4 ceilings (fork, direct echo)\n");
  double fork_ceiling = ForkCeiling(2.0);
  LoadResult echo_load;
  {
    int echo_port = 0;
    pid_t echo = StartEchoServer(&echo_port);
    if (echo > 0) {
      echo_load = Load(echo_port, clients, ka_requests);
      kill(echo, SIGKILL);
      waitpid(echo, nullptr, 0);
    }
  }

  qd::test::RedisServer redis;
  int port = qd::test::FreePort();
  bool all_ok = true;

  std::fprintf(stderr, "multiplex_bench: 1/4 keepalive 0s, %ld requests\n",
               requests);
  LoadResult fork_load;
  {
    auto d = StartDaemon(redis, port, "    worker_keepalive: 0s\n");
    if (d) fork_load = MeasuredLoad(*d, port, clients, requests);
    all_ok &= fork_load.ok;
    StopDaemon(d);
  }

  std::fprintf(stderr, "multiplex_bench: 2/4 keepalive 5s, %ld requests\n",
               ka_requests);
  LoadResult ka_load;
  port = qd::test::FreePort();
  {
    auto d = StartDaemon(redis, port, "    worker_keepalive: 5s\n");
    if (d) ka_load = MeasuredLoad(*d, port, clients, ka_requests);
    all_ok &= ka_load.ok;
    StopDaemon(d);
  }

  std::fprintf(stderr, "multiplex_bench: 3/4 %ld idle connections\n", idle);
  long master_before = 0, master_idle = 0;
  size_t idle_open = 0;
  port = qd::test::FreePort();
  {
    auto d = StartDaemon(redis, port, "    worker_keepalive: 5s\n");
    if (d) {
      std::this_thread::sleep_for(milliseconds(1500));
      master_before = qd::test::RssKiB(d->pid());
      std::vector<int> fds;
      idle_open = OpenIdle(port, d->pid(), idle, &fds, false);
      std::this_thread::sleep_for(milliseconds(500));
      master_idle = qd::test::RssKiB(d->pid());
      CloseAll(fds);
    }
    all_ok &= idle_open == static_cast<size_t>(idle);
    StopDaemon(d);
  }

  std::fprintf(stderr, "multiplex_bench: 4/4 personality fork, %ld idle\n",
               fork_idle);
  long fork_master = 0, fork_total = 0;
  size_t fork_open = 0, fork_children = 0;
  port = qd::test::FreePort();
  {
    auto d = StartDaemon(redis, port, "    personality: fork\n");
    if (d) {
      std::vector<int> fds;
      fork_open = OpenIdle(port, d->pid(), fork_idle, &fds, true);
      std::this_thread::sleep_for(milliseconds(500));
      fork_master = qd::test::RssKiB(d->pid());
      fork_total = fork_master;
      for (pid_t pid : qd::test::ChildPids(d->pid(), "qd-req-")) {
        fork_total += qd::test::RssKiB(pid);
        ++fork_children;
      }
      CloseAll(fds);
    }
    all_ok &= fork_open == static_cast<size_t>(fork_idle);
    StopDaemon(d);
  }
  double fork_per_conn =
      fork_children ? double(fork_total - fork_master) / fork_children : 0;
  double fork_extrapolated = fork_master + fork_per_conn * idle;

  std::printf("queuedaemon multiplex listener (clients=%d)\n", clients);
  Row("metric", "value", "goal");
  Row("ceiling: fork+exit+wait, 2 in parallel", Fmt("%.0f /s", fork_ceiling),
      "");
  Row("ceiling: direct echo server, same clients",
      echo_load.ok ? Fmt("%.0f /s", echo_load.rate) : "failed", "");
  Row(("keepalive 0s: req/s (" + std::to_string(requests) + " req)").c_str(),
      fork_load.ok ? Fmt("%.0f /s", fork_load.rate) : "failed",
      Fmt(">= %.0f /s", kForkGoal));
  Row("  / fork ceiling", Fmt("%.2fx", fork_load.rate / fork_ceiling), "");
  Row("  CPU per request: master", Fmt("%.0f us", fork_load.master_us), "");
  Row("  CPU per request: workers", Fmt("%.0f us", fork_load.workers_us), "");
  Row("  p50 latency", Fmt("%.3f ms", fork_load.p50_ms), "");
  Row("  p99 latency", Fmt("%.3f ms", fork_load.p99_ms), "");
  Row(("keepalive 5s: req/s (" + std::to_string(ka_requests) + " req)").c_str(),
      ka_load.ok ? Fmt("%.0f /s", ka_load.rate) : "failed",
      Fmt(">= %.0f /s", kKeepaliveGoal));
  Row("  / direct echo ceiling",
      Fmt("%.2fx", echo_load.rate > 0 ? ka_load.rate / echo_load.rate : 0), "");
  Row("  CPU per request: master", Fmt("%.0f us", ka_load.master_us), "");
  Row("  CPU per request: workers", Fmt("%.0f us", ka_load.workers_us), "");
  Row("  p50 latency", Fmt("%.3f ms", ka_load.p50_ms), "");
  Row("  p99 latency", Fmt("%.3f ms", ka_load.p99_ms), "");
  Row("master RSS, no connections", Fmt("%.1f MiB", master_before / 1024.0),
      "");
  Row(("master RSS, " + std::to_string(idle_open) + " idle connections")
          .c_str(),
      Fmt("%.1f MiB", master_idle / 1024.0),
      idle == 10000 ? Fmt("<= %.0f MiB", kMasterGoalMiB)
                    : Fmt("(<= %.0f MiB @10000)", kMasterGoalMiB));
  Row(("fork personality: " + std::to_string(fork_children) +
       " conns, total RSS")
          .c_str(),
      Fmt("%.1f MiB", fork_total / 1024.0), "");
  Row("  per connection", Fmt("%.1f KiB", fork_per_conn), "");
  Row(("  extrapolated to " + std::to_string(idle) + " conns").c_str(),
      Fmt("%.1f MiB", fork_extrapolated / 1024.0), "");
  if (requested_idle != idle)
    std::printf("note: idle connections capped from %ld to %ld\n",
                requested_idle, idle);
  std::printf(
      "note: fork total RSS sums VmRSS of every process (shared pages counted "
      "once per process)\n");

  std::printf(
      "BENCH {\"bench\":\"multiplex\",\"clients\":%d,"
      "\"fork_ceiling\":%.1f,\"echo_ceiling\":%.1f,"
      "\"ka0_requests\":%ld,\"ka0_ok\":%s,\"ka0_rate\":%.1f,"
      "\"ka0_p50_ms\":%.3f,\"ka0_p99_ms\":%.3f,"
      "\"ka0_master_us\":%.1f,\"ka0_workers_us\":%.1f,"
      "\"ka5_requests\":%ld,\"ka5_ok\":%s,\"ka5_rate\":%.1f,"
      "\"ka5_p50_ms\":%.3f,\"ka5_p99_ms\":%.3f,"
      "\"ka5_master_us\":%.1f,\"ka5_workers_us\":%.1f,"
      "\"idle\":%ld,\"idle_open\":%zu,\"master_rss_kib_before\":%ld,"
      "\"master_rss_kib_idle\":%ld,\"fork_idle\":%zu,"
      "\"fork_master_rss_kib\":%ld,\"fork_total_rss_kib\":%ld,"
      "\"fork_rss_kib_per_conn\":%.1f,\"fork_rss_kib_extrapolated\":%.0f}\n",
      clients, fork_ceiling, echo_load.rate, requests,
      fork_load.ok ? "true" : "false", fork_load.rate, fork_load.p50_ms,
      fork_load.p99_ms, fork_load.master_us, fork_load.workers_us, ka_requests,
      ka_load.ok ? "true" : "false", ka_load.rate, ka_load.p50_ms,
      ka_load.p99_ms, ka_load.master_us, ka_load.workers_us, idle, idle_open,
      master_before, master_idle, fork_children, fork_master, fork_total,
      fork_per_conn, fork_extrapolated);
  return all_ok ? 0 : 1;
}
