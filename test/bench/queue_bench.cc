// queue_bench: the queue figures of queuedaemon on this machine, in one run.
//
//   build/bin/queue_bench [N]        (default N = 200000)
//
// Against one private redis-server:
//  1. Redis ceiling: N entries in stream `ceil`, then one hiredis connection
//     reading them with XREADGROUP COUNT 256 and acking each batch with XACK
//     in the same round trip as the next read (peers/streambench.c
//     "readack"): entries/s. Also the same with an XDEL of each batch in
//     that round trip (what acking cost when the daemon XDELed every job),
//     and with the daemon's trim script (core/queue/trim_script.h) every
//     kTrimAfter acked entries (what it costs now).
//  2. No-op drain: N entries in qd:{default}:q:noop, then queuedaemon
//     --threads=2 with the built-in noop handler. t_first = first 1 ms poll
//     that sees the group has read something, t_done = the group has read
//     the last entry and nothing is pending (every job is acked). Rate =
//     N / (t_done - t_first), and its ratio to the ceilings (goal >= 0.8x
//     the read+ack ceiling). Then the time until the trim left XLEN 0.
//  2b. The same drain with statsd on (monitor.udp, interval 100 ms) sending
//     to a UDP socket that never reads (SO_RCVBUF at its minimum): the rate
//     and its ratio to 2 (monitoring must cost next to nothing, and a
//     blocked receiver nothing more).
//  2c. The same drain with the noop queue under a limit that is never
//     reached (concurrency 1,000,000: docs/limits.md): what the limit's
//     bookkeeping costs, as a ratio to 2 (goal >= 0.8x).
//  3. Bulk enqueue: `queuectl enqueue default noop - --bulk` with N lines on
//     stdin and the daemon stopped (n/a when queuectl has no --bulk).
//  3b. Single enqueue: one hiredis client, one XADD per round trip
//     (min(N, 50000) jobs).
//  4. Latency: the daemon (2 workers) with a testkit queue; 10,000 jobs/s
//     for 2 s (10 pipelined XADDs per 1 ms tick) whose payload is the
//     enqueue time in us; testkit records its own time in us (5th column).
//  5. VmRSS of the master and the largest worker, idle after the drain.
// QD_BENCH_BASELINE=PATH (another build's queuedaemon, e.g. the one before a
// change) adds the drain (2a), the latency (4a: this build, the baseline
// twice, this build again; each the better p99 of its two) and the RSS of
// that binary, in the same run, against the same ceilings.
// Prints a table and one JSON line ("BENCH {...}"). Every wait gives up after
// kPhaseLimit; everything started is stopped by pid (harness destructors).
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_redis.h"
#include "core/queue/stream_trim.h"
#include "core/queue/trim_script.h"
#include "daemon_harness.h"

