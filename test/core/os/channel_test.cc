#include "core/os/channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

namespace qd {
namespace {

TEST(ChannelTest, MessagesKeepTheirBoundaries) {
  Channel master, worker;
  ASSERT_TRUE(Channel::Pair(&master, &worker).ok());
  ASSERT_TRUE(worker.Send({{"t", "ready"}}));
  ASSERT_TRUE(worker.Send({{"t", "status"}, {"rss", 1234}}));
  nlohmann::json msg;
  ASSERT_EQ(master.Read(&msg), Channel::ReadResult::kMessage);
  EXPECT_EQ(msg["t"], "ready");
  ASSERT_EQ(master.Read(&msg), Channel::ReadResult::kMessage);
  EXPECT_EQ(msg["rss"], 1234);
  EXPECT_EQ(master.Read(&msg), Channel::ReadResult::kAgain);
}

TEST(ChannelTest, PeerCloseIsEof) {
  Channel master, worker;
  ASSERT_TRUE(Channel::Pair(&master, &worker).ok());
  master.Close();
  nlohmann::json msg;
  EXPECT_EQ(worker.Read(&msg), Channel::ReadResult::kEof);
  EXPECT_FALSE(worker.Send({{"t", "status"}}));
}

TEST(ChannelTest, MalformedPacketIsSkipped) {
  Channel master, worker;
  ASSERT_TRUE(Channel::Pair(&master, &worker).ok());
  std::string junk = "{not json";
  ASSERT_EQ(send(worker.fd(), junk.data(), junk.size(), 0),
            static_cast<ssize_t>(junk.size()));
  ASSERT_TRUE(worker.Send({{"t", "ready"}}));
  nlohmann::json msg;
  EXPECT_EQ(master.Read(&msg), Channel::ReadResult::kAgain);
  ASSERT_EQ(master.Read(&msg), Channel::ReadResult::kMessage);
  EXPECT_EQ(msg["t"], "ready");
}

}  // namespace
}  // namespace qd
