// api_bench: what the HTTP API (/api/v1, docs/api.md) costs a client when
// the daemon holds many queues and a long dead stream.
//
//   build/bin/api_bench [--dead N] [--requests R]   (defaults 100000, 500)
//
// Against one private redis-server and one queuedaemon (1 worker, the
// built-in noop handler) with monitor.http and monitor.admin_token_file:
//  1. Seed: N dead entries in site `bench`, queue q000 (ids T+1-0 .. T+N-0,
//     the fields the daemon writes when it dead-letters a job), XADDed
//     kSeedBatch per round trip; the site has kQueues queues.
//  2. Wait until /api/v1/sites shows the kQueues queues and q000's dead
//     count N (the master samples depths every second).
//  3. Over one kept-alive HTTP/1.1 connection, kWarm requests and then R
//     timed ones of each: GET /api/v1/summary; GET the first dead page
//     (count=50); GET a dead page deep in the stream (the cursor of the
//     entry kDeepFromOldest from the oldest: page ~(N - 1000) / 50, read by
//     XREVRANGE from that id); GET /api/v1/sites; POST retry of one dead job
//     (with the bearer token; each request a different job, newest first).
//     Each reply must be 200 (and a dead page must hold 50 jobs) or the run
//     fails. Latency is from the first byte sent to the last byte read.
// Prints a table (p50, p99, max, reply size) and one JSON line
// ("BENCH {...}"). Every wait has a deadline; everything started is stopped
// by pid (harness destructors).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench_redis.h"
#include "daemon_harness.h"

namespace {

using qd::test::milliseconds;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kQueues = 100;
constexpr int kSeedBatch = 1000;
constexpr int kWarm = 20;
constexpr int kPageCount = 50;
constexpr long kDeepFromOldest = 1000;
constexpr int64_t kBaseMs = 1700000000000;
constexpr auto kReplyDeadline = milliseconds(10000);
constexpr auto kReadyDeadline = milliseconds(30000);
constexpr const char* kToken = "bench-token-0123456789abcdef";
constexpr const char* kDeadKey = "qd:{bench}:dead:q000";

std::string DeadId(long i) { return std::to_string(kBaseMs + i) + "-0"; }

// ---- one kept-alive HTTP/1.1 connection -------------------------------------

struct Reply {
  int status = -1;  // -1: no (complete) answer before the deadline
  std::string body;
};

// A blocking client of one HTTP/1.1 connection to 127.0.0.1 that reads
// replies framed by Content-Length (the monitor always sends it). Every read
// waits with poll() up to kReplyDeadline. Not thread-safe.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
    host_ = "127.0.0.1:" + std::to_string(port);
  }
  ~KeepAliveClient() {
    if (fd_ >= 0) close(fd_);
  }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  Reply Request(const std::string& method, const std::string& path,
                const std::string& auth = "") {
    Reply reply;
    std::string text =
        method + " " + path + " HTTP/1.1\r\nHost: " + host_ + "\r\n" + auth +
        (method == "POST" ? "Content-Length: 0\r\n" : "") + "\r\n";
    if (fd_ < 0 || !SendAll(text)) return reply;
    auto deadline = Clock::now() + kReplyDeadline;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return reply;
    }
    std::string head = buffer_.substr(0, head_end);
    size_t length = ContentLength(head);
    size_t total = head_end + 4 + length;
    while (buffer_.size() < total) {
      if (!Fill(deadline)) return reply;
    }
    if (head.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(&head[9]);
    reply.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, total);
    return reply;
  }

 private:
  static size_t ContentLength(const std::string& head) {
    const char* name = "\r\nContent-Length: ";
    size_t at = head.find(name);
    return at == std::string::npos
               ? 0
               : std::strtoul(head.c_str() + at + std::strlen(name), nullptr,
                              10);
  }
  bool SendAll(const std::string& text) {
    for (size_t sent = 0; sent < text.size();) {
      ssize_t k =
          send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (k <= 0) return false;
      sent += static_cast<size_t>(k);
    }
    return true;
  }
  // Appends what arrives before `deadline`; false on close, error or time.
  bool Fill(Clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    pollfd p = {fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char buf[65536];
    ssize_t k = recv(fd_, buf, sizeof buf, 0);
    if (k <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(k));
    return true;
  }

  int fd_ = -1;
  std::string host_;
  std::string buffer_;
};

// ---- set-up
// ------------------------------------------------------------------

