#include "core/os/service_notifier.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace qd {
namespace {

using std::chrono::milliseconds;
using Clock = ServiceNotifier::Clock;

// Stands in for systemd: a datagram socket in a temp dir that
// $NOTIFY_SOCKET names while the test runs. sd_notify() has sent its
// datagram when it returns, so Take() needs no wait.
class ServiceNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-notify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    base_ = event_base_new();
  }
  void TearDown() override {
    notifier_.reset();  // its timer before the base
    event_base_free(base_);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  void Make() {
    notifier_ = std::make_unique<ServiceNotifier>(
        base_, ServiceNotifier::Sources{[this] {
                                          ++status_calls_;
                                          return status_;
                                        },
                                        [this] {
                                          ++health_calls_;
                                          return healthy_;
                                        }});
  }
  // Every datagram received so far.
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // How many of `messages` are exactly "WATCHDOG=1".
  static int Pings(const std::vector<std::string>& messages) {
    int n = 0;
    for (const auto& m : messages) n += m == "WATCHDOG=1";
    return n;
  }

  std::string dir_, path_;
  int fd_ = -1;
  event_base* base_ = nullptr;
  std::unique_ptr<ServiceNotifier> notifier_;
  std::string status_ = "2 workers, 0 jobs done, 0.0 jobs/s";
  bool healthy_ = true;
  int status_calls_ = 0;
  int health_calls_ = 0;
};

TEST_F(ServiceNotifierTest, WithoutNotifySocketDoesNothingAtAll) {
  unsetenv("NOTIFY_SOCKET");
  setenv("WATCHDOG_USEC", "400000", 1);
  Make();
  EXPECT_FALSE(notifier_->enabled());
  EXPECT_EQ(notifier_->watchdog().count(), 0);
  notifier_->Start();
  EXPECT_EQ(event_base_get_num_events(base_, EVENT_BASE_COUNT_ADDED), 0)
      << "a timer armed for nobody";
  notifier_->Ready();
  notifier_->Reloading();
  notifier_->Reloaded(Status::Error("bad"));
  notifier_->Stopping();
  notifier_->Tick(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(status_calls_ + health_calls_, 0);
  EXPECT_TRUE(Take().empty());
}

TEST_F(ServiceNotifierTest, ReadyNamesThisProcessAndCarriesTheStatus) {
  Make();
  ASSERT_TRUE(notifier_->enabled());
  notifier_->Ready();
  notifier_->Ready();  // once only
  auto got = Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "READY=1\nMAINPID=" + std::to_string(getpid()) +
                        "\nSTATUS=2 workers, 0 jobs done, 0.0 jobs/s");
}

TEST_F(ServiceNotifierTest, ReloadBeforeReadySaysNothingThatWouldEndTheStart) {
  Make();
  notifier_->Reloading();
  notifier_->Reloaded(Status::Ok());
  EXPECT_TRUE(Take().empty());
}

TEST_F(ServiceNotifierTest,
       ReloadIsReloadingThenReadyAndARefusalStaysInStatus) {
  Make();
  notifier_->Ready();
  Take();
  notifier_->Reloading();
  notifier_->Reloaded(Status::Error("qd.yaml:3:5: daemon.treads: unknown"));
  auto got = Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got[0];
  EXPECT_EQ(got[1],
            "READY=1\nSTATUS=2 workers, 0 jobs done, 0.0 jobs/s; last reload "
            "refused: qd.yaml:3:5: daemon.treads: unknown");
  notifier_->Reloading();
  notifier_->Reloaded(Status::Ok());
  got = Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "READY=1\nSTATUS=2 workers, 0 jobs done, 0.0 jobs/s");
}

TEST_F(ServiceNotifierTest, StoppingCarriesTheStatus) {
  Make();
  status_ = "stopping: draining 2 workers, 7 jobs done";
  notifier_->Stopping();
  auto got = Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0],
            "STOPPING=1\nSTATUS=stopping: draining 2 workers, 7 jobs "
            "done");
}

