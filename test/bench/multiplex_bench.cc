// multiplex_bench: the multiplex listener figures of queuedaemon (issue 4).
//
//   build/bin/multiplex_bench [--clients C] [--requests R]
//   [--keepalive-requests K]
//                             [--idle N] [--fork-idle M]
//
// Against one private redis-server and the example plugin's `example-line`
// handler ("ECHO <text>" -> "<text>", terminator "\n"):
//  0. Ceilings (ceilings.h): fork + exit + wait of this small process, two
//     in parallel; the same clients against a trivial echo server (no
//     master, worker or Redis between them).
//  1. worker_keepalive 0s (a worker forked per request, by the listener's
//     fork server): C clients (default 32) each sending ECHO one at a time,
//     R requests in all (default 5000): req/s, p50/p99 latency, CPU per
//     request of the master, the workers and the fork server.
//  2. worker_keepalive 5s, the same clients, K requests (default 50000).
//  3. A fresh multiplex daemon: master VmRSS before and with N idle
//     connections open (default 10000; capped by this process's hard
//     RLIMIT_NOFILE minus 100).
//  4. personality: fork with min(N, M) idle connections (default M = 1000):
//     the sum of VmRSS of the master and its qd-req-* children (shared pages
//     are counted once per process, as `ps` would), and that extrapolated to
//     N connections.
// QD_BENCH_BASELINE=PATH (another build's queuedaemon, e.g. the one before a
// change) adds phase 2 run by that build, right after ours, to the same run
// (its plugins from PATH/../../plugins when that holds example.so).
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

#include "ceilings.h"
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

// The plugins built with `binary` (a baseline build's bin/queuedaemon), or
// this build's.
std::string PluginDirFor(const std::string& binary) {
  if (binary.empty()) return PluginDir();
  std::filesystem::path dir =
      std::filesystem::path(binary).parent_path().parent_path() / "plugins";
  std::error_code ec;
  return std::filesystem::exists(dir / "example.so", ec) ? dir.string()
                                                         : PluginDir();
}

// The daemon with one listener `line` on `port`; `extra` holds more keys of
// the listener, indented by four spaces. `binary` (a baseline build's) runs
// instead of this build's queuedaemon. nullptr if it did not listen.
std::unique_ptr<qd::test::Daemon> StartDaemon(
    const qd::test::RedisServer& redis, int port, const std::string& extra,
    const std::string& binary = "") {
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
      PluginDirFor(binary) +
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
  auto d =
      std::make_unique<qd::test::Daemon>(config, std::vector<std::string>{},
                                         std::vector<std::string>{}, 0, binary);
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
  double master_us = 0;      // CPU per request: the master
  double workers_us = 0;     // its request workers, reaped or alive
  double forkserver_us = 0;  // and the listener's fork server
};

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