namespace {
using qd::test::milliseconds;
using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;

constexpr auto kPhaseLimit = std::chrono::seconds(120);
constexpr int kFillBatch = 1000;
constexpr int kCeilingBatch = 256;
constexpr int kThreads = 2;
constexpr int kLatencyRate = 10000;  // jobs/s
constexpr long kSingleLimit = 50000;
constexpr int kLatencyTicks = 2000;  // 1 ms each
constexpr int kLatencyPerTick = kLatencyRate / 1000;
constexpr int kWarmJobs = 100;
constexpr double kDrainGoalRatio = 0.8;
constexpr double kLimitedGoalRatio = 0.8;
constexpr double kBulkGoal = 300000;
constexpr double kP99GoalMs = 2.0;

const std::string kNoopKey = "qd:{default}:q:noop";
const std::string kLatKey = "qd:{default}:q:lat";
const std::string kGroup = "workers";

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int64_t RealtimeUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Conn = qd::bench::BenchRedis;

// N x XADD KEY * payload x, kFillBatch per round trip.
bool Fill(Conn& c, const std::string& key, long n) {
  Args xadd = {"XADD", key, "*", "payload", "x"};
  auto deadline = Clock::now() + kPhaseLimit;
  for (long done = 0; done < n;) {
    long k = std::min<long>(kFillBatch, n - done);
    for (long i = 0; i < k; ++i) c.Append(xadd);
    if (!c.Drop(k) || Clock::now() > deadline) return false;
    done += k;
  }
  return true;
}

// Polls `cond` every `every` until true or kPhaseLimit passed.
bool Poll(const std::function<bool()>& cond, milliseconds every) {
  auto deadline = Clock::now() + kPhaseLimit;
  while (!cond()) {
    if (Clock::now() > deadline) return cond();
    std::this_thread::sleep_for(every);
  }
  return true;
}

// ---- 1. Redis ceiling -------------------------------------------------------

// How the ceiling gets rid of what it acked.
enum class Removal {
  kNone,  // XACK only: the entries stay (the bound on reading and acking)
  kDel,   // XDEL of each batch in the same round trip (the contract before
          // the trim: XACK + XDEL per job)
  kTrim,  // the daemon's way now: the trim script (core/queue/trim_script.h)
          // once every kTrimAfter acked entries, in a round trip with a read
};

std::optional<double> Ceiling(int port, long n, Removal removal) {
  Conn c(port);
  if (!Fill(c, "ceil", n)) return std::nullopt;
  c.Append({"XGROUP", "CREATE", "ceil", "g", "0"});
  if (!c.Drop(1)) return std::nullopt;
  Args read = {"XREADGROUP", "GROUP", "g",
               "c",          "COUNT", std::to_string(kCeilingBatch),
               "STREAMS",    "ceil",  ">"};
  Args trim = {"EVAL", qd::kTrimScript, "1", "ceil", "g"};
  long got_total = 0, untrimmed = 0;
  auto t0 = Clock::now();
  auto deadline = t0 + kPhaseLimit;
  c.Append(read);
  for (;;) {
    redisReply* r = c.Get();
    if (r == nullptr) return std::nullopt;
    Args ack = {"XACK", "ceil", "g"};
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
      const redisReply* entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        const redisReply* id = entries->element[i]->element[0];
        ack.emplace_back(id->str, id->len);
      }
    }
    freeReplyObject(r);
    long got = static_cast<long>(ack.size()) - 3;
    got_total += got;
    untrimmed += got;
    bool more = got > 0 && got_total < n && Clock::now() < deadline;
    // One round trip: the ack of this batch and the read of the next.
    int sent = 0;
    if (got > 0) c.Append(ack), ++sent;
    if (got > 0 && removal == Removal::kDel) {
      ack[0] = "XDEL";
      ack.erase(ack.begin() + 2);  // XDEL KEY ID...
      c.Append(ack), ++sent;
    }
    if (removal == Removal::kTrim && (untrimmed >= qd::kTrimAfter || !more)) {
      c.Append(trim), ++sent;
      untrimmed = 0;
    }
    if (more) c.Append(read);
    if (sent > 0 && !c.Drop(sent)) return std::nullopt;
    if (!more) break;
  }
  double s = Seconds(Clock::now() - t0);
  if (got_total < n) {
    std::fprintf(stderr, "ceiling: read %ld of %ld\n", got_total, n);
    return std::nullopt;
  }
  if (removal == Removal::kTrim && c.Int({"XLEN", "ceil"}) != 0) {
    std::fprintf(stderr, "ceiling: the trim left entries\n");
    return std::nullopt;
  }
  c.Append({"DEL", "ceil"});
  c.Drop(1);
  return n / s;
}

// ---- 2. no-op drain, 5. RSS -------------------------------------------------

struct DrainResult {
  std::optional<double> rate;
  double seconds = 0;
  double boot_s = 0;      // daemon start to t_first
  double trimmed_s = -1;  // t_done to XLEN 0 (acked entries gone), -1: never
  long master_kib = 0;
  long worker_kib = 0;
};

// The daemon's group on `key`: whether it exists, its last-delivered-id and
// its pending count (XINFO GROUPS: valid whatever was deleted or trimmed,
// unlike "lag").
struct GroupState {
  bool exists = false;
  std::string last_id;
  long long pending = -1;
};

GroupState Group(Conn& c, const std::string& key) {
  GroupState out;
  c.Append({"XINFO", "GROUPS", key});
  redisReply* r = c.Get(/*quiet=*/true);  // no such key yet
  if (r == nullptr) return out;
  for (size_t g = 0; r->type == REDIS_REPLY_ARRAY && g < r->elements; ++g) {
    const redisReply* f = r->element[g];
    GroupState state;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
      std::string name(f->element[i]->str, f->element[i]->len);
      const redisReply* v = f->element[i + 1];
      if (name == "name") state.exists = kGroup == std::string(v->str, v->len);
      if (name == "last-delivered-id") state.last_id.assign(v->str, v->len);
      if (name == "pending") state.pending = v->integer;
    }
    if (state.exists) out = state;
  }
  freeReplyObject(r);
  return out;
}