TEST_F(ServiceNotifierTest, StatusIsOneLineAndSentOnlyWhenDueAndChanged) {
  Make();
  notifier_->Start();
  auto t0 = Clock::now();
  status_ = "evil\nREADY=1";
  notifier_->Tick(t0 + milliseconds(100));  // not due yet
  EXPECT_TRUE(Take().empty());
  notifier_->Tick(t0 + ServiceNotifier::kStatusEvery);
  auto got = Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "STATUS=evil\\x0aREADY=1");  // cannot forge a field
  notifier_->Tick(t0 + 2 * ServiceNotifier::kStatusEvery);  // unchanged
  EXPECT_TRUE(Take().empty());
  status_ = "3 workers";
  notifier_->Tick(t0 + 3 * ServiceNotifier::kStatusEvery);
  EXPECT_EQ(Take(), std::vector<std::string>{"STATUS=3 workers"});
}

TEST_F(ServiceNotifierTest, WatchdogIntervalComesFromTheEnvironment) {
  setenv("WATCHDOG_USEC", "400000", 1);
  Make();
  EXPECT_EQ(notifier_->watchdog(), milliseconds(400));
  EXPECT_EQ(notifier_->tick_every(), milliseconds(200));
  notifier_->Start();
  EXPECT_EQ(event_base_get_num_events(base_, EVENT_BASE_COUNT_ADDED), 1);
  // Another process's watchdog (WATCHDOG_PID): none here.
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  Make();
  EXPECT_EQ(notifier_->watchdog().count(), 0);
  EXPECT_EQ(notifier_->tick_every(), ServiceNotifier::kStatusEvery);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  Make();
  EXPECT_EQ(notifier_->watchdog(), milliseconds(400));
}

TEST_F(ServiceNotifierTest, PingsStopWhenRedisIsDownLongerThanTheInterval) {
  setenv("WATCHDOG_USEC", "1000000", 1);
  Make();
  notifier_->Start();
  auto t0 = Clock::now();
  notifier_->Tick(t0);
  EXPECT_EQ(Pings(Take()), 1);
  healthy_ = false;  // the last good answer was at t0
  notifier_->Tick(t0 + milliseconds(500));
  notifier_->Tick(t0 + milliseconds(1000));
  EXPECT_EQ(Pings(Take()), 2) << "within the interval: still pinging";
  notifier_->Tick(t0 + milliseconds(1500));
  notifier_->Tick(t0 + milliseconds(2000));
  EXPECT_EQ(Pings(Take()), 0) << "past the interval: systemd may restart";
  healthy_ = true;
  notifier_->Tick(t0 + milliseconds(2500));
  EXPECT_EQ(Pings(Take()), 1) << "Redis is back: pinging again";
}

TEST_F(ServiceNotifierTest, PingsUntilRedisHasAnsweredOnce) {
  // A start while Redis is down: a restart would not bring it back.
  setenv("WATCHDOG_USEC", "1000000", 1);
  healthy_ = false;
  Make();
  notifier_->Start();
  auto t0 = Clock::now();
  for (int i = 1; i <= 10; ++i) notifier_->Tick(t0 + i * milliseconds(500));
  EXPECT_EQ(Pings(Take()), 10);
  healthy_ = true;
  notifier_->Tick(t0 + milliseconds(5500));
  healthy_ = false;
  notifier_->Tick(t0 + milliseconds(7000));
  EXPECT_EQ(Pings(Take()), 1) << "it answered once: the rule applies now";
}

TEST_F(ServiceNotifierTest, ChildrenForgetTheSocketAndTheWatchdog) {
  setenv("WATCHDOG_USEC", "1000000", 1);
  setenv("WATCHDOG_PID", "1", 1);
  ServiceNotifier::ForgetInChild();
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
}

TEST_F(ServiceNotifierTest, DaemonizingHandsTheMainPidAndTheWatchdogOver) {
  ServiceNotifier::PassMainPid(4242);
  EXPECT_EQ(Take(), std::vector<std::string>{"MAINPID=4242"});
  // The master takes over the launcher's watchdog, and no one else's.
  setenv("WATCHDOG_PID", "4241", 1);
  ServiceNotifier::AdoptWatchdog(4240);
  EXPECT_STREQ(std::getenv("WATCHDOG_PID"), "4241");
  ServiceNotifier::AdoptWatchdog(4241);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), std::to_string(getpid()));
}

}  // namespace
}  // namespace qd
