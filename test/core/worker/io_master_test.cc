#include "core/worker/io_master.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace qd {
namespace {
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// A poller that misses `misses` times, then hits once, recording when it
// was woken; stops the loop after `total` polls.
class CountingPoller : public IoManager {
 public:
  CountingPoller(IoMaster& io, int misses, int total)
      : IoManager("counting"), master_(io), misses_(misses), total_(total) {}
  void Start() override { StartPolling(ms(40), ms(10)); }
  void Poll() override {
    times.push_back(Clock::now());
    int n = static_cast<int>(times.size());
    if (n >= total_) {
      master_.Stop();
      return;
    }
    PollDone(n > misses_);
  }
  std::vector<Clock::time_point> times;

 private:
  IoMaster& master_;
  int misses_;
  int total_;
};

TEST(IoMasterTest, WakesPollerAfterBackoff) {
  IoMaster io;
  auto poller = std::make_unique<CountingPoller>(io, 3, 6);
  CountingPoller* p = poller.get();
  io.Add(std::move(poller));
  ASSERT_EQ(io.Run(), 0);
  ASSERT_EQ(p->times.size(), 6u);
  auto gap = [&](int i) {
    return std::chrono::duration_cast<ms>(p->times[i] - p->times[i - 1]);
  };
  // Misses back off 10, 20, 40 ms (at least); after a hit the next poll comes
  // on the next loop turn.
  EXPECT_GE(gap(1), ms(10));
  EXPECT_GE(gap(2), ms(20));
  EXPECT_GE(gap(3), ms(40));
  EXPECT_LT(gap(5), ms(10));
}

class PipeReader : public IoManager {
 public:
  PipeReader(IoMaster& io, int fd) : IoManager("pipe"), master_(io), fd_(fd) {}
  void Start() override { WatchReadable(fd_); }
  void OnReadable(int fd) override {
    char buf[16];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) got.append(buf, n);
    if (got == "hello") master_.Stop();
  }
  std::string got;

 private:
  IoMaster& master_;
  int fd_;
};

TEST(IoMasterTest, WakesManagerOnSocketInput) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  IoMaster io;
  auto reader = std::make_unique<PipeReader>(io, fds[0]);
  PipeReader* r = reader.get();
  io.Add(std::move(reader));
  ASSERT_EQ(write(fds[1], "hello", 5), 5);
  ASSERT_EQ(io.Run(), 0);
  EXPECT_EQ(r->got, "hello");
  close(fds[0]);
  close(fds[1]);
}

// Busy until its timer fires twice; draining waits for it.
class SlowJob : public IoManager {
 public:
  SlowJob() : IoManager("slow") {}
  void Start() override { WakeAfter(ms(5)); }
  void Drain() override { ++drains; }
  bool Busy() const override { return ticks < 2; }
  void OnTimer() override {
    if (++ticks < 2) WakeAfter(ms(5));
  }
  int ticks = 0;
  int drains = 0;
};

TEST(IoMasterTest, DrainWaitsUntilNoManagerIsBusy) {
  IoMaster io;
  auto job = std::make_unique<SlowJob>();
  SlowJob* j = job.get();
  io.Add(std::move(job));
  bool idle = false;
  io.Drain([&] {
    idle = true;
    io.Stop();
  });
  EXPECT_FALSE(idle);
  ASSERT_EQ(io.Run(), 0);
  EXPECT_TRUE(idle);
  EXPECT_EQ(j->ticks, 2);
  EXPECT_EQ(j->drains, 1);
  EXPECT_TRUE(io.draining());
}

}  // namespace
}  // namespace qd