std::string LastId(Conn& c, const std::string& key) {
  c.Append({"XREVRANGE", key, "+", "-", "COUNT", "1"});
  redisReply* r = c.Get();
  std::string id;
  if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    id.assign(r->element[0]->element[0]->str, r->element[0]->element[0]->len);
  }
  if (r != nullptr) freeReplyObject(r);
  return id;
}

// TestConfig's site, its noop queue under a limit no drain reaches.
std::string LimitedConfig(const std::string& config) {
  const std::string plain = "    queues:\n      noop: { handler: noop }\n";
  std::string out = config;
  size_t at = out.find(plain);
  if (at == std::string::npos) return out;
  return out.replace(
      at, plain.size(),
      "    limits: { never: { concurrency: 1000000 } }\n    queues:\n"
      "      noop: { handler: noop, limit: never }\n");
}

// `limited`: the noop queue has a limit it never reaches. `binary`: another
// build's queuedaemon (QD_BENCH_BASELINE), else this one's. t_first = the
// first 1 ms poll that sees the group has read something, t_done = the
// group has read the last entry and nothing is pending (every job acked):
// the same for a daemon that XDELs and for one that trims.
DrainResult Drain(const qd::test::RedisServer& redis, long n,
                  const std::string& top_extra = "", bool limited = false,
                  const std::string& binary = "") {
  DrainResult out;
  Conn c(redis.port());
  c.Int({"DEL", kNoopKey});
  std::string last;
  if (!Fill(c, kNoopKey, n) || c.Int({"XLEN", kNoopKey}) != n ||
      (last = LastId(c, kNoopKey)).empty()) {
    std::fprintf(stderr, "drain: could not fill %s\n", kNoopKey.c_str());
    return out;
  }
  auto started = Clock::now();
  std::string config =
      qd::test::TestConfig(kThreads, redis.url(), "", top_extra);
  qd::test::Daemon d(limited ? LimitedConfig(config) : config,
                     {"--threads=" + std::to_string(kThreads)}, {}, 0, binary);
  Clock::time_point t_first, t_done;
  bool first = Poll(
      [&] {
        GroupState g = Group(c, kNoopKey);
        bool read = g.exists && (g.last_id != "0-0" || g.pending > 0);
        if (read) t_first = Clock::now();
        return read;
      },
      milliseconds(1));
  GroupState g;
  bool done = first && Poll(
                           [&] {
                             g = Group(c, kNoopKey);
                             t_done = Clock::now();
                             return g.last_id == last && g.pending == 0;
                           },
                           milliseconds(1));
  if (!done) {
    std::fprintf(stderr,
                 "drain: gave up (XLEN %lld, last read %s of %s, pending "
                 "%lld)\n%s\n",
                 c.Int({"XLEN", kNoopKey}), g.last_id.c_str(), last.c_str(),
                 g.pending, d.Log().c_str());
  } else {
    out.seconds = Seconds(t_done - t_first);
    out.boot_s = Seconds(t_first - started);
    out.rate = n / out.seconds;
    auto limit = Clock::now() + std::chrono::seconds(10);
    while (c.Int({"XLEN", kNoopKey}) != 0 && Clock::now() < limit) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (c.Int({"XLEN", kNoopKey}) == 0) {
      out.trimmed_s = Seconds(Clock::now() - t_done);
    }
  }
  // Idle now: let the workers settle, then read their RSS.
  std::this_thread::sleep_for(milliseconds(1500));
  out.master_kib = qd::test::RssKiB(d.pid());
  for (const auto& [slot, pid] : d.Workers()) {
    out.worker_kib = std::max(out.worker_kib, qd::test::RssKiB(pid));
  }
  c.Int({"DEL", kNoopKey});
  return out;
}

// ---- 3. bulk enqueue --------------------------------------------------------

std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) {
    out.append(buf, k);
  }
  pclose(p);
  return out;
}

