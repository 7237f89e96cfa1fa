#include "core/listen/login_throttle.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>

namespace qd {
namespace {

using Clock = LoginThrottle::Clock;
using Duration = LoginThrottle::Duration;

constexpr Duration kDelay(1000);
constexpr Duration kMaxWait(5000);

class LoginThrottleTest : public ::testing::Test {
 protected:
  std::optional<Duration> Book(const std::string& peer) {
    return throttle_.Book(peer, now_, kDelay, kMaxWait);
  }
  LoginThrottle throttle_{8};
  Clock::time_point now_ = Clock::now();
};

TEST_F(LoginThrottleTest, AnAddressWithoutFailuresWaitsForNothing) {
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Book("192.0.2.1"), Duration(0));
  EXPECT_EQ(throttle_.size(), 0u);
}

// After a failure, connections from that address get turns a delay apart,
// however many come at once; past max_wait they are refused.
TEST_F(LoginThrottleTest, TurnsAfterAFailureAreADelayApartUpToMaxWait) {
  throttle_.Failed("192.0.2.1", now_, kDelay);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(Book("192.0.2.1"), kDelay * i);
  EXPECT_EQ(Book("192.0.2.1"), std::nullopt);
  EXPECT_EQ(Book("192.0.2.2"), Duration(0));  // another address
  now_ += Duration(2500);
  EXPECT_EQ(Book("192.0.2.1"), Duration(3500));  // the sixth turn, at 6 s
}

TEST_F(LoginThrottleTest, AnAddressIsForgottenAfterKForget) {
  throttle_.Failed("192.0.2.1", now_, kDelay);
  now_ += LoginThrottle::kForget;
  EXPECT_EQ(Book("192.0.2.1"), Duration(0));
  EXPECT_EQ(throttle_.size(), 0u);
}

TEST_F(LoginThrottleTest, TheTableKeepsAtMostItsCapacity) {
  for (int i = 0; i < 100; ++i) {
    throttle_.Failed("10.0.0." + std::to_string(i), now_, kDelay);
  }
  EXPECT_EQ(throttle_.size(), 8u);
  // The most recent stay; the oldest went.
  EXPECT_EQ(Book("10.0.0.99"), kDelay);
  EXPECT_EQ(Book("10.0.0.0"), Duration(0));
}

TEST(LoginThrottlePeerKeyTest, KeysIpv4Ipv6By64AndUnix) {
  sockaddr_in v4 = {};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
  EXPECT_EQ(
      LoginThrottle::PeerKey(reinterpret_cast<sockaddr*>(&v4), sizeof(v4)),
      "127.0.0.2");
  sockaddr_in6 v6 = {};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &v6.sin6_addr);
  EXPECT_EQ(
      LoginThrottle::PeerKey(reinterpret_cast<sockaddr*>(&v6), sizeof(v6)),
      "2001:db8:1:2::/64");
  inet_pton(AF_INET6, "::ffff:192.0.2.9", &v6.sin6_addr);
  EXPECT_EQ(
      LoginThrottle::PeerKey(reinterpret_cast<sockaddr*>(&v6), sizeof(v6)),
      "192.0.2.9");
  sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  EXPECT_EQ(LoginThrottle::PeerKey(reinterpret_cast<sockaddr*>(&un),
                                   sizeof(sa_family_t)),
            "unix");
}

}  // namespace
}  // namespace qd