// N dead entries in kDeadKey, oldest first, kSeedBatch per round trip.
bool SeedDead(int port, long n) {
  qd::bench::BenchRedis c(port);
  for (long done = 0; done < n && c.Ok();) {
    long k = std::min<long>(kSeedBatch, n - done);
    for (long i = done + 1; i <= done + k; ++i) {
      c.Append({"XADD", kDeadKey, DeadId(i), "payload",
                "{\"user\":" + std::to_string(i) + ",\"task\":\"report\"}",
                "jid", "j" + std::to_string(i), "error",
                "RuntimeError: upstream answered 502", "failed_at",
                std::to_string(kBaseMs + i), "attempts", "25", "origin_queue",
                "q000", "origin_id", std::to_string(kBaseMs + i) + "-1"});
    }
    if (!c.Drop(static_cast<size_t>(k))) return false;
    done += k;
  }
  return c.Int({"XLEN", kDeadKey}) == n;
}

std::string Config(const qd::test::RedisServer& redis, int http,
                   const std::string& token_file) {
  std::string config =
      "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
      "  shutdown_timeout: 5s\n"
      "redis: " +
      redis.url() + "\nmonitor: { http: 127.0.0.1:" + std::to_string(http) +
      ", admin_token_file: " + token_file +
      " }\n"
      "sites:\n  bench:\n    queues:\n";
  for (int q = 0; q < kQueues; ++q) {
    char name[16];
    std::snprintf(name, sizeof name, "q%03d", q);
    config += std::string("      ") + name + ": { handler: noop }\n";
  }
  return config;
}

// The master's sample shows every queue and q000's dead count.
bool SitesReady(KeepAliveClient& http, long n) {
  Reply r = http.Request("GET", "/api/v1/sites");
  if (r.status != 200) return false;
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || body["sites"].size() != 1) return false;
  const json& queues = body["sites"][0]["queues"];
  if (queues.size() != static_cast<size_t>(kQueues)) return false;
  for (const json& q : queues) {
    if (q["name"] == "q000") return q["dead"] == n;
  }
  return false;
}

// ---- measuring
// ----------------------------------------------------------------

struct Series {
  std::string name;
  std::vector<double> ms;  // sorted once measured
  size_t bytes = 0;        // the last reply's body
  std::string error;       // the first failure, "" when none
};

