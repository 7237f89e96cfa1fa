// The parts of the soak run (soak.cc): the producer thread and the
// `queuectl restart` runner (the record reader is record_tail.h).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "bench_redis.h"
#include "daemon_harness.h"
#include "record_tail.h"

namespace qd::bench::soak {

using Clock = std::chrono::steady_clock;
using qd::test::milliseconds;
using Conn = BenchRedis;

inline const std::string kQueueKey = "qd:{default}:q:soak";
constexpr long kMaxBatch = 1000;  // XADDs in one 1 ms tick when catching up

// Enqueues `rate` jobs a second on its own thread until `until` or Stop().
// The payloads are 0, 1, 2 ...; a batch is pipelined every 1 ms.
class Producer {
 public:
  Producer(int port, long rate) : port_(port), rate_(rate) {}
  ~Producer() { Stop(); }
  // Ticks count from `t0`; the last one is at `until`.
  void Start(Clock::time_point t0, Clock::time_point until) {
    thread_ = std::thread([this, t0, until] { Run(t0, until); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long enqueued() const { return enqueued_; }  // XADDs that succeeded
  long errors() const { return errors_; }      // XADDs that did not
  bool failed() const { return failed_; }      // the connection broke

 private:
  void Run(Clock::time_point t0, Clock::time_point until) {
    Conn c(port_);
    long sent = 0;
    for (long tick = 1; !stop_ && c.Ok(); ++tick) {
      auto at = t0 + milliseconds(tick);
      if (at > until) break;
      std::this_thread::sleep_until(at);
      long n = std::min(kMaxBatch, rate_ * tick / 1000 - sent);
      for (long i = 0; i < n; ++i) {
        c.Append({"XADD", kQueueKey, "*", "payload", std::to_string(sent + i)});
      }
      long ok = c.Replies(n);
      sent += n;
      enqueued_ += ok;
      errors_ += n - ok;
    }
    failed_ = !c.Ok();
  }

  int port_;
  long rate_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<long> enqueued_{0};
  std::atomic<long> errors_{0};
};

// `queuectl restart` on its own thread: it waits for the whole roll-over.
class Recycler {
 public:
  explicit Recycler(std::string redis_url) : url_(std::move(redis_url)) {}
  ~Recycler() { Wait(); }
  // Starts one restart unless one is still running; false then.
  bool Start() {
    if (run_.valid()) return false;
    run_ = std::async(std::launch::async, [this] {
      return qd::test::RunQueuectl(
          dir_, {"--redis", url_, "restart", "--timeout", "30s"});
    });
    return true;
  }
  // Collects a finished restart.
  void Poll() {
    if (run_.valid() &&
        run_.wait_for(milliseconds(0)) == std::future_status::ready) {
      Collect();
    }
  }
  void Wait() {
    if (run_.valid()) Collect();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  void Collect() {
    qd::test::CtlResult r = run_.get();
    if (r.code == 0) {
      ++ok_;
    } else {
      ++failed_;
      std::fprintf(stderr, "soak: queuectl restart exited %d: %s%s", r.code,
                   r.out.c_str(), r.err.c_str());
    }
  }

  std::string url_;
  qd::test::TempDir dir_;
  std::future<qd::test::CtlResult> run_;
  int ok_ = 0;
  int failed_ = 0;
};

}  // namespace qd::bench::soak
