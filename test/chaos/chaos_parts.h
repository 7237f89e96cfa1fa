// The parts of the chaos run (chaos.cc): the producer that keeps enqueuing
// through Redis restarts, and the zombie count.
#pragma once

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace qd::chaos {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline const char* const kSites[] = {"a", "b", "c"};
constexpr size_t kMaxBatch = 2000;  // XADDs in one pipeline

inline double Secs(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The stream of payload `n`: round-robin over the sites.
inline std::string QueueKey(long n) {
  return std::string("qd:{") + kSites[n % 3] + "}:q:chaos";
}

// Enqueues payloads 0 .. jobs-1 on its own thread, `rate` a second, and
// keeps at it through Redis restarts: a payload is done once an XADD of it
// was answered OK; the others are sent again on a new connection.
class Producer {
 public:
  Producer(int port, long jobs, long rate)
      : port_(port), jobs_(jobs), rate_(rate) {}
  ~Producer() { Stop(); }
  void Start(Clock::time_point t0, Clock::time_point until) {
    thread_ = std::thread([this, t0, until] { Run(t0, until); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return acked_ == jobs_; }
  long acked() const { return acked_; }    // payloads answered OK
  long resent() const { return resent_; }  // XADDs sent again
  long reconnects() const { return reconnects_; }

 private:
  struct Conn {
    redisContext* c = nullptr;
    ~Conn() {
      if (c != nullptr) redisFree(c);
    }
    bool ok() const { return c != nullptr && c->err == 0; }
  };

  void Run(Clock::time_point t0, Clock::time_point until) {
    auto conn = std::make_unique<Conn>();
    std::vector<long> again;  // payloads whose XADD was not answered OK
    long next = 0;
    // The pace follows the clock, not the ticks: with every write fsynced a
    // batch can take longer than a tick.
    while (!stop_ && acked_ < jobs_ && Clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(1));
      if (!conn->ok()) {
        conn = Connect();
        if (!conn->ok()) continue;
        ++reconnects_;
      }
      std::vector<long> batch;
      batch.swap(again);
      resent_ += static_cast<long>(batch.size());
      long due = static_cast<long>(rate_ * Secs(Clock::now() - t0));
      while (next < std::min(jobs_, due) && batch.size() < kMaxBatch)
        batch.push_back(next++);
      Send(conn.get(), batch, &again);
    }
  }

  std::unique_ptr<Conn> Connect() const {
    auto conn = std::make_unique<Conn>();
    timeval tv = {2, 0};
    conn->c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (conn->ok()) redisSetTimeout(conn->c, tv);
    return conn;
  }

  void Send(Conn* conn, const std::vector<long>& batch,
            std::vector<long>* again) {
    for (long n : batch) {
      std::string key = QueueKey(n), payload = std::to_string(n);
      const char* argv[] = {"XADD", key.c_str(), "*", "payload",
                            payload.c_str()};
      size_t lens[] = {4, key.size(), 1, 7, payload.size()};
      redisAppendCommandArgv(conn->c, 5, argv, lens);
    }
    for (long n : batch) {
      void* r = nullptr;
      if (conn->ok() && redisGetReply(conn->c, &r) == REDIS_OK &&
          r != nullptr &&
          static_cast<redisReply*>(r)->type == REDIS_REPLY_STRING) {
        ++acked_;
      } else {
        again->push_back(n);
      }
      if (r != nullptr) freeReplyObject(r);
    }
  }

  int port_;
  long jobs_;
  long rate_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<long> acked_{0};
  std::atomic<long> resent_{0};
  std::atomic<long> reconnects_{0};
};

}  // namespace qd::chaos