double At(const std::vector<double>& sorted, double q) {
  size_t i = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

// kWarm untimed calls of `request(i)`, then `count` timed ones; `check`
// returns "" for a good reply, else why not. Stops at the first bad reply.
template <typename RequestFn, typename CheckFn>
Series Measure(const std::string& name, int count, RequestFn request,
               CheckFn check) {
  Series s;
  s.name = name;
  for (int i = 0; i < kWarm + count; ++i) {
    auto t0 = Clock::now();
    Reply r = request(i);
    double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::string why = r.status == 200 ? check(r) : "";
    if (r.status != 200) why = "status " + std::to_string(r.status);
    if (!why.empty()) {
      s.error = name + ": request " + std::to_string(i) + ": " + why + ": " +
                r.body.substr(0, 200);
      break;
    }
    if (i >= kWarm) s.ms.push_back(ms);
    s.bytes = r.body.size();
  }
  std::sort(s.ms.begin(), s.ms.end());
  return s;
}

std::string NoCheck(const Reply&) { return ""; }

std::string FullPage(const Reply& r) {
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body["jobs"].is_array()) return "not a page";
  if (body["jobs"].size() != static_cast<size_t>(kPageCount)) {
    return std::to_string(body["jobs"].size()) + " jobs";
  }
  return body["next"].is_string() ? "" : "no next cursor";
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  long n = 100000;
  int requests = 500;
  bool usage = argc % 2 == 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dead") {
      n = std::atol(argv[i + 1]);
    } else if (flag == "--requests") {
      requests = std::atoi(argv[i + 1]);
    } else {
      usage = true;
    }
  }
  if (usage || n < kDeepFromOldest + 2L * (requests + kWarm) || requests <= 0) {
    std::fprintf(stderr,
                 "usage: %s [--dead N] [--requests R] (N >= %ld + 2 * (R + "
                 "%d))\n",
                 argv[0], kDeepFromOldest, kWarm);
    return 2;
  }
  qd::test::RedisServer redis;
  qd::test::TempDir secrets;
  secrets.Write("token", std::string(kToken) + "\n");
  chmod(secrets.File("token").c_str(), 0600);

  std::fprintf(stderr, "api_bench: seeding %ld dead jobs\n", n);
  auto seed_t0 = Clock::now();
  if (!SeedDead(redis.port(), n)) {
    std::fprintf(stderr, "api_bench: seeding failed\n");
    return 1;
  }
  double seed_s = std::chrono::duration<double>(Clock::now() - seed_t0).count();

  int http_port = qd::test::FreePort();
  qd::test::Daemon daemon(Config(redis, http_port, secrets.File("token")));
  std::optional<KeepAliveClient> http;
  bool ready = qd::test::WaitFor(
      [&] {
        if (!http) http.emplace(http_port);
        if (SitesReady(*http, n)) return true;
        http.reset();  // refused or closed: a new connection next time
        return false;
      },
      kReadyDeadline);
  if (!ready) {
    std::fprintf(stderr, "api_bench: the API did not show the queues:\n%s\n",
                 daemon.LogTail(20).c_str());
    return 1;
  }

  std::fprintf(stderr, "api_bench: %d requests per endpoint\n", requests);
  const std::string dead = "/api/v1/sites/bench/queues/q000/dead";
  const std::string page = "?count=" + std::to_string(kPageCount);
  const std::string auth =
      std::string("Authorization: Bearer ") + kToken + "\r\n";
  std::vector<Series> all;
  all.push_back(Measure(
      "GET /api/v1/summary", requests,
      [&](int) { return http->Request("GET", "/api/v1/summary"); }, NoCheck));
  all.push_back(Measure(
      "GET dead, first page", requests,
      [&](int) { return http->Request("GET", dead + page); }, FullPage));
  all.push_back(Measure(
      "GET dead, page ~" + std::to_string((n - kDeepFromOldest) / kPageCount),
      requests,
      [&](int) {
        return http->Request(
            "GET", dead + page + "&cursor=" + DeadId(kDeepFromOldest));
      },
      FullPage));
  all.push_back(Measure(
      "GET /api/v1/sites", requests,
      [&](int) { return http->Request("GET", "/api/v1/sites"); }, NoCheck));
  // Newest first: ids the deep page never reads.
  all.push_back(Measure(
      "POST dead/ID/retry", requests,
      [&](int i) {
        return http->Request("POST", dead + "/" + DeadId(n - i) + "/retry",
                             auth);
      },
      NoCheck));

  long long left = qd::bench::BenchRedis(redis.port()).Int({"XLEN", kDeadKey});
  long long want = n - (kWarm + requests);
  bool ok = left == want;
  if (!ok) {
    std::fprintf(stderr, "api_bench: dead stream holds %lld, not %lld\n", left,
                 want);
  }

  std::printf(
      "queuedaemon HTTP API (%ld dead jobs in one queue, %d queues, "
      "%d requests each, one keep-alive connection)\n",
      n, kQueues, requests);
  std::printf("%-32s %10s %10s %10s %12s\n", "request", "p50", "p99", "max",
              "reply");
  std::string bench_rows;
  for (const Series& s : all) {
    if (!s.error.empty()) {
      std::fprintf(stderr, "api_bench: %s\n", s.error.c_str());
      ok = false;
    }
    if (s.ms.empty()) {
      std::printf("%-32s %10s\n", s.name.c_str(), "failed");
      continue;
    }
    std::printf("%-32s %10s %10s %10s %12s\n", s.name.c_str(),
                Fmt("%.2f ms", At(s.ms, 0.50)).c_str(),
                Fmt("%.2f ms", At(s.ms, 0.99)).c_str(),
                Fmt("%.2f ms", s.ms.back()).c_str(),
                Fmt("%.0f B", static_cast<double>(s.bytes)).c_str());
    nlohmann::ordered_json row = {
        {"request", s.name},
        {"n", s.ms.size()},
        {"p50_ms", std::round(At(s.ms, 0.50) * 1000) / 1000},
        {"p99_ms", std::round(At(s.ms, 0.99) * 1000) / 1000},
        {"max_ms", std::round(s.ms.back() * 1000) / 1000},
        {"reply_bytes", s.bytes}};
    bench_rows += (bench_rows.empty() ? "" : ",") + row.dump();
  }
  std::printf("seeding %ld dead jobs (pipelined XADD): %.2f s\n", n, seed_s);
  std::printf(
      "BENCH {\"bench\":\"api\",\"dead\":%ld,\"queues\":%d,\"requests\":%d,"
      "\"seed_s\":%.3f,\"rows\":[%s]}\n",
      n, kQueues, requests, seed_s, bench_rows.c_str());
  return ok ? 0 : 1;
}