// nullopt: queuectl has no --bulk (or it failed: *error says so).
std::optional<double> Bulk(const qd::test::RedisServer& redis, long n,
                           std::string* error) {
  std::string ctl = std::string(QD_BINARY_DIR) + "/queuectl";
  std::string help = RunCapture(ctl + " enqueue --help 2>&1");
  if (help.find("--bulk") == std::string::npos) {
    *error = "queuectl enqueue has no --bulk";
    return std::nullopt;
  }
  qd::test::TempDir dir;
  dir.Write("qd.yaml", qd::test::TestConfig(kThreads, redis.url()));
  {
    std::ofstream lines(dir.File("lines.txt"));
    for (long i = 0; i < n; ++i) lines << "x\n";
  }
  Args args = {ctl,         "-c",      dir.File("qd.yaml"), "--redis",
               redis.url(), "enqueue", "default",           "noop",
               "-",         "--bulk"};
  Conn c(redis.port());
  c.Int({"DEL", kNoopKey});
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(dir.File("lines.txt").c_str(), O_RDONLY);
    int out = open(dir.File("out.txt").c_str(), O_WRONLY | O_CREAT, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  bool exited =
      pid > 0 && Poll([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                      milliseconds(1));
  double s = Seconds(Clock::now() - t0);
  if (pid > 0 && !exited) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::ifstream out_file(dir.File("out.txt"));
  std::stringstream out;
  out << out_file.rdbuf();
  long long len = c.Int({"XLEN", kNoopKey});
  c.Int({"DEL", kNoopKey});
  if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || len != n) {
    *error =
        "queuectl --bulk failed (exit " +
        std::to_string(exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
        ", XLEN " + std::to_string(len) + "): " + out.str();
    return std::nullopt;
  }
  return n / s;
}

// One client enqueueing one job per round trip (what a web request does;
// Sidekiq's perform_async): XADD with payload and enqueued_at, the fields
// queuectl writes. n jobs, at most kSingleLimit.
std::optional<double> Single(const qd::test::RedisServer& redis, long n) {
  Conn c(redis.port());
  c.Int({"DEL", kNoopKey});
  auto t0 = Clock::now();
  for (long i = 0; i < n && c.Ok(); ++i) {
    c.Append(
        {"XADD", kNoopKey, "*", "payload", "x", "enqueued_at",
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count())});
    if (!c.Drop(1)) break;
  }
  double s = Seconds(Clock::now() - t0);
  long long len = c.Int({"XLEN", kNoopKey});
  c.Int({"DEL", kNoopKey});
  if (len != n) return std::nullopt;
  return n / s;
}

// ---- 4. latency -------------------------------------------------------------

struct LatencyResult {
  bool ok = false;
  size_t jobs = 0;
  double offered_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

// Lines of the record file whose payload is a number: enqueue us -> run us.
std::vector<double> LatenciesMs(const std::string& path, size_t* lines) {
  std::vector<double> out;
  std::ifstream in(path);
  std::string line;
  *lines = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string payload, attempt, now_ms, pid, now_us;
    if (!(f >> payload >> attempt >> now_ms >> pid)) continue;
    if (payload.empty() ||
        payload.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    ++*lines;
    if (!(f >> now_us)) continue;  // a testkit without NOW_US
    out.push_back((std::atoll(now_us.c_str()) - std::atoll(payload.c_str())) /
                  1000.0);
  }
  return out;
}

LatencyResult Latency(const qd::test::RedisServer& redis,
                      const std::string& binary = "") {
  LatencyResult out;
  std::string config =
      "daemon:\n  threads: " + std::to_string(kThreads) +
      "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
      "redis: " +
      redis.url() +
      "\n"
      "plugins: { dir: " +
      std::string(QD_BINARY_DIR) +
      "/../test-plugins, load: [testkit] }\n"
      "sites:\n  default:\n    queues:\n"
      "      lat: { handler: testkit, record: RUN_DIR/lat.txt }\n";
  qd::test::Daemon d(config, {"--threads=" + std::to_string(kThreads)}, {}, 0,
                     binary);
  std::string record = d.dir().File("lat.txt");
  Conn c(redis.port());
  if (!d.WaitForWorkers(kThreads, milliseconds(10000))) {
    std::fprintf(stderr, "latency: workers did not start:\n%s\n",
                 d.Log().c_str());
    return out;
  }
  // Both workers are in their blocking read, and the path is warm.
  auto consumers = [&] {
    c.Append({"XINFO", "CONSUMERS", kLatKey, kGroup});
    redisReply* r = c.Get(/*quiet=*/true);  // no such key: not created yet
    size_t k = r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    if (r != nullptr) freeReplyObject(r);
    return k;
  };
  Poll([&] { return consumers() >= size_t(kThreads) || !c.Ok(); },
       milliseconds(5));
  for (int i = 0; i < kWarmJobs; ++i) {
    c.Append({"XADD", kLatKey, "*", "payload", "warm"});
  }
  c.Drop(kWarmJobs);
  bool warm =
      Poll([&] { return qd::test::ReadRecord(record)["warm"] >= kWarmJobs; },
           milliseconds(5));
  if (!warm || !c.Ok()) {
    std::fprintf(stderr, "latency: warm-up jobs did not run:\n%s\n",
                 d.Log().c_str());
    return out;
  }
  std::this_thread::sleep_for(milliseconds(200));

  auto t0 = Clock::now();
  for (int tick = 0; tick < kLatencyTicks && c.Ok(); ++tick) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(tick));
    for (int i = 0; i < kLatencyPerTick; ++i) {
      c.Append({"XADD", kLatKey, "*", "payload", std::to_string(RealtimeUs())});
    }
    c.Drop(kLatencyPerTick);
  }
  out.offered_s = Seconds(Clock::now() - t0);
  size_t want = size_t(kLatencyTicks) * kLatencyPerTick, lines = 0;
  std::vector<double> ms;
  bool all = c.Ok() && Poll(
                           [&] {
                             ms = LatenciesMs(record, &lines);
                             return lines >= want;
                           },
                           milliseconds(20));
  if (!all || ms.size() < want) {
    std::fprintf(stderr,
                 "latency: %zu of %zu jobs recorded, %zu with NOW_US "
                 "(testkit's 5th column)\n",
                 lines, want, ms.size());
    if (ms.empty()) return out;
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * ms.size()));
    return ms[std::min(ms.size() - 1, i == 0 ? 0 : i - 1)];
  };
  out.ok = all && ms.size() >= want;
  out.jobs = ms.size();
  out.p50_ms = at(0.50);
  out.p99_ms = at(0.99);
  out.max_ms = ms.back();
  return out;
}

