#include "core/xmpp/xmpp_keepalive.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace qd {
namespace {

using std::chrono::milliseconds;

// The keepalive without a connection: its link is a recorder.
class XmppKeepaliveTest : public ::testing::Test {
 protected:
  XmppKeepaliveTest() : base_(event_base_new()) {
    account_.jid.domain = "example.org";
    account_.ping_interval = milliseconds(100000);
    account_.ping_timeout = milliseconds(20);
    account_.whitespace_interval = milliseconds(100000);
    keepalive_ = std::make_unique<XmppKeepalive>(
        base_, account_, &counters_,
        XmppKeepalive::Hooks{[this](std::string_view data) {
                               written_.emplace_back(data);
                               keepalive_->Wrote();
                             },
                             [this](std::string_view prefix) {
                               return std::string(prefix) + "-" +
                                      std::to_string(++ids_);
                             },
                             [this](const std::string& why) {
                               deaths_.push_back(why);
                               keepalive_->Stop();
                             }});
  }
  ~XmppKeepaliveTest() override {
    keepalive_.reset();  // its timers before their base
    event_base_free(base_);
  }

  event_base* base_;
  XmppAccount account_;
  XmppLinkCounters counters_;
  std::unique_ptr<XmppKeepalive> keepalive_;
  std::vector<std::string> written_;
  std::vector<std::string> deaths_;
  int ids_ = 0;
};

TEST_F(XmppKeepaliveTest, ConfirmIsDoneWhenItsPingIsAnswered) {
  keepalive_->Start();
  std::vector<bool> results;
  keepalive_->Confirm([&](bool delivered) { results.push_back(delivered); });
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_NE(written_[0].find("id='ping-1'"), std::string::npos) << written_[0];
  EXPECT_NE(written_[0].find("to='example.org'"), std::string::npos);
  EXPECT_NE(written_[0].find("urn:xmpp:ping"), std::string::npos);
  keepalive_->OnAnswer("bind-9");  // not one of ours: ignored
  EXPECT_TRUE(results.empty());
  keepalive_->OnAnswer("ping-1");
  EXPECT_EQ(results, std::vector<bool>{true});
  EXPECT_EQ(counters_.pings_sent, 1u);
  EXPECT_EQ(counters_.pongs_received, 1u);
  EXPECT_TRUE(keepalive_->TakeBarriers().empty());
}

TEST_F(XmppKeepaliveTest, UnansweredBarriersAreHandedBackOldestFirst) {
  keepalive_->Start();
  std::vector<int> order;
  keepalive_->Confirm([&](bool) { order.push_back(1); });
  keepalive_->Confirm([&](bool) { order.push_back(2); });
  auto barriers = keepalive_->TakeBarriers();
  ASSERT_EQ(barriers.size(), 2u);
  for (auto& done : barriers) done(false);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  keepalive_->OnAnswer("ping-1");  // taken: no longer in flight
  EXPECT_EQ(counters_.pongs_received, 0u);
}

TEST_F(XmppKeepaliveTest, UnansweredPingIsADeadLink) {
  keepalive_->Start();
  keepalive_->Confirm(nullptr);
  event_base_loop(base_, EVLOOP_ONCE);  // the 20 ms pong timer
  ASSERT_EQ(deaths_.size(), 1u);
  EXPECT_EQ(deaths_[0], "no answer to a ping within 20ms: dead link");
}

// A held link reads nothing, so no answer can come: its pings are not
// overdue however long the hold lasts. Reading again gives them a whole
// ping_timeout from then.
TEST_F(XmppKeepaliveTest, HeldLinkIsNotDeadUntilAPingTimeoutAfterTheHold) {
  keepalive_->Start();
  std::vector<bool> results;
  keepalive_->Confirm([&](bool delivered) { results.push_back(delivered); });
  keepalive_->Hold(true);
  keepalive_->Confirm(nullptr);  // one more barrier while held
  // Ten ping timeouts (each turn bounded by a 20 ms exit).
  for (int i = 0; i < 10; ++i) {
    timeval turn = {0, 20000};
    event_base_loopexit(base_, &turn);
    event_base_dispatch(base_);
  }
  EXPECT_TRUE(deaths_.empty());
  keepalive_->Hold(false);
  keepalive_->OnAnswer("ping-1");  // read at last
  EXPECT_EQ(results, std::vector<bool>{true});
  event_base_loop(base_, EVLOOP_ONCE);  // ping-2's timer, from the resume
  ASSERT_EQ(deaths_.size(), 1u);
  EXPECT_EQ(deaths_[0], "no answer to a ping within 20ms: dead link");
}

}  // namespace
}  // namespace qd