// Runs Load() against daemon `d` and adds the CPU per request it cost the
// master and its request workers (all reaped by the end, so counted in the
// master's cutime/cstime), and the fork server (alive: its own times).
LoadResult MeasuredLoad(const qd::test::Daemon& d, int port, int clients,
                        long total) {
  using qd::test::CpuTime;
  std::vector<pid_t> servers = qd::test::ChildPids(d.pid(), "qd-fork-");
  pid_t server = servers.size() == 1 ? servers[0] : -1;
  milliseconds master0 = CpuTime(d.pid());
  milliseconds reaped0 = qd::test::ChildrenCpuTime(d.pid());
  milliseconds server0 = server > 0 ? CpuTime(server) : milliseconds(0);
  LoadResult r = Load(port, clients, total);
  milliseconds master = CpuTime(d.pid()) - master0;
  milliseconds forks = server > 0 ? CpuTime(server) - server0 : milliseconds(0);
  // The clients have closed: every worker exits and is reaped, and its CPU
  // joins the master's cutime/cstime.
  qd::test::WaitFor(
      [&] { return qd::test::ChildPids(d.pid(), "qd-req-").empty(); },
      milliseconds(10000));
  milliseconds workers = qd::test::ChildrenCpuTime(d.pid()) - reaped0;
  if (r.done > 0) {
    r.master_us = master.count() * 1000.0 / r.done;
    r.workers_us = workers.count() * 1000.0 / r.done;
    r.forkserver_us = forks.count() * 1000.0 / r.done;
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

struct Options {
  int clients = 32;
  long requests = 5000;
  long ka_requests = 50000;
  long requested_idle = 10000;
  long idle = 10000;  // capped by RLIMIT_NOFILE
  long fork_idle = 1000;
};

// Raises our descriptor limit to the hard one and caps the idle count
// below it.
long CapIdle(long idle) {
  rlimit lim = {};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(idle + 100) > lim.rlim_cur) {
    idle = std::max(0L, static_cast<long>(lim.rlim_cur) - 100);
    std::printf("idle connections capped at %ld (RLIMIT_NOFILE %lu)\n", idle,
                static_cast<unsigned long>(lim.rlim_cur));
  }
  return idle;
}

// One load phase: a fresh daemon with listener lines `extra`.
LoadResult LoadPhase(const qd::test::RedisServer& redis,
                     const std::string& extra, int clients, long total,
                     const std::string& binary = "") {
  int port = qd::test::FreePort();
  auto d = StartDaemon(redis, port, extra, binary);
  LoadResult r;
  if (d) r = MeasuredLoad(*d, port, clients, total);
  StopDaemon(d);
  return r;
}

struct IdleResult {
  long before_kib = 0, idle_kib = 0;
  size_t open = 0;
};

IdleResult IdlePhase(const qd::test::RedisServer& redis, long idle) {
  IdleResult r;
  int port = qd::test::FreePort();
  auto d = StartDaemon(redis, port, "    worker_keepalive: 5s\n");
  if (d) {
    std::this_thread::sleep_for(milliseconds(1500));
    r.before_kib = qd::test::RssKiB(d->pid());
    std::vector<int> fds;
    r.open = OpenIdle(port, d->pid(), idle, &fds, false);
    std::this_thread::sleep_for(milliseconds(500));
    r.idle_kib = qd::test::RssKiB(d->pid());
    CloseAll(fds);
  }
  StopDaemon(d);
  return r;
}

struct ForkIdleResult {
  long master_kib = 0, total_kib = 0;
  size_t open = 0, children = 0;
  double per_conn_kib() const {
    return children ? double(total_kib - master_kib) / children : 0;
  }
};

ForkIdleResult ForkIdlePhase(const qd::test::RedisServer& redis, long n) {
  ForkIdleResult r;
  int port = qd::test::FreePort();
  auto d = StartDaemon(redis, port, "    personality: fork\n");
  if (d) {
    std::vector<int> fds;
    r.open = OpenIdle(port, d->pid(), n, &fds, true);
    std::this_thread::sleep_for(milliseconds(500));
    r.master_kib = qd::test::RssKiB(d->pid());
    r.total_kib = r.master_kib;
    for (pid_t pid : qd::test::ChildPids(d->pid(), "qd-req-")) {
      r.total_kib += qd::test::RssKiB(pid);
      ++r.children;
    }
    CloseAll(fds);
  }
  StopDaemon(d);
  return r;
}

struct Results {
  double fork_ceiling = 0;
  LoadResult echo, ka0, ka5;
  std::string baseline;  // QD_BENCH_BASELINE, or empty
  LoadResult ka5_base;   // phase 2 run by the baseline build
  IdleResult idle;
  ForkIdleResult fork;
};

// The rows of one load phase: rate against its goal, ratio to `ceiling`,
// CPU per request, latencies.
void LoadRows(const std::string& title, const LoadResult& r, double goal,
              const char* ceiling_name, double ceiling) {
  Row(title.c_str(), r.ok ? Fmt("%.0f /s", r.rate) : "failed",
      Fmt(">= %.0f /s", goal));
  Row(ceiling_name, Fmt("%.2fx", ceiling > 0 ? r.rate / ceiling : 0), "");
  Row("  CPU per request: master", Fmt("%.0f us", r.master_us), "");
  Row("  CPU per request: workers", Fmt("%.0f us", r.workers_us), "");
  Row("  CPU per request: fork server", Fmt("%.0f us", r.forkserver_us), "");
  Row("  p50 latency", Fmt("%.3f ms", r.p50_ms), "");
  Row("  p99 latency", Fmt("%.3f ms", r.p99_ms), "");
}

void PrintTable(const Options& o, const Results& r) {
  std::printf("queuedaemon multiplex listener (clients=%d)\n", o.clients);
  Row("metric", "value", "goal");
  Row("ceiling: fork+exit+wait, 2 in parallel", Fmt("%.0f /s", r.fork_ceiling),
      "");
  Row("ceiling: direct echo server, same clients",
      r.echo.ok ? Fmt("%.0f /s", r.echo.rate) : "failed", "");
  LoadRows("keepalive 0s: req/s (" + std::to_string(o.requests) + " req)",
           r.ka0, kForkGoal, "  / fork ceiling", r.fork_ceiling);
  LoadRows("keepalive 5s: req/s (" + std::to_string(o.ka_requests) + " req)",
           r.ka5, kKeepaliveGoal, "  / direct echo ceiling", r.echo.rate);
  if (!r.baseline.empty()) {
    LoadRows("baseline build, keepalive 5s: req/s", r.ka5_base, kKeepaliveGoal,
             "  / direct echo ceiling", r.echo.rate);
    Row("  this build / baseline",
        Fmt("%.2fx", r.ka5_base.rate > 0 ? r.ka5.rate / r.ka5_base.rate : 0),
        "");
  }
  Row("master RSS, no connections", Fmt("%.1f MiB", r.idle.before_kib / 1024.0),
      "");
  Row(("master RSS, " + std::to_string(r.idle.open) + " idle connections")
          .c_str(),
      Fmt("%.1f MiB", r.idle.idle_kib / 1024.0),
      o.idle == 10000 ? Fmt("<= %.0f MiB", kMasterGoalMiB)
                      : Fmt("(<= %.0f MiB @10000)", kMasterGoalMiB));
  Row(("fork personality: " + std::to_string(r.fork.children) +
       " conns, total RSS")
          .c_str(),
      Fmt("%.1f MiB", r.fork.total_kib / 1024.0), "");
  Row("  per connection", Fmt("%.1f KiB", r.fork.per_conn_kib()), "");
  Row(("  extrapolated to " + std::to_string(o.idle) + " conns").c_str(),
      Fmt("%.1f MiB",
          (r.fork.master_kib + r.fork.per_conn_kib() * o.idle) / 1024.0),
      "");
  if (o.requested_idle != o.idle)
    std::printf("note: idle connections capped from %ld to %ld\n",
                o.requested_idle, o.idle);
  std::printf(
      "note: fork total RSS sums VmRSS of every process (shared pages counted "
      "once per process)\n");
}

// "ka0_requests":R,"ka0_ok":true,... for one load phase.
std::string LoadJson(const char* prefix, long requests, const LoadResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "\"%1$s_requests\":%2$ld,\"%1$s_ok\":%3$s,\"%1$s_rate\":%4$.1f,"
                "\"%1$s_p50_ms\":%5$.3f,\"%1$s_p99_ms\":%6$.3f,"
                "\"%1$s_master_us\":%7$.1f,\"%1$s_workers_us\":%8$.1f,"
                "\"%1$s_forkserver_us\":%9$.1f,",
                prefix, requests, r.ok ? "true" : "false", r.rate, r.p50_ms,
                r.p99_ms, r.master_us, r.workers_us, r.forkserver_us);
  return buf;
}