std::string Num(const std::optional<double>& v, int decimals = 1) {
  if (!v) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

void Row(const char* figure, const std::string& value, const std::string& goal,
         const std::string& ratio) {
  std::printf("%-40s %16s %16s %8s\n", figure, value.c_str(), goal.c_str(),
              ratio.c_str());
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 200000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: %s [N]\n", argv[0]);
    return 2;
  }
  qd::test::RedisServer redis;

  std::fprintf(stderr, "queue_bench: 1/4 redis ceiling (N=%ld)\n", n);
  std::optional<double> ceiling = Ceiling(redis.port(), n, Removal::kNone);
  std::optional<double> ceiling_del = Ceiling(redis.port(), n, Removal::kDel);
  std::optional<double> ceiling_trim = Ceiling(redis.port(), n, Removal::kTrim);
  std::fprintf(stderr, "queue_bench: 2/4 no-op drain\n");
  DrainResult drain = Drain(redis, n);
  const char* baseline_bin = std::getenv("QD_BENCH_BASELINE");
  DrainResult baseline;
  if (baseline_bin != nullptr && *baseline_bin != '\0') {
    std::fprintf(stderr, "queue_bench: 2a/4 no-op drain, baseline %s\n",
                 baseline_bin);
    baseline = Drain(redis, n, "", false, baseline_bin);
  }
  std::fprintf(stderr, "queue_bench: 2b/4 no-op drain, statsd blocked\n");
  DrainResult drain_statsd;
  {
    int sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tiny = 1;  // the kernel rounds it up to its minimum
    setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(sink, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(sink, reinterpret_cast<sockaddr*>(&addr), &len);
    drain_statsd = Drain(
        redis, n,
        "monitor: { udp: 127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
            ", interval: 100ms }\n");
    close(sink);
  }
  std::fprintf(stderr, "queue_bench: 2c/4 no-op drain, limit never reached\n");
  DrainResult drain_limited = Drain(redis, n, "", /*limited=*/true);
  std::fprintf(stderr, "queue_bench: 3/4 bulk enqueue\n");
  std::string bulk_error;
  std::optional<double> bulk = Bulk(redis, n, &bulk_error);
  if (!bulk) std::fprintf(stderr, "bulk enqueue: %s\n", bulk_error.c_str());
  std::optional<double> single = Single(redis, std::min(n, kSingleLimit));
  std::fprintf(stderr, "queue_bench: 4/4 latency\n");
  LatencyResult lat = Latency(redis);
  LatencyResult baseline_lat;
  if (baseline_bin != nullptr && *baseline_bin != '\0') {
    // A B B A, each figure the better of its two runs: the machine drifts
    // within a run, and the later of two runs in a row tends to lose.
    std::fprintf(stderr, "queue_bench: 4a/4 latency, baseline (twice)\n");
    baseline_lat = Latency(redis, baseline_bin);
    LatencyResult again = Latency(redis, baseline_bin);
    if (again.ok && (!baseline_lat.ok || again.p99_ms < baseline_lat.p99_ms)) {
      baseline_lat = again;
    }
    std::fprintf(stderr, "queue_bench: 4b/4 latency again\n");
    again = Latency(redis);
    if (again.ok && (!lat.ok || again.p99_ms < lat.p99_ms)) lat = again;
  }

  std::optional<double> drain_ratio, drain_ratio_del, drain_ratio_trim;
  std::optional<double> baseline_ratio;
  if (drain.rate && ceiling) drain_ratio = *drain.rate / *ceiling;
  if (drain.rate && ceiling_del) drain_ratio_del = *drain.rate / *ceiling_del;
  if (drain.rate && ceiling_trim) {
    drain_ratio_trim = *drain.rate / *ceiling_trim;
  }
  if (baseline.rate && ceiling) baseline_ratio = *baseline.rate / *ceiling;

  std::printf("queuedaemon queues (N=%ld, threads=%d)\n", n, kThreads);
  Row("figure", "value", "goal", "ratio");
  Row("redis ceiling: readack B=256, 1 conn",
      ceiling ? Fmt("%.0f /s", *ceiling) : "failed", "", "");
  Row("  the same + XDEL of each batch",
      ceiling_del ? Fmt("%.0f /s", *ceiling_del) : "failed", "",
      ceiling_del && ceiling ? Fmt("%.2fx", *ceiling_del / *ceiling) : "");
  Row("  the same + the trim script per 8192",
      ceiling_trim ? Fmt("%.0f /s", *ceiling_trim) : "failed", "",
      ceiling_trim && ceiling ? Fmt("%.2fx", *ceiling_trim / *ceiling) : "");
  Row("no-op drain, 2 workers",
      drain.rate ? Fmt("%.0f /s", *drain.rate) : "failed",
      Fmt(">= %.1fx ceiling", kDrainGoalRatio),
      drain_ratio ? Fmt("%.2fx", *drain_ratio) : "");
  Row("  drain vs ceiling with XDEL", "", "",
      drain_ratio_del ? Fmt("%.2fx", *drain_ratio_del) : "");
  Row("  drain vs ceiling with the trim", "", "",
      drain_ratio_trim ? Fmt("%.2fx", *drain_ratio_trim) : "");
  Row("  acked entries gone (t_done..XLEN 0)",
      drain.trimmed_s >= 0 ? Fmt("%.3f s", drain.trimmed_s) : "never", "", "");
  if (baseline_bin != nullptr && *baseline_bin != '\0') {
    Row("  baseline build (QD_BENCH_BASELINE)",
        baseline.rate ? Fmt("%.0f /s", *baseline.rate) : "failed", "",
        baseline_ratio ? Fmt("%.2fx", *baseline_ratio) : "");
  }
  Row("  drain time (t_first..t_done)", Fmt("%.3f s", drain.seconds), "", "");
  std::optional<double> statsd_ratio;
  if (drain.rate && drain_statsd.rate) {
    statsd_ratio = *drain_statsd.rate / *drain.rate;
  }
  Row("  the same, statsd to a blocked receiver",
      drain_statsd.rate ? Fmt("%.0f /s", *drain_statsd.rate) : "failed",
      "~1x drain", statsd_ratio ? Fmt("%.2fx", *statsd_ratio) : "");
  std::optional<double> limited_ratio;
  if (drain.rate && drain_limited.rate) {
    limited_ratio = *drain_limited.rate / *drain.rate;
  }
  Row("  the same, under a limit never reached",
      drain_limited.rate ? Fmt("%.0f /s", *drain_limited.rate) : "failed",
      Fmt(">= %.1fx drain", kLimitedGoalRatio),
      limited_ratio ? Fmt("%.2fx", *limited_ratio) : "");
  Row("  daemon start to first ack", Fmt("%.3f s", drain.boot_s), "", "");
  Row("single enqueue (1 XADD per round trip)",
      single ? Fmt("%.0f /s", *single) : "failed", "", "");
  Row("bulk enqueue (queuectl --bulk)", bulk ? Fmt("%.0f /s", *bulk) : "n/a",
      Fmt(">= %.0f /s", kBulkGoal),
      bulk ? Fmt("%.2fx", *bulk / kBulkGoal) : "");
  std::string lat_jobs = std::to_string(lat.jobs) + " jobs";
  Row("latency @10k jobs/s: offered",
      Fmt("%.3f s", lat.offered_s) + ", " + lat_jobs, "", "");
  Row("latency p50", lat.jobs ? Fmt("%.2f ms", lat.p50_ms) : "failed", "", "");
  Row("latency p99", lat.jobs ? Fmt("%.2f ms", lat.p99_ms) : "failed",
      Fmt("<= %.0f ms", kP99GoalMs),
      lat.jobs ? Fmt("%.2fx", lat.p99_ms / kP99GoalMs) : "");
  Row("latency max", lat.jobs ? Fmt("%.2f ms", lat.max_ms) : "failed", "", "");
  Row("worker RSS after drain (largest)",
      Fmt("%.1f MiB", drain.worker_kib / 1024.0), "", "");
  Row("master RSS after drain", Fmt("%.1f MiB", drain.master_kib / 1024.0), "",
      "");
  if (baseline_bin != nullptr && *baseline_bin != '\0') {
    Row("baseline: latency p99",
        baseline_lat.jobs ? Fmt("%.2f ms", baseline_lat.p99_ms) : "failed", "",
        "");
    Row("baseline: worker / master RSS",
        Fmt("%.1f MiB", baseline.worker_kib / 1024.0) + " / " +
            Fmt("%.1f MiB", baseline.master_kib / 1024.0),
        "", "");
  }

  std::printf(
      "ratio: drain / ceiling; otherwise value / goal (a \"<=\" goal is met "
      "at <= 1)\n");
  std::optional<double> p50, p99, pmax;
  if (lat.jobs) p50 = lat.p50_ms, p99 = lat.p99_ms, pmax = lat.max_ms;
  std::printf(
      "BENCH {\"bench\":\"queue\",\"n\":%ld,\"threads\":%d,"
      "\"ceiling_rate\":%s,\"ceiling_del_rate\":%s,\"ceiling_trim_rate\":%s,"
      "\"drain_rate\":%s,\"drain_ratio\":%s,\"drain_ratio_del\":%s,"
      "\"drain_ratio_trim\":%s,\"drain_trimmed_s\":%.3f,"
      "\"baseline_drain_rate\":%s,\"baseline_drain_ratio\":%s,"
      "\"drain_s\":%.3f,\"drain_boot_s\":%.3f,\"bulk_rate\":%s,"
      "\"single_rate\":%s,"
      "\"drain_statsd_rate\":%s,\"drain_statsd_ratio\":%s,"
      "\"drain_limited_rate\":%s,\"drain_limited_ratio\":%s,"
      "\"latency_jobs\":%zu,\"latency_offered_s\":%.3f,"
      "\"latency_p50_ms\":%s,\"latency_p99_ms\":%s,\"latency_max_ms\":%s,"
      "\"worker_rss_kib\":%ld,\"master_rss_kib\":%ld}\n",
      n, kThreads, Num(ceiling).c_str(), Num(ceiling_del).c_str(),
      Num(ceiling_trim).c_str(), Num(drain.rate).c_str(),
      Num(drain_ratio, 3).c_str(), Num(drain_ratio_del, 3).c_str(),
      Num(drain_ratio_trim, 3).c_str(), drain.trimmed_s,
      Num(baseline.rate).c_str(), Num(baseline_ratio, 3).c_str(), drain.seconds,
      drain.boot_s, Num(bulk).c_str(), Num(single).c_str(),
      Num(drain_statsd.rate).c_str(), Num(statsd_ratio, 3).c_str(),
      Num(drain_limited.rate).c_str(), Num(limited_ratio, 3).c_str(), lat.jobs,
      lat.offered_s, Num(p50, 3).c_str(), Num(p99, 3).c_str(),
      Num(pmax, 3).c_str(), drain.worker_kib, drain.master_kib);
  bool ok = ceiling && drain.rate && drain_limited.rate && lat.ok;
  return ok ? 0 : 1;
}