void PrintJson(const Options& o, const Results& r) {
  std::printf(
      "BENCH {\"bench\":\"multiplex\",\"clients\":%d,"
      "\"fork_ceiling\":%.1f,\"echo_ceiling\":%.1f,%s%s%s"
      "\"idle\":%ld,\"idle_open\":%zu,\"master_rss_kib_before\":%ld,"
      "\"master_rss_kib_idle\":%ld,\"fork_idle\":%zu,"
      "\"fork_master_rss_kib\":%ld,\"fork_total_rss_kib\":%ld,"
      "\"fork_rss_kib_per_conn\":%.1f,\"fork_rss_kib_extrapolated\":%.0f}\n",
      o.clients, r.fork_ceiling, r.echo.rate,
      LoadJson("ka0", o.requests, r.ka0).c_str(),
      LoadJson("ka5", o.ka_requests, r.ka5).c_str(),
      r.baseline.empty()
          ? ""
          : LoadJson("ka5_base", o.ka_requests, r.ka5_base).c_str(),
      o.idle, r.idle.open, r.idle.before_kib, r.idle.idle_kib, r.fork.children,
      r.fork.master_kib, r.fork.total_kib, r.fork.per_conn_kib(),
      r.fork.master_kib + r.fork.per_conn_kib() * o.idle);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.clients = static_cast<int>(Flag(argc, argv, "--clients", o.clients));
  o.requests = Flag(argc, argv, "--requests", o.requests);
  o.ka_requests = Flag(argc, argv, "--keepalive-requests", o.ka_requests);
  o.requested_idle = Flag(argc, argv, "--idle", o.requested_idle);
  long fork_idle_max = Flag(argc, argv, "--fork-idle", o.fork_idle);
  if (o.clients <= 0 || o.requests <= 0 || o.ka_requests <= 0 ||
      o.requested_idle <= 0 || fork_idle_max <= 0) {
    std::fprintf(stderr,
                 "usage: %s [--clients C] [--requests R] "
                 "[--keepalive-requests K] [--idle N] [--fork-idle M]\n",
                 argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  o.idle = CapIdle(o.requested_idle);
  o.fork_idle = std::min(o.idle, fork_idle_max);

  Results r;
  std::fprintf(stderr, "multiplex_bench: 0/4 ceilings (fork, direct echo)\n");
  r.fork_ceiling = qd::bench::ForkCeiling(2.0);
  int echo_port = 0;
  pid_t echo = qd::bench::StartEchoServer(&echo_port);
  if (echo > 0) {
    r.echo = Load(echo_port, o.clients, o.ka_requests);
    kill(echo, SIGKILL);
    waitpid(echo, nullptr, 0);
  }

  qd::test::RedisServer redis;
  std::fprintf(stderr, "multiplex_bench: 1/4 keepalive 0s, %ld requests\n",
               o.requests);
  r.ka0 = LoadPhase(redis, "    worker_keepalive: 0s\n", o.clients, o.requests);
  std::fprintf(stderr, "multiplex_bench: 2/4 keepalive 5s, %ld requests\n",
               o.ka_requests);
  r.ka5 =
      LoadPhase(redis, "    worker_keepalive: 5s\n", o.clients, o.ka_requests);
  if (const char* base = std::getenv("QD_BENCH_BASELINE"); base && *base) {
    r.baseline = base;
    std::fprintf(stderr, "multiplex_bench: 2a/4 keepalive 5s, baseline %s\n",
                 base);
    r.ka5_base = LoadPhase(redis, "    worker_keepalive: 5s\n", o.clients,
                           o.ka_requests, r.baseline);
  }
  std::fprintf(stderr, "multiplex_bench: 3/4 %ld idle connections\n", o.idle);
  r.idle = IdlePhase(redis, o.idle);
  std::fprintf(stderr, "multiplex_bench: 4/4 personality fork, %ld idle\n",
               o.fork_idle);
  r.fork = ForkIdlePhase(redis, o.fork_idle);

  PrintTable(o, r);
  PrintJson(o, r);
  bool all_ok = r.ka0.ok && r.ka5.ok && (r.baseline.empty() || r.ka5_base.ok) &&
                r.idle.open == static_cast<size_t>(o.idle) &&
                r.fork.open == static_cast<size_t>(o.fork_idle);
  return all_ok ? 0 : 1;
}
